-- census collector schema, version 1: agents, the latest inventory per host, its packages.
-- Times are milliseconds since the Unix epoch (UTC).

CREATE TABLE agents (
    agent_id      TEXT PRIMARY KEY,
    public_key    BLOB NOT NULL,
    hostname      TEXT NOT NULL,
    agent_version TEXT NOT NULL,
    enrolled_at   INTEGER NOT NULL,
    -- Highest report sequence applied; 0 before the first report.
    last_sequence INTEGER NOT NULL DEFAULT 0,
    last_seen     INTEGER
);

-- One row per host: its latest full inventory (the document, and columns for listing).
CREATE TABLE hosts (
    agent_id      TEXT PRIMARY KEY REFERENCES agents(agent_id),
    hostname      TEXT NOT NULL,
    os_pretty     TEXT NOT NULL,
    os_id         TEXT NOT NULL,
    os_version    TEXT NOT NULL,
    kernel        TEXT NOT NULL,
    arch          TEXT NOT NULL,
    machine_id    TEXT NOT NULL,
    sequence      INTEGER NOT NULL,
    collected_at  INTEGER NOT NULL,
    received_at   INTEGER NOT NULL,
    package_count INTEGER NOT NULL,
    inventory     TEXT NOT NULL
);

CREATE TABLE packages (
    agent_id       TEXT NOT NULL REFERENCES agents(agent_id),
    name           TEXT NOT NULL,
    version        TEXT NOT NULL,
    arch           TEXT NOT NULL,
    source         TEXT NOT NULL,
    source_package TEXT NOT NULL,
    maintainer     TEXT NOT NULL,
    installed_size INTEGER NOT NULL,
    selection      TEXT NOT NULL
);
CREATE INDEX packages_by_agent ON packages(agent_id);
CREATE INDEX packages_by_name ON packages(name, version);
