/**
 * The embedded engine's public contract: what the CLI, the tests, the server (later) and users'
 * programs call. `openEngine` (runtime/engine.ts) returns an `Engine`.
 */
import type { Definition } from '../model/schema.js';
import type { Command, EngineEvent, HumanTaskInfo, InstanceState, InstanceStatus } from '../core/types.js';
import type { ActivityHandler, ActivityRegistry } from './activity.js';
import type { LifecycleMessage } from './lifecycle.js';
import type { RemoteTasks } from './remote-tasks.js';
import type { Schedules } from './schedules.js';
import type { HumanTaskRecord, NodeRecord } from '../store/types.js';

export interface EngineOptions {
  /**
   * SQLite file (default `.weft/weft.db` under the current directory; `:memory:` for tests), or a
   * PostgreSQL URL (`postgres://user@host:5432/db`): several engines on one database form a cluster.
   */
  db?: string;
  activities?: ActivityRegistry;
  /** Snapshot the state every N events (default 100). */
  snapshotEvery?: number;
  /** Largest accepted input/output/event payload, bytes (default 1 MiB). */
  maxPayloadBytes?: number;
  /** Most activities running in this process at once (default 1,000). */
  concurrency?: number;
  /** Injected for tests; default Date.now / Math.random. */
  clock?: () => number;
  random?: () => number;
  /** Resume unfinished instances when opening (default true). */
  recover?: boolean;
  /** This process's id as a node of the cluster (default `node-<pid>-<random>`). */
  nodeId?: string;
  /** PostgreSQL (`db` is a `postgres://` URL): most pooled connections this process opens (default 10). */
  poolSize?: number;
  /**
   * Delete finished instances (events, snapshots, rows) this many ms after they ended; run by the
   * leader. Default: keep forever.
   */
  retentionMs?: number;
  /** Where engine log lines go (default: nowhere). */
  logger?: (level: 'debug' | 'info' | 'warn' | 'error', message: string, fields?: Record<string, unknown>) => void;
}

/** A node of the cluster as `listNodes()` reports it. */
export interface NodeInfo extends NodeRecord {
  /** Holds the leader lock now (runs the singleton duties). */
  leader: boolean;
}

export interface StartOptions {
  /** Caller-chosen id; default a new unique id. */
  instanceId?: string;
  /** Starting twice with the same key returns the first instance. */
  idempotencyKey?: string;
  /** Semver range or exact version; default the latest deployed. */
  version?: string;
  labels?: Record<string, string>;
  correlationId?: string;
  vars?: Record<string, unknown>;
  env?: Record<string, unknown>;
  /** Only start definitions of this namespace (the API passes the caller's): another's is `not_found`. */
  namespace?: string;
}

export interface DeployOptions {
  /** Deploy even when the verifier proves the definition unsound (the default refuses it with `UnsoundDefinitionError`). */
  force?: boolean;
  /**
   * The namespace to deploy into (the API passes the caller's). Default: the definition's own
   * `namespace`, else `default`. A definition id belongs to one namespace: deploying it from another
   * is refused (`not_allowed`); a definition declaring another namespace is `invalid_input`.
   */
  namespace?: string;
}

export interface DeployResult {
  id: string;
  version: string;
  /** False when identical content was already deployed. */
  created: boolean;
  /** The soundness verdict (`skipped` for content already deployed: it was checked then). */
  verdict: 'sound' | 'unsound' | 'unknown' | 'skipped';
  /** The deploy went through although unsound (`force`). */
  forced?: boolean;
  /** Recorded notes: an `unknown` verdict (state space too large), a forced unsound deploy. */
  warnings?: string[];
}

export interface InstanceSummary {
  id: string;
  definitionId: string;
  definitionVersion: string;
  status: InstanceStatus;
  /** Seq of the last committed event. */
  seq: number;
  /** The instance's namespace (its definition's). */
  namespace?: string;
  createdAt: number;
  updatedAt: number;
  endedAt?: number;
  parentId?: string;
  correlationId?: string;
  labels?: Record<string, string>;
}

/** A human (or manual-intervention) task as stored: the inbox row. */
export type HumanTaskRow = HumanTaskRecord;

/** Emitted after each commit, in log order, per instance. */
export interface CommittedBatch {
  instanceId: string;
  events: EngineEvent[];
  state: InstanceState;
  /** The instance's namespace (its definition's as deployed), for filtering live views (WebSocket). */
  namespace?: string;
}

/** Activity execution notices (not durable: for live views). */
export interface ActivityNotice {
  type: 'started' | 'heartbeat' | 'finished';
  instanceId: string;
  taskId: string;
  stepId: string;
  activity: string;
  attempt: number;
  at: number;
  error?: string;
}

export interface EngineEventMap {
  committed: CommittedBatch;
  activity: ActivityNotice;
  /** Lifecycle messages relayed from the transactional outbox (at-least-once, in commit order). */
  lifecycle: LifecycleMessage;
}

