-- Nodes (issue 4): every engine process registers here and heartbeats. The leader marks a node
-- dead when its heartbeat is older than the dead-after setting and releases its leases.
CREATE TABLE nodes (
  id            text    PRIMARY KEY,
  host          text    NOT NULL,
  pid           integer NOT NULL,
  capabilities  jsonb   NOT NULL,
  capacity      integer NOT NULL,
  started_at    bigint  NOT NULL,
  heartbeat_at  bigint  NOT NULL,
  status        text    NOT NULL,
  died_at       bigint
);
-- The dead-node sweep: alive nodes whose heartbeat is older than a bound, oldest first.
CREATE INDEX nodes_alive_heartbeat ON nodes (heartbeat_at) WHERE status = 'alive';
-- Retention: finished instances ended before a bound, oldest first (running ones never enter it).
CREATE INDEX instances_ended ON instances (ended_at) WHERE ended_at IS NOT NULL;
