/**
 * The decider: turns one command into events by moving tokens through the net. Every event is
 * applied to the working state as soon as it is emitted, so later decisions in the same command
 * see its effect — decide and evolve can never disagree.
 *
 * Token flow in brief: a step *activates* when a token arrives (`StepStarted`); instant steps
 * (start, decision, inclusive, parallel, loop, end) complete at once; tasks, waits, timers, humans
 * and children complete when the world answers. Completion *routes* the token along the step's
 * transitions. A split records how many branches its join must wait for; the join counts
 * arrivals and fires at `needed`, cancelling the rest of its region for `any`/`n`.
 */
import { evaluate, evaluateCondition, evaluateMapping } from '../model/expressions.js';
import type { ResolvedTransition } from '../model/graph.js';
import type { StepOf } from '../model/schema.js';
import { applyEvent } from './apply.js';
import type { CompiledDefinition, CompiledStep } from './compiled.js';
import { describeSchemaErrors } from './compiled.js';
import { computeDeadline, nextCronTime, resolveDelay, resolveInstant } from './time.js';
import type {
  ActiveTask, ChoiceSite, DecideContext, EngineEvent, ErrorInfo, HumanTaskInfo, InstanceState, NewEvent, StepRun, TimerInfo,
} from './types.js';
import { TERMINAL_STATUSES } from './types.js';

export const DEFAULT_MAX_PAYLOAD_BYTES = 1024 * 1024;
export const DEFAULT_MAX_SIGNALS = 100;

type Scope = Record<string, unknown>;

export class Machine {
  readonly events: EngineEvent[] = [];
  state: InstanceState;
  /**
   * Per step: how many times an any/n join whose region holds it fired early in this command.
   * A token queued (in a `follow` loop) before such a firing is void: its branch lost.
   */
  private readonly epochs = new Map<string, number>();

  epochOf(stepId: string): number {
    return this.epochs.get(stepId) ?? 0;
  }

  constructor(
    readonly def: CompiledDefinition,
    state: InstanceState | null,
    readonly ctx: DecideContext,
    readonly by?: string,
  ) {
    this.state = state as InstanceState;
  }

  emit(e: NewEvent): EngineEvent {
    // Every caller passes a fresh literal, so stamping it in place saves a copy per event (hot path).
    const event = e as EngineEvent;
    event.seq = (this.state?.seq ?? 0) + 1;
    event.at = this.ctx.now;
    this.state = applyEvent(this.state, event);
    this.events.push(event);
    return event;
  }

  // ------------------------------------------------------------------ helpers

  step(id: string): CompiledStep {
    const cs = this.def.steps.get(id);
    if (!cs) throw new Error(`step "${id}" is not in ${this.def.id}@${this.def.version}`);
    return cs;
  }

  scope(extra?: Scope): Scope {
    const s = this.state;
    return {
      input: s.input,
      vars: s.vars,
      env: s.env,
      steps: s.steps,
      instance: { id: s.id, definitionId: s.definitionId, definitionVersion: s.definitionVersion },
      ...extra,
    };
  }

  /** Scope in which `stepId` already shows as completed with `output` (for its own routing and `set`). */
  scopeWithOutput(stepId: string, output: unknown): Scope {
    const prev = this.state.steps[stepId];
    return this.scope({ output, steps: { ...this.state.steps, [stepId]: { ...prev, status: 'completed', output } } });
  }

  get maxPayload(): number {
    return this.ctx.limits?.maxPayloadBytes ?? DEFAULT_MAX_PAYLOAD_BYTES;
  }

  payloadTooLarge(value: unknown): boolean {
    return value !== undefined && jsonBytesExceed(value, this.maxPayload);
  }

  nextRunId(stepId: string): string {
    return `${stepId}#${this.state.runCounter + 1}`;
  }

  activeRunsOf(stepId: string): StepRun[] {
    return Object.values(this.state.active).filter((r) => r.stepId === stepId);
  }

  // ------------------------------------------------------------------ activation

