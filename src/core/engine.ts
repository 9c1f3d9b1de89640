/**
 * The core's entry points. `execute` runs one command against a state it may mutate (the
 * runtime's fast path); `decide` and `evolve` are the pure forms. Each command checks its
 * preconditions first and throws `CommandRejected` before anything changes.
 */
import { evaluateMapping } from '../model/expressions.js';
import type { StepOf } from '../model/schema.js';
import { applyEvent } from './apply.js';
import { backoffDelay } from './backoff.js';
import type { CompiledDefinition } from './compiled.js';
import { describeSchemaErrors } from './compiled.js';
import { reject } from './errors.js';
import { DEFAULT_MAX_SIGNALS, Machine } from './machine.js';
import { computeDeadline } from './time.js';
import { canonicalJson } from './json.js';
import type {
  Command, DecideContext, EngineEvent, ErrorInfo, InstanceState, StartWorkflow, StepRun,
} from './types.js';
import { TERMINAL_STATUSES } from './types.js';

export function cloneState(state: InstanceState): InstanceState {
  return structuredClone(state);
}

export function initialState(): null {
  return null;
}

/** Mutating fold step (the runtime owns the state it passes). */
export function apply(state: InstanceState | null, event: EngineEvent): InstanceState {
  return applyEvent(state, event);
}

/** Pure fold step. */
export function evolve(state: InstanceState | null, event: EngineEvent): InstanceState {
  return applyEvent(state ? cloneState(state) : null, event);
}

/** Folds a log, optionally on top of a snapshot (which is not modified). */
export function fold(events: Iterable<EngineEvent>, from: InstanceState | null = null): InstanceState | null {
  let state = from ? cloneState(from) : null;
  for (const e of events) state = applyEvent(state, e);
  return state;
}

/** Pure: the events `command` produces. */
export async function decide(def: CompiledDefinition, state: InstanceState | null, command: Command, ctx: DecideContext): Promise<EngineEvent[]> {
  return (await execute(def, state ? cloneState(state) : null, command, ctx)).events;
}

/**
 * Runs `command`. On success `state` has been advanced in place (a new object for StartWorkflow)
 * and the events are returned in order. On rejection nothing has changed.
 */
export async function execute(def: CompiledDefinition, state: InstanceState | null, command: Command, ctx: DecideContext): Promise<{ state: InstanceState; events: EngineEvent[] }> {
  if (command.type === 'StartWorkflow') {
    if (state) reject('invalid_state', `instance "${command.instanceId}" already exists`);
    const m = new Machine(def, null, ctx, command.by);
    await start(m, command);
    return { state: m.state, events: m.events };
  }
  if (!state) reject('not_found', `instance "${command.instanceId}" does not exist`);
  if (state.id !== command.instanceId) reject('invalid_input', `command for "${command.instanceId}" sent to "${state.id}"`);
  const m = new Machine(def, state, ctx, command.by);
  await handle(m, command);
  m.checkProgress();
  return { state: m.state, events: m.events };
}

async function start(m: Machine, cmd: StartWorkflow): Promise<void> {
  const def = m.def;
  const input = cmd.input ?? {};
  if (m.payloadTooLarge(input)) reject('payload_too_large', `input exceeds ${m.maxPayload} bytes`);
  if (def.inputValidator && !def.inputValidator(input)) {
    reject('invalid_input', `input does not match the schema of ${def.id}@${def.version}: ${describeSchemaErrors(def.inputValidator)}`, def.inputValidator.errors);
  }
  const vars: Record<string, unknown> = {};
  for (const [name, v] of Object.entries(def.def.variables ?? {})) if (v.default !== undefined) vars[name] = structuredClone(v.default);
  Object.assign(vars, cmd.vars);
  checkVariableTypes(m, cmd.vars ?? {});
  m.emit({
    type: 'WorkflowStarted', instanceId: cmd.instanceId, definitionId: def.id, definitionVersion: def.version,
    ...(def.def.namespace && { namespace: def.def.namespace }),
    input, vars, env: cmd.env ?? {},
    ...(cmd.parent && { parent: cmd.parent }), ...(cmd.correlationId && { correlationId: cmd.correlationId }),
    ...(cmd.labels && { labels: cmd.labels }),
  });
  scheduleWorkflowTimeout(m);
  await m.activate(def.startId, 'start');
}

