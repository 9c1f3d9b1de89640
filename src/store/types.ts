/**
 * The Store: everything the runtime persists, backend-neutral (SPEC C3). SQLite (embedded) and
 * PostgreSQL (distributed) implement it and pass the same conformance suite
 * (`src/store/conformance.ts`). Every method is async and every write is one transaction, so a
 * networked backend fits the same shape.
 *
 * The hot path is `commit(batch)`: the runtime's group commit writes, for many instances at once,
 * their new events, instance row updates, snapshots and the rows their events imply (tasks,
 * timers, waits, human tasks) plus outbox messages — all or nothing.
 *
 * Keys: task ids and timer ids are unique per instance only, so rows are keyed by
 * (instanceId, taskId) / (instanceId, timerId) / (instanceId, runId).
 */
import type { Effects, TaskRow } from '../core/effects.js';
import type { EngineEvent, HumanTaskInfo, InstanceState, InstanceStatus, TimerInfo } from '../core/types.js';

// ------------------------------------------------------------------------------ definitions

export interface DefinitionRecord {
  id: string;
  version: string;
  /** The canonical (normalised) definition as JSON-compatible data. */
  definition: unknown;
  /** Content hash; putting the same id+version with another hash is a conflict. */
  hash: string;
  createdAt: number;
  /** The namespace the definition belongs to (default `default`). */
  namespace?: string;
}

export interface DefinitionSummary {
  id: string;
  version: string;
  hash: string;
  createdAt: number;
  namespace: string;
}

// ------------------------------------------------------------------------------ instances

export interface InstanceRecord {
  id: string;
  definitionId: string;
  definitionVersion: string;
  namespace?: string;
  status: InstanceStatus;
  /** Seq of the last event written (0 before the first). */
  seq: number;
  parentId?: string;
  parentRunId?: string;
  correlationId?: string;
  labels?: Record<string, string>;
  idempotencyKey?: string;
  createdAt: number;
  updatedAt: number;
  endedAt?: number;
}

/** A new instance row: `status` and `seq` start at `pending` / 0 unless a commit sets them. */
export type NewInstance = Omit<InstanceRecord, 'status' | 'seq' | 'updatedAt' | 'endedAt'> & {
  status?: InstanceStatus;
  updatedAt?: number;
};

export interface InstanceFilter {
  status?: InstanceStatus[];
  definitionId?: string;
  parentId?: string;
  correlationId?: string;
  /** Only instances of this namespace. */
  namespace?: string;
  /** Only rows with `updatedAt >= updatedAfter` (WebSocket resume of definition/all subscriptions). */
  updatedAfter?: number;
  /** Keyset pagination: ids strictly greater than this (results are ordered by id). */
  afterId?: string;
  limit?: number;
}

export interface InstanceUpdate {
  /** Omitted: unchanged (saves rewriting the status index on the hot path). */
  status?: InstanceStatus;
  seq?: number;
  updatedAt: number;
  endedAt?: number;
}

// ------------------------------------------------------------------------------ tasks

/** Who holds a task and until when. `token` is unique per claim: a stale holder cannot complete. */
export interface Lease {
  owner: string;
  token: string;
  expiresAt: number;
}

export interface StoredTask extends TaskRow {
  /** Set while claimed (the lease may have expired: compare `lease.expiresAt` with now). */
  lease?: Lease;
  /** How many times the row was claimed (all attempts). */
  claims: number;
  /** Details of the last recorded heartbeat (kept across attempts of the same task id). */
  heartbeatDetails?: unknown;
  createdAt: number;
}

export interface ClaimTasksOptions {
  owner: string;
  now: number;
  leaseMs: number;
  limit: number;
  /** Only these activities (the handlers this node has). Omitted: any. */
  activities?: string[];
  /** Only these queues; `null` in the list matches tasks without a queue. Omitted: any. */
  queues?: Array<string | null>;
  /** Only tasks of instances in this namespace (remote workers serve their namespace). Omitted: any. */
  namespace?: string;
  /** Makes the per-claim tokens unique; default a random prefix. */
  tokenPrefix?: string;
}

