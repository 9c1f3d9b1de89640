/**
 * In-process activity execution. Tasks this node can run are leased when they are written (the
 * claim rides in the same commit), or claimed from the store when capacity frees up (backlog,
 * recovery). Each runs with its handler; the result becomes a `CompleteActivity`/`FailActivity`
 * guarded by the lease token, so a holder whose lease was lost cannot record a completion.
 *
 * `ctx.signal` aborts on cancellation, start-to-close timeout, heartbeat timeout, or close.
 * Heartbeats only touch memory; one lease keeper renews leases and writes heartbeat details in
 * batches while tasks run.
 */
import type { TaskRow } from '../core/effects.js';
import { CommandRejected } from '../core/errors.js';
import type { Command, ErrorInfo } from '../core/types.js';
import type { Lease, LeaseGuard, Store, StoredTask } from '../store/types.js';
import { toErrorInfo, type ActivityContext, type ActivityRegistry } from './activity.js';
import type { ActivityNotice } from './api.js';
import { leaseTokens } from './ids.js';
import type { NetEffects } from './net-effects.js';

export interface DispatcherOptions {
  store: Store;
  registry: ActivityRegistry;
  nodeId: string;
  concurrency: number;
  leaseMs: number;
  clock: () => number;
  /** Sends a completion/failure through the commit queue. */
  submit: (command: Command, guard: LeaseGuard) => Promise<unknown>;
  notice?: (n: ActivityNotice) => void;
  log: (level: 'debug' | 'info' | 'warn' | 'error', message: string, fields?: Record<string, unknown>) => void;
}

class Running {
  settled = false;
  details?: unknown;
  detailsDirty = false;
  lastNotice = 0;
  timeout?: NodeJS.Timeout;
  hbTimer?: NodeJS.Timeout;
  /** Created on first use of `ctx.signal` (most handlers never look). */
  controller?: AbortController;

  /** Until when the store is known to hold our lease (the last write or renewal that succeeded). */
  confirmedUntil: number;

  constructor(readonly key: string, readonly row: TaskRow, public lease: Lease, public lastBeat: number) {
    this.confirmedUntil = lease.expiresAt;
  }

  abort(reason: string): void {
    this.controller?.abort(new Error(reason));
  }
}

/** The `ActivityContext` a handler sees; allocation-light (no closures until asked for). */
class TaskContext implements ActivityContext {
  readonly instanceId: string;
  readonly stepId: string;
  readonly runId: string;
  readonly taskId: string;
  readonly attempt: number;
  readonly activity: string;
  lastHeartbeat?: unknown;
  private hb?: (details?: unknown) => void;
  private logFn?: ActivityContext['log'];

  constructor(private readonly run: Running, private readonly dispatcher: Dispatcher) {
    const r = run.row;
    this.instanceId = r.instanceId;
    this.stepId = r.stepId;
    this.runId = r.runId;
    this.taskId = r.taskId;
    this.attempt = r.attempt;
    this.activity = r.activity;
  }

  get signal(): AbortSignal {
    const run = this.run;
    if (!run.controller) {
      run.controller = new AbortController();
      if (run.settled) run.controller.abort(new Error('activity no longer running'));
    }
    return run.controller.signal;
  }

  get heartbeat(): (details?: unknown) => void {
    return (this.hb ??= (details?: unknown) => this.dispatcher.heartbeat(this.run, details));
  }

  get log(): ActivityContext['log'] {
    return (this.logFn ??= (message, fields) => this.dispatcher.logFor(this.run, message, fields));
  }
}

const key = (instanceId: string, taskId: string) => `${instanceId}\u0000${taskId}`;

export class Dispatcher {
  private readonly running = new Map<string, Running>();
  /**
   * Finished runs whose result is not committed yet: their leases are still renewed, so a slow
   * commit (a loaded database, a reconnect) does not let the lease run out and the task be
   * claimed and run again while its result is on the way.
   */
  private readonly completing = new Map<string, Running>();
  private reserved = 0;
  /** Runnable tasks may be waiting in the store (capacity was full, or recovery). */
  private backlog = false;
  private claiming = false;
  /** claimSoon() was called while a claim was in flight. */
  private claimAgain = false;
  private closed = false;
  private readonly warned = new Set<string>();
  private readonly token: () => string;
  private keeper?: NodeJS.Timeout;

