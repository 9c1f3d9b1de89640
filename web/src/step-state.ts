/**
 * What the instance view shows per step, derived from the instance state and its event log:
 * the visual state (colour and badge), every run with its attempts, timings, input, output and
 * errors, the transitions tokens have taken, and join progress. Pure: the live view and the
 * time-travel slider call it with the state folded up to any event and that prefix of the log.
 *
 * The state says where tokens are *now* (authoritative for active runs); the log says what
 * happened before (runs that ended are no longer in the state).
 */
import type { EngineEvent, ErrorInfo, InstanceState, InstanceStatus, RunStatus, StepRun } from '../../src/core/types.js';
import { TERMINAL_STATUSES } from '../../src/core/types.js';

/** The colours of the legend (`--s-<state>` in styles.css). */
export type VisualState =
  | 'pending' | 'running' | 'waiting' | 'retrying'
  | 'completed' | 'failed' | 'skipped' | 'compensated' | 'cancelled';

export const VISUAL_STATES: VisualState[] = ['pending', 'running', 'waiting', 'retrying', 'completed', 'failed', 'skipped', 'compensated', 'cancelled'];

/** What a waiting step waits for. */
export type WaitingFor = 'event' | 'timer' | 'human' | 'branches' | 'manual';

export interface AttemptView {
  attempt: number;
  /** When the attempt was scheduled. */
  scheduledAt: number;
  endedAt?: number;
  outcome: 'running' | 'completed' | 'failed' | 'cancelled';
  error?: ErrorInfo;
  /** Failed attempts followed by another: when it is due. */
  retryAt?: number;
}

export interface RunView {
  runId: string;
  /** Transition id that brought the token (or `start`, `reset:<step>`, …). */
  via: string;
  status: RunStatus;
  startedAt: number;
  endedAt?: number;
  input?: unknown;
  output?: unknown;
  error?: ErrorInfo;
  /** Why a cancelled run was cancelled (`join`, `cancelled`, `workflow_failed`, …). */
  reason?: string;
  attempts: AttemptView[];
  join?: { arrived: number; expected: number; needed: number; from: string[] };
  /** Open human (or manual-intervention) task. */
  humanTaskId?: string;
  /** Human steps: who is asked, for what. */
  human?: { title?: string; users: string[]; groups: string[]; actions: string[]; deadline?: number };
  /** Wait steps: the event (and correlation key) awaited. */
  wait?: { event: string; key?: unknown };
  /** Pending timers of the run (timer step, wait timeout, human deadline, retry), from the state. */
  timers?: Array<{ kind: string; dueAt: number }>;
  /** Human steps: the action taken and by whom. */
  answer?: { action: string; by?: string; data?: unknown };
  childId?: string;
  foreach?: { total: number; done: number; running: number };
}

export interface StepView {
  stepId: string;
  state: VisualState;
  waitingFor?: WaitingFor;
  /** The latest run's current (or last) attempt, for task steps. */
  attempt?: number;
  /** Every run of the step, oldest first. */
  runs: RunView[];
  /** The latest run (undefined: the step was never reached). */
  latest?: RunView;
  /** Join steps: progress of the latest run. */
  join?: { arrived: number; expected: number; needed: number };
}

export interface InstanceView {
  /** One entry per step that has run, by step id. Steps never reached are absent (pending). */
  steps: Map<string, StepView>;
  /** Transition id → how many times a token left by it. */
  taken: Map<string, number>;
  status: InstanceStatus;
  seq: number;
}

/** Steps whose tokens move (the renderer animates them). */
export function isActive(state: VisualState): boolean {
  return state === 'running' || state === 'waiting' || state === 'retrying';
}

/** The step's view or the view of a step never reached. */
export function stepView(view: InstanceView, stepId: string): StepView {
  return view.steps.get(stepId) ?? { stepId, state: 'pending', runs: [] };
}

/** A short text for a badge: "attempt 2", "2 of 3 arrived", "waiting for a person", … */
export function badgeText(step: StepView): string | undefined {
  if (step.join && (step.state === 'waiting' || step.state === 'completed')) return `${step.join.arrived} of ${step.join.needed} arrived`;
  if (step.state === 'retrying') return `retrying · attempt ${step.attempt ?? 1}`;
  if ((step.attempt ?? 1) > 1) return `attempt ${step.attempt}`;
  switch (step.waitingFor) {
    case 'event': return 'waiting for event';
    case 'timer': return 'waiting for timer';
    case 'human': return 'waiting for a person';
    case 'manual': return 'needs an operator';
    default: return undefined;
  }
}

/**
 * Derives every step's view. `events` is the log up to `state.seq` (later events are ignored, so
 * the full history can be passed with an earlier state).
 */
