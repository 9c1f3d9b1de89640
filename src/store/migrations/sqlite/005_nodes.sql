-- Nodes (as PostgreSQL 005): the embedded engine registers itself too (always one node).
CREATE TABLE nodes (
  id            TEXT    PRIMARY KEY,
  host          TEXT    NOT NULL,
  pid           INTEGER NOT NULL,
  capabilities  TEXT    NOT NULL,
  capacity      INTEGER NOT NULL,
  started_at    INTEGER NOT NULL,
  heartbeat_at  INTEGER NOT NULL,
  status        TEXT    NOT NULL,
  died_at       INTEGER
);
CREATE INDEX nodes_alive_heartbeat ON nodes (heartbeat_at) WHERE status = 'alive';
-- Retention: finished instances ended before a bound.
CREATE INDEX instances_ended ON instances (ended_at) WHERE ended_at IS NOT NULL;