/** A claim guard: the commit fails with `LeaseLostError` unless the task row still carries this token. */
export interface LeaseGuard {
  taskId: string;
  token: string;
}

export interface LeaseRenewal {
  instanceId: string;
  taskId: string;
  token: string;
  expiresAt: number;
  /** Recorded when present (heartbeat details for the next attempt). */
  details?: unknown;
}

export interface TaskKey {
  instanceId: string;
  taskId: string;
}

// ------------------------------------------------------------------------------ timers, waits, humans

export interface TimerRow extends TimerInfo {
  instanceId: string;
  timerId: string;
}

export interface DueTimersOptions {
  now: number;
  limit: number;
  /** When set, the returned timers are leased to `owner` until `now + leaseMs` (other callers skip them). */
  owner?: string;
  leaseMs?: number;
}

export interface WaitRow {
  instanceId: string;
  runId: string;
  event: string;
  key?: unknown;
}

export interface HumanTaskRecord {
  instanceId: string;
  runId: string;
  stepId: string;
  task: HumanTaskInfo;
  input?: unknown;
  status: 'open' | 'closed';
  createdAt: number;
  closedAt?: number;
  /** Who claimed the open task (only they may complete or reject it). Cleared when the task re-opens. */
  claimedBy?: string;
  claimedAt?: number;
  /** `task.users`/`task.groups` were replaced by a reassignment. */
  reassigned?: boolean;
}

/** `claimHumanTask`'s answer: claimed (or already claimed by the same user), unknown/closed, or someone else's. */
export type HumanTaskClaim =
  | { status: 'claimed'; task: HumanTaskRecord }
  | { status: 'not_found' }
  | { status: 'taken'; claimedBy: string };

export interface HumanTaskFilter {
  instanceId?: string;
  /** Only tasks of instances in this namespace. */
  namespace?: string;
  status?: 'open' | 'closed';
  user?: string;
  group?: string;
  limit?: number;
}

// ------------------------------------------------------------------------------ outbox

export interface OutboxMessage {
  topic: string;
  instanceId?: string;
  payload: unknown;
}

export interface OutboxRow extends OutboxMessage {
  id: number;
  createdAt: number;
}

// ------------------------------------------------------------------------------ nodes

/** An engine process sharing the database (SQLite: always the one). */
export interface NodeRecord {
  id: string;
  host: string;
  pid: number;
  /** Activity names this node runs in-process. */
  capabilities: string[];
  /** Most activities it runs at once. */
  capacity: number;
  startedAt: number;
  heartbeatAt: number;
  /** `dead` once the leader saw no heartbeat for the dead-after bound (its leases were released). */
  status: 'alive' | 'dead';
  diedAt?: number;
}

/** What a retention pass deleted. */
export interface PurgeResult {
  instances: number;
}

// ------------------------------------------------------------------------------ commit

/** The row effects the store applies (a subset of the core's `Effects`; all lists optional). */
export type RowEffects = Partial<Pick<Effects,
  'tasksToSchedule' | 'tasksToRemove' | 'timersToSet' | 'timersToRemove' |
  'waitsToAdd' | 'waitsToRemove' | 'humanTasksToOpen' | 'humanTasksToClose'>> & {
  /** Leases to write on tasks scheduled in this batch (a node claiming work it will run itself). */
  claims?: Array<{ taskId: string } & Lease>;
};

/** Everything one commit writes for one instance. */
export interface InstanceWrite {
  instanceId: string;
  /** Insert the instance row first (fails the batch with `DuplicateInstanceError` if id or key exists). */
  create?: NewInstance;
  /** The instance's seq before `events` (0 for a new one); checked optimistically. */
  expectedSeq: number;
  /** Numbered `expectedSeq + 1 …` in order. May be empty (rows only). */
  events: EngineEvent[];
  /** Instance row after the batch. Omitted: row untouched (only valid with no events). */
  update?: InstanceUpdate;
  snapshot?: { seq: number; state: InstanceState };
  effects?: RowEffects;
  /** Leases that must still be held (task completions by a lease holder). */
  guards?: LeaseGuard[];
}

