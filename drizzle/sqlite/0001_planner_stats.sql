-- Custom migration: seed the query planner's statistics for tasks. Without any, SQLite prefers
-- tasks_status_id_idx (status = ?) over the partial indexes for the due/overdue sweeps and then
-- reads and sorts every PENDING/QUEUED row, even the delayed ones. These figures say "a status
-- matches many rows, a partial index few"; store.close() runs PRAGMA optimize, which replaces
-- them with measured ones once the table has grown.
ANALYZE sqlite_schema;
--> statement-breakpoint
INSERT INTO sqlite_stat1 (tbl, idx, stat) VALUES
  ('tasks', NULL, '1000000'),
  ('tasks', 'tasks_status_id_idx', '1000000 125000 1'),
  ('tasks', 'tasks_pending_run_at_idx', '1000 1'),
  ('tasks', 'tasks_retrying_next_attempt_idx', '1000 1'),
  ('tasks', 'tasks_queued_at_idx', '1000 1'),
  ('tasks', 'tasks_running_started_at_idx', '1000 1');
--> statement-breakpoint
ANALYZE sqlite_schema;
