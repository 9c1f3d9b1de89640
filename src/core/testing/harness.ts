/**
 * Test-only driver for the engine core. Every command goes through both `decide` (on the live
 * state, which must not change) and `execute` (which advances it), and the two must agree. After
 * each command the harness checks that folding the log reproduces the state, that the derived
 * effects match the state, and that no event already in the log was modified. `verify()` (run by
 * `afterEach(verifyHarnesses)`) also replays every command from scratch (same `now`/`random`)
 * and folds every prefix of the log (time travel) against the state recorded at that point.
 */
import assert from 'node:assert/strict';
import { isDeepStrictEqual } from 'node:util';
import { compileDefinition, type CompiledDefinition } from '../compiled.js';
import { decide, execute, fold } from '../engine.js';
import { deriveEffects } from '../derive.js';
import { CommandRejected, type RejectionCode } from '../errors.js';
import type { Definition } from '../../model/schema.js';
import { validateDefinition } from '../../model/validate.js';
import type {
  ActiveTask, Command, DecideContext, EngineEvent, ErrorInfo, EventType, InstanceState, StepRun,
} from '../types.js';
import { TERMINAL_STATUSES } from '../types.js';

export const T0 = Date.UTC(2026, 0, 5, 9, 0, 0); // a Monday

/** A definition with sensible defaults for tests (`id: wf`, `version: 1.0.0`). */
export function wf(steps: unknown[], extra: Record<string, unknown> = {}): Definition {
  return { id: 'wf', version: '1.0.0', steps, ...extra } as Definition;
}

export interface HarnessOptions {
  now?: number;
  /** Random value passed with every command (or a source of them). Default 0.5. */
  random?: number | (() => number);
  limits?: DecideContext['limits'];
  /** Check the definition with the validator first (default true). */
  validate?: boolean;
  instanceId?: string;
  /** Check fold/effects/immutability after every command (default true). */
  checkEachCommand?: boolean;
}

/** A command whose `instanceId` the harness fills in. */
export type Cmd = Command extends infer C ? (C extends Command ? Omit<C, 'instanceId'> & { instanceId?: string } : never) : never;

const registry: Harness[] = [];

/** For `afterEach`: verifies (and forgets) every harness created since the last call. */
export function verifyHarnesses(): void {
  const all = registry.splice(0);
  for (const h of all) h.verify();
}

export class Harness {
  readonly def: CompiledDefinition;
  state: InstanceState | null = null;
  readonly log: EngineEvent[] = [];
  now: number;
  random: number | (() => number);
  readonly instanceId: string;
  /** Events returned by the last successful command. */
  last: EngineEvent[] = [];
  private readonly commands: Array<{ cmd: Command; ctx: DecideContext; ok: boolean }> = [];
  private readonly snapshots: Array<{ len: number; state: InstanceState }> = [];
  private readonly frozen: string[] = [];
  private readonly checkEach: boolean;

  constructor(definition: Definition, readonly options: HarnessOptions = {}) {
    if (options.validate !== false) {
      const errors = validateDefinition(definition).filter((i) => i.severity === 'error');
      assert.deepEqual(errors, [], 'test definition must be valid');
    }
    this.def = compileDefinition(definition);
    this.now = options.now ?? T0;
    this.random = options.random ?? 0.5;
    this.instanceId = options.instanceId ?? 'i-1';
    this.checkEach = options.checkEachCommand ?? true;
    registry.push(this);
  }

  get s(): InstanceState {
    assert.ok(this.state, 'instance not started');
    return this.state;
  }

  private ctx(): DecideContext {
    const random = typeof this.random === 'function' ? this.random() : this.random;
    return { now: this.now, random, ...(this.options.limits && { limits: this.options.limits }) };
  }

  /** Runs a command that must be accepted. */
  async send(command: Cmd): Promise<EngineEvent[]> {
    const r = await this.attempt(command);
    if (r instanceof CommandRejected) assert.fail(`command ${command.type} rejected: ${r.code}: ${r.message}`);
    return r;
  }

  /** Runs a command that must be rejected with `code`; asserts nothing changed. */
  async rejects(command: Cmd, code: RejectionCode): Promise<CommandRejected> {
    const r = await this.attempt(command);
    if (!(r instanceof CommandRejected)) assert.fail(`command ${command.type} was accepted (${r.map((e) => e.type).join(', ')}), expected ${code}`);
    assert.equal(r.code, code, `rejection code (message: ${r.message})`);
    return r;
  }

