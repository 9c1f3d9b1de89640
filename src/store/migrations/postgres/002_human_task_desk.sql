-- Human-task claims and reassignments (as SQLite 002).
-- `claimed_by`/`claimed_at`: who claimed the open task (only they may complete or reject it).
-- `assigned_users`/`assigned_groups`: JSON arrays replacing the step's assignees after a reassign
-- (NULL: the assignees the step declared, in `body`). Re-opening a task (a new run) clears all four.
ALTER TABLE human_tasks ADD COLUMN claimed_by text;
ALTER TABLE human_tasks ADD COLUMN claimed_at bigint;
ALTER TABLE human_tasks ADD COLUMN assigned_users jsonb;
ALTER TABLE human_tasks ADD COLUMN assigned_groups jsonb;
