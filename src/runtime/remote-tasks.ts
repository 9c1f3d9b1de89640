/**
 * Remote workers (SPEC C3): processes elsewhere that run activities with the same lease contract
 * as the in-process dispatcher. A worker claims tasks (long-poll: the claim waits for work), gets
 * a lease token per task, heartbeats (renewing the lease; the answer says whether the task was
 * cancelled or lost), and completes or fails through the commit queue with a lease guard — so a
 * completion from a worker whose lease was lost is rejected `stale` and records nothing.
 *
 * A lease that runs out (the worker died or stalled) is failed here with code `lease_expired`
 * (or `heartbeat_timeout` / `timeout` when the task declares those), guarded by the expired token:
 * the attempt shows in the history and the retry policy decides what happens next, exactly as for
 * an in-process activity that timed out.
 *
 * Leases handed out are tracked in memory: on SQLite one process owns the file and every lease
 * left behind is released when the engine opens, so nothing outlives this map.
 */
import { CommandRejected } from '../core/errors.js';
import type { Command, EngineEvent, ErrorInfo } from '../core/types.js';
import type { LeaseGuard, Store, StoredTask } from '../store/types.js';

export interface RemoteTasksOptions {
  store: Store;
  /** `persistent`: the engine's own command, retried while the database is away (a lease running out). */
  submit: (command: Command, guard: LeaseGuard, options?: { persistent?: boolean }) => Promise<EngineEvent[]>;
  clock: () => number;
  /** Default lease of a remote task, ms (default 30 s); shortened to the task's heartbeat timeout. */
  leaseMs?: number;
  log: (level: 'debug' | 'info' | 'warn' | 'error', message: string, fields?: Record<string, unknown>) => void;
}

export interface WorkerDeclaration {
  workerId: string;
  activities: string[];
  /** Most tasks the worker runs at once. */
  capacity?: number;
  queues?: Array<string | null>;
  /** `http` (long-poll) or `ws`. */
  transport?: 'http' | 'ws';
  /**
   * The namespace the worker serves (the API passes the caller's; default `default`): it claims
   * only tasks of that namespace's instances. Worker ids are per namespace.
   */
  namespace?: string;
}

export interface WorkerInfo {
  id: string;
  namespace: string;
  activities: string[];
  capacity: number;
  queues?: Array<string | null>;
  transport: 'http' | 'ws';
  connectedAt: number;
  lastSeenAt: number;
  /** Tasks leased to it now. */
  running: number;
  status: 'active' | 'stale';
}

export interface RemoteTask {
  instanceId: string;
  taskId: string;
  runId: string;
  stepId: string;
  activity: string;
  input: unknown;
  attempt: number;
  /** The lease token: send it back with every heartbeat, completion and failure. */
  token: string;
  leaseMs: number;
  expiresAt: number;
  timeoutMs?: number;
  heartbeatTimeoutMs?: number;
  /** Details of the last heartbeat of a previous attempt. */
  lastHeartbeat?: unknown;
}

export interface HeartbeatRequest {
  instanceId: string;
  taskId: string;
  token: string;
  details?: unknown;
}

export interface HeartbeatAnswer {
  instanceId: string;
  taskId: string;
  /** The worker must stop: the task was cancelled, finished elsewhere, or the lease was lost. */
  cancel: boolean;
  reason?: 'cancelled' | 'lease_lost';
  expiresAt?: number;
}

export interface QueueInfo {
  activity: string;
  queue?: string;
  queued: number;
  leased: number;
}

interface Held {
  /** The worker's key (namespace + id). */
  worker: string;
  workerId: string;
  namespace: string;
  task: RemoteTask;
  startedAt: number;
  leaseMs: number;
}

const hkey = (instanceId: string, taskId: string) => `${instanceId}\u0000${taskId}`;
const DEFAULT_NS = 'default';
/** Workers are keyed by namespace and id: the same id in two namespaces is two workers. */
const wkey = (namespace: string | undefined, workerId: string) => `${namespace ?? DEFAULT_NS}\u0000${workerId}`;

export class RemoteTasks {
  private readonly held = new Map<string, Held>();
  private readonly workers = new Map<string, WorkerInfo>();
  private readonly pollers = new Set<() => void>();
  private readonly leaseMs: number;
  private reaper?: NodeJS.Timeout;
  private closed = false;
  private seq = 0;

