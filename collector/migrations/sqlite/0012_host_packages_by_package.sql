-- census collector schema, version 12: `host_packages` in one B-tree, package first.
--
-- Every query of it asks "which hosts have this version" (`census software`); a host's own
-- packages are read from its stored document. So the agent-first primary key and the
-- by-package index it needed are replaced by one package-first primary key: a report writes
-- each link into one tree instead of two.
CREATE TABLE host_packages_v12 (
    package_id   INTEGER NOT NULL,
    agent_id     TEXT NOT NULL,
    install_time INTEGER NOT NULL,
    PRIMARY KEY (package_id, agent_id)
) WITHOUT ROWID;
INSERT INTO host_packages_v12 (package_id, agent_id, install_time)
SELECT package_id, agent_id, install_time FROM host_packages ORDER BY package_id, agent_id;
DROP TABLE host_packages;
ALTER TABLE host_packages_v12 RENAME TO host_packages;
