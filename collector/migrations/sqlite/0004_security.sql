-- census collector schema, version 4: enroll secrets, API tokens, the audit log, revocation,
-- and the log of applied reports that makes ingestion idempotent.
-- Times are milliseconds since the Unix epoch (UTC). Secrets and tokens are stored only as
-- SHA-256 digests of their text (they are 256-bit random values, so a fast hash suffices).

CREATE TABLE enroll_secrets (
    id            TEXT PRIMARY KEY,          -- short random id, shown in listings
    label         TEXT NOT NULL UNIQUE,
    secret_sha256 BLOB NOT NULL UNIQUE,
    created_at    INTEGER NOT NULL,
    created_by    TEXT NOT NULL,
    expires_at    INTEGER,                   -- NULL: never
    max_uses      INTEGER,                   -- NULL: unlimited
    uses          INTEGER NOT NULL DEFAULT 0,
    revoked_at    INTEGER
);

CREATE TABLE api_tokens (
    id            TEXT PRIMARY KEY,
    name          TEXT NOT NULL UNIQUE,
    role          TEXT NOT NULL CHECK (role IN ('reader', 'admin')),
    token_sha256  BLOB NOT NULL UNIQUE,
    created_at    INTEGER NOT NULL,
    created_by    TEXT NOT NULL,
    expires_at    INTEGER,
    last_used_at  INTEGER,
    revoked_at    INTEGER
);

-- Every admin action: who (token name, or "local" for commands run on the collector host),
-- from where, what, on which object, and when.
CREATE TABLE audit_log (
    id      INTEGER PRIMARY KEY,
    at      INTEGER NOT NULL,
    actor   TEXT NOT NULL,
    source  TEXT NOT NULL,
    action  TEXT NOT NULL,
    target  TEXT NOT NULL,
    detail  TEXT NOT NULL
);
CREATE INDEX audit_log_at ON audit_log (at);

ALTER TABLE agents ADD COLUMN enroll_secret_id TEXT NOT NULL DEFAULT '';
ALTER TABLE agents ADD COLUMN enrolled_from TEXT NOT NULL DEFAULT '';
ALTER TABLE agents ADD COLUMN client_cert_sha256 TEXT NOT NULL DEFAULT '';
ALTER TABLE agents ADD COLUMN revoked_at INTEGER;
ALTER TABLE agents ADD COLUMN revoked_by TEXT NOT NULL DEFAULT '';
ALTER TABLE agents ADD COLUMN revoked_reason TEXT NOT NULL DEFAULT '';

-- One row per applied report: a sequence is applied once; a copy with the same digest is
-- acknowledged as a duplicate, one with another digest is refused.
CREATE TABLE reports (
    agent_id     TEXT NOT NULL REFERENCES agents(agent_id),
    sequence     INTEGER NOT NULL,
    digest       BLOB NOT NULL,              -- SHA-256 of SignedReport.report
    kind         TEXT NOT NULL,              -- full | heartbeat
    bytes        INTEGER NOT NULL,
    collected_at INTEGER NOT NULL,
    received_at  INTEGER NOT NULL,
    PRIMARY KEY (agent_id, sequence)
) WITHOUT ROWID;