export interface CommitBatch {
  instances: InstanceWrite[];
  outbox?: OutboxMessage[];
  /** Written on new rows (`createdAt`). */
  now: number;
  /**
   * A cluster notification sent inside the commit transaction (PostgreSQL: `pg_notify` on
   * `NOTIFY_CHANNEL`, delivered only if the commit succeeds; several payloads when one would pass
   * the 8,000-byte limit). Backends without notifications ignore it.
   */
  notify?: string[];
}

/** What a cache miss needs: the row, the latest snapshot (≤ `uptoSeq`) and the events after it. */
export interface InstanceLog {
  instance: InstanceRecord;
  snapshot?: { seq: number; state: InstanceState };
  events: EngineEvent[];
}

export interface ReadEventsOptions {
  /** First seq wanted (default 1). */
  fromSeq?: number;
  /** Last seq wanted (inclusive). */
  toSeq?: number;
  limit?: number;
}

// ------------------------------------------------------------------------------ schedules

/** What a schedule does when a fire time comes while its previous run is still running. */
export type ScheduleOverlap = 'skip' | 'buffer_one' | 'allow';
/** What a schedule does with fire times missed while no node was running it. */
export type ScheduleCatchUp = 'skip' | 'one' | 'all';

/** What happened at a fire time: an instance started, or why not. */
export interface ScheduleRun {
  /** The fire time (the cron/interval time, or the moment of a manual trigger). */
  at: number;
  outcome: 'started' | 'skipped' | 'buffered' | 'failed';
  instanceId?: string;
  /** Why it was skipped or failed. */
  reason?: string;
  /** Started by a trigger-now rather than by the clock. */
  manual?: boolean;
}

/** A schedule that starts instances of a definition (runtime/schedules.ts; docs/schedules.md). */
export interface ScheduleRecord {
  id: string;
  namespace: string;
  definitionId: string;
  /** Exact version or semver range, resolved at each start; omitted: the latest. */
  definitionVersion?: string;
  /** Exactly one of `cron` (5 or 6 fields) and `interval` (a duration, e.g. `15m`). */
  cron?: string;
  interval?: string;
  /** IANA time zone the cron fields are read in (default `UTC`). */
  timezone: string;
  input?: unknown;
  labels?: Record<string, string>;
  overlap: ScheduleOverlap;
  catchUp: ScheduleCatchUp;
  /** Most missed times `catchUp: all` starts (the latest ones). */
  catchUpLimit: number;
  paused: boolean;
  startAt?: number;
  endAt?: number;
  /** Next fire time; omitted once past `endAt`. */
  nextRunAt?: number;
  lastRun?: ScheduleRun;
  /** The instance the schedule started last (the overlap policies look at it). */
  lastInstanceId?: string;
  /** `buffer_one`: the fire time remembered while the last instance runs. */
  bufferedAt?: number;
  /** Bumped by every update (optimistic concurrency). */
  revision: number;
  createdAt: number;
  updatedAt: number;
}

export interface ScheduleFilter {
  namespace?: string;
  definitionId?: string;
  /** Keyset pagination: ids strictly greater than this (results are ordered by id). */
  afterId?: string;
  limit?: number;
}

export interface DueSchedulesOptions {
  now: number;
  limit: number;
  /** The due rows are leased to `owner` until `now + leaseMs` (other claimers skip them). */
  owner: string;
  leaseMs: number;
}

// ------------------------------------------------------------------------------ the store

export interface Store {
  /** `sqlite`, `postgres`, … */
  readonly backend: string;

