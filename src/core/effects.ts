/**
 * The work implied by a batch of events, as plain data. The store writes these rows in the same
 * transaction as the events (SPEC principle 1); the runtime then acts on them.
 * `deriveEffects` is pure, so every store backend interprets events the same way.
 */
import type { ActiveTask, EngineEvent, ErrorInfo, HumanTaskInfo, InstanceState, InstanceStatus, TimerInfo } from './types.js';

export interface TaskRow extends ActiveTask {
  instanceId: string;
  /** Step id the task belongs to (for routing and display). */
  stepId: string;
  priority: number;
  queue?: string;
  /** Start-to-close timeout of the attempt, ms. */
  timeoutMs?: number;
  heartbeatTimeoutMs?: number;
  /** Longest the task may wait in the queue before an attempt starts, ms. */
  scheduleToStartMs?: number;
}

export interface Effects {
  /** Tasks to insert (or replace, keyed by taskId). */
  tasksToSchedule: TaskRow[];
  /** Tasks to delete: finished, cancelled, or superseded. `cancelled` ones must also be aborted if running. */
  tasksToRemove: Array<{ taskId: string; cancelled: boolean }>;
  timersToSet: Array<{ timerId: string; timer: TimerInfo }>;
  timersToRemove: string[];
  /** Wait subscriptions: an event `event` with correlation `key` goes to this instance. */
  waitsToAdd: Array<{ runId: string; event: string; key?: unknown }>;
  waitsToRemove: string[];
  humanTasksToOpen: Array<{ runId: string; stepId: string; task: HumanTaskInfo; input?: unknown }>;
  /** Run ids whose human or manual-intervention tasks are closed. */
  humanTasksToClose: string[];
  childrenToStart: Array<{ childId: string; runId: string; workflow: string; version?: string; input: unknown }>;
  childrenToCancel: Array<{ childId: string; terminate: boolean }>;
  /** Set when the instance reached a terminal status in this batch and has a parent to tell. */
  notifyParent?: { parentId: string; childId: string; status: InstanceStatus; output?: unknown; error?: ErrorInfo };
  /** The instance status after the batch. */
  status: InstanceStatus;
}
