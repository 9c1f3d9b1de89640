/**
 * Group commit. Commands for any instance are queued; one flush at a time takes the whole queue,
 * runs each command through the core (commands of one instance strictly in order), follows up
 * inside the same flush (child starts, parent notifications, child cancels), and writes all the
 * events, instance rows, snapshots and effect rows in ONE store transaction. Only then are callers
 * resolved and the host told what changed (tasks to run, timers to arm, committed batches).
 *
 * A rejected command (CommandRejected) rejects its caller only: the core changed nothing. If the
 * transaction fails, every state touched is dropped from the cache (rebuilt from the log) and the
 * callers are retried (conflicts) or rejected (anything else).
 */
import type { CompiledDefinition } from '../core/compiled.js';
import { deriveEffects } from '../core/derive.js';
import type { Effects, TaskRow } from '../core/effects.js';
import { execute } from '../core/engine.js';
import { CommandRejected } from '../core/errors.js';
import type { Command, DecideContext, EngineEvent, InstanceState } from '../core/types.js';
import { DuplicateInstanceError, LeaseLostError, SeqConflictError } from '../store/errors.js';
import type { InstanceWrite, Lease, LeaseGuard, NewInstance, RowEffects, Store } from '../store/types.js';
import type { Definitions } from './definitions.js';
import type { CachedInstance, InstanceCache } from './instance-cache.js';
import { InstanceLoader } from './loader.js';
import { NetEffects } from './net-effects.js';
import { lifecycleMessages, OUTBOX_TOPIC, type LifecycleMessage } from './lifecycle.js';
import { isTransientStoreError } from './cluster/transient.js';

export interface Pending {
  command: Command;
  resolve: (events: EngineEvent[]) => void;
  reject: (err: unknown) => void;
  /** StartWorkflow from `start()`: the row to create and the definition to run. */
  start?: { create: NewInstance; compiled: CompiledDefinition; onDuplicate?: (existingId: string) => void };
  /** StartWorkflow of a child: the definition is resolved inside the flush. */
  child?: { workflow: string; version?: string; parentId: string; runId: string };
  /** The lease the sender holds on the task it completes. */
  guard?: LeaseGuard;
  /** Generated inside a flush; regenerated rather than retried when its flush fails. */
  followUp?: boolean;
  tries?: number;
  /**
   * The engine's own command (an activity result, a timer firing, a worker lease running out):
   * retried with back-off for as long as the database is unreachable, rather than given up after
   * a few tries — nobody else would send it again.
   */
  persistent?: boolean;
}

/** What one instance got from a committed flush. */
export interface CommittedInstance {
  readonly id: string;
  readonly events: EngineEvent[];
  readonly state: InstanceState;
  /** Net effects of the flush (tasks scheduled/removed, timers set, …). */
  readonly fx: NetEffects;
  /** Leases this node wrote with the scheduled tasks (it runs those itself). */
  readonly claims?: Array<{ taskId: string } & Lease>;
}

export interface CommitHost {
  now(): number;
  random(): number;
  limits: DecideContext['limits'];
  snapshotEvery: number;
  /**
   * Most commands taken into one flush (follow-ups come on top). Moderate batches measured best:
   * the transaction cost is amortised, while the working set of a flush stays small enough for
   * the young generation, and activities start sooner (docs/storage.md).
   */
  maxBatch: number;
  /** Called before the commit for each instance's net scheduled tasks: leases this node writes now. */
  planClaims(tasks: TaskRow[], now: number): Array<{ taskId: string } & Lease> | undefined;
  /** The commit failed: any planned claims are void. */
  claimsVoid(): void;
  /** After a successful commit, once per flush, instances in first-touched order. */
  committed(instances: CommittedInstance[]): void;
  /**
   * Cluster notification payloads for this flush, sent inside its transaction (undefined: none —
   * the embedded engine). `commits`: [instance, first seq, last seq]; `unclaimed`: activities of
   * tasks written that this node did not lease to itself; `earliestTimer`: the earliest timer set.
   */
  notice?(commits: Array<[string, number, number]>, unclaimed: string[], earliestTimer: number | undefined): string[] | undefined;
  /** Several nodes share the store: re-check a core rejection against the store's seq before believing it. */
  verifyRejections?: boolean;
  log(level: 'debug' | 'info' | 'warn' | 'error', message: string, fields?: Record<string, unknown>): void;
}