  private readonly by: string;
  /**
   * Heartbeat details of failed attempts, for the next attempt of the same task in this process
   * (the row is deleted with the failure; a re-run after a crash gets them from the row instead).
   */
  private readonly carried = new Map<string, unknown>();

  constructor(private readonly o: DispatcherOptions) {
    this.token = leaseTokens(o.nodeId);
    this.by = `worker:${o.nodeId}`;
  }

  get active(): number { return this.running.size; }

  /** Before a commit: leases for the tasks this node will run itself (capacity reserved). */
  planClaims(tasks: TaskRow[], now: number): Array<{ taskId: string } & Lease> | undefined {
    let out: Array<{ taskId: string } & Lease> | undefined;
    for (const t of tasks) {
      if (!this.o.registry.has(t.activity)) { this.warnUnknown(t.activity); continue; }
      if (this.closed || this.backlog || this.running.size + this.reserved >= this.o.concurrency) {
        this.backlog = true; // FIFO: queued tasks are claimed in store order when capacity frees
        continue;
      }
      this.reserved++;
      (out ??= []).push({ taskId: t.taskId, owner: this.o.nodeId, token: this.token(), expiresAt: now + this.o.leaseMs });
    }
    return out;
  }

  claimsVoid(): void {
    this.reserved = 0;
  }

  /** After a commit: run what we leased, abort what was cancelled or superseded. */
  committed(instanceId: string, fx: NetEffects, claims: Array<{ taskId: string } & Lease> | undefined): void {
    fx.forEachTask((taskId, row, cancelled) => {
      const run = this.running.size > 0 ? this.running.get(key(instanceId, taskId)) : undefined;
      if (!row) {
        if (run) this.abort(run, cancelled ? 'cancelled' : 'removed');
        return;
      }
      const lease = claims?.find((c) => c.taskId === taskId);
      if (run && run.lease.token !== lease?.token) this.abort(run, 'superseded');
      if (lease) {
        this.reserved--;
        this.start(row, lease);
      }
    });
  }

  /** Once per flush, after `committed` for every instance. */
  afterFlush(): void {
    this.reserved = 0;
    if (this.backlog) this.claimSoon();
  }

  /** Recovery / new handlers: look in the store for runnable tasks. */
  poke(): void {
    this.backlog = true;
    this.claimSoon();
  }

  private claimSoon(): void {
    if (this.closed) return;
    if (this.claiming) {
      // The claim in flight may have read the store before the commit that asks for this one:
      // claim once more when it returns, or that commit's unleased tasks wait for a poll.
      this.claimAgain = true;
      return;
    }
    const free = this.o.concurrency - this.running.size - this.reserved;
    if (free <= 0) return;
    this.claiming = true;
    setImmediate(() => void this.claim().finally(() => {
      this.claiming = false;
      if (this.claimAgain) {
        this.claimAgain = false;
        this.backlog = true;
        this.claimSoon();
      }
    }));
  }

  private async claim(): Promise<void> {
    const free = this.o.concurrency - this.running.size - this.reserved;
    const activities = this.o.registry.names();
    if (free <= 0 || this.closed || activities.length === 0) return;
    let rows: StoredTask[];
    try {
      rows = await this.o.store.claimTasks({ owner: this.o.nodeId, now: this.o.clock(), leaseMs: this.o.leaseMs, limit: free, activities });
    } catch (err) {
      this.o.log('error', 'claiming tasks failed', { error: String(err) });
      return;
    }
    if (rows.length < free) this.backlog = false;
    for (const r of rows) {
      if (this.closed) break;
      const existing = this.running.get(key(r.instanceId, r.taskId));
      if (existing) this.abort(existing, 'superseded');
      this.start(r, r.lease!, r.heartbeatDetails);
    }
    if (this.backlog && rows.length > 0) setImmediate(() => this.claimSoon());
  }