  constructor(private readonly o: RemoteTasksOptions) {
    this.leaseMs = o.leaseMs ?? 30_000;
  }

  /** Registers (or refreshes) a worker. */
  register(decl: WorkerDeclaration): WorkerInfo {
    const now = this.o.clock();
    const key = wkey(decl.namespace, decl.workerId);
    const prev = this.workers.get(key);
    const info: WorkerInfo = {
      id: decl.workerId, namespace: decl.namespace ?? DEFAULT_NS, activities: [...decl.activities], capacity: decl.capacity ?? prev?.capacity ?? 10,
      transport: decl.transport ?? prev?.transport ?? 'http', connectedAt: prev?.connectedAt ?? now, lastSeenAt: now,
      running: prev?.running ?? 0, status: 'active',
      ...(decl.queues && { queues: decl.queues }),
    };
    this.workers.set(key, info);
    return info;
  }

  unregister(workerId: string, namespace?: string): void {
    this.workers.delete(wkey(namespace, workerId));
  }

  /** Connected workers; with `namespace`, only that namespace's. */
  listWorkers(namespace?: string): WorkerInfo[] {
    const now = this.o.clock();
    return [...this.workers.values()].filter((w) => namespace === undefined || w.namespace === namespace).map((w) => ({
      ...w,
      running: this.countHeld(wkey(w.namespace, w.id)),
      status: now - w.lastSeenAt > 3 * this.leaseMs ? 'stale' : 'active',
    }));
  }

  /** Leases held by remote workers now (tokens included: for the server's own use, not for clients). */
  listLeases(): Array<{ workerId: string; namespace: string; instanceId: string; taskId: string; activity: string; attempt: number; token: string; expiresAt: number }> {
    return [...this.held.values()].map((h) => ({
      workerId: h.workerId, namespace: h.namespace, instanceId: h.task.instanceId, taskId: h.task.taskId, activity: h.task.activity,
      attempt: h.task.attempt, token: h.task.token, expiresAt: h.task.expiresAt,
    }));
  }

  /** Tasks queued and leased per activity and queue; with `namespace`, only that namespace's instances' tasks. */
  async listQueues(namespace?: string): Promise<QueueInfo[]> {
    const rows = await this.o.store.listTasks({ limit: 100_000, ...(namespace !== undefined && { namespace }) });
    const now = this.o.clock();
    const by = new Map<string, QueueInfo>();
    for (const t of rows) {
      const k = `${t.activity}\u0000${t.queue ?? ''}`;
      let q = by.get(k);
      if (!q) by.set(k, (q = { activity: t.activity, queued: 0, leased: 0, ...(t.queue !== undefined && { queue: t.queue }) }));
      if (t.lease && t.lease.expiresAt >= now) q.leased++;
      else q.queued++;
    }
    return [...by.values()].sort((a, b) => a.activity.localeCompare(b.activity));
  }

  /**
   * Claims up to `limit` tasks for the worker; with `waitMs`, waits (long-poll) until work appears
   * or the time is up. Returns an empty list on timeout.
   */
  async claim(decl: WorkerDeclaration, limit: number, waitMs = 0, signal?: AbortSignal): Promise<RemoteTask[]> {
    this.register(decl);
    this.ensureReaper();
    const deadline = this.o.clock() + waitMs;
    for (;;) {
      if (this.closed || signal?.aborted) return [];
      await this.reap();
      const tasks = await this.claimNow(decl, limit);
      if (tasks.length > 0 || waitMs <= 0) return tasks;
      const left = deadline - this.o.clock();
      if (left <= 0) return [];
      await this.waitForWork(Math.min(left, 1000), signal);
    }
  }