/** One instance's share of a flush. */
class Work implements CachedInstance, CommittedInstance {
  create?: NewInstance;
  readonly events: EngineEvent[] = [];
  readonly callers: Pending[] = [];
  readonly callerEvents: EngineEvent[][] = [];
  readonly guards: LeaseGuard[] = [];
  readonly fx = new NetEffects();
  /** A non-rejection error escaped the core mid-command: the state may be half-changed. */
  poisoned = false;
  readonly baseStatus: InstanceState['status'] | undefined;
  claims?: Array<{ taskId: string } & Lease>;

  constructor(readonly id: string, public state: InstanceState, readonly compiled: CompiledDefinition, readonly baseSeq: number) {
    this.baseStatus = baseSeq > 0 ? state.status : undefined;
  }
}

const MAX_TRIES = 5;

/** A command rejected against a state the store has moved past, in a flush that already wrote to it: re-run it in the next flush. */
class StaleBase extends Error {}
/** Longest pause between retries of a persistent command while the database is away. */
const MAX_BACKOFF_MS = 5_000;

export class CommitQueue {
  private queue: Pending[] = [];
  private scheduled = false;
  private current: Promise<void> | undefined;
  private dirty = new Set<string>();
  private closed = false;
  readonly loader: InstanceLoader;

  constructor(
    private readonly store: Store,
    private readonly cache: InstanceCache,
    private readonly definitions: Definitions,
    private readonly host: CommitHost,
  ) {
    this.loader = new InstanceLoader(store, cache, definitions);
  }

  submit(p: Pending): void {
    if (this.closed) { p.reject(new Error('engine is closed')); return; }
    this.queue.push(p);
    this.schedule();
  }

  /** Promise-returning convenience. */
  send(command: Command, guard?: LeaseGuard, options: { persistent?: boolean } = {}): Promise<EngineEvent[]> {
    return new Promise((resolve, reject) => this.submit({
      command, resolve, reject, ...(guard && { guard }), ...(options.persistent && { persistent: true }),
    }));
  }

  /** Resolves once `instanceId` has no uncommitted changes in memory. */
  async settled(instanceId: string): Promise<void> {
    while (this.current && this.dirty.has(instanceId)) await this.current.catch(() => undefined);
  }

  /** The instance's cached state has changes not committed yet. */
  isDirty(instanceId: string): boolean {
    return this.dirty.has(instanceId);
  }

  /** Resolves when the queue is empty and no flush is running. */
  async drain(): Promise<void> {
    while (this.current || this.queue.length > 0 || this.scheduled) {
      if (this.current) await this.current.catch(() => undefined);
      else await new Promise((r) => setImmediate(r));
    }
  }

  close(): void {
    this.closed = true;
  }

  private schedule(): void {
    if (this.scheduled || this.current) return;
    this.scheduled = true;
    setImmediate(() => {
      this.scheduled = false;
      this.current = this.flush().finally(() => {
        this.current = undefined;
        if (this.queue.length > 0) this.schedule();
      });
    });
  }

  private async flush(): Promise<void> {
    const max = this.host.maxBatch;
    const list = this.queue.length <= max ? this.queue : this.queue.slice(0, max);
    this.queue = this.queue.length <= max ? [] : this.queue.slice(max);
    const work = new Map<string, Work>();
    const deferred: Pending[] = [];
    for (let i = 0; i < list.length; i++) {
      const p = list[i];
      const w = work.get(p.command.instanceId);
      if (w?.poisoned) { deferred.push(p.followUp ? { ...p, followUp: false } : p); continue; }
      try {
        await this.run(p, work, list);
      } catch (err) {
        if (err instanceof StaleBase) deferred.push(p.followUp ? { ...p, followUp: false } : p);
        else p.reject(err);
      }
    }
    const touched = [...work.values()].filter((w) => w.events.length > 0 || w.create);
    try {
      if (touched.length > 0) await this.commit(touched, work);
      else for (const w of work.values()) if (w.poisoned) this.cache.delete(w.id); // nothing to commit: still drop half-changed states
    } finally {
      this.dirty.clear();
      if (deferred.length > 0) this.queue.unshift(...deferred);
    }
  }

