/**
 * Schedules that start workflows (SPEC C3; docs/schedules.md): a cron expression or an interval
 * in a time zone, an overlap policy, a catch-up policy after downtime, pause/resume, start/end.
 *
 * The firing side is ONE in-memory setTimeout for the earliest due schedule (re-armed when a
 * schedule is created or changed; never a polling loop). When it fires, due rows are leased to
 * this node (`claimDueSchedules`: `FOR UPDATE SKIP LOCKED` on PostgreSQL) and each is fired:
 *
 * - every start carries the idempotency key `schedule:<id>:<fireTime>`, and a fire first looks
 *   that key up, so a crash between the start and the bookkeeping adopts the instance it started
 *   instead of starting a second one;
 * - the bookkeeping (next run, last run, buffered start) is one optimistic write that also drops
 *   the lease; an API update that raced it is re-read and merged, never overwritten;
 * - overlap looks at the status of the schedule's last instance at fire time; a `buffer_one`
 *   start is released by the engine's lifecycle messages (`workflow.completed`, …) of the
 *   instance it waits for, with the same status read as the fallback (at every fire and at start).
 *
 * The CRUD methods work on every node; `start()`/`stop()` run the firing side (the engine wires
 * them; a cluster runs them on its leader only).
 */
import { randomBytes } from 'node:crypto';
import { CommandRejected } from '../core/errors.js';
import { TERMINAL_STATUSES, type InstanceStatus } from '../core/types.js';
import { resolveInstant } from '../core/time.js';
import type { ScheduleCatchUp, ScheduleOverlap, ScheduleRecord, ScheduleRun, Store } from '../store/types.js';
import type { StartOptions } from './api.js';
import type { LifecycleMessage } from './lifecycle.js';
import { dueFireTimes, nextFireTime, timeSpecProblem, type TimeSpec } from './schedule-times.js';

export const OVERLAP_POLICIES: readonly ScheduleOverlap[] = ['skip', 'buffer_one', 'allow'];
export const CATCH_UP_POLICIES: readonly ScheduleCatchUp[] = ['skip', 'one', 'all'];
/** The label every scheduled instance carries (list a schedule's runs with `label=weft.schedule=<id>`). */
export const SCHEDULE_LABEL = 'weft.schedule';
export const DEFAULT_CATCH_UP_LIMIT = 10;
export const MAX_CATCH_UP_LIMIT = 1000;
const ID_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._:-]{0,199}$/;
const MAX_DELAY = 2_147_483_647; // setTimeout's limit (~24.8 days): longer waits re-arm on the way
const BATCH = 100;
/** After a store error the firing side looks again this much later. */
const RETRY_MS = 1000;
const TERMINAL_TOPICS = new Set(['workflow.completed', 'workflow.failed', 'workflow.cancelled', 'workflow.terminated', 'workflow.compensated']);

export type ScheduleErrorCode = 'invalid_input' | 'not_found' | 'already_exists' | 'unknown_definition' | 'invalid_state';

/** A refused schedule call; nothing was changed. `details.field` names the offending field. */
export class ScheduleError extends Error {
  constructor(readonly code: ScheduleErrorCode, message: string, readonly details?: { field?: string }) {
    super(message);
    this.name = 'ScheduleError';
  }
}

export interface ScheduleInput {
  /** Default: a random id. Letters, digits, `.`, `_`, `:`, `-`. */
  id?: string;
  definitionId: string;
  /** Exact version or semver range, resolved at each start (default: the latest). */
  version?: string;
  /** Exactly one of `cron` and `interval`. */
  cron?: string;
  interval?: string;
  /** IANA time zone (default `UTC`). */
  timezone?: string;
  input?: unknown;
  labels?: Record<string, string>;
  overlap?: ScheduleOverlap;
  catchUp?: ScheduleCatchUp;
  catchUpLimit?: number;
  paused?: boolean;
  /** ISO 8601 text or epoch ms. */
  startAt?: number | string;
  endAt?: number | string;
}

/** A change: given fields replace the schedule's; `null` clears an optional one; `cron` replaces `interval` and back. */
export interface ScheduleUpdate {
  definitionId?: string;
  version?: string | null;
  cron?: string;
  interval?: string;
  timezone?: string;
  input?: unknown;
  labels?: Record<string, string> | null;
  overlap?: ScheduleOverlap;
  catchUp?: ScheduleCatchUp;
  catchUpLimit?: number;
  startAt?: number | string | null;
  endAt?: number | string | null;
}

