-- census collector schema, version 11: ownership and tags each agent declares in its
-- configuration ([declared] in agent.toml), as of its latest inventory. Kept apart from the
-- values admins set (assets.owner ..., asset_tags), which win; an asset shows what its most
-- recently seen agent declares. field: owner | team | cost_centre | environment | tag; key is
-- the tag's key, '' for the other fields.

CREATE TABLE agent_declared (
    agent_id    TEXT NOT NULL REFERENCES agents(agent_id),
    field       TEXT NOT NULL,
    key         TEXT NOT NULL,
    value       TEXT NOT NULL,
    declared_at INTEGER NOT NULL,
    PRIMARY KEY (agent_id, field, key)
) WITHOUT ROWID;