  /** A token arrives at `stepId` by transition `via`. */
  async activate(stepId: string, via: string, from?: unknown, epoch?: number): Promise<void> {
    // A token queued before an any/n join cancelled its branch goes nowhere.
    if (epoch !== undefined && epoch !== this.epochOf(stepId)) return;
    // One still queued when the instance failed is kept (as suspended) for RetryStep/SkipStep;
    // after any other end (terminate end, cancel) or once compensating, it goes nowhere.
    if (this.state.status === 'failed') {
      this.emit({ type: 'TokenParked', stepId, via });
      return;
    }
    if (TERMINAL_STATUSES.has(this.state.status) || this.state.status === 'compensating') return;
    if (this.state.status === 'paused') {
      this.emit({ type: 'TokenParked', stepId, via });
      return;
    }
    const cs = this.step(stepId);
    const runId = this.nextRunId(stepId);
    try {
      switch (cs.step.type) {
        case 'start':
          this.emit({ type: 'StepStarted', runId, stepId, via, status: 'running' });
          return await this.completeRun(runId, this.state.input);
        case 'end':
          return await this.reachEnd(cs, runId, via, from);
        case 'decision':
        case 'inclusive':
        case 'parallel':
          this.emit({ type: 'StepStarted', runId, stepId, via, status: 'running' });
          return await this.completeRun(runId, from);
        case 'join':
          return await this.arriveAtJoin(cs, via);
        case 'loop':
          return await this.passLoop(cs as CompiledStep & { step: StepOf<'loop'> }, runId, via);
        case 'task':
          return await this.startTask(cs, cs.step, runId, via, from);
        case 'wait':
          return await this.startWait(cs.step, runId, via);
        case 'timer':
          return await this.startTimer(cs.step, runId, via);
        case 'human':
          return await this.startHuman(cs.step, runId, via);
        case 'subworkflow':
          return await this.startChild(cs.step, runId, via, from);
        case 'foreach':
          return await this.startForeach(cs, cs.step, runId, via);
      }
    } catch (err) {
      // An expression or mapping that fails while the step starts fails the step, by its policy.
      if (!(err instanceof Error) || (err as { name?: string }).name === 'CommandRejected') throw err;
      if (!this.state.active[runId]) this.emit({ type: 'StepStarted', runId, stepId, via, status: 'running' });
      await this.failRun(runId, { code: 'expression_error', message: err.message, nonRetryable: true });
    }
  }

  private async startTask(cs: CompiledStep, step: StepOf<'task'>, runId: string, via: string, from: unknown): Promise<void> {
    const input = step.input !== undefined ? await evaluateMapping(step.input, this.scope()) : from ?? this.state.input;
    const task: ActiveTask = { taskId: runId, runId, activity: step.activity, input, attempt: 1, status: 'scheduled', purpose: 'step' };
    this.emit({ type: 'StepStarted', runId, stepId: cs.id, via, status: 'scheduled', input, task });
    if (this.payloadTooLarge(input)) {
      await this.failTaskFinally(task, { code: 'payload_too_large', message: `task input exceeds ${this.maxPayload} bytes`, nonRetryable: true });
    }
  }

  private async startWait(step: StepOf<'wait'>, runId: string, via: string): Promise<void> {
    const key = step.correlation !== undefined ? await evaluate(step.correlation, this.scope()) : undefined;
    const wait = key === undefined ? { event: step.event } : { event: step.event, key };
    this.emit({ type: 'StepStarted', runId, stepId: step.id, via, status: 'waiting_event', wait });
    // A signal sent to this instance before anyone waited is consumed now.
    for (let i = 0; i < this.state.signals.length; i++) {
      const sig = this.state.signals[i];
      // A buffered signal whose payload the `match` cannot even evaluate is not for this wait.
      if (sig.name === step.event && (await this.waitMatches(step, sig.payload).catch(() => false))) {
        this.emit({ type: 'SignalConsumed', index: i });
        return this.finishWait(runId, sig.payload);
      }
    }
    if (step.timeout !== undefined) {
      this.scheduleTimer(`${runId}/timeout`, { kind: 'wait-timeout', runId, dueAt: this.ctx.now + resolveDelay(step.timeout) });
    }
  }