  private async run(p: Pending, work: Map<string, Work>, list: Pending[]): Promise<void> {
    const cmd = p.command;
    const id = cmd.instanceId;
    const ctx: DecideContext = { now: this.host.now(), random: this.host.random(), limits: this.host.limits };
    let w = work.get(id);
    let events: EngineEvent[];
    if (cmd.type === 'StartWorkflow') {
      if (w || this.cache.peek(id)) throw new CommandRejected('invalid_state', `instance "${id}" already exists`);
      let compiled: CompiledDefinition;
      let create: NewInstance;
      try {
        if (p.start) ({ compiled, create } = p.start);
        else if (p.child) {
          if (await this.store.getInstance(id)) {
            this.host.log('warn', 'child instance already exists; not started again', { instanceId: id, parentId: p.child.parentId });
            throw new CommandRejected('invalid_state', `instance "${id}" already exists`);
          }
          compiled = await this.definitions.resolve(p.child.workflow, p.child.version);
          const ns = this.definitions.namespaceOf(compiled.id);
          create = { id, definitionId: compiled.id, definitionVersion: compiled.version, parentId: p.child.parentId, parentRunId: p.child.runId, createdAt: ctx.now, ...(ns !== undefined && { namespace: ns }) };
        } else throw new CommandRejected('invalid_input', 'StartWorkflow goes through start()');
        const r = await execute(compiled, null, cmd, ctx);
        events = r.events;
        w = this.newWork(id, { state: r.state, compiled }, 0, work);
        // The instance lives in its definition's namespace (as deployed); the core's `state.namespace` is the definition's own field.
        w.create = { ...create, status: r.state.status, namespace: create.namespace ?? r.state.namespace, updatedAt: r.state.updatedAt };
      } catch (err) {
        if (p.child && !(err instanceof CommandRejected && err.code === 'invalid_state')) this.childFailedToStart(p, err, list);
        throw err;
      }
    } else {
      if (!w) {
        this.dirty.add(id);
        const loaded = this.cache.get(id) ?? await this.loader.load(id); // no promise on a cache hit
        if (!loaded) throw new CommandRejected('not_found', `instance "${id}" does not exist`);
        w = work.get(id) ?? this.newWork(id, loaded, loaded.state.seq, work);
      }
      const seqBefore = w.state.seq;
      try {
        events = (await execute(w.compiled, w.state, cmd, ctx)).events;
      } catch (err) {
        // A rejection must leave the state as it was; if the core emitted before refusing, the
        // cached state is ahead of anything that will be committed: never keep it.
        if (err instanceof CommandRejected && w.state.seq !== seqBefore) {
          w.poisoned = true;
          this.host.log('warn', 'a rejected command changed the state; the instance will be reloaded', { instanceId: id, command: cmd.type, code: err.code });
        }
        if (!(err instanceof CommandRejected)) {
          w.poisoned = true;
          this.host.log('error', 'core error while running a command; the instance will be reloaded', { instanceId: id, command: cmd.type, error: String(err) });
          throw err;
        }
        // Several nodes: a rejection computed from a cached state is believed only once the
        // state is known to be current (another node may have committed meanwhile, e.g. the
        // TimerScheduled a FireTimer needs).
        // A guarded completion refused although the store still has the task leased with the
        // caller's token: whatever the cached state says, it is not the store's — reload.
        if (!this.host.verifyRejections || !(await this.behindStore(w) || (p.guard !== undefined && await this.stillLeased(id, p.guard)))) throw err;
        if (w.events.length > 0 || w.callers.length > 0 || w.create) throw new StaleBase(); // this flush's writes to it will conflict anyway
        this.host.log('debug', 'rejection computed from a stale cached state; reloading', { instanceId: id, command: cmd.type });
        work.delete(id);
        this.cache.delete(id);
        const fresh = await this.loader.load(id);
        if (!fresh) throw new CommandRejected('not_found', `instance "${id}" does not exist`);
        w = this.newWork(id, fresh, fresh.state.seq, work);
        try {
          events = (await execute(w.compiled, w.state, cmd, ctx)).events;
        } catch (again) {
          if (!(again instanceof CommandRejected)) w.poisoned = true;
          throw again;
        }
      }
    }
    for (let i = 0; i < events.length; i++) w.events.push(events[i]);
    w.callers.push(p);
    w.callerEvents.push(events);
    if (p.guard) w.guards.push(p.guard);
    if (events.length === 0) return;
    const fx = deriveEffects(w.compiled, events, w.state);
    w.fx.add(fx);
    this.followUps(w, fx, list);
  }

