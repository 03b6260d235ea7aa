-- census collector schema, version 5: delta reports (the hash of each agent's applied state).
-- SHA-256 of the stored inventory's canonical protobuf encoding (census_proto::convert::
-- state_hash); a delta applies only when its base hash equals it. NULL for hosts stored before
-- this version: the first delta computes it from the stored inventory.
ALTER TABLE hosts ADD COLUMN state_sha256 BLOB;
