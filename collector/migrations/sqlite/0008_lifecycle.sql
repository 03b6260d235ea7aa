-- census collector schema, version 8: asset tags set by admins, and the flag on a retired asset
-- that reports again. (Lifecycle state and ownership columns are on `assets`, version 7.)

CREATE TABLE asset_tags (
    asset_id TEXT NOT NULL REFERENCES assets(asset_id),
    key      TEXT NOT NULL,
    value    TEXT NOT NULL,
    set_by   TEXT NOT NULL,
    set_at   INTEGER NOT NULL,
    PRIMARY KEY (asset_id, key)
) WITHOUT ROWID;

ALTER TABLE assets ADD COLUMN reported_after_retirement INTEGER;