  private async claimNow(decl: WorkerDeclaration, limit: number): Promise<RemoteTask[]> {
    if (limit <= 0 || decl.activities.length === 0) return [];
    const now = this.o.clock();
    const namespace = decl.namespace ?? DEFAULT_NS;
    const rows = await this.o.store.claimTasks({
      owner: `worker:${namespace === DEFAULT_NS ? '' : `${namespace}/`}${decl.workerId}`, now, leaseMs: this.leaseMs, limit, activities: decl.activities, namespace,
      tokenPrefix: `r${(++this.seq).toString(36)}.${now.toString(36)}`,
      ...(decl.queues && { queues: decl.queues }),
    });
    const out: RemoteTask[] = [];
    for (const row of rows) {
      const leaseMs = Math.min(this.leaseMs, row.heartbeatTimeoutMs ?? Infinity);
      const task = toRemote(row, leaseMs, now);
      this.held.set(hkey(row.instanceId, row.taskId), { worker: wkey(namespace, decl.workerId), workerId: decl.workerId, namespace, task, startedAt: now, leaseMs });
      out.push(task);
    }
    if (leasesShortened(out)) {
      // The store wrote the default lease; shorten it to the heartbeat timeout.
      await this.o.store.renewLeases(out.map((t) => ({ instanceId: t.instanceId, taskId: t.taskId, token: t.token, expiresAt: t.expiresAt })));
    }
    return out;
  }

  /** Renews the leases the worker still holds; the answer says which tasks it must abandon. */
  async heartbeat(workerId: string, beats: HeartbeatRequest[], namespace?: string): Promise<HeartbeatAnswer[]> {
    const w = this.workers.get(wkey(namespace, workerId));
    if (w) w.lastSeenAt = this.o.clock();
    if (beats.length === 0) return [];
    const now = this.o.clock();
    const renewals = beats.map((b) => {
      const held = this.held.get(hkey(b.instanceId, b.taskId));
      const leaseMs = held?.task.token === b.token ? held.leaseMs : this.leaseMs;
      return { instanceId: b.instanceId, taskId: b.taskId, token: b.token, expiresAt: now + leaseMs, ...(b.details !== undefined && { details: b.details }) };
    });
    const lost = new Set((await this.o.store.renewLeases(renewals)).map((k) => hkey(k.instanceId, k.taskId)));
    const out: HeartbeatAnswer[] = [];
    for (const r of renewals) {
      const k = hkey(r.instanceId, r.taskId);
      if (lost.has(k)) {
        const held = this.held.get(k);
        if (held?.task.token === r.token) this.held.delete(k);
        const row = await this.o.store.getTask(r.instanceId, r.taskId);
        out.push({ instanceId: r.instanceId, taskId: r.taskId, cancel: true, reason: row ? 'lease_lost' : 'cancelled' });
      } else {
        const held = this.held.get(k);
        if (held?.task.token === r.token) held.task.expiresAt = r.expiresAt;
        out.push({ instanceId: r.instanceId, taskId: r.taskId, cancel: false, expiresAt: r.expiresAt });
      }
    }
    return out;
  }

  /** Records a result; rejects `stale` (nothing recorded) when the lease is no longer held. */
  async complete(workerId: string, r: { instanceId: string; taskId: string; token: string; attempt: number; output?: unknown }, namespace?: string): Promise<void> {
    this.touch(wkey(namespace, workerId));
    this.release(r.instanceId, r.taskId, r.token);
    await this.o.submit(
      { type: 'CompleteActivity', instanceId: r.instanceId, taskId: r.taskId, attempt: r.attempt, output: r.output, by: `worker:${workerId}` },
      { taskId: r.taskId, token: r.token },
    );
  }

  async fail(workerId: string, r: { instanceId: string; taskId: string; token: string; attempt: number; error: ErrorInfo }, namespace?: string): Promise<void> {
    this.touch(wkey(namespace, workerId));
    this.release(r.instanceId, r.taskId, r.token);
    await this.o.submit(
      { type: 'FailActivity', instanceId: r.instanceId, taskId: r.taskId, attempt: r.attempt, error: r.error, by: `worker:${workerId}` },
      { taskId: r.taskId, token: r.token },
    );
  }

  /** The engine committed events: wake long-polls when new tasks may be claimable. */
  committed(events: readonly EngineEvent[]): void {
    if (this.pollers.size === 0) return;
    for (const e of events) {
      if (e.type === 'ActivityScheduled' || (e.type === 'StepStarted' && e.task)) {
        this.wake();
        return;
      }
    }
  }

  /** A worker went away (its socket closed): forget it; its leases run out on their own. */
  disconnected(workerId: string, namespace?: string): void {
    const w = this.workers.get(wkey(namespace, workerId));
    if (w) w.lastSeenAt = Math.min(w.lastSeenAt, this.o.clock());
  }