/** A schedule as the API shows it: the record plus the live status of its last instance. */
export interface ScheduleInfo extends ScheduleRecord {
  lastInstanceStatus?: InstanceStatus;
}

export interface TriggerOptions {
  namespace?: string;
  /** Default `allow`: a manual trigger starts even while the last run is still running. */
  overlap?: ScheduleOverlap;
}

/**
 * What the engine exposes (`engine.schedules`). `namespace` scopes every call to one namespace
 * (default `default`; another namespace's schedule is `not_found`), except `list`, which without
 * one lists every namespace.
 */
export interface Schedules {
  create(input: ScheduleInput, options?: { namespace?: string }): Promise<ScheduleInfo>;
  list(filter?: { namespace?: string; definitionId?: string }): Promise<ScheduleInfo[]>;
  get(id: string, options?: { namespace?: string }): Promise<ScheduleInfo | undefined>;
  update(id: string, patch: ScheduleUpdate, options?: { namespace?: string }): Promise<ScheduleInfo>;
  pause(id: string, options?: { namespace?: string }): Promise<ScheduleInfo>;
  resume(id: string, options?: { namespace?: string }): Promise<ScheduleInfo>;
  delete(id: string, options?: { namespace?: string }): Promise<void>;
  /** Starts one run now (manual), by `options.overlap` (default `allow`); returns what happened. */
  trigger(id: string, options?: TriggerOptions): Promise<ScheduleRun>;
  /** Fires whatever is due by the engine's clock and resolves when done (tests with an injected clock; operators). */
  runDue(): Promise<void>;
}

export interface ScheduleServiceOptions {
  store: Store;
  clock: () => number;
  nodeId: string;
  /** Lease on a due row while this node fires it (default 60 s). */
  leaseMs?: number;
  /** `catchUp: skip` still runs a fire time at most this late (default 60 s): a busy event loop is not downtime. */
  graceMs?: number;
  start: (definitionId: string, input: unknown, options: StartOptions) => Promise<string>;
  /** The namespace of deployed `definitionId` with a version matching `version`; rejects `not_found` / `invalid_input`. */
  definitionNamespace: (definitionId: string, version?: string) => Promise<string>;
  /** Subscribes to the engine's lifecycle messages; returns the unsubscribe. */
  onLifecycle: (listener: (m: LifecycleMessage) => void) => () => void;
  log: (level: 'debug' | 'info' | 'warn' | 'error', message: string, fields?: Record<string, unknown>) => void;
}

/** The fields a fire changes (merged onto the row even if an API update raced it). */
type RunState = Pick<ScheduleRecord, 'lastRun' | 'lastInstanceId' | 'bufferedAt'>;

export class ScheduleService implements Schedules {
  private handle?: NodeJS.Timeout;
  private armedFor?: number;
  private running = false;
  private firing?: Promise<void>;
  private again = false;
  /** Per schedule, the tail of its operations: one schedule's fires, triggers and releases run one at a time. */
  private readonly chains = new Map<string, Promise<unknown>>();
  /** Instance id → the `buffer_one` schedule waiting for it to end. */
  private readonly watched = new Map<string, string>();
  private unsubscribe?: () => void;
  private readonly leaseMs: number;
  private readonly graceMs: number;

  constructor(private readonly o: ScheduleServiceOptions) {
    this.leaseMs = o.leaseMs ?? 60_000;
    this.graceMs = o.graceMs ?? 60_000;
  }

  // ------------------------------------------------------------------ firing side

  /** Starts firing: releases leases a dead embedded process left, re-watches buffered starts, arms the timeout. */
  async start(): Promise<void> {
    if (this.running) return;
    this.running = true;
    this.unsubscribe = this.o.onLifecycle((m) => this.onLifecycle(m));
    try {
      // Embedded: this process owns the file, so every lease left behind belongs to a dead process.
      if (this.o.store.backend === 'sqlite') await this.o.store.releaseScheduleLeases();
      for (const s of await this.o.store.listSchedules()) {
        if (s.bufferedAt !== undefined) void this.serial(s.id, () => this.releaseBuffered(s.id)).catch((err) => this.failed(s.id, err));
      }
    } catch (err) {
      this.o.log('error', 'starting the schedule service failed; retrying', { error: String(err) });
      this.armAt(this.o.clock() + RETRY_MS);
      return;
    }
    await this.rearm();
  }

