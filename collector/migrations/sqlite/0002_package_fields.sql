-- census collector schema, version 2: the normalised package record (vendor, install time,
-- Package URL, install location), and lookups by package name.
ALTER TABLE packages ADD COLUMN vendor TEXT NOT NULL DEFAULT '';
ALTER TABLE packages ADD COLUMN install_time INTEGER NOT NULL DEFAULT 0;
ALTER TABLE packages ADD COLUMN purl TEXT NOT NULL DEFAULT '';
ALTER TABLE packages ADD COLUMN location TEXT NOT NULL DEFAULT '';
