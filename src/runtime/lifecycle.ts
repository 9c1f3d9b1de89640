/**
 * Lifecycle messages (SPEC C4): what the outside world hears about instances — `workflow.started`,
 * `step.completed`, … They are written to the outbox in the same transaction as the events they
 * describe, then relayed to subscribers (in-process now; bus adapters later), so a crash between
 * commit and delivery delays a message but never loses it (at-least-once).
 */
import type { EngineEvent } from '../core/types.js';

export interface LifecycleMessage {
  /** `workflow.started`, `step.completed`, `activity.failed`, … */
  topic: string;
  instanceId: string;
  seq: number;
  at: number;
  stepId?: string;
  runId?: string;
  /** Failure events: the error code and message. */
  error?: { code: string; message: string };
}

const TOPICS: Partial<Record<EngineEvent['type'], string>> = {
  WorkflowStarted: 'workflow.started',
  WorkflowCompleted: 'workflow.completed',
  WorkflowFailed: 'workflow.failed',
  WorkflowCancelled: 'workflow.cancelled',
  WorkflowTerminated: 'workflow.terminated',
  WorkflowCompensated: 'workflow.compensated',
  WorkflowPaused: 'workflow.paused',
  WorkflowResumed: 'workflow.resumed',
  CompensationStarted: 'workflow.compensating',
  StepStarted: 'step.started',
  StepCompleted: 'step.completed',
  StepFailed: 'step.failed',
  StepSkipped: 'step.skipped',
  StepCancelled: 'step.cancelled',
  StepCompensated: 'step.compensated',
  ActivityFailed: 'activity.failed',
};

/** The lifecycle messages a batch of one instance's events implies (ids and errors, no payloads). */
export function lifecycleMessages(instanceId: string, events: readonly EngineEvent[], out: LifecycleMessage[] = []): LifecycleMessage[] {
  for (const e of events) {
    const topic = TOPICS[e.type];
    if (!topic) continue;
    const m: LifecycleMessage = { topic, instanceId, seq: e.seq, at: e.at };
    if ('stepId' in e && typeof e.stepId === 'string') m.stepId = e.stepId;
    if ('runId' in e && typeof e.runId === 'string') m.runId = e.runId;
    if ('error' in e && e.error) m.error = { code: e.error.code, message: e.error.message };
    out.push(m);
  }
  return out;
}

export const OUTBOX_TOPIC = 'lifecycle';