function checkVariableTypes(m: Machine, vars: Record<string, unknown>): void {
  const declared = m.def.def.variables ?? {};
  for (const [name, value] of Object.entries(vars)) {
    const type = declared[name]?.type;
    if (!type || value === null) continue;
    const actual = Array.isArray(value) ? 'array' : typeof value;
    const ok = type === 'integer' ? Number.isInteger(value) : type === 'array' ? Array.isArray(value) : type === 'object' ? actual === 'object' : actual === type;
    if (!ok) reject('invalid_input', `variable "${name}" must be ${type}, got ${actual}`, { variable: name, expected: type });
  }
}

const ACTIVE = new Set(['running', 'waiting']);

function requireNotTerminal(m: Machine, what: string): void {
  if (TERMINAL_STATUSES.has(m.state.status)) reject('invalid_state', `cannot ${what}: instance is ${m.state.status}`);
}

function findRun(m: Machine, pred: (r: StepRun) => boolean): StepRun | undefined {
  for (const id in m.state.active) if (pred(m.state.active[id])) return m.state.active[id];
  return undefined;
}

async function handle(m: Machine, cmd: Command): Promise<void> {
  const s = m.state;
  switch (cmd.type) {
    case 'StartWorkflow':
      return; // handled by execute
    case 'CompleteActivity':
    case 'FailActivity': {
      const task = s.tasks[cmd.taskId];
      if (!task) reject('stale', `task "${cmd.taskId}" is not pending (already completed, failed or cancelled)`);
      if (task.attempt !== cmd.attempt || task.status !== 'scheduled') {
        reject('stale', `task "${cmd.taskId}" attempt ${cmd.attempt} is not current (current attempt ${task.attempt}, ${task.status})`);
      }
      if (cmd.type === 'CompleteActivity' && m.payloadTooLarge(cmd.output)) {
        return m.failTaskFinally(task, { code: 'payload_too_large', message: `activity output exceeds ${m.maxPayload} bytes`, nonRetryable: true });
      }
      if (cmd.type === 'CompleteActivity') return completeTask(m, task.taskId, cmd.output);
      return failTask(m, task.taskId, cmd.error);
    }
    case 'FireTimer':
      return fireTimer(m, cmd.timerId);
    case 'DeliverEvent':
    case 'Signal':
      return deliver(m, cmd.name, cmd.type === 'DeliverEvent' ? cmd.key : undefined, cmd.payload, cmd.type === 'Signal' || cmd.key === undefined);
    case 'CompleteHumanTask':
    case 'RejectHumanTask':
      return answerHuman(m, cmd.taskId, cmd.type === 'RejectHumanTask' ? 'reject' : cmd.action, cmd.type === 'CompleteHumanTask' ? cmd.data : { reason: cmd.reason });
    case 'ChildFinished':
      return childFinished(m, cmd.childId, cmd.status, cmd.output, cmd.error);
    case 'Pause':
      if (!ACTIVE.has(s.status)) reject('invalid_state', `cannot pause: instance is ${s.status}`);
      m.emit({ type: 'WorkflowPaused', reason: cmd.reason, by: cmd.by });
      return;
    case 'Resume':
      return resume(m, cmd.by);
    case 'Cancel':
      return cancel(m, cmd.reason, cmd.by);
    case 'Terminate': {
      requireNotTerminal(m, 'terminate');
      for (const id of Object.keys(s.active)) m.cancelRun(id, 'terminated', false);
      for (const t of Object.values(s.tasks)) m.emit({ type: 'ActivityCancelled', taskId: t.taskId, runId: t.runId });
      m.cancelAllTimers();
      m.emit({ type: 'WorkflowTerminated', reason: cmd.reason, by: cmd.by });
      return;
    }
    case 'SkipStep':
      return skip(m, cmd.stepId, cmd.output, cmd.by);
    case 'RetryStep':
      return retryStep(m, cmd.stepId, cmd.by);
    case 'RetryFrom': {
      if (!m.def.steps.has(cmd.stepId)) reject('not_found', `no step "${cmd.stepId}"`);
      if (s.status === 'completed' || s.status === 'compensated' || s.status === 'compensating') {
        reject('invalid_state', `cannot retry from a step: instance is ${s.status}`);
      }
      // One token started inside a parallel/inclusive block (or at its join) could never satisfy the join.
      for (const [join, region] of m.def.graph.region) {
        if (join === cmd.stepId || region.has(cmd.stepId)) {
          reject('not_allowed', `cannot retry from "${cmd.stepId}": it is inside the block that join "${join}" closes; retry from its split "${m.def.graph.splitOfJoin.get(join)}" instead`);
        }
      }
      for (const id of Object.keys(s.active)) m.cancelRun(id, 'reset', false);
      for (const t of Object.values(s.tasks)) m.emit({ type: 'ActivityCancelled', taskId: t.taskId, runId: t.runId });
      m.cancelAllTimers();
      m.emit({ type: 'WorkflowReset', stepId: cmd.stepId, by: cmd.by });
      scheduleWorkflowTimeout(m);
      await m.activate(cmd.stepId, `reset:${cmd.stepId}`, inputFromPredecessor(m, cmd.stepId));
      return;
    }
    case 'UpdateVariables':
      requireNotTerminal(m, 'update variables');
      if (!cmd.vars || typeof cmd.vars !== 'object' || Array.isArray(cmd.vars)) reject('invalid_input', 'vars must be an object');
      if (m.payloadTooLarge(cmd.vars)) reject('payload_too_large', `variables exceed ${m.maxPayload} bytes`);
      checkVariableTypes(m, cmd.vars);
      m.emit({ type: 'VariablesUpdated', vars: cmd.vars, by: cmd.by });
      return;
    case 'Compensate':
      if (!['running', 'waiting', 'paused', 'failed'].includes(s.status)) reject('invalid_state', `cannot compensate: instance is ${s.status}`);
      return m.startCompensation(cmd.reason ?? 'requested');
  }
}