  /** Stops firing: no new fires; waits for the ones under way; drops this node's leases. */
  async stop(): Promise<void> {
    if (!this.running) return;
    this.running = false;
    this.unsubscribe?.();
    this.unsubscribe = undefined;
    if (this.handle) clearTimeout(this.handle);
    this.handle = undefined;
    this.armedFor = undefined;
    this.watched.clear();
    await this.firing?.catch(() => undefined);
    await Promise.allSettled([...this.chains.values()]);
    await this.o.store.releaseScheduleLeases(this.o.nodeId).catch(() => undefined);
  }

  runDue(): Promise<void> {
    if (!this.running) return Promise.resolve();
    if (this.firing) { this.again = true; return this.firing; }
    if (this.handle) clearTimeout(this.handle);
    this.handle = undefined;
    this.armedFor = undefined;
    const run = (async () => {
      try {
        do {
          this.again = false;
          let claimed: ScheduleRecord[];
          do {
            claimed = await this.o.store.claimDueSchedules({ now: this.o.clock(), limit: BATCH, owner: this.o.nodeId, leaseMs: this.leaseMs });
            await Promise.all(claimed.map((s) => this.serial(s.id, () => this.fireDue(s.id)).catch((err) => this.failed(s.id, err))));
          } while (claimed.length === BATCH && this.running);
        } while (this.again && this.running);
      } catch (err) {
        this.o.log('error', 'claiming due schedules failed; retrying', { error: String(err) });
        this.armAt(this.o.clock() + RETRY_MS);
      } finally {
        this.firing = undefined;
      }
      await this.rearm();
    })();
    this.firing = run;
    return run;
  }

  /**
   * Re-reads the earliest due time and arms for it: for a node that learns a schedule changed
   * elsewhere (a create or resume on another node of a cluster; this node's own calls re-arm).
   */
  poke(): void {
    void this.rearm();
  }

  private armAt(dueAt: number | undefined): void {
    if (!this.running || dueAt === undefined) return;
    if (this.armedFor !== undefined && this.armedFor <= dueAt) return;
    if (this.handle) clearTimeout(this.handle);
    this.armedFor = dueAt;
    const delay = Math.min(MAX_DELAY, Math.max(0, dueAt - this.o.clock()));
    this.handle = setTimeout(() => {
      this.handle = undefined;
      this.armedFor = undefined;
      void this.runDue();
    }, delay);
  }

  private async rearm(): Promise<void> {
    if (!this.running) return;
    try {
      this.armAt(await this.o.store.nextScheduleDue());
    } catch (err) {
      this.o.log('error', 'reading the next schedule failed', { error: String(err) });
      this.armAt(this.o.clock() + RETRY_MS);
    }
  }

  /** Fires one claimed schedule: its due times by the catch-up policy, then the bookkeeping (which drops the lease). */
  private async fireDue(id: string): Promise<void> {
    const s = await this.o.store.getSchedule(id); // fresh: a trigger or an update may have run since the claim
    if (!s) return;
    const now = this.o.clock();
    if (s.paused || s.nextRunAt === undefined || s.nextRunAt > now) {
      await this.save(s, (cur) => cur, true);
      return;
    }
    const st = runState(s);
    let advanced = true;
    try {
      await this.startBufferedIfFree(s, st); // fallback when a lifecycle message was missed
      for (const t of this.dueTimes(s, now, st)) await this.fireAt(s, st, t, {});
    } catch (err) {
      // Not a refusal (those are recorded as `failed`): the store or the engine is in trouble.
      // Keep what was done; the same fire times come again, and their idempotency keys adopt what started.
      advanced = false;
      this.o.log('warn', 'firing a schedule failed; it will be retried', { schedule: id, error: String(err) });
    }
    const next = advanced ? nextFireTime(timeSpecOf(s), now) : s.nextRunAt;
    await this.save(s, (cur) => ({ ...cur, ...st, nextRunAt: cur.nextRunAt === s.nextRunAt ? next : cur.nextRunAt }), true);
    if (!advanced) this.armAt(this.o.clock() + RETRY_MS);
    else if (st.bufferedAt !== undefined && st.lastInstanceId !== undefined && !(await this.isRunning(st.lastInstanceId))) {
      // The instance ended between the overlap check and the watch: nobody will tell us.
      await this.releaseBuffered(id);
    }
  }