  private start(row: TaskRow, lease: Lease, lastHeartbeat?: unknown): void {
    const handler = this.o.registry.get(row.activity);
    if (!handler || this.closed) return;
    const run = new Running(key(row.instanceId, row.taskId), row, lease, this.o.clock());
    this.running.set(run.key, run);
    if (row.timeoutMs !== undefined) {
      run.timeout = setTimeout(() => this.timedOut(run, 'timeout', `activity "${row.activity}" timed out after ${row.timeoutMs} ms`), row.timeoutMs);
    }
    if (row.heartbeatTimeoutMs !== undefined) this.armHeartbeat(run, row.heartbeatTimeoutMs);
    this.ensureKeeper();
    const ctx = new TaskContext(run, this);
    const previous = lastHeartbeat ?? this.carried.get(run.key);
    if (previous !== undefined) ctx.lastHeartbeat = previous;
    this.carried.delete(run.key);
    this.notify('started', run);
    let result: unknown;
    try {
      result = handler(row.input, ctx);
    } catch (err) {
      this.failed(run, err);
      return;
    }
    if (result instanceof Promise || (typeof result === 'object' && result !== null && typeof (result as PromiseLike<unknown>).then === 'function')) {
      Promise.resolve(result).then((output) => this.completed(run, output), (err) => this.failed(run, err));
    }
    else queueMicrotask(() => this.completed(run, result)); // results are never reported synchronously
  }

  private completed(run: Running, output: unknown): void {
    const r = run.row;
    this.finish(run, { type: 'CompleteActivity', instanceId: r.instanceId, taskId: r.taskId, attempt: r.attempt, output, by: this.by });
  }

  private failed(run: Running, err: unknown): void {
    const r = run.row;
    this.finish(run, { type: 'FailActivity', instanceId: r.instanceId, taskId: r.taskId, attempt: r.attempt, error: toErrorInfo(err), by: this.by });
  }

  logFor(run: Running, message: string, fields?: Record<string, unknown>): void {
    const r = run.row;
    this.o.log('info', message, { ...fields, instanceId: r.instanceId, stepId: r.stepId, taskId: r.taskId, activity: r.activity });
  }

  private finish(run: Running, command: Command, error?: string): void {
    if (run.settled) return;
    this.settle(run);
    if (command.type === 'FailActivity' && run.details !== undefined) this.carry(run.key, run.details);
    this.notify('finished', run, error ?? (command.type === 'FailActivity' ? command.error.message : undefined));
    this.completing.set(run.key, run);
    this.ensureKeeper();
    const done = () => { if (this.completing.get(run.key) === run) this.completing.delete(run.key); };
    this.o.submit(command, { taskId: run.row.taskId, token: run.lease.token }).then(done, (err) => {
      done();
      const rejected = err instanceof CommandRejected;
      const r = run.row;
      if (rejected && err.code === 'stale') {
        // Our lease was taken over (a dead-node sweep, an expiry while the database was away): the
        // token guard refused the result, so the holder of the new lease records it instead.
        this.o.log('warn', 'completion refused: lease lost', { instanceId: r.instanceId, taskId: r.taskId, attempt: r.attempt, command: command.type });
      } else {
        this.o.log(rejected ? 'debug' : 'warn', `${command.type} not recorded`, { instanceId: r.instanceId, taskId: r.taskId, error: String(err) });
      }
      // Not a verdict of the core but a storage failure: the task row is still there, leased to us.
      // Once the lease runs out, look for it again (it re-runs from the same attempt).
      if (!rejected && !this.closed) setTimeout(() => this.poke(), this.o.leaseMs + 10).unref();
    });
  }

  private timedOut(run: Running, code: 'timeout' | 'heartbeat_timeout', message: string): void {
    if (run.settled) return;
    run.controller?.abort(new Error(message));
    const error: ErrorInfo = { code, message };
    this.finish(run, { type: 'FailActivity', instanceId: run.row.instanceId, taskId: run.row.taskId, attempt: run.row.attempt, error, by: this.by }, message);
  }

  private abort(run: Running, reason: string): void {
    if (run.settled) return;
    this.settle(run);
    run.abort(`activity ${reason}`);
    this.notify('finished', run, reason);
  }

  private settle(run: Running): void {
    run.settled = true;
    if (run.timeout) clearTimeout(run.timeout);
    if (run.hbTimer) clearTimeout(run.hbTimer);
    if (this.running.get(run.key) === run) this.running.delete(run.key);
    if (this.backlog) this.claimSoon();
  }

  heartbeat(run: Running, details: unknown): void {
    if (run.settled) return;
    const now = this.o.clock();
    run.lastBeat = now;
    if (details !== undefined) { run.details = details; run.detailsDirty = true; }
    if (now - run.lastNotice >= 1000) { run.lastNotice = now; this.notify('heartbeat', run); }
  }

