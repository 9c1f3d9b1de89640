-- Weft store schema, PostgreSQL. The same logical schema as SQLite's 001_init: JSONB where SQLite
-- has JSON text, bigint milliseconds for times. See docs/operations.md for why each index exists.
-- JSON columns hold plain data; only the columns the queries filter or sort on are split out.

CREATE TABLE definitions (
  id          text   NOT NULL,
  version     text   NOT NULL,
  hash        text   NOT NULL,
  body        jsonb  NOT NULL,
  created_at  bigint NOT NULL,
  PRIMARY KEY (id, version)
);

CREATE TABLE instances (
  id                  text   NOT NULL PRIMARY KEY,
  definition_id       text   NOT NULL,
  definition_version  text   NOT NULL,
  namespace           text,
  status              text   NOT NULL,
  seq                 bigint NOT NULL,
  parent_id           text,
  parent_run_id       text,
  correlation_id      text,
  labels              jsonb,
  idempotency_key     text,
  created_at          bigint NOT NULL,
  updated_at          bigint NOT NULL,
  ended_at            bigint
);
CREATE UNIQUE INDEX instances_idempotency ON instances (idempotency_key) WHERE idempotency_key IS NOT NULL;
CREATE INDEX instances_status ON instances (status, id);
CREATE INDEX instances_definition ON instances (definition_id, id);
CREATE INDEX instances_parent ON instances (parent_id) WHERE parent_id IS NOT NULL;
CREATE INDEX instances_correlation ON instances (correlation_id) WHERE correlation_id IS NOT NULL;

-- The log, one row per (instance, commit): `body` is the JSON array of events first_seq..last_seq.
CREATE TABLE event_chunks (
  instance_id  text   NOT NULL,
  first_seq    bigint NOT NULL,
  last_seq     bigint NOT NULL,
  body         jsonb  NOT NULL,
  PRIMARY KEY (instance_id, last_seq)
);

CREATE TABLE snapshots (
  instance_id  text   NOT NULL,
  seq          bigint NOT NULL,
  body         jsonb  NOT NULL,
  PRIMARY KEY (instance_id, seq)
);

CREATE TABLE tasks (
  instance_id       text    NOT NULL,
  task_id           text    NOT NULL,
  activity          text    NOT NULL,
  queue             text,
  priority          integer NOT NULL,
  attempt           integer NOT NULL,
  body              jsonb   NOT NULL,
  owner             text,
  lease_token       text,
  lease_expires_at  bigint,
  claims            integer NOT NULL DEFAULT 0,
  heartbeat         jsonb,
  created_at        bigint  NOT NULL,
  PRIMARY KEY (instance_id, task_id)
);
CREATE INDEX tasks_ready ON tasks (activity, priority DESC, created_at) WHERE owner IS NULL;
CREATE INDEX tasks_leased ON tasks (lease_expires_at) WHERE owner IS NOT NULL;

CREATE TABLE timers (
  instance_id       text   NOT NULL,
  timer_id          text   NOT NULL,
  due_at            bigint NOT NULL,
  body              jsonb  NOT NULL,
  owner             text,
  lease_expires_at  bigint,
  PRIMARY KEY (instance_id, timer_id)
);
CREATE INDEX timers_due ON timers (due_at);

-- `key` is the canonical JSON text of the correlation key: an equality lookup, so text, not jsonb.
CREATE TABLE waits (
  instance_id  text NOT NULL,
  run_id       text NOT NULL,
  event        text NOT NULL,
  key          text,
  PRIMARY KEY (instance_id, run_id)
);
CREATE INDEX waits_event ON waits (event, key);

CREATE TABLE human_tasks (
  instance_id  text   NOT NULL,
  task_id      text   NOT NULL,
  run_id       text   NOT NULL,
  step_id      text   NOT NULL,
  status       text   NOT NULL,
  body         jsonb  NOT NULL,
  input        jsonb,
  created_at   bigint NOT NULL,
  closed_at    bigint,
  PRIMARY KEY (instance_id, task_id)
);
CREATE INDEX human_tasks_status ON human_tasks (status, created_at);

CREATE TABLE outbox (
  id           bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  topic        text   NOT NULL,
  instance_id  text,
  payload      jsonb  NOT NULL,
  created_at   bigint NOT NULL
);
