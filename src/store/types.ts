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

  close(): Promise<void>;
}
