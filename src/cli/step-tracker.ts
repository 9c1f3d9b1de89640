/**
 * Folds an instance's events into one display row per step: what the live view shows while the
 * instance runs and what the timeline shows at the end. Works from the durable log alone (so
 * `resume` and `history` see the same picture as the original run); activity notices only make
 * "running" more precise.
 */
import type { Definition } from '../model/schema.js';
import type { EngineEvent, ErrorInfo, HumanTaskInfo, InstanceStatus } from '../core/types.js';

export type StepDisplayState =
  | 'pending' | 'scheduled' | 'running' | 'retrying' | 'joining'
  | 'waiting_event' | 'waiting_timer' | 'waiting_human' | 'waiting_child'
  | 'completed' | 'failed' | 'skipped' | 'cancelled' | 'compensating' | 'compensated';

export const FINISHED_STEP_STATES: ReadonlySet<StepDisplayState> = new Set(['completed', 'failed', 'skipped', 'cancelled', 'compensated']);

export interface StepRow {
  stepId: string;
  type?: string;
  state: StepDisplayState;
  /** Activations of the step (loops and retries-from run a step more than once). */
  runs: number;
  /** Activity attempts over all runs. */
  attempts: number;
  /** Attempt number of the current run. */
  attempt: number;
  firstStartedAt?: number;
  lastStartedAt?: number;
  endedAt?: number;
  /** When the step's forward work ended (before any compensation). */
  completedAt?: number;
  compensatedAt?: number;
  nextRetryAt?: number;
  lastError?: ErrorInfo;
  wait?: { event: string; key?: unknown };
  timerUntil?: number;
  /** Wait timeout or human deadline. */
  deadline?: number;
  human?: HumanTaskInfo;
  humanAction?: string;
  join?: { arrived: number; needed: number };
  childId?: string;
  iteration?: number;
}

export class StepTracker {
  readonly rows = new Map<string, StepRow>();
  private readonly runToStep = new Map<string, string>();
  private readonly taskToStep = new Map<string, string>();
  status: InstanceStatus = 'pending';
  startedAt?: number;
  endedAt?: number;
  lastEventAt?: number;
  output?: unknown;
  error?: ErrorInfo;
  /** The step whose unhandled failure ended the instance, when there is one. */
  failedStep?: string;
  lastSeq = 0;
  /** Steps whose human task got an answer, in order (one entry per answer). */
  readonly humanAnswersGiven: string[] = [];
  /** Events that completed a wait, in order. */
  readonly eventsReceived: string[] = [];

  constructor(readonly instanceId: string, definition?: Definition) {
    if (definition) for (const step of definition.steps) this.row(step.id).type = step.type;
  }

  setDefinition(definition: Definition): void {
    for (const step of definition.steps) this.row(step.id).type = step.type;
  }

  private row(stepId: string): StepRow {
    let row = this.rows.get(stepId);
    if (!row) {
      row = { stepId, state: 'pending', runs: 0, attempts: 0, attempt: 0 };
      this.rows.set(stepId, row);
    }
    return row;
  }

  private rowOfRun(runId: string): StepRow | undefined {
    const stepId = this.runToStep.get(runId);
    return stepId === undefined ? undefined : this.row(stepId);
  }

  applyAll(events: Iterable<EngineEvent>): void {
    for (const event of events) this.apply(event);
  }