  /** Runs a command; returns the events, or the rejection (after checking nothing changed). */
  async attempt(command: Cmd): Promise<EngineEvent[] | CommandRejected> {
    const cmd = { instanceId: this.instanceId, ...command } as Command;
    const ctx = this.ctx();
    const before = this.state === null ? null : structuredClone(this.state);
    const beforeJson = JSON.stringify(this.state);
    const logLen = this.log.length;

    // decide: pure.
    let decided: EngineEvent[] | CommandRejected;
    try {
      decided = await decide(this.def, this.state, cmd, ctx);
    } catch (err) {
      if (!(err instanceof CommandRejected)) throw err;
      decided = err;
    }
    same(this.state, before, `decide(${cmd.type}) mutated its input state`);

    let result: EngineEvent[] | CommandRejected;
    try {
      const r = await execute(this.def, this.state, cmd, ctx);
      this.state = r.state;
      result = r.events;
    } catch (err) {
      if (!(err instanceof CommandRejected)) throw err;
      result = err;
    }
    this.commands.push({ cmd, ctx, ok: !(result instanceof CommandRejected) });

    if (result instanceof CommandRejected) {
      assert.ok(decided instanceof CommandRejected, `execute rejected ${cmd.type} (${result.code}) but decide accepted it`);
      assert.equal(decided.code, result.code);
      assert.equal(JSON.stringify(this.state), beforeJson, `rejected ${cmd.type} (${result.code}) changed the state`);
      same(this.state, before, `rejected ${cmd.type} (${result.code}) changed the state`);
      assert.equal(this.log.length, logLen);
      return result;
    }
    assert.ok(!(decided instanceof CommandRejected), `decide rejected ${cmd.type} (${(decided as CommandRejected).code}) but execute accepted it`);
    same(result, decided, `decide and execute disagree on ${cmd.type}`);
    assert.ok(result.length > 0 || cmd.type === 'FireTimer', `${cmd.type} accepted without events`);
    result.forEach((e, i) => {
      assert.equal(e.seq, logLen + 1 + i, 'events are numbered consecutively');
      assert.equal(e.at, ctx.now);
    });
    this.log.push(...result);
    for (const e of result) this.frozen.push(JSON.stringify(e));
    this.last = result;
    this.snapshots.push({ len: this.log.length, state: structuredClone(this.state!) });
    if (this.checkEach) {
      this.checkFold();
      this.checkFrozen();
    }
    checkEffects(this.def, result, this.state!);
    return result;
  }

  // ------------------------------------------------------------------ world shortcuts

  start(input: unknown = {}, extra: Partial<Record<string, unknown>> = {}): Promise<EngineEvent[]> {
    return this.send({ type: 'StartWorkflow', input, ...extra } as Cmd);
  }

  runsOf(stepId: string): StepRun[] {
    return Object.values(this.s.active).filter((r) => r.stepId === stepId);
  }

  /** The one active run of `stepId`. */
  run(stepId: string): StepRun {
    const runs = this.runsOf(stepId);
    assert.equal(runs.length, 1, `expected one active run of "${stepId}", found ${runs.length}`);
    return runs[0];
  }

  /** Tasks (any status) belonging to runs of `stepId` (or the task with that id). */
  tasksOf(stepIdOrTaskId: string): ActiveTask[] {
    const s = this.s;
    if (s.tasks[stepIdOrTaskId]) return [s.tasks[stepIdOrTaskId]];
    return Object.values(s.tasks).filter((t) => {
      const run = s.active[t.runId];
      const stepId = run?.stepId ?? s.compensable.find((c) => c.runId === t.runId)?.stepId ?? t.runId.slice(0, t.runId.lastIndexOf('#'));
      return stepId === stepIdOrTaskId;
    });
  }

  task(stepIdOrTaskId: string): ActiveTask {
    const tasks = this.tasksOf(stepIdOrTaskId);
    assert.equal(tasks.length, 1, `expected one task for "${stepIdOrTaskId}", found ${tasks.length}`);
    return tasks[0];
  }

  complete(stepIdOrTaskId: string, output?: unknown): Promise<EngineEvent[]> {
    const t = this.task(stepIdOrTaskId);
    return this.send({ type: 'CompleteActivity', taskId: t.taskId, attempt: t.attempt, output } as Cmd);
  }

  fail(stepIdOrTaskId: string, error: ErrorInfo | string): Promise<EngineEvent[]> {
    const t = this.task(stepIdOrTaskId);
    const err = typeof error === 'string' ? { code: error, message: error } : error;
    return this.send({ type: 'FailActivity', taskId: t.taskId, attempt: t.attempt, error: err } as Cmd);
  }

