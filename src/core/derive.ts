/**
 * Events → the rows and actions they imply (see effects.ts). Pure: every store backend and the
 * runtime interpret a batch the same way.
 */
import type { CompiledDefinition } from './compiled.js';
import type { Effects, TaskRow } from './effects.js';
import type { ActiveTask, EngineEvent, InstanceState } from './types.js';
import { TERMINAL_STATUSES } from './types.js';

export function emptyEffects(status: InstanceState['status']): Effects {
  return {
    tasksToSchedule: [], tasksToRemove: [], timersToSet: [], timersToRemove: [],
    waitsToAdd: [], waitsToRemove: [], humanTasksToOpen: [], humanTasksToClose: [],
    childrenToStart: [], childrenToCancel: [], status,
  };
}

export function deriveEffects(def: CompiledDefinition, events: EngineEvent[], state: InstanceState): Effects {
  const fx = emptyEffects(state.status);
  const typeOf = (stepId: string) => def.steps.get(stepId)?.type;
  const taskRow = (task: ActiveTask, stepId: string): TaskRow => {
    const cs = def.steps.get(stepId);
    const step = cs?.step;
    // Plain assignments rather than conditional spreads: this runs once per scheduled task.
    const row: TaskRow = { ...task, instanceId: state.id, stepId, priority: 0 };
    if (step?.type === 'task') {
      if (step.priority !== undefined) row.priority = step.priority;
      if (step.queue !== undefined) row.queue = step.queue;
    }
    if (cs?.timeoutMs !== undefined) row.timeoutMs = cs.timeoutMs;
    if (cs?.heartbeatTimeoutMs !== undefined) row.heartbeatTimeoutMs = cs.heartbeatTimeoutMs;
    if (cs?.scheduleToStartMs !== undefined) row.scheduleToStartMs = cs.scheduleToStartMs;
    return row;
  };
  // Run id → step id for runs started in this batch (their state entry may already be gone).
  const runStep = new Map<string, string>();
  const stepOfRun = (runId: string) => runStep.get(runId) ?? state.active[runId]?.stepId ?? runId.slice(0, runId.lastIndexOf('#'));
  let ended = false;

  for (const e of events) {
    switch (e.type) {
      case 'StepStarted':
        runStep.set(e.runId, e.stepId);
        if (e.task) fx.tasksToSchedule.push(taskRow(e.task, e.stepId));
        if (e.wait) fx.waitsToAdd.push({ runId: e.runId, event: e.wait.event, ...(e.wait.key !== undefined && { key: e.wait.key }) });
        if (e.human) fx.humanTasksToOpen.push({ runId: e.runId, stepId: e.stepId, task: e.human, ...(e.input !== undefined && { input: e.input }) });
        if (e.childId && e.child) fx.childrenToStart.push({ childId: e.childId, runId: e.runId, ...e.child });
        break;
      case 'ActivityScheduled':
        fx.tasksToSchedule.push(taskRow(e.task, stepOfRun(e.task.runId)));
        break;
      case 'ForeachChildStarted':
        fx.childrenToStart.push({ childId: e.childId, runId: e.runId, ...e.child });
        break;
      case 'ActivityCompleted':
      case 'ActivityFailed':
        fx.tasksToRemove.push({ taskId: e.taskId, cancelled: false });
        break;
      case 'ActivityCancelled':
        fx.tasksToRemove.push({ taskId: e.taskId, cancelled: true });
        break;
      case 'TimerScheduled':
        fx.timersToSet.push({ timerId: e.timerId, timer: e.timer });
        break;
      case 'TimerCancelled':
      case 'TimerFired':
      case 'TimerDeferred':
        fx.timersToRemove.push(e.timerId);
        break;
      case 'StepCompleted':
        if (e.taskId) fx.tasksToRemove.push({ taskId: e.taskId, cancelled: false });
        endRun(e.stepId, e.runId, false);
        break;
      case 'StepFailed':
        if (e.manualTask) fx.humanTasksToOpen.push({ runId: e.runId, stepId: e.stepId, task: e.manualTask });
        else endRun(e.stepId, e.runId, false);
        break;
      case 'StepSkipped':
        endRun(e.stepId, e.runId, true);
        break;
      case 'StepCancelled':
        endRun(e.stepId, e.runId, true);
        break;
      case 'ChildCancelRequested':
        fx.childrenToCancel.push({ childId: e.childId, terminate: e.terminate });
        break;
      case 'HumanTaskCompleted':
        fx.humanTasksToClose.push(e.runId);
        break;
      case 'HumanTaskEscalated': {
        // Reassigned (new groups, new deadline): the open task row is replaced.
        const run = state.active[e.runId];
        if (run?.human) fx.humanTasksToOpen.push({ runId: e.runId, stepId: run.stepId, task: run.human, ...(run.input !== undefined && { input: run.input }) });
        break;
      }
      case 'WorkflowCompleted':
      case 'WorkflowFailed':
      case 'WorkflowCancelled':
      case 'WorkflowTerminated':
      case 'WorkflowCompensated':
        ended = true;
        break;
    }
  }
  if (ended && state.parent && TERMINAL_STATUSES.has(state.status)) {
    fx.notifyParent = {
      parentId: state.parent.instanceId, childId: state.id, status: state.status,
      ...(state.output !== undefined && { output: state.output }), ...(state.error && { error: state.error }),
    };
  }
  return fx;

  function endRun(stepId: string, runId: string, mayHoldManualTask: boolean): void {
    const type = typeOf(stepId);
    if (type === 'wait') fx.waitsToRemove.push(runId);
    if (type === 'human' || mayHoldManualTask) fx.humanTasksToClose.push(runId);
  }
}
