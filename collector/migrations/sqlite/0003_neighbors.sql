-- census collector schema, version 3: devices each agent heard on its links (passive
-- discovery), one row per (device MAC, agent). Replaced with each full inventory.
CREATE TABLE neighbors (
    mac        TEXT NOT NULL,
    agent_id   TEXT NOT NULL REFERENCES agents(agent_id),
    interface  TEXT NOT NULL,
    first_seen INTEGER NOT NULL,
    last_seen  INTEGER NOT NULL,
    -- The Neighbor as the agent reported it (JSON).
    document   TEXT NOT NULL,
    PRIMARY KEY (mac, agent_id)
);
CREATE INDEX neighbors_by_agent ON neighbors(agent_id);