  async waitMatches(step: StepOf<'wait'>, payload: unknown): Promise<boolean> {
    if (step.match === undefined) return true;
    return this.condition({ kind: 'match', stepId: step.id, expression: step.match }, () => this.scope({ event: payload }));
  }

  /** A condition's value: the verifier's oracle when one is set (DecideContext.oracle), else evaluated. */
  async condition(site: ChoiceSite, scope: () => Scope): Promise<boolean> {
    const answer = this.ctx.oracle?.condition(site);
    return answer !== undefined ? answer : evaluateCondition(site.expression, scope());
  }

  async finishWait(runId: string, payload: unknown): Promise<void> {
    const run = this.state.active[runId];
    const step = this.step(run.stepId).step as StepOf<'wait'>;
    this.cancelTimerIfAny(`${runId}/timeout`);
    await this.completeMapped(runId, step.output, { event: payload }, payload);
  }

  /** Completes the run with `mapping` evaluated over `extra` (or `raw` without one); a mapping that fails fails the step. */
  async completeMapped(runId: string, mapping: unknown, extra: Scope, raw: unknown): Promise<void> {
    let output = raw;
    if (mapping !== undefined) {
      try {
        output = await evaluateMapping(mapping, this.scope(extra));
      } catch (err) {
        if (!(err instanceof Error) || err.name === 'CommandRejected') throw err;
        return this.failRun(runId, { code: 'expression_error', message: err.message, nonRetryable: true });
      }
    }
    await this.completeRun(runId, output);
  }

  private async startTimer(step: StepOf<'timer'>, runId: string, via: string): Promise<void> {
    const now = this.ctx.now;
    let dueAt: number;
    if (step.cron !== undefined) dueAt = nextCronTime(step.cron, now, step.timezone);
    else if (step.at !== undefined) dueAt = resolveInstant(await evaluateMapping(step.at, this.scope()), 'at');
    else {
      const delay = typeof step.delay === 'string' && step.delay.includes('${') ? await evaluateMapping(step.delay, this.scope()) : step.delay;
      dueAt = now + resolveDelay(delay ?? 0);
    }
    this.emit({ type: 'StepStarted', runId, stepId: step.id, via, status: 'waiting_timer', input: { dueAt } });
    this.scheduleTimer(`${runId}/timer`, { kind: 'timer', runId, dueAt });
  }

  private async startHuman(step: StepOf<'human'>, runId: string, via: string): Promise<void> {
    const input = step.input !== undefined ? await evaluateMapping(step.input, this.scope()) : undefined;
    const deadline = step.deadline !== undefined ? computeDeadline(step.deadline, this.ctx.now) : undefined;
    const human: HumanTaskInfo = {
      taskId: runId,
      title: step.title ?? step.name ?? step.id,
      users: step.assignees?.users ?? [],
      groups: step.assignees?.groups ?? [],
      actions: step.actions ?? ['approve', 'reject'],
      kind: 'human',
    };
    if (step.form !== undefined) human.form = step.form;
    if (deadline !== undefined) human.deadline = deadline;
    this.emit({ type: 'StepStarted', runId, stepId: step.id, via, status: 'waiting_human', input, human });
    if (deadline !== undefined) this.scheduleTimer(`${runId}/deadline`, { kind: 'human-deadline', runId, dueAt: deadline });
  }

  private async startChild(step: StepOf<'subworkflow'>, runId: string, via: string, from: unknown): Promise<void> {
    const input = step.input !== undefined ? await evaluateMapping(step.input, this.scope()) : from ?? this.state.input;
    const childId = `${this.state.id}/${runId}`;
    this.emit({
      type: 'StepStarted', runId, stepId: step.id, via, status: 'running', input, childId,
      child: { workflow: step.workflow, version: step.version, input },
    });
    const timeoutMs = this.step(step.id).timeoutMs;
    if (timeoutMs !== undefined) this.scheduleTimer(`${runId}/timeout`, { kind: 'wait-timeout', runId, dueAt: this.ctx.now + timeoutMs });
  }