export function deriveInstanceView(state: InstanceState, events: readonly EngineEvent[]): InstanceView {
  const runs = new Map<string, RunView & { stepId: string }>();
  const runsOfStep = new Map<string, RunView[]>();
  const taken = new Map<string, number>();
  const take = (ids: readonly string[]) => { for (const id of ids) taken.set(id, (taken.get(id) ?? 0) + 1); };
  const end = (runId: string, at: number, status: RunStatus) => {
    const run = runs.get(runId);
    if (!run) return undefined;
    run.status = status;
    run.endedAt = at;
    const last = run.attempts[run.attempts.length - 1];
    if (last && last.outcome === 'running') { last.outcome = status === 'completed' ? 'completed' : status === 'failed' ? 'failed' : 'cancelled'; last.endedAt = at; }
    return run;
  };

  for (const e of events) {
    if (e.seq > state.seq) break;
    switch (e.type) {
      case 'StepStarted': {
        const run: RunView & { stepId: string } = { runId: e.runId, stepId: e.stepId, via: e.via, status: e.status, startedAt: e.at, attempts: [] };
        if (e.input !== undefined) run.input = e.input;
        if (e.task) run.attempts.push({ attempt: e.task.attempt, scheduledAt: e.at, outcome: 'running' });
        if (e.join) run.join = { arrived: 0, expected: e.join.expected, needed: e.join.needed, from: [] };
        if (e.human) {
          run.humanTaskId = e.human.taskId;
          run.human = { ...(e.human.title !== undefined && { title: e.human.title }), users: e.human.users, groups: e.human.groups, actions: e.human.actions, ...(e.human.deadline !== undefined && { deadline: e.human.deadline }) };
        }
        if (e.wait) run.wait = e.wait;
        if (e.childId) run.childId = e.childId;
        if (e.foreach) run.foreach = { total: e.foreach.items.length, done: 0, running: 0 };
        runs.set(e.runId, run);
        const list = runsOfStep.get(e.stepId) ?? [];
        list.push(run);
        runsOfStep.set(e.stepId, list);
        break;
      }
      case 'JoinArrived': {
        const join = runs.get(e.runId)?.join;
        if (join) { join.arrived++; join.from.push(e.via); }
        break;
      }
      case 'ActivityScheduled': {
        const run = runs.get(e.task.runId);
        if (run && e.task.purpose === 'step') {
          run.status = 'scheduled';
          run.attempts.push({ attempt: e.task.attempt, scheduledAt: e.at, outcome: 'running' });
        }
        break;
      }
      case 'ActivityFailed': {
        const run = runs.get(e.runId);
        if (!run || e.taskId !== e.runId) break; // foreach items and compensations are not the step's attempts
        const attempt = run.attempts.find((a) => a.attempt === e.attempt);
        if (attempt) {
          attempt.outcome = 'failed';
          attempt.endedAt = e.at;
          attempt.error = e.error;
          if (e.retryAt !== undefined) attempt.retryAt = e.retryAt;
        }
        run.error = e.error;
        if (e.retryAt !== undefined) run.status = 'retrying';
        break;
      }
      case 'ForeachItemDone': {
        const f = runs.get(e.runId)?.foreach;
        if (f) f.done++;
        break;
      }
      case 'HumanTaskEscalated': {
        const run = runs.get(e.runId);
        if (run?.human) run.human = { ...run.human, groups: e.groups, ...(e.deadline !== undefined && { deadline: e.deadline }) };
        break;
      }
      case 'HumanTaskCompleted': {
        const run = runs.get(e.runId);
        if (run) run.answer = { action: e.action, ...(e.by !== undefined && { by: e.by }), ...(e.data !== undefined && { data: e.data }) };
        break;
      }
      case 'StepCompleted': {
        const run = end(e.runId, e.at, 'completed');
        if (run) {
          run.output = e.output;
          run.error = undefined;
          const attempt = e.attempt !== undefined ? run.attempts.find((a) => a.attempt === e.attempt) : undefined;
          if (attempt) { attempt.outcome = 'completed'; attempt.endedAt = e.at; }
        }
        take(e.taken);
        break;
      }
      case 'StepFailed': {
        const run = e.handling === 'manual' ? runs.get(e.runId) : end(e.runId, e.at, 'failed');
        if (run) {
          run.error = e.error;
          if (e.handling === 'manual') {
            run.status = 'failed';
            if (e.manualTask) run.humanTaskId = e.manualTask.taskId;
            const last = run.attempts[run.attempts.length - 1];
            if (last && last.outcome === 'running') { last.outcome = 'failed'; last.endedAt = e.at; }
          }
        }
        take(e.taken);
        break;
      }
      case 'StepSkipped': {
        const run = end(e.runId, e.at, 'skipped');
        if (run && e.output !== undefined) run.output = e.output;
        take(e.taken);
        break;
      }
      case 'StepCancelled': {
        const run = end(e.runId, e.at, 'cancelled');
        if (run) run.reason = e.reason;
        take(e.taken);
        break;
      }
      case 'StepCompensated': {
        const run = runs.get(e.runId);
        if (run) run.status = 'compensated';
        break;
      }
      default:
        break;
    }
  }

  // The state is authoritative for runs that still hold a token.
  for (const active of Object.values(state.active)) {
    const run = runs.get(active.id);
    if (!run) continue;
    run.status = active.status;
    if (active.attempt !== undefined) {
      const last = run.attempts[run.attempts.length - 1];
      if (!last || last.attempt !== active.attempt) run.attempts.push({ attempt: active.attempt, scheduledAt: state.updatedAt, outcome: 'running' });
    }
    if (active.join) run.join = { ...active.join, from: [...active.join.from] };
    if (active.human) run.humanTaskId = active.human.taskId;
  }
  for (const timer of Object.values(state.timers)) {
    const run = timer.runId !== undefined ? runs.get(timer.runId) : undefined;
    if (run && !timer.deferred) (run.timers ??= []).push({ kind: timer.kind, dueAt: timer.dueAt });
  }
  const activeIds = new Set(Object.keys(state.active));

  // Steps the given log does not cover (it is still loading, or was cut short): the state's own
  // summary and active runs, without the history only the log has.
  for (const [stepId, summary] of Object.entries(state.steps)) {
    if (runsOfStep.has(stepId)) continue;
    const active = Object.values(state.active).filter((r) => r.stepId === stepId);
    const list: RunView[] = active.length > 0
      ? active.map((r) => ({
        runId: r.id, via: r.via, status: r.status, startedAt: r.startedAt, attempts: r.attempt !== undefined ? [{ attempt: r.attempt, scheduledAt: r.startedAt, outcome: 'running' as const }] : [],
        ...(r.input !== undefined && { input: r.input }), ...(r.error && { error: r.error }),
        ...(r.join && { join: { ...r.join, from: [...r.join.from] } }), ...(r.human && { humanTaskId: r.human.taskId }),
      }))
      : [{ runId: summary.runId, via: '', status: summary.status, startedAt: Number.NaN, attempts: [],
        ...(summary.output !== undefined && { output: summary.output }), ...(summary.error && { error: summary.error }) }];
    runsOfStep.set(stepId, list);
  }

  const steps = new Map<string, StepView>();
  for (const [stepId, list] of runsOfStep) {
    // The step shows its most pressing active run (a loop or a merge may hold several), else its latest run.
    const activeRuns = list.filter((r) => activeIds.has(r.runId));
    const latest = activeRuns.length > 0 ? mostPressing(activeRuns) : list[list.length - 1];
    const { state: visual, waitingFor } = visualOf(latest, activeIds.has(latest.runId), state);
    const view: StepView = { stepId, state: visual, runs: list, latest };
    if (waitingFor) view.waitingFor = waitingFor;
    const lastAttempt = latest.attempts[latest.attempts.length - 1];
    if (lastAttempt) view.attempt = lastAttempt.attempt;
    if (latest.join) view.join = { arrived: latest.join.arrived, expected: latest.join.expected, needed: latest.join.needed };
    steps.set(stepId, view);
  }
  return { steps, taken, status: state.status, seq: state.seq };
}

