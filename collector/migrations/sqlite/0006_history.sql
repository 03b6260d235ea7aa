-- census collector schema, version 6: the change history (one event per applied change).
SELECT 1;