  /** The fire times to act on, by the catch-up policy (all ≥ the row's nextRunAt and ≤ now). */
  private dueTimes(s: ScheduleRecord, now: number, st: RunState): number[] {
    const spec = timeSpecOf(s);
    const from = s.nextRunAt!;
    switch (s.catchUp) {
      case 'all': return dueFireTimes(spec, from, now, s.catchUpLimit);
      case 'one': return dueFireTimes(spec, from, now, 1);
      case 'skip': {
        const [latest] = dueFireTimes(spec, from, now, 1);
        if (latest === undefined || now - latest <= this.graceMs) return latest === undefined ? [] : [latest];
        st.lastRun = { at: latest, outcome: 'skipped', reason: 'missed while no node was firing schedules (catchUp: skip)' };
        return [];
      }
    }
  }

  /** One fire time: adopt a start made before a crash, apply the overlap policy, or start an instance. */
  private async fireAt(s: ScheduleRecord, st: RunState, at: number, o: { manual?: boolean; overlap?: ScheduleOverlap }): Promise<ScheduleRun> {
    const manual = o.manual === true;
    const record = (run: ScheduleRun): ScheduleRun => {
      const r: ScheduleRun = manual ? { ...run, manual } : run;
      st.lastRun = r;
      if (r.outcome === 'started') st.lastInstanceId = r.instanceId;
      return r;
    };
    const key = idempotencyKeyOf(s.id, at, manual);
    const existing = await this.o.store.getInstanceByIdempotencyKey(key);
    if (existing) return record({ at, outcome: 'started', instanceId: existing.id });
    const overlap = o.overlap ?? s.overlap;
    if (overlap !== 'allow' && st.lastInstanceId !== undefined && await this.isRunning(st.lastInstanceId)) {
      const reason = `instance ${st.lastInstanceId} is still running`;
      if (overlap === 'skip') return record({ at, outcome: 'skipped', reason });
      st.bufferedAt ??= at; // at most one remembered start
      this.watched.set(st.lastInstanceId, s.id);
      return record({ at, outcome: 'buffered', reason });
    }
    try {
      const instanceId = await this.o.start(s.definitionId, s.input ?? {}, {
        idempotencyKey: key,
        namespace: s.namespace,
        labels: { ...s.labels, [SCHEDULE_LABEL]: s.id },
        ...(s.definitionVersion !== undefined && { version: s.definitionVersion }),
      });
      return record({ at, outcome: 'started', instanceId });
    } catch (err) {
      // Refused (definition deleted, no matching version, input too large): recorded, not retried forever.
      if (err instanceof CommandRejected) return record({ at, outcome: 'failed', reason: err.message });
      throw err;
    }
  }

  private async startBufferedIfFree(s: ScheduleRecord, st: RunState): Promise<void> {
    if (st.bufferedAt === undefined || s.paused) return;
    if (st.lastInstanceId !== undefined && await this.isRunning(st.lastInstanceId)) {
      this.watched.set(st.lastInstanceId, s.id);
      return;
    }
    const at = st.bufferedAt;
    st.bufferedAt = undefined;
    await this.fireAt(s, st, at, { overlap: 'allow' });
  }

  /** Runs the buffered start of `id` if the instance it waited for has ended (inside the schedule's chain). */
  private async releaseBuffered(id: string): Promise<void> {
    const s = await this.o.store.getSchedule(id);
    if (!s || s.bufferedAt === undefined) return;
    const st = runState(s);
    await this.startBufferedIfFree(s, st);
    if (st.bufferedAt !== s.bufferedAt) await this.save(s, (cur) => ({ ...cur, ...st }), false);
  }

  private onLifecycle(m: LifecycleMessage): void {
    if (!TERMINAL_TOPICS.has(m.topic)) return;
    const id = this.watched.get(m.instanceId);
    if (id === undefined || !this.running) return;
    this.watched.delete(m.instanceId);
    void this.serial(id, () => this.releaseBuffered(id)).catch((err) => this.failed(id, err));
  }

  private async isRunning(instanceId: string): Promise<boolean> {
    const status = (await this.o.store.getInstance(instanceId))?.status;
    return status !== undefined && !TERMINAL_STATUSES.has(status);
  }

