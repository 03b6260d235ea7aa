-- census collector schema, version 9: packages normalised. A fleet runs the same package
-- versions on many hosts, so each distinct (name, version, arch, source, ...) is stored once in
-- `package_versions`, and `host_packages` links each host to the versions it has (with what
-- differs per host: the install time). A full report of an unchanged host writes nothing here.
-- `id` is the first 8 bytes of SHA-256 over the version's fields (see sqlite.rs `package_id`),
-- so the writer never has to look an id up.

CREATE TABLE package_versions (
    id             INTEGER PRIMARY KEY,
    name           TEXT NOT NULL,
    version        TEXT NOT NULL,
    arch           TEXT NOT NULL,
    source         TEXT NOT NULL,
    source_package TEXT NOT NULL,
    maintainer     TEXT NOT NULL,
    installed_size INTEGER NOT NULL,
    selection      TEXT NOT NULL,
    vendor         TEXT NOT NULL,
    purl           TEXT NOT NULL,
    location       TEXT NOT NULL
);
CREATE INDEX package_versions_by_name ON package_versions (name);

CREATE TABLE host_packages (
    agent_id     TEXT NOT NULL REFERENCES agents(agent_id),
    package_id   INTEGER NOT NULL REFERENCES package_versions(id),
    install_time INTEGER NOT NULL,
    PRIMARY KEY (agent_id, package_id)
) WITHOUT ROWID;
CREATE INDEX host_packages_by_package ON host_packages (package_id);

INSERT OR IGNORE INTO package_versions
    (id, name, version, arch, source, source_package, maintainer, installed_size, selection, vendor, purl, location)
SELECT -(ROWID), name, version, arch, source, source_package, maintainer, installed_size, selection, vendor, purl,
       location FROM packages;
INSERT OR IGNORE INTO host_packages (agent_id, package_id, install_time)
SELECT agent_id, -(ROWID), install_time FROM packages;
DROP TABLE packages;
