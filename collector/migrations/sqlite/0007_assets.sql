-- census collector schema, version 7: assets (machines), agent-to-asset links, lifecycle, ownership and tags.
-- An agent is a key; an asset is a machine. The matching rules are in collector/src/store/fleet.rs
-- and docs/ARCHITECTURE.md ("Agents and assets: matching rules").
-- Times are milliseconds since the Unix epoch (UTC).

CREATE TABLE assets (
    asset_id           TEXT PRIMARY KEY,         -- short random id (8 lower-case hex)
    created_at         INTEGER NOT NULL,
    -- `link` when the collector made it for an agent's first inventory, else the admin (token
    -- name) whose split made it.
    created_by         TEXT NOT NULL,
    -- Set when this asset was made for an agent that shares identifiers with that asset but is
    -- judged another machine (a clone); the evidence is in asset_duplicates.
    suspected_clone_of TEXT REFERENCES assets(asset_id),
    -- Set (with state 'merged') when an admin merged this asset into another one.
    merged_into        TEXT REFERENCES assets(asset_id),
    -- Lifecycle, reserved for lifecycle work: 'active' and 'merged' are the values used so far.
    state              TEXT NOT NULL DEFAULT 'active',
    state_since        INTEGER,
    retired_reason     TEXT NOT NULL DEFAULT '',
    -- Ownership, reserved for ownership work.
    owner              TEXT NOT NULL DEFAULT '',
    team               TEXT NOT NULL DEFAULT '',
    cost_centre        TEXT NOT NULL DEFAULT '',
    environment        TEXT NOT NULL DEFAULT ''
);
CREATE INDEX assets_by_state ON assets (state);

-- The asset each agent reports for (NULL before its first full inventory), since when, and how
-- it got there: new | same | clone | split | merge.
ALTER TABLE agents ADD COLUMN asset_id TEXT REFERENCES assets(asset_id);
ALTER TABLE agents ADD COLUMN asset_linked_at INTEGER;
ALTER TABLE agents ADD COLUMN asset_link TEXT NOT NULL DEFAULT '';
CREATE INDEX agents_by_asset ON agents (asset_id);

-- The judged identifiers each agent reported in its latest inventory, under its asset. Only
-- usable values are kept (not generic, not inherited from a container's host). kind:
-- smbios_uuid | system_serial | board_serial | chassis_serial | machine_id | mac (permanent,
-- globally unique) | mac_local (locally administered: tells machines apart, never links them).
CREATE TABLE asset_identifiers (
    asset_id   TEXT NOT NULL REFERENCES assets(asset_id),
    kind       TEXT NOT NULL,
    value      TEXT NOT NULL,
    agent_id   TEXT NOT NULL REFERENCES agents(agent_id),
    first_seen INTEGER NOT NULL,
    last_seen  INTEGER NOT NULL,
    PRIMARY KEY (agent_id, kind, value)
) WITHOUT ROWID;
CREATE INDEX asset_identifiers_by_value ON asset_identifiers (kind, value);
CREATE INDEX asset_identifiers_by_asset ON asset_identifiers (asset_id);

-- Suspected duplicates found when an agent was linked: asset_id is the asset the agent was
-- linked to, other_id the asset it also matched. reason: suspected-clone | also-matches.
-- evidence: JSON (fleet::Evidence). Rows go away when an admin merges the two.
CREATE TABLE asset_duplicates (
    asset_id    TEXT NOT NULL REFERENCES assets(asset_id),
    other_id    TEXT NOT NULL REFERENCES assets(asset_id),
    reason      TEXT NOT NULL,
    evidence    TEXT NOT NULL,
    agent_id    TEXT NOT NULL,
    detected_at INTEGER NOT NULL,
    PRIMARY KEY (asset_id, other_id)
) WITHOUT ROWID;
