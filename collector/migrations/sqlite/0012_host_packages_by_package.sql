-- census collector schema, version 12: `host_packages` in one B-tree, package first, with a
-- small integer per host.
--
-- Every query of it asks "which hosts have this version" (`census software`); a host's own
-- packages are read from its stored document. So the agent-first primary key and the
-- by-package index it needed are replaced by one package-first primary key, and the
-- 32-character agent id in every link by `host_keys.host_key` (an alias of the rowid, so it
-- never changes): a report writes each link into one tree, a third of the size it was.
CREATE TABLE host_keys (
    host_key INTEGER PRIMARY KEY,
    agent_id TEXT NOT NULL UNIQUE
);
INSERT INTO host_keys (agent_id) SELECT DISTINCT agent_id FROM host_packages ORDER BY agent_id;

CREATE TABLE host_packages_v12 (
    package_id   INTEGER NOT NULL,
    host_key     INTEGER NOT NULL,
    install_time INTEGER NOT NULL,
    PRIMARY KEY (package_id, host_key)
) WITHOUT ROWID;
INSERT INTO host_packages_v12 (package_id, host_key, install_time)
SELECT hp.package_id, k.host_key, hp.install_time
FROM host_packages hp JOIN host_keys k USING (agent_id)
ORDER BY hp.package_id, k.host_key;
DROP TABLE host_packages;
ALTER TABLE host_packages_v12 RENAME TO host_packages;
