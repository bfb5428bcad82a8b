-- Pending outbox rows are found by `kind` (functions/todo_api/outbox.py): the Dapr
-- PostgreSQL v1 Query API turns {"EQ": {"kind": ...}} into `value->>'kind' = $1`.
-- Without an index that is a scan of every row of the table; this partial expression
-- index holds only the rows that have a kind (outbox rows, lists, audit entries,
-- notifications: never a task row), so the sweeper's lookup reads the pending rows
-- and nothing else. The planner proves `value->>'kind' = $1` implies the predicate.
-- CONCURRENTLY: a live cluster keeps writing while the index builds.
CREATE INDEX CONCURRENTLY IF NOT EXISTS taskwave_tasks_kind
    ON taskwave_tasks ((value->>'kind')) WHERE (value->>'kind') IS NOT NULL;
CREATE INDEX CONCURRENTLY IF NOT EXISTS taskwave_kv_kind
    ON taskwave_kv ((value->>'kind')) WHERE (value->>'kind') IS NOT NULL;
-- A list's task rows (a cold search cache, deleting a list): `value->>'list_id' = $1`.
CREATE INDEX CONCURRENTLY IF NOT EXISTS taskwave_tasks_list
    ON taskwave_tasks ((value->>'list_id')) WHERE (value->>'list_id') IS NOT NULL;
