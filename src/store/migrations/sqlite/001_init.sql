-- Weft store schema, SQLite. See docs/storage.md for why each table and index exists.
-- JSON columns hold plain data; only the columns the queries filter or sort on are split out.

CREATE TABLE definitions (
  id          TEXT    NOT NULL,
  version     TEXT    NOT NULL,
  hash        TEXT    NOT NULL,
  body        TEXT    NOT NULL,
  created_at  INTEGER NOT NULL,
  PRIMARY KEY (id, version)
) WITHOUT ROWID;

CREATE TABLE instances (
  id                  TEXT    NOT NULL PRIMARY KEY,
  definition_id       TEXT    NOT NULL,
  definition_version  TEXT    NOT NULL,
  namespace           TEXT,
  status              TEXT    NOT NULL,
  seq                 INTEGER NOT NULL,
  parent_id           TEXT,
  parent_run_id       TEXT,
  correlation_id      TEXT,
  labels              TEXT,
  idempotency_key     TEXT,
  created_at          INTEGER NOT NULL,
  updated_at          INTEGER NOT NULL,
  ended_at            INTEGER
) WITHOUT ROWID;
CREATE UNIQUE INDEX instances_idempotency ON instances (idempotency_key) WHERE idempotency_key IS NOT NULL;
CREATE INDEX instances_status ON instances (status, id);
CREATE INDEX instances_definition ON instances (definition_id, id);
CREATE INDEX instances_parent ON instances (parent_id) WHERE parent_id IS NOT NULL;
CREATE INDEX instances_correlation ON instances (correlation_id) WHERE correlation_id IS NOT NULL;

-- The log, one row per (instance, commit): `body` is the JSON array of events first_seq..last_seq
-- (measured faster than one row per event: docs/storage.md).
CREATE TABLE event_chunks (
  instance_id  TEXT    NOT NULL,
  first_seq    INTEGER NOT NULL,
  last_seq     INTEGER NOT NULL,
  body         TEXT    NOT NULL,
  PRIMARY KEY (instance_id, last_seq)
);

CREATE TABLE snapshots (
  instance_id  TEXT    NOT NULL,
  seq          INTEGER NOT NULL,
  body         TEXT    NOT NULL,
  PRIMARY KEY (instance_id, seq)
);

CREATE TABLE tasks (
  instance_id       TEXT    NOT NULL,
  task_id           TEXT    NOT NULL,
  activity          TEXT    NOT NULL,
  queue             TEXT,
  priority          INTEGER NOT NULL,
  attempt           INTEGER NOT NULL,
  body              TEXT    NOT NULL,
  owner             TEXT,
  lease_token       TEXT,
  lease_expires_at  INTEGER,
  claims            INTEGER NOT NULL DEFAULT 0,
  heartbeat         TEXT,
  created_at        INTEGER NOT NULL,
  PRIMARY KEY (instance_id, task_id)
) WITHOUT ROWID;
CREATE INDEX tasks_ready ON tasks (activity, priority DESC, created_at) WHERE owner IS NULL;
CREATE INDEX tasks_leased ON tasks (lease_expires_at) WHERE owner IS NOT NULL;

CREATE TABLE timers (
  instance_id       TEXT    NOT NULL,
  timer_id          TEXT    NOT NULL,
  due_at            INTEGER NOT NULL,
  body              TEXT    NOT NULL,
  owner             TEXT,
  lease_expires_at  INTEGER,
  PRIMARY KEY (instance_id, timer_id)
) WITHOUT ROWID;
CREATE INDEX timers_due ON timers (due_at);

CREATE TABLE waits (
  instance_id  TEXT NOT NULL,
  run_id       TEXT NOT NULL,
  event        TEXT NOT NULL,
  key          TEXT,
  PRIMARY KEY (instance_id, run_id)
) WITHOUT ROWID;
CREATE INDEX waits_event ON waits (event, key);

CREATE TABLE human_tasks (
  instance_id  TEXT    NOT NULL,
  task_id      TEXT    NOT NULL,
  run_id       TEXT    NOT NULL,
  step_id      TEXT    NOT NULL,
  status       TEXT    NOT NULL,
  body         TEXT    NOT NULL,
  input        TEXT,
  created_at   INTEGER NOT NULL,
  closed_at    INTEGER,
  PRIMARY KEY (instance_id, task_id)
) WITHOUT ROWID;
CREATE INDEX human_tasks_status ON human_tasks (status, created_at);

CREATE TABLE outbox (
  id           INTEGER PRIMARY KEY AUTOINCREMENT,
  topic        TEXT    NOT NULL,
  instance_id  TEXT,
  payload      TEXT    NOT NULL,
  created_at   INTEGER NOT NULL
);