const URGENCY: Partial<Record<RunStatus, number>> = { failed: 5, retrying: 4, waiting_human: 3, running: 2, scheduled: 2, waiting_event: 1, waiting_timer: 1, pending: 0 };

function mostPressing(list: RunView[]): RunView {
  return list.reduce((a, b) => ((URGENCY[b.status] ?? 0) >= (URGENCY[a.status] ?? 0) ? b : a));
}

function visualOf(run: RunView, active: boolean, state: InstanceState): { state: VisualState; waitingFor?: WaitingFor } {
  switch (run.status) {
    case 'pending':
      if (run.join) return { state: 'waiting', waitingFor: 'branches' };
      return { state: 'pending' };
    case 'scheduled':
    case 'running':
      // A token left on a step of an ended instance never moves again.
      if (!active && TERMINAL_STATUSES.has(state.status)) return { state: 'cancelled' };
      return { state: 'running' };
    case 'waiting_event': return { state: 'waiting', waitingFor: 'event' };
    case 'waiting_timer': return { state: 'waiting', waitingFor: 'timer' };
    case 'waiting_human': return { state: 'waiting', waitingFor: 'human' };
    case 'retrying': return { state: 'retrying', waitingFor: 'timer' };
    case 'failed': return active && run.humanTaskId ? { state: 'failed', waitingFor: 'manual' } : { state: 'failed' };
    case 'completed': return { state: 'completed' };
    case 'skipped': return { state: 'skipped' };
    case 'cancelled': return { state: 'cancelled' };
    case 'compensated': return { state: 'compensated' };
  }
}

/** The run that holds `runId` in the state (for tests and the side panel). */
export function activeRun(state: InstanceState, stepId: string): StepRun | undefined {
  return Object.values(state.active).find((r) => r.stepId === stepId);
}