/** What flowed into `stepId` last time: the output of its most recently run predecessor. */
function inputFromPredecessor(m: Machine, stepId: string): unknown {
  let best: { n: number; output: unknown } | undefined;
  for (const t of m.def.graph.incoming.get(stepId) ?? []) {
    const summary = m.state.steps[t.from];
    if (!summary) continue;
    const n = Number(summary.runId.slice(summary.runId.lastIndexOf('#') + 1));
    if (!best || n > best.n) best = { n, output: summary.output };
  }
  return best?.output;
}

async function completeTask(m: Machine, taskId: string, result: unknown): Promise<void> {
  const task = m.state.tasks[taskId];
  if (task.purpose === 'compensate') {
    m.emit({ type: 'ActivityCompleted', taskId, runId: task.runId, attempt: task.attempt });
    const entry = m.state.compensable.find((c) => c.runId === task.runId)!;
    m.emit({ type: 'StepCompensated', runId: task.runId, stepId: entry.stepId, output: result });
    return m.nextCompensation();
  }
  if (task.purpose === 'item') {
    m.emit({ type: 'ActivityCompleted', taskId, runId: task.runId, attempt: task.attempt });
    return m.foreachItemDone(task.runId, task.index!, result);
  }
  const run = m.state.active[task.runId];
  const step = m.step(run.stepId).step as StepOf<'task'>;
  let output = result;
  if (step.output !== undefined) {
    try {
      output = await evaluateMapping(step.output, m.scope({ result }));
    } catch (err) {
      return m.failTaskFinally(task, { code: 'expression_error', message: (err as Error).message, nonRetryable: true });
    }
  }
  return m.completeRun(run.id, output, { taskId, attempt: task.attempt });
}

async function failTask(m: Machine, taskId: string, error: ErrorInfo): Promise<void> {
  const task = m.state.tasks[taskId];
  // A compensation's run has left `active`; its step is found through the saga's list.
  const stepId = task.purpose === 'compensate'
    ? m.state.compensable.find((c) => c.runId === task.runId)?.stepId
    : m.state.active[task.runId]?.stepId;
  const retry = m.def.steps.get(stepId ?? '')?.retry;
  const canRetry = retry !== undefined && task.attempt < retry.maxAttempts && !error.nonRetryable && !retry.nonRetryable.has(error.code) && !m.state.cancelRequested;
  if (!canRetry) return m.failTaskFinally(task, error);
  const retryAt = m.ctx.now + backoffDelay(retry, task.attempt, m.ctx.random);
  m.emit({ type: 'ActivityFailed', taskId, runId: task.runId, attempt: task.attempt, error, retryAt });
  m.scheduleTimer(`${taskId}/retry`, { kind: 'retry', runId: task.runId, taskId, dueAt: retryAt });
}