  /** Advances the clock to the timer's due time (if later) and fires it. */
  fire(timerId: string): Promise<EngineEvent[]> {
    const t = this.s.timers[timerId];
    assert.ok(t, `no timer "${timerId}" (timers: ${Object.keys(this.s.timers).join(', ')})`);
    this.now = Math.max(this.now, t.dueAt);
    return this.send({ type: 'FireTimer', timerId } as Cmd);
  }

  /** The id of the single timer of `kind` (optionally of a run of `stepId`). */
  timerId(kind: string, stepId?: string): string {
    const ids = Object.entries(this.s.timers)
      .filter(([, t]) => t.kind === kind && (stepId === undefined || (t.runId ?? '').startsWith(`${stepId}#`)))
      .map(([id]) => id);
    assert.equal(ids.length, 1, `expected one ${kind} timer${stepId ? ` of ${stepId}` : ''}, found ${ids.join(', ') || 'none'}`);
    return ids[0];
  }

  /** Completes scheduled tasks (handlers by activity, default echo) and fires timers until settled. */
  async settle(handlers: Record<string, (input: unknown, task: ActiveTask) => unknown> = {}, max = 1000): Promise<InstanceState> {
    for (let i = 0; i < max; i++) {
      if (TERMINAL_STATUSES.has(this.s.status) || this.s.status === 'paused') return this.s;
      const task = Object.values(this.s.tasks).find((t) => t.status === 'scheduled');
      if (task) {
        const h = handlers[task.activity];
        let output: unknown;
        try {
          output = h ? h(task.input, task) : task.input;
        } catch (err) {
          const info = (err as { info?: ErrorInfo }).info ?? { code: 'error', message: String(err) };
          await this.send({ type: 'FailActivity', taskId: task.taskId, attempt: task.attempt, error: info } as Cmd);
          continue;
        }
        await this.send({ type: 'CompleteActivity', taskId: task.taskId, attempt: task.attempt, output } as Cmd);
        continue;
      }
      const timers = Object.entries(this.s.timers).filter(([, t]) => t.kind !== 'workflow-timeout' && !t.deferred).sort((a, b) => a[1].dueAt - b[1].dueAt);
      if (timers.length === 0) return this.s;
      await this.fire(timers[0][0]);
    }
    throw new Error('did not settle');
  }

  /** Events of the given types in the whole log (or in `events`). */
  events<K extends EventType>(type: K, events: EngineEvent[] = this.log): Array<Extract<EngineEvent, { type: K }>> {
    return events.filter((e) => e.type === type) as Array<Extract<EngineEvent, { type: K }>>;
  }

  types(events: EngineEvent[] = this.last): string[] {
    return events.map((e) => e.type);
  }

  /** Step ids whose runs completed (StepCompleted), in order. */
  completedSteps(): string[] {
    return this.events('StepCompleted').map((e) => e.stepId);
  }

  // ------------------------------------------------------------------ checks

  checkFold(): void {
    same(fold(this.log), this.state, 'fold(log) differs from the live state');
  }

  checkFrozen(): void {
    this.log.forEach((e, i) => assert.equal(JSON.stringify(e), this.frozen[i], `event #${e.seq} (${e.type}) was modified after it was emitted`));
  }

  /** Whole-history checks: fold at every past point, event immutability, deterministic replay. */
  async verifyAsync(): Promise<void> {
    this.verify();
    const replayed: EngineEvent[] = [];
    let state: InstanceState | null = null;
    for (const { cmd, ctx, ok } of this.commands) {
      try {
        const r = await execute(this.def, state, cmd, ctx);
        state = r.state;
        replayed.push(...r.events);
        assert.ok(ok, `replayed ${cmd.type} was accepted but originally rejected`);
      } catch (err) {
        if (!(err instanceof CommandRejected)) throw err;
        assert.ok(!ok, `replayed ${cmd.type} was rejected (${err.code}) but originally accepted`);
      }
    }
    same(replayed, this.log, 'replaying the commands gave different events');
  }

  verify(): void {
    if (this.log.length === 0) return;
    this.checkFrozen();
    this.checkFold();
    // The log as stored (JSON) folds to the same state.
    const stored = JSON.parse(JSON.stringify(this.log)) as EngineEvent[];
    assert.equal(JSON.stringify(fold(stored)), JSON.stringify(this.state), 'fold of the JSON round-tripped log differs');
    for (const { len, state } of this.snapshots) {
      same(fold(this.log.slice(0, len)), state, `fold of the first ${len} events differs from the state recorded then`);
    }
  }
}