  // definitions
  /** Idempotent for identical content (`created: false`); another hash for the same id+version → `DefinitionConflictError`. */
  putDefinition(record: DefinitionRecord): Promise<{ created: boolean }>;
  getDefinition(id: string, version: string): Promise<DefinitionRecord | undefined>;
  /** All versions (of one id, or all), oldest first. */
  listDefinitions(id?: string): Promise<DefinitionSummary[]>;
  /**
   * Deletes one version, atomically checking that no instance (of any status) uses it:
   * `in_use` (with up to 10 instance ids) and nothing deleted, `not_found`, or `deleted`.
   */
  deleteDefinition(id: string, version: string): Promise<{ status: 'deleted' | 'not_found' } | { status: 'in_use'; instances: string[] }>;

  // instances
  /** Inserts the row; if the idempotency key (or id) already exists returns the existing row with `created: false`. */
  createInstance(instance: NewInstance): Promise<{ instance: InstanceRecord; created: boolean }>;
  getInstance(id: string): Promise<InstanceRecord | undefined>;
  getInstanceByIdempotencyKey(key: string): Promise<InstanceRecord | undefined>;
  listInstances(filter?: InstanceFilter): Promise<InstanceRecord[]>;
  /** Status/seq update; with `expectedSeq`, fails with `SeqConflictError` unless the row is at that seq. */
  updateInstance(id: string, update: InstanceUpdate, expectedSeq?: number): Promise<void>;

  // events and snapshots
  /** Appends events `expectedSeq + 1 …` and moves the row's seq; `SeqConflictError` if the row is not at `expectedSeq`. */
  appendEvents(instanceId: string, expectedSeq: number, events: EngineEvent[]): Promise<void>;
  readEvents(instanceId: string, options?: ReadEventsOptions): Promise<EngineEvent[]>;
  putSnapshot(instanceId: string, seq: number, state: InstanceState): Promise<void>;
  /** Latest snapshot with seq ≤ `atOrBefore` (default: the latest). */
  getSnapshot(instanceId: string, atOrBefore?: number): Promise<{ seq: number; state: InstanceState } | undefined>;
  /** Row + latest snapshot ≤ `uptoSeq` + events after it up to `uptoSeq` — one read for a cache miss. */
  loadInstance(instanceId: string, uptoSeq?: number): Promise<InstanceLog | undefined>;

  /** The group commit: every write of the batch in ONE transaction, or nothing. */
  commit(batch: CommitBatch): Promise<void>;

  // tasks
  /** Claims up to `limit` runnable tasks (unclaimed or lease expired), highest priority then oldest first. */
  claimTasks(options: ClaimTasksOptions): Promise<StoredTask[]>;
  /** Extends leases still held (same token); returns the ones that were lost. */
  renewLeases(renewals: LeaseRenewal[]): Promise<TaskKey[]>;
  /** Drops leases: of `owner`, or every lease when omitted (embedded recovery: one process owns the file). */
  releaseLeases(owner?: string): Promise<number>;
  getTask(instanceId: string, taskId: string): Promise<StoredTask | undefined>;
  /** `namespace`: only tasks of instances in it (instances without one are `default`). */
  listTasks(filter?: { instanceId?: string; activity?: string; namespace?: string; limit?: number }): Promise<StoredTask[]>;

  // timers
  /** Timers with `dueAt ≤ now` (and not leased to someone else), earliest first; leased to `owner` if given. */
  dueTimers(options: DueTimersOptions): Promise<TimerRow[]>;
  /** Earliest `dueAt` of unleased timers, to arm one in-memory timeout. */
  nextTimerDue(): Promise<number | undefined>;
  listTimers(instanceId: string): Promise<TimerRow[]>;
  /** Removes timer rows outright (orphans whose instance no longer knows them). */
  deleteTimers(keys: Array<{ instanceId: string; timerId: string }>): Promise<void>;

  // waits
  /** Waits for `event` whose key equals `key` (canonical JSON); `undefined` matches waits without a key. */
  findWaits(event: string, key: unknown, limit?: number): Promise<WaitRow[]>;
  listWaits(instanceId: string): Promise<WaitRow[]>;