  private armHeartbeat(run: Running, timeoutMs: number): void {
    const check = () => {
      if (run.settled) return;
      const idle = this.o.clock() - run.lastBeat;
      if (idle >= timeoutMs) this.timedOut(run, 'heartbeat_timeout', `activity "${run.row.activity}" sent no heartbeat for ${timeoutMs} ms`);
      else run.hbTimer = setTimeout(check, timeoutMs - idle);
    };
    run.hbTimer = setTimeout(check, timeoutMs);
  }

  /** Renews leases about to expire and writes heartbeat details, in one store call per tick. */
  private ensureKeeper(): void {
    if (this.keeper) return;
    const every = Math.max(50, Math.min(this.o.leaseMs / 3, 5000));
    this.keeper = setInterval(() => void this.renew(), every);
    this.keeper.unref();
  }

  private async renew(): Promise<void> {
    if (this.running.size === 0 && this.completing.size === 0) {
      // Idle: stop ticking until the next task starts (cheaper than stopping after every task).
      if (this.keeper) { clearInterval(this.keeper); this.keeper = undefined; }
      return;
    }
    const now = this.o.clock();
    const due = [...this.running.values(), ...this.completing.values()].filter((r) => r.detailsDirty || r.lease.expiresAt - now < this.o.leaseMs / 2);
    if (due.length === 0) return;
    const renewals = due.map((r) => {
      r.lease = { ...r.lease, expiresAt: now + this.o.leaseMs };
      const out = { instanceId: r.row.instanceId, taskId: r.row.taskId, token: r.lease.token, expiresAt: r.lease.expiresAt, ...(r.detailsDirty && { details: r.details }) };
      r.detailsDirty = false;
      return out;
    });
    try {
      const lost = await this.o.store.renewLeases(renewals);
      const lostKeys = new Set(lost.map((k) => key(k.instanceId, k.taskId)));
      for (const r of due) if (!lostKeys.has(r.key)) r.confirmedUntil = Math.max(r.confirmedUntil, r.lease.expiresAt);
      for (const r of due) {
        if (!lostKeys.has(r.key)) continue;
        // Only the run whose token was renewed (a newer attempt of the same task may run meanwhile).
        if (this.completing.get(r.key) === r) { this.completing.delete(r.key); continue; }
        if (this.running.get(r.key) === r) { this.o.log('warn', 'lease lost; aborting activity', { instanceId: r.row.instanceId, taskId: r.row.taskId }); this.abort(r, 'lease lost'); }
      }
    } catch (err) {
      this.o.log('error', 'renewing leases failed', { error: String(err) });
      // The database is away: a lease whose last confirmed expiry has passed may be someone
      // else's now. Stop that work; its result would be refused by the token guard anyway.
      const now = this.o.clock();
      for (const r of due) {
        if (r.confirmedUntil < now && this.running.get(r.key) === r) {
          this.o.log('warn', 'lease could not be renewed in time; aborting activity', { instanceId: r.row.instanceId, taskId: r.row.taskId });
          this.abort(r, 'lease lost');
        }
      }
    }
  }

  private carry(key: string, details: unknown): void {
    this.carried.delete(key);
    this.carried.set(key, details);
    if (this.carried.size > 10_000) this.carried.delete(this.carried.keys().next().value as string);
  }

  private warnUnknown(activity: string): void {
    if (this.warned.has(activity)) return;
    this.warned.add(activity);
    this.o.log('warn', `no handler for activity "${activity}" in this process; its tasks stay queued for a worker`, { activity });
  }

  private notify(type: ActivityNotice['type'], run: Running, error?: string): void {
    if (!this.o.notice) return;
    const r = run.row;
    this.o.notice({ type, instanceId: r.instanceId, taskId: r.taskId, stepId: r.stepId, activity: r.activity, attempt: r.attempt, at: this.o.clock(), ...(error !== undefined && { error }) });
  }

  /** Aborts every running handler without recording anything; their tasks re-run on the next open. */
  close(): void {
    this.closed = true;
    if (this.keeper) { clearInterval(this.keeper); this.keeper = undefined; }
    this.completing.clear();
    for (const run of [...this.running.values()]) {
      run.settled = true;
      if (run.timeout) clearTimeout(run.timeout);
      if (run.hbTimer) clearTimeout(run.hbTimer);
      run.abort('engine closing');
    }
    this.running.clear();
  }
}