  private async startForeach(cs: CompiledStep, step: StepOf<'foreach'>, runId: string, via: string): Promise<void> {
    const items = this.ctx.oracle?.items?.(cs.id) ?? await evaluate(step.items, this.scope());
    this.emit({ type: 'StepStarted', runId, stepId: cs.id, via, status: 'running', foreach: { items: Array.isArray(items) ? items : [] } });
    if (!Array.isArray(items)) {
      return this.failRun(runId, { code: 'invalid_items', message: `foreach "${cs.id}": items must be an array, got ${typeof items}`, nonRetryable: true });
    }
    if (step.maxItems !== undefined && items.length > step.maxItems) {
      return this.failRun(runId, { code: 'too_many_items', message: `foreach "${cs.id}": ${items.length} items exceed maxItems ${step.maxItems}`, nonRetryable: true });
    }
    if (items.length === 0) return this.finishForeach(runId);
    await this.fillForeach(runId);
  }

  /** Starts items until `concurrency` are running or none are left. */
  async fillForeach(runId: string): Promise<void> {
    const run = this.state.active[runId];
    const step = this.step(run.stepId).step as StepOf<'foreach'>;
    const f = run.foreach!;
    const limit = step.concurrency ?? 1;
    while (f.running < limit && f.next < f.items.length && this.state.status !== 'paused') {
      const index = f.next;
      const item = f.items[index];
      let input = item;
      try {
        if (step.input !== undefined) input = await evaluateMapping(step.input, this.scope({ item, index }));
      } catch (err) {
        if (!(err instanceof Error) || err.name === 'CommandRejected') throw err;
        return this.failRun(runId, { code: 'expression_error', message: `item ${index}: ${err.message}`, nonRetryable: true });
      }
      if (step.workflow !== undefined) {
        this.emit({
          type: 'ForeachChildStarted', runId, index, childId: `${this.state.id}/${runId}[${index}]`,
          child: { workflow: step.workflow, version: step.version, input },
        });
      } else {
        this.emit({
          type: 'ActivityScheduled',
          task: { taskId: `${runId}[${index}]`, runId, activity: step.activity!, input, attempt: 1, status: 'scheduled', purpose: 'item', index },
        });
      }
    }
  }

  async foreachItemDone(runId: string, index: number, output: unknown): Promise<void> {
    this.emit({ type: 'ForeachItemDone', runId, index, output });
    const f = this.state.active[runId].foreach!;
    if (f.done === f.items.length) return this.finishForeach(runId);
    await this.fillForeach(runId);
  }

  private async finishForeach(runId: string): Promise<void> {
    const run = this.state.active[runId];
    const step = this.step(run.stepId).step as StepOf<'foreach'>;
    const results = run.foreach!.results;
    await this.completeMapped(runId, step.output, { results }, results);
  }

  private async passLoop(cs: CompiledStep & { step: StepOf<'loop'> }, runId: string, via: string): Promise<void> {
    const step = cs.step;
    const back = cs.backEdges?.has(via) ?? false;
    const iteration = back ? (this.state.steps[step.id]?.iteration ?? 0) + 1 : 0;
    this.emit({ type: 'StepStarted', runId, stepId: step.id, via, status: 'running' });
    const scope = this.scope({ loop: { iteration } });
    const again = iteration < step.maxIterations
      && (step.while === undefined || (await this.condition({ kind: 'loop', stepId: step.id, iteration, expression: step.while }, () => scope)));
    const body = cs.outgoing.find((t) => t.to === step.body);
    const exit = cs.outgoing.find((t) => t.to !== step.body);
    const taken = again ? body : exit;
    if (!taken) throw new Error(`loop "${step.id}" has no ${again ? 'body' : 'exit'} transition`);
    this.emit({ type: 'StepCompleted', runId, stepId: step.id, output: { iteration }, taken: [taken.id], iteration });
    await this.activate(taken.to, taken.id, { iteration });
  }