async function fireTimer(m: Machine, timerId: string): Promise<void> {
  const timer = m.state.timers[timerId];
  if (!timer) reject('stale', `timer "${timerId}" is not pending`);
  if (m.state.status === 'paused' && timer.kind !== 'workflow-timeout') {
    if (!timer.deferred) m.emit({ type: 'TimerDeferred', timerId });
    return;
  }
  m.emit({ type: 'TimerFired', timerId });
  const run = timer.runId !== undefined ? m.state.active[timer.runId] : undefined;
  switch (timer.kind) {
    case 'retry': {
      const task = m.state.tasks[timer.taskId!];
      if (!task) return;
      m.emit({ type: 'ActivityScheduled', task: { ...task, attempt: task.attempt + 1, status: 'scheduled' } });
      return;
    }
    case 'timer':
      if (run) await m.completeRun(run.id, { firedAt: m.ctx.now });
      return;
    case 'wait-timeout':
      if (run) await m.failRun(run.id, { code: 'timeout', message: `step "${run.stepId}" timed out` });
      return;
    case 'human-deadline':
      if (run) await humanDeadline(m, run);
      return;
    case 'workflow-timeout': {
      const error = { code: 'workflow_timeout', message: 'the workflow timed out' };
      if (m.def.errorPolicy === 'compensate') return m.startCompensation(error.message);
      m.failWorkflow(error);
      return;
    }
  }
}

async function humanDeadline(m: Machine, run: StepRun): Promise<void> {
  const step = m.step(run.stepId).step as StepOf<'human'>;
  const onTimeout = step.onTimeout;
  switch (onTimeout?.action) {
    case 'approve':
      m.emit({ type: 'HumanTaskCompleted', runId: run.id, taskId: run.human!.taskId, action: 'approve', by: 'system:deadline' });
      return m.completeRun(run.id, { action: 'approve', data: {}, by: 'system:deadline' });
    case 'reject':
      m.emit({ type: 'HumanTaskCompleted', runId: run.id, taskId: run.human!.taskId, action: 'reject', by: 'system:deadline' });
      return m.failRun(run.id, { code: 'rejected', message: `"${run.stepId}" was rejected at its deadline` });
    case 'escalate': {
      const deadline = onTimeout.deadline !== undefined ? computeDeadline(onTimeout.deadline, m.ctx.now) : undefined;
      m.emit({ type: 'HumanTaskEscalated', runId: run.id, groups: onTimeout.groups ?? [], ...(deadline !== undefined && { deadline }) });
      if (deadline !== undefined) m.scheduleTimer(`${run.id}/deadline`, { kind: 'human-deadline', runId: run.id, dueAt: deadline });
      return;
    }
    default:
      return m.failRun(run.id, { code: 'timeout', message: `human task "${run.stepId}" passed its deadline` });
  }
}

async function deliver(m: Machine, name: string, key: unknown, payload: unknown, bufferIfUnmatched: boolean): Promise<void> {
  const s = m.state;
  requireNotTerminal(m, `deliver "${name}"`);
  if (m.payloadTooLarge(payload)) reject('payload_too_large', `event payload exceeds ${m.maxPayload} bytes`);
  const matched: StepRun[] = [];
  for (const run of Object.values(s.active)) {
    if (run.status !== 'waiting_event' || run.wait?.event !== name) continue;
    // Same canonical form as the stores' wait index: {a,b} and {b,a} are one key.
    if (key !== undefined && canonicalJson(run.wait.key) !== canonicalJson(key)) continue;
    const step = m.step(run.stepId).step as StepOf<'wait'>;
    let matches: boolean;
    try {
      matches = await m.waitMatches(step, payload);
    } catch (err) {
      reject('invalid_input', `the payload of "${name}" cannot be matched by step "${run.stepId}": ${(err as Error).message}`);
    }
    if (!matches) continue;
    matched.push(run);
  }
  if (matched.length === 0) {
    if (!bufferIfUnmatched) reject('not_found', `no step of instance "${s.id}" waits for "${name}" with key ${JSON.stringify(key)}`);
    const max = m.ctx.limits?.maxSignalsBuffered ?? DEFAULT_MAX_SIGNALS;
    if (s.signals.length >= max) reject('invalid_state', `signal buffer full (${max}); nothing waits for "${name}"`);
    m.emit({ type: 'SignalBuffered', name, payload });
    return;
  }
  for (const run of matched) if (m.state.active[run.id]) await m.finishWait(run.id, payload);
}

