-- Schema 13: what coverage and unmanaged-device queries read, kept as rows beside each host's
-- inventory document (which stays the record of what the agent sent).

-- The endpoint security products each host reports, one row per product: replaced whenever a
-- report changes the host's list.
CREATE TABLE host_security (
    agent_id   TEXT NOT NULL,
    product_id TEXT NOT NULL,           -- the catalog id, e.g. crowdstrike-falcon
    name       TEXT NOT NULL,
    vendor     TEXT NOT NULL,
    category   TEXT NOT NULL,           -- edr | epp | av | visibility
    version    TEXT NOT NULL,
    installed  INTEGER NOT NULL,
    running    INTEGER NOT NULL,
    service    TEXT NOT NULL,           -- enabled | disabled | masked | ''
    PRIMARY KEY (agent_id, product_id)
) WITHOUT ROWID;

-- Where each host is on the network: the MACs of its interfaces (current and permanent, lower
-- case, kind 'mac'), its IP addresses (kind 'addr', loopback left out) and the networks they
-- are in (kind 'net', CIDR text such as 192.0.2.0/24). Replaced whenever its interfaces change.
CREATE TABLE host_addresses (
    value      TEXT NOT NULL,
    agent_id   TEXT NOT NULL,
    kind       TEXT NOT NULL,           -- mac | addr | net
    PRIMARY KEY (value, agent_id, kind)
) WITHOUT ROWID;
CREATE INDEX host_addresses_by_agent ON host_addresses (agent_id);

-- A neighbour sighting is managed when its MAC, or one of its globally unique addresses, is a
-- managed host's (host_addresses): the agent whose host it is, else NULL. Private, shared and
-- link-local addresses repeat from site to site, so they never make a device managed.
ALTER TABLE neighbors ADD COLUMN managed_by TEXT;
CREATE INDEX neighbors_unmanaged ON neighbors (mac) WHERE managed_by IS NULL;
CREATE INDEX neighbors_by_manager ON neighbors (managed_by) WHERE managed_by IS NOT NULL;

-- The globally unique addresses of each sighting, to find the sightings a host's new address
-- manages.
CREATE TABLE neighbor_addresses (
    address  TEXT NOT NULL,
    mac      TEXT NOT NULL,
    agent_id TEXT NOT NULL,
    PRIMARY KEY (address, mac, agent_id)
) WITHOUT ROWID;
CREATE INDEX neighbor_addresses_by_agent ON neighbor_addresses (agent_id);

-- Assets the coverage policy does not apply to, with why (an admin's decision, audited).
CREATE TABLE coverage_exceptions (
    asset_id   TEXT PRIMARY KEY REFERENCES assets(asset_id),
    reason     TEXT NOT NULL,
    set_by     TEXT NOT NULL,
    set_at     INTEGER NOT NULL,
    expires_at INTEGER                  -- NULL: until removed
);