  private async arriveAtJoin(cs: CompiledStep, via: string): Promise<void> {
    const step = cs.step as StepOf<'join'>;
    let run = this.activeRunsOf(step.id).find((r) => r.join);
    if (!run) {
      const expected = this.state.expecting[step.id] ?? (this.def.graph.incoming.get(step.id)?.filter((t) => !t.on).length || 1);
      const mode = step.mode ?? 'all';
      const needed = mode === 'any' ? 1 : mode === 'n' ? Math.min(step.n ?? expected, expected) : expected;
      const runId = this.nextRunId(step.id);
      this.emit({ type: 'StepStarted', runId, stepId: step.id, via, status: 'pending', join: { expected, needed } });
      run = this.state.active[runId];
    }
    this.emit({ type: 'JoinArrived', runId: run.id, via });
    const join = this.state.active[run.id].join!;
    if (join.arrived < join.needed) return;
    const runId = run.id;
    if (join.arrived < join.expected) {
      // any / n-of-m: the branches still running lose, and so do those not started yet.
      for (const other of Object.values(this.state.active)) {
        if (other.id !== runId && cs.region?.has(other.stepId)) this.cancelRun(other.id, 'join', false);
      }
      for (const id of [step.id, ...(cs.region ?? [])]) this.epochs.set(id, this.epochOf(id) + 1);
    }
    await this.completeRun(runId, { arrived: join.from.length, from: join.from });
  }

  private async reachEnd(cs: CompiledStep, runId: string, via: string, from: unknown): Promise<void> {
    const step = cs.step as StepOf<'end'>;
    this.emit({ type: 'StepStarted', runId, stepId: step.id, via, status: 'running', input: from });
    this.emit({ type: 'StepCompleted', runId, stepId: step.id, output: from, taken: [] });
    if (step.terminate) {
      for (const other of Object.keys(this.state.active)) this.cancelRun(other, 'terminate_end', false);
    }
    if (Object.keys(this.state.active).length === 0 && this.state.parked.length === 0) {
      const mapping = step.output ?? this.def.def.result;
      let output = from;
      try {
        if (mapping !== undefined) output = await evaluateMapping(mapping, this.scope({ output: from }));
      } catch (err) {
        // The end step has completed: the instance fails (there is no step left to fail).
        if (!(err instanceof Error) || err.name === 'CommandRejected') throw err;
        return this.failWorkflow({ code: 'expression_error', message: err.message });
      }
      this.finishWorkflow(output);
    }
  }

  finishWorkflow(output: unknown): void {
    this.cancelAllTimers();
    if (this.state.cancelRequested) {
      this.emit({ type: 'WorkflowCancelled', reason: 'cancelled', by: this.by });
      return;
    }
    const validate = this.def.outputValidator;
    if (validate && !validate(output)) {
      this.emit({ type: 'WorkflowFailed', error: { code: 'output_invalid', message: `workflow output does not match its schema: ${describeSchemaErrors(validate)}` } });
      return;
    }
    if (this.payloadTooLarge(output)) {
      this.emit({ type: 'WorkflowFailed', error: { code: 'payload_too_large', message: `workflow output exceeds ${this.maxPayload} bytes` } });
      return;
    }
    this.emit({ type: 'WorkflowCompleted', output });
  }

  // ------------------------------------------------------------------ completion and routing

  /** The run finished with `output`: assign variables, choose transitions, move the token on. */
  async completeRun(runId: string, output: unknown, extra: { taskId?: string; attempt?: number; by?: string } = {}): Promise<void> {
    const run = this.state.active[runId];
    const cs = this.step(run.stepId);
    let vars: Record<string, unknown> | undefined;
    let scope: Scope | undefined;
    const lazyScope = () => (scope ??= this.scopeWithOutput(cs.id, output));
    let taken: ResolvedTransition[] | null;
    try {
      if (cs.step.set) {
        vars = {};
        for (const [name, expr] of Object.entries(cs.step.set)) vars[name] = await evaluate(expr, lazyScope());
        scope = { ...lazyScope(), vars: { ...this.state.vars, ...vars } };
      }
      taken = await this.route(cs, lazyScope);
    } catch (err) {
      // A `set` or `when` that fails fails the step (by its policy), never the command.
      if (!(err instanceof Error) || err.name === 'CommandRejected') throw err;
      return this.failRun(runId, { code: 'expression_error', message: err.message, nonRetryable: true });
    }
    if (taken === null) {
      return this.failRun(runId, { code: 'no_transition', message: `no transition of "${cs.id}" matches and it has no default`, nonRetryable: true });
    }
    // Timers the run still holds (a human task's deadline) end with it.
    for (const id in this.state.timers) if (this.state.timers[id].runId === runId) this.emit({ type: 'TimerCancelled', timerId: id });
    const split = cs.join && (cs.type === 'parallel' || cs.type === 'inclusive') ? { join: cs.join, expected: taken.length } : undefined;
    const compensable = cs.step.type === 'task' && cs.step.compensate !== undefined ? true : undefined;
    this.emit({
      type: 'StepCompleted', runId, stepId: cs.id, output, taken: taken.map((t) => t.id),
      ...(split && { split }), ...(vars && { vars }), ...(compensable && { compensable }),
      ...(extra.taskId !== undefined && { taskId: extra.taskId, attempt: extra.attempt }), ...(extra.by && { by: extra.by }),
    });
    await this.follow(taken, output);
  }