async function answerHuman(m: Machine, taskId: string, action: string, data: unknown): Promise<void> {
  const run = findRun(m, (r) => r.human?.taskId === taskId);
  if (!run) reject('not_found', `no open human task "${taskId}" in instance "${m.state.id}"`);
  const human = run.human!;
  if (!human.actions.includes(action)) reject('invalid_input', `action "${action}" is not allowed; allowed: ${human.actions.join(', ')}`);
  if (m.payloadTooLarge(data)) reject('payload_too_large', `form data exceeds ${m.maxPayload} bytes`);
  if (human.kind === 'manual') {
    if (action === 'skip') await routeForSkip(m, run.stepId, data);
    m.emit({ type: 'HumanTaskCompleted', runId: run.id, taskId, action, data, by: m.by });
    if (action === 'retry') return retryStep(m, run.stepId, m.by);
    if (action === 'skip') return skip(m, run.stepId, data, m.by, true);
    m.cancelRun(run.id, 'manual_fail', false);
    m.failWorkflow(run.error ?? { code: 'manual_fail', message: `step "${run.stepId}" failed (operator chose fail)` });
    return;
  }
  const validate = m.def.steps.get(run.stepId)?.formValidator;
  if (action !== 'reject' && validate && !validate(data ?? {})) {
    reject('invalid_input', `form data is invalid: ${describeSchemaErrors(validate)}`, validate.errors);
  }
  m.emit({ type: 'HumanTaskCompleted', runId: run.id, taskId, action, data, by: m.by });
  if (action === 'reject') {
    const reason = (data as { reason?: string } | undefined)?.reason;
    return m.failRun(run.id, { code: 'rejected', message: `"${run.stepId}" was rejected${reason ? `: ${reason}` : ''}`, details: data });
  }
  return m.completeRun(run.id, { action, data: data ?? {}, by: m.by }, { by: m.by });
}

async function childFinished(m: Machine, childId: string, status: string, output: unknown, error?: ErrorInfo): Promise<void> {
  const item = /\[(\d+)\]$/.exec(childId);
  const run = findRun(m, (r) => r.childId === childId
    || (item !== null && r.foreach !== undefined && m.def.steps.get(r.stepId)?.step.type === 'foreach'
      && (m.def.steps.get(r.stepId)!.step as StepOf<'foreach'>).workflow !== undefined && childId.startsWith(`${m.state.id}/${r.id}[`)));
  if (!run) reject('stale', `no step of "${m.state.id}" waits for child "${childId}"`);
  if (run.foreach) {
    const index = Number(item![1]);
    if (index >= run.foreach.next) reject('not_found', `item ${index} of "${run.stepId}" has not started`);
    if (index in run.foreach.results) reject('stale', `item ${index} of "${run.stepId}" already finished`);
    if (status === 'completed') return m.foreachItemDone(run.id, index, output);
    return m.failRun(run.id, error ?? { code: `child_${status}`, message: `child "${childId}" ended ${status}` }, childId);
  }
  m.cancelTimerIfAny(`${run.id}/timeout`);
  if (status !== 'completed') return m.failRun(run.id, error ?? { code: `child_${status}`, message: `child "${childId}" ended ${status}` }, childId);
  const step = m.step(run.stepId).step as StepOf<'subworkflow'>;
  return m.completeMapped(run.id, step.output, { result: output }, output);
}

async function resume(m: Machine, by?: string): Promise<void> {
  if (m.state.status !== 'paused') reject('invalid_state', `cannot resume: instance is ${m.state.status}, not paused`);
  const parked = [...m.state.parked];
  const deferred = Object.entries(m.state.timers).filter(([, t]) => t.deferred).map(([id]) => id);
  m.emit({ type: 'WorkflowResumed', by });
  await activateTokens(m, parked);
  for (const id of deferred) if (m.state.timers[id]) await fireTimer(m, id);
  for (const run of Object.values(m.state.active)) if (run.foreach) await m.fillForeach(run.id);
}

/**
 * Moves parked or suspended tokens on, each with the output of the step it came from (as when it
 * first arrived); one whose branch loses to an any/n join on the way is dropped.
 */
async function activateTokens(m: Machine, tokens: Array<{ stepId: string; via: string }>): Promise<void> {
  const epochs = tokens.map((p) => m.epochOf(p.stepId));
  for (const [i, p] of tokens.entries()) {
    await m.activate(p.stepId, p.via, m.state.steps[m.def.graph.transitions.get(p.via)?.from ?? '']?.output, epochs[i]);
  }
}