  /** Writes `apply(row)`; on a revision conflict re-reads the row and applies again (never overwrites a racing update). */
  private async save(base: ScheduleRecord, apply: (cur: ScheduleRecord) => ScheduleRecord, releaseLease: boolean): Promise<ScheduleRecord | undefined> {
    let cur = base;
    for (let attempt = 0; attempt < 20; attempt++) {
      const next = { ...apply(cur), updatedAt: this.o.clock() };
      const r = await this.o.store.updateSchedule(next, cur.revision, { releaseLease });
      if (r === 'updated') return { ...next, revision: cur.revision + 1 };
      if (r === 'not_found') return undefined; // deleted meanwhile
      const fresh = await this.o.store.getSchedule(base.id);
      if (!fresh) return undefined;
      cur = fresh;
    }
    throw new Error(`schedule ${base.id}: too many concurrent updates`);
  }

  private serial<T>(id: string, fn: () => Promise<T>): Promise<T> {
    const p = (this.chains.get(id) ?? Promise.resolve()).then(fn, fn);
    const tail = p.then(() => undefined, () => undefined);
    this.chains.set(id, tail);
    void tail.then(() => { if (this.chains.get(id) === tail) this.chains.delete(id); });
    return p;
  }

  private failed(id: string, err: unknown): void {
    this.o.log('error', 'schedule processing failed', { schedule: id, error: String(err) });
  }

  // ------------------------------------------------------------------ CRUD (every node)

  async create(input: ScheduleInput, options: { namespace?: string } = {}): Promise<ScheduleInfo> {
    const namespace = options.namespace ?? 'default';
    const now = this.o.clock();
    if (typeof input !== 'object' || input === null) throw invalid('(root)', 'a schedule must be an object');
    const id = input.id ?? `sch-${randomBytes(6).toString('hex')}`;
    if (typeof id !== 'string' || !ID_PATTERN.test(id)) throw invalid('id', `schedule id "${String(id)}" must be 1-200 letters, digits, ".", "_", ":" or "-" (starting with a letter or digit)`);
    const rec: ScheduleRecord = {
      id, namespace, definitionId: input.definitionId, timezone: input.timezone ?? 'UTC',
      overlap: input.overlap ?? 'skip', catchUp: input.catchUp ?? 'one', catchUpLimit: input.catchUpLimit ?? DEFAULT_CATCH_UP_LIMIT,
      paused: input.paused ?? false, revision: 1, createdAt: now, updatedAt: now,
      ...(input.version !== undefined && { definitionVersion: input.version }),
      ...(input.cron !== undefined && { cron: input.cron }),
      ...(input.interval !== undefined && { interval: input.interval }),
      ...(input.input !== undefined && { input: input.input }),
      ...(input.labels !== undefined && { labels: input.labels }),
      ...(input.startAt !== undefined && { startAt: instant(input.startAt, 'startAt') }),
      ...(input.endAt !== undefined && { endAt: instant(input.endAt, 'endAt') }),
    };
    this.check(rec);
    await this.checkDefinition(rec);
    const next = nextFireTime(timeSpecOf(rec), now);
    if (next !== undefined) rec.nextRunAt = next;
    if (!(await this.o.store.createSchedule(rec))) throw new ScheduleError('already_exists', `schedule "${id}" already exists`, { field: 'id' });
    if (!rec.paused) this.armAt(rec.nextRunAt);
    return this.info(rec);
  }

  async list(filter: { namespace?: string; definitionId?: string } = {}): Promise<ScheduleInfo[]> {
    const rows = await this.o.store.listSchedules(filter);
    return Promise.all(rows.map((r) => this.info(r)));
  }

  async get(id: string, options: { namespace?: string } = {}): Promise<ScheduleInfo | undefined> {
    const s = await this.o.store.getSchedule(id);
    return s && s.namespace === (options.namespace ?? 'default') ? this.info(s) : undefined;
  }