  async follow(taken: ResolvedTransition[], output: unknown): Promise<void> {
    const epochs = taken.map((t) => this.epochOf(t.to));
    for (let i = 0; i < taken.length; i++) await this.activate(taken[i].to, taken[i].id, output, epochs[i]);
  }

  /** Transitions to take on normal completion; null when none matches (a dead end). */
  async route(cs: CompiledStep, scope: () => Scope): Promise<ResolvedTransition[] | null> {
    const out = cs.outgoing;
    if (cs.type === 'end') return [];
    if (cs.type === 'parallel') return out;
    const defaults = out.filter((t) => t.default);
    if (cs.type === 'inclusive') {
      const chosen: ResolvedTransition[] = [];
      for (const t of out) if (!t.default && (t.when === undefined || (await this.when(cs, t, scope)))) chosen.push(t);
      return chosen.length ? chosen : defaults.length ? defaults : null;
    }
    for (const t of out) {
      if (t.default) continue;
      if (t.when === undefined || (await this.when(cs, t, scope))) return [t];
    }
    return defaults.length ? [defaults[0]] : out.length === 0 ? [] : null;
  }

  private when(cs: CompiledStep, t: ResolvedTransition, scope: () => Scope): Promise<boolean> {
    return this.condition({ kind: 'transition', stepId: cs.id, transitionId: t.id, expression: t.when! }, scope);
  }

  // ------------------------------------------------------------------ failure

  /** An activity attempt failed for good (no retry left): the step or the compensation fails. */
  async failTaskFinally(task: ActiveTask, error: ErrorInfo): Promise<void> {
    this.emit({ type: 'ActivityFailed', taskId: task.taskId, runId: task.runId, attempt: task.attempt, error });
    if (task.purpose === 'compensate') {
      this.emit({ type: 'WorkflowFailed', error: { code: 'compensation_failed', message: `compensation of "${this.state.compensating?.[0]}" failed: ${error.message}`, details: error } });
      return;
    }
    await this.failRun(task.runId, error);
  }

  /** The run failed: `on: timeout|error` transition, else the step's or workflow's error action. */
  async failRun(runId: string, error: ErrorInfo, finishedChildId?: string): Promise<void> {
    const run = this.state.active[runId];
    const cs = this.step(run.stepId);
    this.releaseRun(run, { finishedChildId });
    const timedOut = error.code === 'timeout' || error.code === 'heartbeat_timeout';
    const handler =
      (timedOut ? cs.exceptional.find((t) => t.on === 'timeout') : undefined) ??
      cs.exceptional.find((t) => t.on === 'error' && codeMatches(t.error, error.code));
    if (handler) {
      this.emit({ type: 'StepFailed', runId, stepId: cs.id, error, handling: 'transition', taken: [handler.id] });
      return this.activate(handler.to, handler.id, { error });
    }
    const action = cs.step.onError ?? this.def.errorPolicy;
    if (action === 'continue') {
      const output = { error };
      let taken: ResolvedTransition[];
      try {
        taken = (await this.route(cs, () => this.scopeWithOutput(cs.id, output))) ?? [];
      } catch (err) {
        if (!(err instanceof Error) || err.name === 'CommandRejected') throw err;
        // Cannot route on: the failure stands, and so does the routing error.
        this.emit({ type: 'StepFailed', runId, stepId: cs.id, error, handling: 'unhandled', taken: [] });
        return this.failWorkflow({ code: 'expression_error', message: err.message, details: error });
      }
      this.emit({ type: 'StepFailed', runId, stepId: cs.id, error, handling: 'continue', taken: taken.map((t) => t.id) });
      return this.follow(taken, output);
    }
    if (action === 'manual') {
      const manualTask: HumanTaskInfo = {
        taskId: `${runId}/manual`, title: `Step "${cs.id}" failed: ${error.message}`,
        users: [], groups: ['operators'], actions: ['retry', 'skip', 'fail'], kind: 'manual',
      };
      this.emit({ type: 'StepFailed', runId, stepId: cs.id, error, handling: 'manual', taken: [], manualTask });
      return;
    }
    this.emit({ type: 'StepFailed', runId, stepId: cs.id, error, handling: 'unhandled', taken: [] });
    if (action === 'compensate') return this.startCompensation(`step "${cs.id}" failed: ${error.message}`);
    this.failWorkflow(error);
  }