  /** The store has events of this instance that the state `w` started from lacks. */
  private async behindStore(w: Work): Promise<boolean> {
    const row = await this.store.getInstance(w.id);
    return row !== undefined && row.seq !== w.baseSeq;
  }

  private async stillLeased(instanceId: string, guard: LeaseGuard): Promise<boolean> {
    const task = await this.store.getTask(instanceId, guard.taskId);
    return task?.lease?.token === guard.token;
  }

  private newWork(id: string, entry: CachedInstance, baseSeq: number, work: Map<string, Work>): Work {
    const w = new Work(id, entry.state, entry.compiled, baseSeq);
    work.set(id, w);
    this.dirty.add(id);
    return w;
  }

  private followUps(w: Work, fx: Effects, list: Pending[]): void {
    const internal = (command: Command, extra: Partial<Pending> = {}) => list.push({
      command, followUp: true, ...extra,
      resolve: () => undefined,
      reject: (err) => this.host.log(err instanceof CommandRejected ? 'debug' : 'warn', `follow-up ${command.type} not applied`, { instanceId: command.instanceId, error: String(err) }),
    });
    for (const c of fx.childrenToStart) {
      internal({ type: 'StartWorkflow', instanceId: c.childId, input: c.input, parent: { instanceId: w.id, runId: c.runId }, by: `parent:${w.id}` },
        { child: { workflow: c.workflow, version: c.version, parentId: w.id, runId: c.runId } });
    }
    for (const c of fx.childrenToCancel) {
      internal({ type: c.terminate ? 'Terminate' : 'Cancel', instanceId: c.childId, reason: `parent ${w.id}`, by: `parent:${w.id}` });
    }
    if (fx.notifyParent) {
      const n = fx.notifyParent;
      internal({ type: 'ChildFinished', instanceId: n.parentId, childId: n.childId, status: n.status, output: n.output, error: n.error, by: `child:${n.childId}` });
    }
  }

  private childFailedToStart(p: Pending, err: unknown, list: Pending[]): void {
    const c = p.child!;
    const message = err instanceof Error ? err.message : String(err);
    list.push({
      command: { type: 'ChildFinished', instanceId: c.parentId, childId: p.command.instanceId, status: 'failed', error: { code: 'child_start_failed', message } },
      followUp: true,
      resolve: () => undefined,
      reject: (e) => this.host.log('warn', 'could not tell the parent its child failed to start', { instanceId: c.parentId, error: String(e) }),
    });
  }

