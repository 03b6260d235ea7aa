-- census collector schema, version 5: delta reports (the hash of each agent's applied state).
SELECT 1;
