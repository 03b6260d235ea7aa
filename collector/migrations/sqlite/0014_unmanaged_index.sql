-- Schema 14: `census neighbors --unmanaged` at fleet scale. Its count, first and last seen per
-- MAC come from the unmanaged sightings' index alone (no table reads), and "does any sighting of
-- this MAC show it managed" is one seek.
DROP INDEX neighbors_unmanaged;
CREATE INDEX neighbors_unmanaged ON neighbors (mac, last_seen, first_seen, agent_id, managed_by) WHERE managed_by IS NULL;
CREATE INDEX neighbors_managed_macs ON neighbors (mac) WHERE managed_by IS NOT NULL;