  async update(id: string, patch: ScheduleUpdate, options: { namespace?: string } = {}): Promise<ScheduleInfo> {
    if (typeof patch !== 'object' || patch === null) throw invalid('(root)', 'an update must be an object');
    return this.change(id, options.namespace, async (cur) => {
      const now = this.o.clock();
      const next: ScheduleRecord = { ...cur, updatedAt: now };
      const set = <K extends keyof ScheduleRecord>(k: K, v: ScheduleRecord[K] | null | undefined) => {
        if (v === undefined) return;
        if (v === null) delete next[k];
        else next[k] = v;
      };
      set('definitionId', patch.definitionId);
      set('definitionVersion', patch.version);
      if (patch.cron !== undefined) { next.cron = patch.cron; if (patch.interval === undefined) delete next.interval; }
      if (patch.interval !== undefined) { next.interval = patch.interval; if (patch.cron === undefined) delete next.cron; }
      set('timezone', patch.timezone);
      set('input', patch.input);
      set('labels', patch.labels);
      set('overlap', patch.overlap);
      set('catchUp', patch.catchUp);
      set('catchUpLimit', patch.catchUpLimit);
      set('startAt', patch.startAt === undefined || patch.startAt === null ? patch.startAt : instant(patch.startAt, 'startAt'));
      set('endAt', patch.endAt === undefined || patch.endAt === null ? patch.endAt : instant(patch.endAt, 'endAt'));
      this.check(next);
      if (next.definitionId !== cur.definitionId || next.definitionVersion !== cur.definitionVersion) await this.checkDefinition(next);
      const timesChanged = (['cron', 'interval', 'timezone', 'startAt', 'endAt'] as const).some((k) => next[k] !== cur[k]);
      if (timesChanged) {
        const at = nextFireTime(timeSpecOf(next), now);
        if (at === undefined) delete next.nextRunAt;
        else next.nextRunAt = at;
      }
      return next;
    });
  }

  async pause(id: string, options: { namespace?: string } = {}): Promise<ScheduleInfo> {
    return this.change(id, options.namespace, async (cur) => {
      if (cur.paused) throw new ScheduleError('invalid_state', `schedule "${id}" is already paused`);
      return { ...cur, paused: true, updatedAt: this.o.clock() };
    });
  }

  /** Resumes from now: times missed while paused are not caught up. */
  async resume(id: string, options: { namespace?: string } = {}): Promise<ScheduleInfo> {
    const info = await this.change(id, options.namespace, async (cur) => {
      if (!cur.paused) throw new ScheduleError('invalid_state', `schedule "${id}" is not paused`);
      const now = this.o.clock();
      const next: ScheduleRecord = { ...cur, paused: false, updatedAt: now };
      const at = nextFireTime(timeSpecOf(cur), now);
      if (at === undefined) delete next.nextRunAt;
      else next.nextRunAt = at;
      return next;
    });
    if (info.bufferedAt !== undefined && this.running) void this.serial(id, () => this.releaseBuffered(id)).catch((err) => this.failed(id, err));
    return info;
  }

  async delete(id: string, options: { namespace?: string } = {}): Promise<void> {
    await this.own(id, options.namespace);
    if (!(await this.o.store.deleteSchedule(id))) throw notFound(id);
  }

  async trigger(id: string, options: TriggerOptions = {}): Promise<ScheduleRun> {
    await this.own(id, options.namespace);
    if (options.overlap !== undefined && !OVERLAP_POLICIES.includes(options.overlap)) {
      throw invalid('overlap', `overlap must be one of ${OVERLAP_POLICIES.join(', ')}`);
    }
    return this.serial(id, async () => {
      const s = await this.own(id, options.namespace);
      const st = runState(s);
      const run = await this.fireAt(s, st, this.o.clock(), { manual: true, overlap: options.overlap ?? 'allow' });
      await this.save(s, (cur) => ({ ...cur, ...st }), false);
      return run;
    });
  }

  /** Read-modify-write with the revision check; `apply` throws to refuse (nothing written). */
  private async change(id: string, namespace: string | undefined, apply: (cur: ScheduleRecord) => Promise<ScheduleRecord>): Promise<ScheduleInfo> {
    for (let attempt = 0; attempt < 20; attempt++) {
      const cur = await this.own(id, namespace);
      const next = await apply(cur);
      const r = await this.o.store.updateSchedule(next, cur.revision);
      if (r === 'not_found') throw notFound(id);
      if (r === 'updated') {
        const saved = { ...next, revision: cur.revision + 1 };
        if (!saved.paused) this.armAt(saved.nextRunAt);
        return this.info(saved);
      }
    }
    throw new Error(`schedule ${id}: too many concurrent updates`);
  }

  private async own(id: string, namespace = 'default'): Promise<ScheduleRecord> {
    const s = await this.o.store.getSchedule(id);
    if (!s || s.namespace !== namespace) throw notFound(id);
    return s;
  }

