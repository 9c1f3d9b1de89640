-- Schedules that start workflows (cron or interval; docs/schedules.md). `body` holds the whole
-- record as JSON (spec, last run, buffered start); the columns the claim and the lists filter or
-- sort on are split out. `revision` makes updates optimistic (the schedule service and an API
-- update never overwrite each other); `owner`/`lease_expires_at` lease a due row to the node
-- firing it.
CREATE TABLE schedules (
  id                TEXT    NOT NULL PRIMARY KEY,
  namespace         TEXT    NOT NULL,
  definition_id     TEXT    NOT NULL,
  paused            INTEGER NOT NULL DEFAULT 0,
  next_run_at       INTEGER,
  revision          INTEGER NOT NULL,
  body              TEXT    NOT NULL,
  owner             TEXT,
  lease_expires_at  INTEGER,
  created_at        INTEGER NOT NULL,
  updated_at        INTEGER NOT NULL
) WITHOUT ROWID;
CREATE INDEX schedules_due ON schedules (next_run_at) WHERE paused = 0 AND next_run_at IS NOT NULL;
CREATE INDEX schedules_namespace ON schedules (namespace, id);