  /** Fails every lease that ran out (or whose start-to-close timeout passed). */
  async reap(): Promise<number> {
    if (this.held.size === 0) return 0;
    const now = this.o.clock();
    const due: Array<{ held: Held; error: ErrorInfo }> = [];
    for (const [k, held] of this.held) {
      const t = held.task;
      let error: ErrorInfo | undefined;
      if (t.timeoutMs !== undefined && now - held.startedAt >= t.timeoutMs) {
        error = { code: 'timeout', message: `activity "${t.activity}" timed out after ${t.timeoutMs} ms on worker ${held.workerId}` };
      } else if (t.expiresAt < now) {
        error = t.heartbeatTimeoutMs !== undefined
          ? { code: 'heartbeat_timeout', message: `activity "${t.activity}" sent no heartbeat for ${t.heartbeatTimeoutMs} ms (worker ${held.workerId})` }
          : { code: 'lease_expired', message: `worker ${held.workerId} lost its lease on "${t.activity}" (no heartbeat for ${held.leaseMs} ms)` };
      }
      if (!error) continue;
      this.held.delete(k);
      due.push({ held, error });
    }
    await Promise.all(due.map(async ({ held, error }) => {
      const t = held.task;
      this.o.log('warn', 'remote task lease lost', { instanceId: t.instanceId, taskId: t.taskId, worker: held.workerId, code: error.code });
      try {
        await this.o.submit(
          { type: 'FailActivity', instanceId: t.instanceId, taskId: t.taskId, attempt: t.attempt, error, by: 'server' },
          { taskId: t.taskId, token: t.token },
          { persistent: true },
        );
      } catch (err) {
        if (!(err instanceof CommandRejected)) this.o.log('error', 'failing an expired remote task failed', { error: String(err) });
      }
    }));
    if (due.length > 0) this.wake();
    return due.length;
  }

  close(): void {
    this.closed = true;
    if (this.reaper) clearInterval(this.reaper);
    this.reaper = undefined;
    this.wake();
  }

  private touch(key: string): void {
    const w = this.workers.get(key);
    if (w) w.lastSeenAt = this.o.clock();
  }

  private release(instanceId: string, taskId: string, token: string): void {
    const k = hkey(instanceId, taskId);
    if (this.held.get(k)?.task.token === token) this.held.delete(k);
  }

  private countHeld(key: string): number {
    let n = 0;
    for (const h of this.held.values()) if (h.worker === key) n++;
    return n;
  }

  private ensureReaper(): void {
    if (this.reaper || this.closed) return;
    const every = Math.max(50, Math.min(this.leaseMs / 4, 1000));
    this.reaper = setInterval(() => void this.reap(), every);
    this.reaper.unref();
  }

  /** Tasks may be claimable (another node wrote or released some): wake the long-polls to look. */
  workAvailable(): void {
    if (this.pollers.size > 0) this.wake();
  }

  private wake(): void {
    const list = [...this.pollers];
    this.pollers.clear();
    for (const p of list) p();
  }

  private waitForWork(ms: number, signal?: AbortSignal): Promise<void> {
    return new Promise((resolve) => {
      const done = () => { clearTimeout(timer); this.pollers.delete(done); signal?.removeEventListener('abort', done); resolve(); };
      const timer = setTimeout(done, ms);
      this.pollers.add(done);
      signal?.addEventListener('abort', done, { once: true });
    });
  }
}

function toRemote(row: StoredTask, leaseMs: number, now: number): RemoteTask {
  const t: RemoteTask = {
    instanceId: row.instanceId, taskId: row.taskId, runId: row.runId, stepId: row.stepId, activity: row.activity,
    input: row.input, attempt: row.attempt, token: row.lease!.token, leaseMs, expiresAt: now + leaseMs,
  };
  if (row.timeoutMs !== undefined) t.timeoutMs = row.timeoutMs;
  if (row.heartbeatTimeoutMs !== undefined) t.heartbeatTimeoutMs = row.heartbeatTimeoutMs;
  if (row.heartbeatDetails !== undefined) t.lastHeartbeat = row.heartbeatDetails;
  return t;
}

function leasesShortened(tasks: RemoteTask[]): boolean {
  return tasks.some((t) => t.heartbeatTimeoutMs !== undefined);
}