export interface Engine {
  readonly activities: ActivityRegistry;
  registerActivity(name: string, handler: ActivityHandler): void;

  /**
   * Validates, verifies (soundness) and stores a definition version (idempotent for identical
   * content). An unsound definition is refused with `UnsoundDefinitionError` (runtime/definitions.ts)
   * carrying the verifier's report, unless `force`; an `unknown` verdict (state space too large) is
   * accepted with a warning. Definitions passed straight to `start()` are not verified.
   */
  deploy(definition: Definition, options?: DeployOptions): Promise<DeployResult>;
  getDefinition(id: string, version?: string): Promise<Definition | undefined>;
  listDefinitions(): Promise<Array<{ id: string; version: string; createdAt: number; namespace: string }>>;
  /** Deletes a version no instance uses (checked atomically in the store): `in_use` names up to 10 instances. */
  deleteDefinition(id: string, version: string): Promise<{ status: 'deleted' | 'not_found' } | { status: 'in_use'; instances: string[] }>;

  /** Starts an instance; `definition` is a deployed id or a definition object (deployed on the fly). */
  start(definition: string | Definition, input?: unknown, options?: StartOptions): Promise<string>;
  /** Runs a command; resolves with its events once they are committed; rejects with CommandRejected. */
  send(command: Command): Promise<EngineEvent[]>;
  /**
   * Delivers an external event to every instance waiting for it with a matching correlation key;
   * with `namespace`, only to waiting instances of that namespace (the API passes the caller's).
   */
  publishEvent(name: string, key: unknown, payload?: unknown, options?: { namespace?: string }): Promise<number>;

  getState(instanceId: string): Promise<InstanceState | undefined>;
  /** State as it was right after event `seq` (time travel). */
  getStateAt(instanceId: string, seq: number): Promise<InstanceState | undefined>;
  getHistory(instanceId: string, options?: { fromSeq?: number; limit?: number }): Promise<EngineEvent[]>;
  /** Ordered by id; `afterId` pages (keyset). */
  listInstances(filter?: { status?: InstanceStatus[]; definitionId?: string; correlationId?: string; parentId?: string; namespace?: string; updatedAfter?: number; afterId?: string; limit?: number }): Promise<InstanceSummary[]>;
  listHumanTasks(filter?: { instanceId?: string; namespace?: string; status?: 'open' | 'closed'; user?: string; group?: string; limit?: number }): Promise<HumanTaskRow[]>;
  /** The instance's row (status, seq, namespace, …) without loading its state. */
  getInstanceInfo(instanceId: string): Promise<InstanceSummary | undefined>;
  /** One human task row (open or closed), with its claim and reassignment. */
  getHumanTask(instanceId: string, taskId: string): Promise<HumanTaskRow | undefined>;
  /** Claims an open human task for `user` (durable; idempotent for the same user). Rejects `not_found`, or `invalid_state` when someone else holds it. */
  claimHumanTask(instanceId: string, taskId: string, user: string): Promise<HumanTaskRow>;
  /** Drops the claim (only `user`'s, when given). Rejects `not_found` / `invalid_state`. */
  releaseHumanTask(instanceId: string, taskId: string, user?: string): Promise<HumanTaskRow>;
  /** Replaces the assignees of an open human task and drops any claim (durable). Rejects `not_found`. */
  reassignHumanTask(instanceId: string, taskId: string, to: { users?: string[]; groups?: string[] }): Promise<HumanTaskRow>;

  /** Tasks run by remote workers (claim with lease, heartbeat, guarded completion): runtime/remote-tasks.ts. */
  readonly remote: RemoteTasks;

  /** Cron/interval schedules that start instances (create, list, get, update, pause, resume, delete, trigger): runtime/schedules.ts. */
  readonly schedules: Schedules;

  /** This process's node id (leases it takes carry it). */
  readonly nodeId: string;
  /** The nodes sharing the database (SQLite: this one), alive first, with the one leading now. */
  listNodes(): Promise<NodeInfo[]>;
  /** Whether this node runs the singleton duties now (always true on SQLite). */
  isLeader(): boolean;
  /**
   * Registers a singleton duty (cron schedules, …): `start()` when this node becomes leader (at
   * once if it is), `stop()` when it stops being leader or closes. Returns an unregister function.
   */
  onLeadership(duty: { name?: string; start(): void; stop(): void }): () => void;

  /** Resolves once the instance is in a terminal status (completed, failed, cancelled, terminated, compensated). */
  waitUntilDone(instanceId: string, options?: { timeoutMs?: number }): Promise<InstanceState>;
  /** Resolves once the predicate holds for a committed state. */
  waitUntil(instanceId: string, predicate: (state: InstanceState) => boolean, options?: { timeoutMs?: number }): Promise<InstanceState>;

  on<K extends keyof EngineEventMap>(event: K, listener: (payload: EngineEventMap[K]) => void): () => void;

  /** Stops timers and in-process activities (they re-run from their last attempt on the next open). */
  close(): Promise<void>;
}