  failWorkflow(error: ErrorInfo): void {
    for (const id of Object.keys(this.state.active)) this.cancelRun(id, 'workflow_failed', false);
    this.cancelAllTimers();
    this.emit({ type: 'WorkflowFailed', error });
  }

  // ------------------------------------------------------------------ cancellation

  /**
   * Stops a run's pending work: its tasks, its own timers, and its child instances (by the step's
   * cancel policy; `finishedChildId` is the child whose end caused this and needs no cancel).
   */
  releaseRun(run: StepRun, opts: { finishedChildId?: string; terminate?: boolean } = {}): void {
    for (const t of Object.values(this.state.tasks)) {
      if (t.runId === run.id && t.purpose !== 'compensate') {
        this.emit({ type: 'ActivityCancelled', taskId: t.taskId, runId: run.id });
      }
    }
    for (const [id, timer] of Object.entries(this.state.timers)) {
      if (timer.runId === run.id) this.emit({ type: 'TimerCancelled', timerId: id });
    }
    const step = this.step(run.stepId).step;
    const children: string[] = [];
    if (run.childId && step.type === 'subworkflow' && (step.cancel ?? 'propagate') === 'propagate') children.push(run.childId);
    if (run.foreach && step.type === 'foreach' && step.workflow !== undefined) {
      // Items started as children and not yet done go with the run.
      for (let i = 0; i < run.foreach.next; i++) if (!(i in run.foreach.results)) children.push(`${this.state.id}/${run.id}[${i}]`);
    }
    for (const childId of children) {
      if (childId !== opts.finishedChildId) this.emit({ type: 'ChildCancelRequested', runId: run.id, childId, terminate: opts.terminate ?? false });
    }
  }

  /** Cancels a run; with `allowOnCancel` its `on: cancel` transitions carry the token on. */
  cancelRun(runId: string, reason: string, allowOnCancel: boolean): ResolvedTransition[] {
    const run = this.state.active[runId];
    if (!run) return [];
    const cs = this.step(run.stepId);
    this.releaseRun(run, { terminate: reason === 'terminated' });
    const onCancel = allowOnCancel ? cs.exceptional.filter((t) => t.on === 'cancel') : [];
    this.emit({ type: 'StepCancelled', runId, stepId: run.stepId, reason, taken: onCancel.map((t) => t.id) });
    return onCancel;
  }

  scheduleTimer(timerId: string, timer: TimerInfo): void {
    this.emit({ type: 'TimerScheduled', timerId, timer });
  }

  cancelTimerIfAny(timerId: string): void {
    if (this.state.timers[timerId]) this.emit({ type: 'TimerCancelled', timerId });
  }

  cancelAllTimers(): void {
    for (const id of Object.keys(this.state.timers)) this.emit({ type: 'TimerCancelled', timerId: id });
  }

  // ------------------------------------------------------------------ compensation