  private async info(s: ScheduleRecord): Promise<ScheduleInfo> {
    if (s.lastInstanceId === undefined) return s;
    const status = (await this.o.store.getInstance(s.lastInstanceId))?.status;
    return status !== undefined ? { ...s, lastInstanceStatus: status } : s;
  }

  /** Field checks of a whole record (the API's JSON schema checks shapes; engine callers get the same answers). */
  private check(s: ScheduleRecord): void {
    if (typeof s.definitionId !== 'string' || s.definitionId.length === 0) throw invalid('definitionId', 'definitionId must be a non-empty string');
    if (s.definitionVersion !== undefined && (typeof s.definitionVersion !== 'string' || s.definitionVersion.length === 0)) throw invalid('version', 'version must be a non-empty string');
    for (const k of ['cron', 'interval', 'timezone'] as const) {
      if (s[k] !== undefined && typeof s[k] !== 'string') throw invalid(k, `${k} must be a string`);
    }
    if (!OVERLAP_POLICIES.includes(s.overlap)) throw invalid('overlap', `overlap must be one of ${OVERLAP_POLICIES.join(', ')}`);
    if (!CATCH_UP_POLICIES.includes(s.catchUp)) throw invalid('catchUp', `catchUp must be one of ${CATCH_UP_POLICIES.join(', ')}`);
    if (!Number.isInteger(s.catchUpLimit) || s.catchUpLimit < 1 || s.catchUpLimit > MAX_CATCH_UP_LIMIT) {
      throw invalid('catchUpLimit', `catchUpLimit must be an integer from 1 to ${MAX_CATCH_UP_LIMIT}`);
    }
    if (typeof s.paused !== 'boolean') throw invalid('paused', 'paused must be true or false');
    if (s.labels !== undefined && (typeof s.labels !== 'object' || s.labels === null || Object.values(s.labels).some((v) => typeof v !== 'string'))) {
      throw invalid('labels', 'labels must map names to strings');
    }
    const problem = timeSpecProblem(s);
    if (problem) throw invalid(problem.field, problem.message);
  }

  private async checkDefinition(s: ScheduleRecord): Promise<void> {
    let namespace: string;
    try {
      namespace = await this.o.definitionNamespace(s.definitionId, s.definitionVersion);
    } catch (err) {
      if (err instanceof CommandRejected && err.code === 'invalid_input') throw invalid('version', err.message);
      if (err instanceof CommandRejected && err.code === 'not_found') throw unknownDefinition(s, err.message);
      throw err;
    }
    if (namespace !== s.namespace) throw unknownDefinition(s, `workflow "${s.definitionId}" is not deployed`);
  }
}

/** The idempotency key of the start at `at` (a manual trigger's differs from a clock time's). */
export function idempotencyKeyOf(scheduleId: string, at: number, manual = false): string {
  return manual ? `schedule:${scheduleId}:manual:${at}` : `schedule:${scheduleId}:${at}`;
}

function runState(s: ScheduleRecord): RunState {
  return {
    ...(s.lastRun !== undefined && { lastRun: s.lastRun }),
    ...(s.lastInstanceId !== undefined && { lastInstanceId: s.lastInstanceId }),
    ...(s.bufferedAt !== undefined && { bufferedAt: s.bufferedAt }),
  };
}

function timeSpecOf(s: ScheduleRecord): TimeSpec {
  return {
    timezone: s.timezone, createdAt: s.createdAt,
    ...(s.cron !== undefined && { cron: s.cron }), ...(s.interval !== undefined && { interval: s.interval }),
    ...(s.startAt !== undefined && { startAt: s.startAt }), ...(s.endAt !== undefined && { endAt: s.endAt }),
  };
}

function instant(v: number | string, field: string): number {
  try {
    return resolveInstant(v, field);
  } catch (err) {
    throw invalid(field, (err as Error).message);
  }
}

function invalid(field: string, message: string): ScheduleError {
  return new ScheduleError('invalid_input', message, { field });
}

function notFound(id: string): ScheduleError {
  return new ScheduleError('not_found', `schedule "${id}" does not exist`);
}

function unknownDefinition(s: ScheduleRecord, message: string): ScheduleError {
  return new ScheduleError('unknown_definition', message, { field: s.definitionVersion !== undefined && /version/.test(message) ? 'version' : 'definitionId' });
}
