-- Human-task claims and reassignments, durable (they lived in the server's memory before).
-- `claimed_by`/`claimed_at`: who claimed the open task (only they may complete or reject it).
-- `assigned_users`/`assigned_groups`: JSON arrays replacing the step's assignees after a reassign
-- (NULL: the assignees the step declared, in `body`). Re-opening a task (a new run) clears all four.
ALTER TABLE human_tasks ADD COLUMN claimed_by TEXT;
ALTER TABLE human_tasks ADD COLUMN claimed_at INTEGER;
ALTER TABLE human_tasks ADD COLUMN assigned_users TEXT;
ALTER TABLE human_tasks ADD COLUMN assigned_groups TEXT;
