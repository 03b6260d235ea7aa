-- census collector schema, version 6: the change history (one event per applied change).
-- Written in the transaction that applies a report (store::history::record), so an event
-- exists exactly when its change was stored. Times are milliseconds since the Unix epoch (UTC).
-- agent_id is not a foreign key: the history outlives whatever later happens to the agent row.

CREATE TABLE events (
    id           INTEGER PRIMARY KEY,
    agent_id     TEXT NOT NULL,
    at           INTEGER NOT NULL,   -- the source report's received_at (or when an admin acted)
    collected_at INTEGER,            -- the source report's collected_at; NULL when not from a report
    sequence     INTEGER,            -- the source report's sequence; NULL when not from a report
    kind         TEXT NOT NULL,      -- software | interface | address | hardware | os | security | agent | lifecycle
    action       TEXT NOT NULL,      -- installed | removed | upgraded | downgraded | changed | added | appeared |
                                     -- disappeared | linked | unlinked | first-inventory
    subject      TEXT NOT NULL,      -- what changed: `openssl:amd64 (dpkg)`, `eth0`, `cpu model`, ...
    old          TEXT NOT NULL DEFAULT '',
    new          TEXT NOT NULL DEFAULT ''
);
CREATE INDEX events_agent_at ON events (agent_id, at);
CREATE INDEX events_at_kind ON events (at, kind);
