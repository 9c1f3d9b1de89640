-- Schedules that start workflows (as SQLite 004; docs/schedules.md). `body` holds the whole record
-- (spec, last run, buffered start); the columns the claim and the lists filter or sort on are split
-- out. `revision` makes updates optimistic; `owner`/`lease_expires_at` lease a due row to the node
-- firing it (claimed `FOR UPDATE SKIP LOCKED`).
CREATE TABLE schedules (
  id                text    NOT NULL PRIMARY KEY,
  namespace         text    NOT NULL,
  definition_id     text    NOT NULL,
  paused            boolean NOT NULL DEFAULT false,
  next_run_at       bigint,
  revision          bigint  NOT NULL,
  body              jsonb   NOT NULL,
  owner             text,
  lease_expires_at  bigint,
  created_at        bigint  NOT NULL,
  updated_at        bigint  NOT NULL
);
CREATE INDEX schedules_due ON schedules (next_run_at) WHERE NOT paused AND next_run_at IS NOT NULL;
CREATE INDEX schedules_namespace ON schedules (namespace, id);