  apply(event: EngineEvent): void {
    if (event.seq <= this.lastSeq) return; // already seen (history replay overlapping live batches)
    this.lastSeq = event.seq;
    this.lastEventAt = event.at;
    switch (event.type) {
      case 'WorkflowStarted':
        this.startedAt = event.at;
        this.status = 'running';
        break;
      case 'StepStarted': {
        this.runToStep.set(event.runId, event.stepId);
        const row = this.row(event.stepId);
        row.runs += 1;
        row.firstStartedAt ??= event.at;
        row.lastStartedAt = event.at;
        row.endedAt = undefined;
        row.completedAt = undefined;
        row.compensatedAt = undefined;
        row.nextRetryAt = undefined;
        row.timerUntil = undefined;
        row.deadline = undefined;
        row.attempt = 0;
        row.wait = event.wait;
        row.human = event.human;
        row.childId = event.childId;
        row.join = event.join ? { arrived: 0, needed: event.join.needed } : undefined;
        row.state = startedState(event.status, event);
        if (event.task) this.noteTask(row, event.task.taskId, event.task.attempt);
        break;
      }
      case 'ActivityScheduled': {
        const row = this.rowOfRun(event.task.runId);
        if (!row) break;
        if (event.task.purpose === 'compensate') {
          row.state = 'compensating';
        } else {
          row.state = event.task.attempt > 1 ? 'running' : 'scheduled';
          row.nextRetryAt = undefined;
        }
        this.noteTask(row, event.task.taskId, event.task.attempt);
        break;
      }
      case 'ActivityFailed': {
        const row = this.rowOfRun(event.runId);
        if (!row) break;
        row.lastError = event.error;
        if (event.retryAt !== undefined) {
          row.state = 'retrying';
          row.nextRetryAt = event.retryAt;
        }
        break;
      }
      case 'TimerScheduled': {
        const row = event.timer.runId ? this.rowOfRun(event.timer.runId) : undefined;
        if (!row) break;
        if (event.timer.kind === 'timer') row.timerUntil = event.timer.dueAt;
        else if (event.timer.kind === 'wait-timeout' || event.timer.kind === 'human-deadline') row.deadline = event.timer.dueAt;
        else if (event.timer.kind === 'retry') row.nextRetryAt = event.timer.dueAt;
        break;
      }
      case 'JoinArrived': {
        const row = this.rowOfRun(event.runId);
        if (row?.join) row.join.arrived += 1;
        break;
      }
      case 'HumanTaskCompleted': {
        const row = this.rowOfRun(event.runId);
        if (row) {
          row.humanAction = event.action;
          this.humanAnswersGiven.push(row.stepId);
        }
        break;
      }
      case 'HumanTaskEscalated': {
        const row = this.rowOfRun(event.runId);
        if (row?.human) row.human = { ...row.human, groups: event.groups, deadline: event.deadline };
        if (row && event.deadline !== undefined) row.deadline = event.deadline;
        break;
      }
      case 'StepCompleted': {
        const waited = this.rowOfRun(event.runId);
        if (waited?.state === 'waiting_event' && waited.wait) this.eventsReceived.push(waited.wait.event);
        this.finish(event.runId, 'completed', event.at, (row) => {
          row.completedAt = event.at;
          if (event.iteration !== undefined) row.iteration = event.iteration;
        });
        break;
      }
      case 'StepFailed':
        this.finish(event.runId, 'failed', event.at, (row) => {
          row.lastError = event.error;
          if (event.handling === 'unhandled') this.failedStep = row.stepId;
        });
        break;
      case 'StepSkipped':
        this.finish(event.runId, 'skipped', event.at);
        break;
      case 'StepCancelled':
        this.finish(event.runId, 'cancelled', event.at);
        break;
      case 'CompensationStarted':
        this.status = 'compensating';
        break;
      case 'StepCompensated':
        this.finish(event.runId, 'compensated', event.at, (row) => (row.compensatedAt = event.at));
        break;
      case 'WorkflowPaused':
        this.status = 'paused';
        break;
      case 'WorkflowResumed':
      case 'WorkflowReopened':
        this.status = 'running';
        this.endedAt = undefined;
        break;
      case 'WorkflowCompleted':
        this.end('completed', event.at);
        this.output = event.output;
        break;
      case 'WorkflowFailed':
        this.end('failed', event.at);
        this.error = event.error;
        break;
      case 'WorkflowCancelled':
        this.end('cancelled', event.at);
        break;
      case 'WorkflowTerminated':
        this.end('terminated', event.at);
        break;
      case 'WorkflowCompensated':
        this.end('compensated', event.at);
        break;
      default:
        break;
    }
  }

  /** Live-only precision: an attempt actually began executing. */
  noteActivityStarted(taskId: string, attempt: number): void {
    const stepId = this.taskToStep.get(taskId);
    const row = stepId === undefined ? undefined : this.rows.get(stepId);
    if (!row || row.state === 'compensating') return;
    if (row.state === 'scheduled' || row.state === 'retrying') row.state = 'running';
    row.attempt = Math.max(row.attempt, attempt);
  }

  private noteTask(row: StepRow, taskId: string, attempt: number): void {
    this.taskToStep.set(taskId, row.stepId);
    if (attempt > row.attempt) {
      row.attempts += attempt - row.attempt;
      row.attempt = attempt;
    }
  }

  private finish(runId: string, state: StepDisplayState, at: number, more?: (row: StepRow) => void): void {
    const row = this.rowOfRun(runId);
    if (!row) return;
    row.state = state;
    row.endedAt = at;
    row.nextRetryAt = undefined;
    more?.(row);
  }

  private end(status: InstanceStatus, at: number): void {
    this.status = status;
    this.endedAt = at;
  }

  /** Steps finished and steps in progress, for the progress line. */
  counts(): { total: number; done: number; active: number } {
    let done = 0;
    let active = 0;
    for (const row of this.rows.values()) {
      if (FINISHED_STEP_STATES.has(row.state)) done += 1;
      else if (row.state !== 'pending') active += 1;
    }
    return { total: this.rows.size, done, active };
  }
}

function startedState(status: string, event: { task?: unknown; join?: unknown; childId?: string }): StepDisplayState {
  switch (status) {
    case 'waiting_event':
    case 'waiting_timer':
    case 'waiting_human':
    case 'completed':
    case 'failed':
    case 'skipped':
    case 'cancelled':
    case 'retrying':
    case 'running':
    case 'scheduled':
      if (status === 'running' && event.childId) return 'waiting_child';
      return status as StepDisplayState;
    default:
      if (event.join) return 'joining';
      if (event.childId) return 'waiting_child';
      return event.task ? 'scheduled' : 'running';
  }
}
