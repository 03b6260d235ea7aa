-- census collector schema, version 10: a host's inventory is stored as `document`, the protobuf
-- encoding of its canonical form (the bytes its state hash covers) compressed with zstd, about a
-- tenth of the JSON text in `inventory`. Rows written before keep their JSON (read as before)
-- until the host's next report; rows written from now on leave `inventory` empty.
ALTER TABLE hosts ADD COLUMN document BLOB;