  private async commit(touched: Work[], work: Map<string, Work>): Promise<void> {
    const now = this.host.now();
    const writes: InstanceWrite[] = [];
    // One outbox row per flush carries every lifecycle message of the batch (cheap on the hot path).
    const messages: LifecycleMessage[] = [];
    const noticed = this.host.notice !== undefined;
    const commits: Array<[string, number, number]> = [];
    const unclaimed = new Set<string>();
    let earliestTimer: number | undefined;
    for (const w of touched) {
      lifecycleMessages(w.id, w.events, messages);
      const effects: RowEffects = w.fx.rows();
      const claims = effects.tasksToSchedule && effects.tasksToSchedule.length > 0 ? this.host.planClaims(effects.tasksToSchedule, now) : undefined;
      if (claims && claims.length > 0) effects.claims = w.claims = claims;
      if (noticed) {
        if (w.events.length > 0) commits.push([w.id, w.baseSeq + 1, w.state.seq]);
        if ((effects.tasksToSchedule?.length ?? 0) > (claims?.length ?? 0)) {
          for (const t of effects.tasksToSchedule!) if (!claims?.some((c) => c.taskId === t.taskId)) unclaimed.add(t.activity);
        }
        w.fx.forEachTimerSet((dueAt) => { if (earliestTimer === undefined || dueAt < earliestTimer) earliestTimer = dueAt; });
      }
      const s = w.state;
      const write: InstanceWrite = {
        instanceId: w.id,
        expectedSeq: w.baseSeq,
        events: w.events,
        update: s.status !== w.baseStatus
          ? { status: s.status, updatedAt: s.updatedAt, ...(s.endedAt !== undefined && { endedAt: s.endedAt }) }
          : { updatedAt: s.updatedAt },
        effects,
      };
      if (w.create) write.create = w.create;
      if (w.guards.length > 0) write.guards = w.guards;
      const every = this.host.snapshotEvery;
      if (every > 0 && Math.floor(w.baseSeq / every) !== Math.floor(s.seq / every)) write.snapshot = { seq: s.seq, state: s };
      writes.push(write);
    }
    const notify = noticed ? this.host.notice!(commits, [...unclaimed], earliestTimer) : undefined;
    try {
      await this.store.commit({
        now, instances: writes,
        ...(messages.length > 0 && { outbox: [{ topic: OUTBOX_TOPIC, payload: messages }] }),
        ...(notify && notify.length > 0 && { notify }),
      });
    } catch (err) {
      this.host.claimsVoid();
      this.failed(err, work);
      return;
    }
    this.dirty.clear();
    for (const w of work.values()) {
      if (w.poisoned) this.cache.delete(w.id);
      else if (w.events.length > 0 || w.create) this.cache.set(w.id, { state: w.state, compiled: w.compiled });
    }
    for (const w of touched) for (let i = 0; i < w.callers.length; i++) w.callers[i].resolve(w.callerEvents[i]);
    this.host.committed(touched);
  }

  /** The transaction failed: nothing was written. Drop touched states; retry or reject callers. */
  private failed(err: unknown, work: Map<string, Work>): void {
    const retry: Pending[] = [];
    this.dirty.clear();
    for (const w of work.values()) this.cache.delete(w.id);
    const conflict = err instanceof SeqConflictError || err instanceof DuplicateInstanceError || err instanceof LeaseLostError;
    const transient = !conflict && isTransientStoreError(err);
    this.host.log(conflict ? 'debug' : transient ? 'warn' : 'error', 'commit failed', { error: String(err), instances: work.size });
    for (const w of work.values()) {
      for (const p of w.callers) {
        if (p.followUp) continue; // regenerated when its origin is retried
        if (err instanceof DuplicateInstanceError && p.command.type === 'StartWorkflow' && p.command.instanceId === err.instanceId) {
          if (p.start?.onDuplicate && err.idempotencyKey !== undefined) p.start.onDuplicate(err.existingId);
          else p.reject(new CommandRejected('invalid_state', err.message));
          continue;
        }
        if (err instanceof LeaseLostError && p.guard && w.id === err.instanceId && p.guard.taskId === err.taskId) {
          p.reject(new CommandRejected('stale', err.message));
          continue;
        }
        // A conflict names one instance: only its callers spend a try. The others were innocent
        // bystanders of the batch; counting against them would let a burst of stale completions
        // (leases taken over after a node died) fail unrelated starts and commands.
        const culprit = conflict ? (err as SeqConflictError | DuplicateInstanceError | LeaseLostError).instanceId : undefined;
        const tries = (p.tries ?? 0) + (culprit !== undefined && w.id !== culprit ? 0 : 1);
        // The engine's own commands outlast a database restart (conflicts between nodes, too).
        if (tries < MAX_TRIES || (p.persistent && (conflict || transient))) retry.push({ ...p, tries });
        else p.reject(err);
      }
    }
    if (retry.length === 0) return;
    if (conflict) {
      this.queue.unshift(...retry); // someone else wrote first: rerun against the fresh log at once
      return;
    }
    // Storage trouble (busy, I/O): back off a little before trying again.
    const delay = Math.min(MAX_BACKOFF_MS, 20 * 2 ** Math.min(8, ...retry.map((p) => p.tries ?? 1)));
    setTimeout(() => {
      if (this.closed) { for (const p of retry) p.reject(err); return; }
      this.queue.unshift(...retry);
      this.schedule();
    }, delay);
  }
}