/** Verifies and replays every harness created since the last call (use in `afterEach`). */
export async function verifyAndReplayHarnesses(): Promise<void> {
  const all = registry.splice(0);
  for (const h of all) await h.verifyAsync();
}

/** The effects of a batch agree with the state after it. */
export function checkEffects(def: CompiledDefinition, events: EngineEvent[], state: InstanceState): void {
  const fx = deriveEffects(def, events, state);
  assert.equal(fx.status, state.status);
  fx.tasksToSchedule.forEach((t) => {
    const removedLater = fx.tasksToRemove.some((r) => r.taskId === t.taskId)
      && lastIndexOfTask(events, t.taskId, 'remove') > lastIndexOfTask(events, t.taskId, 'schedule');
    if (!removedLater) {
      assert.ok(state.tasks[t.taskId], `effects schedule task ${t.taskId} which is not in state.tasks`);
      assert.equal(state.tasks[t.taskId].attempt, lastScheduledAttempt(events, t.taskId));
    }
  });
  for (const { timerId } of fx.timersToSet) {
    if (!fx.timersToRemove.includes(timerId)) assert.ok(state.timers[timerId], `effects set timer ${timerId} which is not in state.timers`);
  }
  for (const o of fx.humanTasksToOpen) {
    const run = state.active[o.runId];
    if (run) assert.equal((run.human ?? { taskId: undefined }).taskId, o.task.taskId);
    else assert.ok(fx.humanTasksToClose.includes(o.runId), `human task of ${o.runId} opened, run gone, not closed`);
  }
  if (fx.notifyParent) assert.ok(TERMINAL_STATUSES.has(state.status), 'TERMINAL_STATUSES.has(state.status)');
}

function lastIndexOfTask(events: EngineEvent[], taskId: string, what: 'schedule' | 'remove'): number {
  let idx = -1;
  events.forEach((e, i) => {
    if (what === 'schedule') {
      if ((e.type === 'StepStarted' && e.task?.taskId === taskId) || (e.type === 'ActivityScheduled' && e.task.taskId === taskId)) idx = i;
    } else if ((e.type === 'ActivityCompleted' || e.type === 'ActivityFailed' || e.type === 'ActivityCancelled') && e.taskId === taskId) idx = i;
    else if (e.type === 'StepCompleted' && e.taskId === taskId) idx = i;
  });
  return idx;
}

function lastScheduledAttempt(events: EngineEvent[], taskId: string): number {
  let attempt = -1;
  for (const e of events) {
    if (e.type === 'StepStarted' && e.task?.taskId === taskId) attempt = e.task.attempt;
    if (e.type === 'ActivityScheduled' && e.task.taskId === taskId) attempt = e.task.attempt;
  }
  return attempt;
}

/**
 * Deep strict equality that reports the first differing path. (assert.deepStrictEqual's diff of
 * two large states can take minutes to compute, which would stall a failing property run.)
 */
export function same(actual: unknown, expected: unknown, message: string): void {
  if (isDeepStrictEqual(actual, expected)) return;
  const path = firstDifference(actual, expected, '$');
  const show = (v: unknown) => (v === undefined ? 'undefined' : JSON.stringify(v)?.slice(0, 400));
  assert.fail(`${message}\n  at ${path.path}\n  actual:   ${show(path.actual)}\n  expected: ${show(path.expected)}`);
}

function firstDifference(a: unknown, b: unknown, path: string): { path: string; actual: unknown; expected: unknown } {
  if (a && b && typeof a === 'object' && typeof b === 'object' && Array.isArray(a) === Array.isArray(b)) {
    const keys = new Set([...Object.keys(a), ...Object.keys(b)]);
    for (const k of keys) {
      const va = (a as Record<string, unknown>)[k];
      const vb = (b as Record<string, unknown>)[k];
      if (!(k in a) || !(k in b) || !isDeepStrictEqual(va, vb)) {
        if (!(k in a) || !(k in b)) return { path: `${path}.${k}`, actual: (k in a) ? va : '<missing>', expected: (k in b) ? vb : '<missing>' };
        return firstDifference(va, vb, `${path}.${k}`);
      }
    }
    if (Object.getPrototypeOf(a) !== Object.getPrototypeOf(b)) return { path: `${path} (prototype)`, actual: a, expected: b };
  }
  return { path, actual: a, expected: b };
}

/** Shorthand for a failure. */
export function err(code: string, extra: Partial<ErrorInfo> = {}): ErrorInfo {
  return { code, message: `${code} happened`, ...extra };
}
