-- census collector schema, version 10: storage made cheaper to write.
--
-- A host's inventory is stored as `document`, the protobuf encoding of its canonical form (the
-- bytes its state hash covers) compressed with zstd, about a tenth of the JSON text in
-- `inventory`. Rows written before keep their JSON (read as before) until the host's next
-- report; rows written from now on leave `inventory` empty.
ALTER TABLE hosts ADD COLUMN document BLOB;

-- `host_packages` without foreign keys: they cost two index lookups per package row written,
-- and the only writer (the report path) inserts a link only with its agent and version, in one
-- transaction.
CREATE TABLE host_packages_v10 (
    agent_id     TEXT NOT NULL,
    package_id   INTEGER NOT NULL,
    install_time INTEGER NOT NULL,
    PRIMARY KEY (agent_id, package_id)
) WITHOUT ROWID;
INSERT INTO host_packages_v10 (agent_id, package_id, install_time)
SELECT agent_id, package_id, install_time FROM host_packages;
DROP TABLE host_packages;
ALTER TABLE host_packages_v10 RENAME TO host_packages;
CREATE INDEX host_packages_by_package ON host_packages (package_id);