async function cancel(m: Machine, reason: string | undefined, by: string | undefined): Promise<void> {
  const s = m.state;
  if (!['running', 'waiting', 'paused', 'pending'].includes(s.status)) reject('invalid_state', `cannot cancel: instance is ${s.status}`);
  if (s.cancelRequested) reject('invalid_state', 'a cancellation is already in progress');
  m.emit({ type: 'CancelRequested', reason, by });
  const onward: Array<{ to: string; id: string }> = [];
  for (const id of Object.keys(s.active)) onward.push(...m.cancelRun(id, 'cancelled', true));
  if (onward.length === 0) {
    for (const t of Object.values(m.state.tasks)) m.emit({ type: 'ActivityCancelled', taskId: t.taskId, runId: t.runId });
    m.cancelAllTimers();
    m.emit({ type: 'WorkflowCancelled', reason, by });
    return;
  }
  // Like `follow`: a cleanup token queued before an any/n join fired on another one is void.
  const epochs = onward.map((t) => m.epochOf(t.to));
  for (let i = 0; i < onward.length; i++) await m.activate(onward[i].to, onward[i].id, undefined, epochs[i]);
}

/**
 * The whole workflow timeout: absolute, or relative to now. A reopened or reset instance gets a
 * fresh one (the operator chose to carry on).
 */
function scheduleWorkflowTimeout(m: Machine): void {
  const def = m.def;
  const dueAt = def.timeoutAt ?? (def.timeoutMs !== undefined ? m.ctx.now + def.timeoutMs : undefined);
  if (dueAt !== undefined && !m.state.timers['workflow/timeout']) m.scheduleTimer('workflow/timeout', { kind: 'workflow-timeout', dueAt });
}

/** Transitions a skipped step leaves by; an expression that cannot be evaluated rejects the command. */
async function routeForSkip(m: Machine, stepId: string, output: unknown) {
  try {
    return (await m.route(m.step(stepId), () => m.scopeWithOutput(stepId, output))) ?? [];
  } catch (err) {
    if (!(err instanceof Error) || err.name === 'CommandRejected') throw err;
    return reject('invalid_input', `cannot skip "${stepId}" with this output: ${err.message}`);
  }
}

async function skip(m: Machine, stepId: string, output: unknown, by: string | undefined, fromManual = false): Promise<void> {
  const cs = m.def.steps.get(stepId);
  if (!cs) reject('not_found', `no step "${stepId}"`);
  if (!cs.step.skippable && !fromManual) reject('not_allowed', `step "${stepId}" is not skippable (set skippable: true)`);
  const s = m.state;
  let run = findRun(m, (r) => r.stepId === stepId && !r.join);
  if (!run && (s.status !== 'failed' || s.failedRun?.stepId !== stepId)) reject('invalid_state', `step "${stepId}" is not active`);
  // Decided before anything is emitted, so a rejection changes nothing.
  const taken = await routeForSkip(m, stepId, output);
  if (!run) {
    const via = s.failedRun!.via;
    const suspended = s.suspended ?? [];
    m.emit({ type: 'WorkflowReopened', by });
    scheduleWorkflowTimeout(m);
    const runId = m.nextRunId(stepId);
    m.emit({ type: 'StepStarted', runId, stepId, via, status: 'running' });
    run = m.state.active[runId];
    await activateTokens(m, suspended);
  } else {
    m.releaseRun(run);
  }
  m.emit({ type: 'StepSkipped', runId: run.id, stepId, output, taken: taken.map((t) => t.id), by });
  await m.follow(taken, output);
}

async function retryStep(m: Machine, stepId: string, by: string | undefined): Promise<void> {
  const s = m.state;
  if (!m.def.steps.has(stepId)) reject('not_found', `no step "${stepId}"`);
  const manual = findRun(m, (r) => r.stepId === stepId && r.status === 'failed' && r.manualTaskId !== undefined);
  if (manual) {
    m.emit({ type: 'StepRetried', runId: manual.id, stepId, by });
    m.cancelRun(manual.id, 'retried', false);
    return m.activate(stepId, manual.via, s.steps[m.def.graph.transitions.get(manual.via)?.from ?? '']?.output);
  }
  if (s.status !== 'failed' || s.failedRun?.stepId !== stepId) {
    reject('invalid_state', `step "${stepId}" has not failed${s.failedRun ? ` (the failed step is "${s.failedRun.stepId}")` : ''}`);
  }
  const { via, runId } = s.failedRun;
  const suspended = s.suspended ?? [];
  m.emit({ type: 'WorkflowReopened', by });
  scheduleWorkflowTimeout(m);
  m.emit({ type: 'StepRetried', runId, stepId, by });
  await m.activate(stepId, via, m.state.steps[m.def.graph.transitions.get(via)?.from ?? '']?.output);
  await activateTokens(m, suspended);
}

