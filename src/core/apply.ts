/**
 * The reducer: how each event changes the instance state. State is the fold of the log, so this
 * is the single definition of what an event means. It mutates `state` for speed; `evolve` in
 * engine.ts is the pure wrapper.
 */
import type { EngineEvent, InstanceState, StepRun } from './types.js';
import { TERMINAL_STATUSES } from './types.js';

export function applyEvent(state: InstanceState | null, e: EngineEvent): InstanceState {
  if (e.type === 'WorkflowStarted') {
    return {
      id: e.instanceId,
      definitionId: e.definitionId,
      definitionVersion: e.definitionVersion,
      namespace: e.namespace,
      status: 'running',
      input: e.input,
      vars: { ...e.vars },
      env: e.env,
      parent: e.parent,
      correlationId: e.correlationId,
      labels: e.labels,
      createdAt: e.at,
      updatedAt: e.at,
      seq: e.seq,
      runCounter: 0,
      active: {},
      steps: {},
      tasks: {},
      timers: {},
      parked: [],
      compensable: [],
      signals: [],
      expecting: {},
    };
  }
  if (!state) throw new Error(`event ${e.type} (seq ${e.seq}) before WorkflowStarted`);
  const s = state;
  switch (e.type) {
    case 'StepStarted': {
      s.runCounter++;
      const run: StepRun = { id: e.runId, stepId: e.stepId, status: e.status, via: e.via, startedAt: e.at };
      if (e.input !== undefined) run.input = e.input;
      // Copies: the state is mutated later (task status, escalation) and must never reach back
      // into an event already in the log.
      if (e.task) {
        run.attempt = e.task.attempt;
        s.tasks[e.task.taskId] = { ...e.task };
      }
      if (e.wait) run.wait = e.wait;
      if (e.human) run.human = { ...e.human };
      if (e.childId) run.childId = e.childId;
      if (e.join) run.join = { arrived: 0, expected: e.join.expected, needed: e.join.needed, from: [] };
      if (e.foreach) run.foreach = { items: e.foreach.items, next: 0, running: 0, done: 0, results: [] };
      s.active[e.runId] = run;
      const prev = s.steps[e.stepId];
      s.steps[e.stepId] = { ...prev, status: e.status, runId: e.runId, runs: (prev?.runs ?? 0) + 1, error: undefined };
      if (e.join) delete s.expecting[e.stepId];
      break;
    }
    case 'JoinArrived': {
      const join = s.active[e.runId]?.join;
      if (join) {
        join.arrived++;
        join.from.push(e.via);
      }
      break;
    }
    case 'ActivityScheduled': {
      const t = e.task;
      s.tasks[t.taskId] = { ...t };
      const run = s.active[t.runId];
      if (run && t.purpose === 'step') {
        run.attempt = t.attempt;
        setRunStatus(s, run, 'scheduled');
      }
      if (run?.foreach && t.purpose === 'item' && t.attempt === 1) {
        run.foreach.running++;
        run.foreach.next = Math.max(run.foreach.next, (t.index ?? 0) + 1);
      }
      break;
    }
    case 'ForeachChildStarted': {
      const f = s.active[e.runId]?.foreach;
      if (f) {
        f.running++;
        f.next = Math.max(f.next, e.index + 1);
      }
      break;
    }
    case 'ActivityCompleted':
    case 'ActivityCancelled':
      delete s.tasks[e.taskId];
      break;
    case 'ActivityFailed': {
      const run = s.active[e.runId];
      const task = s.tasks[e.taskId];
      if (e.retryAt !== undefined && task) {
        task.status = 'retrying';
        if (run && task.purpose === 'step') setRunStatus(s, run, 'retrying');
      } else delete s.tasks[e.taskId];
      if (run && task?.purpose === 'step') run.error = e.error;
      break;
    }
    case 'TimerScheduled':
      s.timers[e.timerId] = { ...e.timer };
      break;
    case 'TimerCancelled':
    case 'TimerFired':
      delete s.timers[e.timerId];
      break;
    case 'TimerDeferred': {
      const t = s.timers[e.timerId];
      if (t) t.deferred = true;
      break;
    }
    case 'StepCompleted': {
      const run = s.active[e.runId];
      delete s.active[e.runId];
      if (e.taskId) delete s.tasks[e.taskId];
      const prev = s.steps[e.stepId];
      s.steps[e.stepId] = {
        status: 'completed',
        runId: e.runId,
        runs: prev?.runs ?? 1,
        output: e.output,
        iteration: e.iteration ?? prev?.iteration,
      };
      if (e.vars) Object.assign(s.vars, e.vars);
      if (e.split) s.expecting[e.split.join] = e.split.expected;
      if (e.compensable) s.compensable.push({ runId: e.runId, stepId: e.stepId });
      void run;
      break;
    }
    case 'StepFailed': {
      const run = s.active[e.runId];
      const summary = s.steps[e.stepId];
      if (summary) {
        summary.status = 'failed';
        summary.error = e.error;
      }
      if (run && e.handling === 'manual') {
        run.status = 'failed';
        run.error = e.error;
        run.manualTaskId = e.manualTask?.taskId;
        run.human = e.manualTask && { ...e.manualTask };
      } else {
        delete s.active[e.runId];
        if (run && e.handling === 'unhandled') s.failedRun = { runId: run.id, stepId: run.stepId, via: run.via };
      }
      break;
    }
    case 'StepSkipped': {
      delete s.active[e.runId];
      const prev = s.steps[e.stepId];
      s.steps[e.stepId] = { status: 'skipped', runId: e.runId, runs: prev?.runs ?? 1, output: e.output, iteration: prev?.iteration };
      break;
    }
    case 'StepCancelled': {
      const run = s.active[e.runId];
      delete s.active[e.runId];
      const summary = s.steps[e.stepId];
      if (summary && summary.runId === e.runId) summary.status = 'cancelled';
      // An operator answered a manual-intervention task with "fail": RetryStep may revive it.
      if (run && e.reason === 'manual_fail') s.failedRun = { runId: run.id, stepId: run.stepId, via: run.via };
      if (run && e.reason === 'workflow_failed') {
        // Remembered for RetryStep/SkipStep. A join keeps every arrival and what it waits for.
        const suspended = (s.suspended ??= []);
        if (run.join) {
          for (const via of run.join.from) suspended.push({ stepId: run.stepId, via });
          s.expecting[run.stepId] = run.join.expected;
        } else suspended.push({ stepId: run.stepId, via: run.via });
      }
      break;
    }
    case 'StepRetried':
    case 'ChildCancelRequested':
      break;
    case 'TokenParked':
      // On a failed instance the token waits for RetryStep/SkipStep with the cancelled runs.
      if (s.status === 'failed') (s.suspended ??= []).push({ stepId: e.stepId, via: e.via });
      else s.parked.push({ stepId: e.stepId, via: e.via });
      break;
    case 'SignalBuffered':
      s.signals.push({ name: e.name, payload: e.payload });
      break;
    case 'SignalConsumed':
      s.signals.splice(e.index, 1);
      break;
    case 'HumanTaskCompleted':
      break;
    case 'HumanTaskEscalated': {
      const human = s.active[e.runId]?.human;
      if (human) {
        human.groups = e.groups;
        human.deadline = e.deadline;
      }
      break;
    }
    case 'ForeachItemDone': {
      const f = s.active[e.runId]?.foreach;
      if (f) {
        f.results[e.index] = e.output;
        f.done++;
        f.running--;
      }
      break;
    }
    case 'VariablesUpdated':
      Object.assign(s.vars, e.vars);
      break;
    case 'WorkflowPaused':
      s.status = 'paused';
      break;
    case 'WorkflowResumed':
      s.status = 'running';
      s.parked = [];
      break;
    case 'CancelRequested':
      s.cancelRequested = true;
      s.parked = [];
      if (s.status === 'paused') s.status = 'running';
      break;
    case 'WorkflowReset':
      s.status = 'running';
      s.error = undefined;
      s.output = undefined;
      s.endedAt = undefined;
      s.failedRun = undefined;
      s.suspended = undefined;
      s.parked = [];
      s.expecting = {};
      s.cancelRequested = undefined;
      s.compensating = undefined;
      break;
    case 'WorkflowReopened':
      s.status = 'running';
      s.error = undefined;
      s.endedAt = undefined;
      s.failedRun = undefined;
      s.suspended = undefined;
      break;
    case 'CompensationStarted':
      s.status = 'compensating';
      s.compensating = [...e.runs];
      s.parked = [];
      break;
    case 'StepCompensated': {
      s.compensating?.shift();
      s.compensable = s.compensable.filter((c) => c.runId !== e.runId);
      const summary = s.steps[e.stepId];
      if (summary) summary.status = 'compensated';
      break;
    }
    case 'WorkflowCompleted':
      s.status = 'completed';
      s.output = e.output;
      s.endedAt = e.at;
      break;
    case 'WorkflowFailed':
      s.status = 'failed';
      s.error = e.error;
      s.endedAt = e.at;
      s.compensating = undefined;
      // Tokens parked by a pause are kept for RetryStep like the cancelled runs.
      if (s.parked.length) (s.suspended ??= []).push(...s.parked);
      s.parked = [];
      break;
    case 'WorkflowCancelled':
      s.status = 'cancelled';
      s.endedAt = e.at;
      break;
    case 'WorkflowTerminated':
      s.status = 'terminated';
      s.endedAt = e.at;
      s.parked = [];
      break;
    case 'WorkflowCompensated':
      s.status = 'compensated';
      s.compensating = undefined;
      s.endedAt = e.at;
      break;
    default: {
      const never: never = e;
      throw new Error(`unknown event ${(never as { type: string }).type}`);
    }
  }
  s.seq = e.seq;
  s.updatedAt = e.at;
  refreshWaiting(s);
  return s;
}

function setRunStatus(s: InstanceState, run: StepRun, status: StepRun['status']): void {
  run.status = status;
  const summary = s.steps[run.stepId];
  if (summary && summary.runId === run.id) summary.status = status;
}

/** `waiting` = nothing can move without a timer, an event or a person; otherwise `running`. */
function refreshWaiting(s: InstanceState): void {
  if (s.status !== 'running' && s.status !== 'waiting') return;
  let waiting = false;
  for (const id in s.active) {
    const st = s.active[id].status;
    if (st === 'waiting_event' || st === 'waiting_timer' || st === 'waiting_human' || st === 'retrying') waiting = true;
    else if (st === 'failed' && s.active[id].manualTaskId) waiting = true;
    else if (st !== 'pending') {
      s.status = 'running';
      return;
    }
  }
  s.status = waiting ? 'waiting' : 'running';
}

export function isTerminal(state: InstanceState): boolean {
  return TERMINAL_STATUSES.has(state.status);
}
