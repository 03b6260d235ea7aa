-- Schema 15: each host's stored inventory document moves out of `hosts` into `host_documents`.
-- A row of tens of kilobytes fills a page of its own, so every query that read a column or two
-- of `hosts` for the whole fleet (coverage, host listings and filters, software listings)
-- touched one page per host; `hosts` now holds only what those queries read.
CREATE TABLE host_documents (
    agent_id     TEXT PRIMARY KEY,
    -- SHA-256 of the canonical inventory encoding (the delta base); NULL for rows stored before
    -- hashes were kept. Before the document, so reading it never reads the document's pages.
    state_sha256 BLOB,
    -- The inventory as JSON text, from before documents were compressed; '' once a document is.
    inventory    TEXT NOT NULL DEFAULT '',
    -- zstd-compressed canonical protobuf encoding of the inventory.
    document     BLOB
);
INSERT INTO host_documents (agent_id, state_sha256, inventory, document)
SELECT agent_id, state_sha256, inventory, document FROM hosts;

CREATE TABLE hosts_v15 (
    agent_id      TEXT PRIMARY KEY,
    hostname      TEXT NOT NULL,
    os_pretty     TEXT NOT NULL,
    os_id         TEXT NOT NULL,
    os_version    TEXT NOT NULL,
    kernel        TEXT NOT NULL,
    arch          TEXT NOT NULL,
    machine_id    TEXT NOT NULL,
    sequence      INTEGER NOT NULL,
    collected_at  INTEGER NOT NULL,
    received_at   INTEGER NOT NULL,
    package_count INTEGER NOT NULL
);
INSERT INTO hosts_v15 (agent_id, hostname, os_pretty, os_id, os_version, kernel, arch, machine_id, sequence,
                       collected_at, received_at, package_count)
SELECT agent_id, hostname, os_pretty, os_id, os_version, kernel, arch, machine_id, sequence, collected_at,
       received_at, package_count FROM hosts;
DROP TABLE hosts;
ALTER TABLE hosts_v15 RENAME TO hosts;
