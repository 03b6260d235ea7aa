-- census collector schema, version 7: assets (machines), agent-to-asset links, lifecycle, ownership and tags.
SELECT 1;