  // human tasks
  listHumanTasks(filter?: HumanTaskFilter): Promise<HumanTaskRecord[]>;
  getHumanTask(instanceId: string, taskId: string): Promise<HumanTaskRecord | undefined>;
  /** Atomically claims an OPEN task for `user` (idempotent for the same user); another user's claim → `taken`. */
  claimHumanTask(instanceId: string, taskId: string, user: string, now: number): Promise<HumanTaskClaim>;
  /** Drops the claim on an open task (of `user` only, when given). Returns the row, or undefined if not open (or claimed by someone else). */
  releaseHumanTask(instanceId: string, taskId: string, user?: string): Promise<HumanTaskRecord | undefined>;
  /** Replaces the users and/or groups of an OPEN task and drops any claim; undefined if no such open task. */
  reassignHumanTask(instanceId: string, taskId: string, to: { users?: string[]; groups?: string[] }): Promise<HumanTaskRecord | undefined>;

  // outbox
  readOutbox(afterId: number, limit: number): Promise<OutboxRow[]>;
  deleteOutbox(upToId: number): Promise<number>;
  /** Deletes exactly these rows (the relay deletes what it read: ids are not in commit order on PostgreSQL). */
  deleteOutboxRows(ids: number[]): Promise<number>;

  // nodes (runtime/cluster)
  /** Inserts or replaces the node's row (alive, heartbeat = `heartbeatAt`). */
  registerNode(node: Omit<NodeRecord, 'status' | 'diedAt'>): Promise<void>;
  /** Moves the heartbeat of an ALIVE node; false when the row is missing or marked dead (the node must re-register). */
  heartbeatNode(id: string, now: number, update?: { capabilities?: string[]; capacity?: number }): Promise<boolean>;
  /** Every node row, alive first, then by id. */
  listNodes(): Promise<NodeRecord[]>;
  /** Marks alive nodes whose heartbeat is older than `heartbeatBefore` dead (at `now`); returns their ids. */
  markDeadNodes(heartbeatBefore: number, now: number): Promise<string[]>;
  /** Deletes dead node rows that died before `diedBefore`; returns how many. */
  forgetNodes(diedBefore: number): Promise<number>;
  /** Removes the node's row (a clean shutdown). */
  removeNode(id: string): Promise<void>;

  // retention
  /**
   * Deletes up to `limit` instances that ended before `endedBefore`, with their events, snapshots
   * and every row they still own (tasks, timers, waits, human tasks).
   */
  purgeFinished(endedBefore: number, limit: number): Promise<PurgeResult>;

  // schedules (runtime/schedules.ts)
  /** Inserts a schedule (`revision` as given); false (nothing written) when the id exists. */
  createSchedule(schedule: ScheduleRecord): Promise<boolean>;
  getSchedule(id: string): Promise<ScheduleRecord | undefined>;
  /** Ordered by id. */
  listSchedules(filter?: ScheduleFilter): Promise<ScheduleRecord[]>;
  /**
   * Writes `schedule` with `revision = expectedRevision + 1` if the row is still at
   * `expectedRevision`; `releaseLease` also drops the row's lease (the firing node is done).
   */
  updateSchedule(schedule: ScheduleRecord, expectedRevision: number, options?: { releaseLease?: boolean }): Promise<'updated' | 'conflict' | 'not_found'>;
  deleteSchedule(id: string): Promise<boolean>;
  /** Leases up to `limit` unpaused rows with `nextRunAt ≤ now` and no live lease, earliest first. */
  claimDueSchedules(options: DueSchedulesOptions): Promise<ScheduleRecord[]>;
  /** When the service must look next: the earliest unpaused `nextRunAt` (a leased row counts from its lease expiry). */
  nextScheduleDue(): Promise<number | undefined>;
  /** Drops schedule leases: of `owner`, or all when omitted (embedded recovery). */
  releaseScheduleLeases(owner?: string): Promise<number>;

  close(): Promise<void>;
}