  async startCompensation(reason: string): Promise<void> {
    for (const id of Object.keys(this.state.active)) this.cancelRun(id, 'compensation', false);
    for (const [id, timer] of Object.entries(this.state.timers)) if (timer.kind !== 'retry' || !timer.taskId?.endsWith('~comp')) this.emit({ type: 'TimerCancelled', timerId: id });
    const runs = [...this.state.compensable].reverse().map((c) => c.runId);
    this.emit({ type: 'CompensationStarted', reason, runs });
    await this.nextCompensation();
  }

  async nextCompensation(): Promise<void> {
    const runId = this.state.compensating?.[0];
    if (runId === undefined) {
      this.emit({ type: 'WorkflowCompensated' });
      return;
    }
    const entry = this.state.compensable.find((c) => c.runId === runId)!;
    const step = this.step(entry.stepId).step as StepOf<'task'>;
    const output = this.state.steps[entry.stepId]?.output;
    let input = output;
    try {
      if (step.compensate!.input !== undefined) input = await evaluateMapping(step.compensate!.input, this.scope({ output }));
    } catch (err) {
      if (!(err instanceof Error) || err.name === 'CommandRejected') throw err;
      this.emit({ type: 'WorkflowFailed', error: { code: 'compensation_failed', message: `compensation of "${entry.stepId}" failed: ${err.message}` } });
      return;
    }
    this.emit({
      type: 'ActivityScheduled',
      task: { taskId: `${runId}~comp`, runId, activity: step.compensate!.activity, input, attempt: 1, status: 'scheduled', purpose: 'compensate' },
    });
  }

  // ------------------------------------------------------------------ end of command

  /** After a command: an instance whose only tokens sit in joins that can never fire is deadlocked. */
  checkProgress(): void {
    const s = this.state;
    if (TERMINAL_STATUSES.has(s.status) || s.status === 'compensating' || s.status === 'paused') return;
    const runs = Object.values(s.active);
    if (s.parked.length > 0) return;
    if (runs.length === 0) {
      // Every token was consumed without reaching an end that could finish (e.g. the last branch
      // was cancelled): finish as the log says.
      if (s.cancelRequested) {
        this.cancelAllTimers();
        this.emit({ type: 'WorkflowCancelled', reason: 'cancelled', by: this.by });
      }
      return;
    }
    if (runs.every((r) => r.status === 'pending' && r.join)) {
      if (s.cancelRequested) {
        // A cleanup path that stops at a join whose other branches were cancelled is done.
        for (const r of runs) this.cancelRun(r.id, 'cancelled', false);
        this.cancelAllTimers();
        this.emit({ type: 'WorkflowCancelled', reason: 'cancelled', by: this.by });
        return;
      }
      const detail = runs.map((r) => `join "${r.stepId}" has ${r.join!.arrived} of ${r.join!.needed} branches`).join('; ');
      this.failWorkflow({ code: 'deadlock', message: `no branch can reach the waiting joins: ${detail}` });
    }
  }
}

function codeMatches(filter: string | string[] | undefined, code: string): boolean {
  if (filter === undefined) return true;
  return Array.isArray(filter) ? filter.includes(code) : filter === code;
}

const utf8 = new TextEncoder();

/**
 * Whether `value` serialises to more than `limit` bytes of UTF-8 JSON. A cheap walk computes an
 * upper bound first (3 bytes per UTF-16 unit); only values that might be too large are
 * serialised. Browser-safe (no Buffer): the core also runs in the editor.
 */
export function jsonBytesExceed(value: unknown, limit: number): boolean {
  let budget = limit;
  const stack: unknown[] = [value];
  while (stack.length > 0 && budget >= 0) {
    const v = stack.pop();
    if (typeof v === 'string') budget -= v.length * 3 + 2;
    else if (typeof v === 'number') budget -= 24;
    else if (v === null || typeof v !== 'object') budget -= 5;
    else if (Array.isArray(v)) {
      budget -= 2 + v.length;
      for (const item of v) stack.push(item);
    } else {
      budget -= 2;
      for (const k in v) {
        budget -= k.length * 3 + 4;
        stack.push((v as Record<string, unknown>)[k]);
      }
    }
  }
  if (budget >= 0) return false;
  return utf8.encode(JSON.stringify(value) ?? '').length > limit;
}
