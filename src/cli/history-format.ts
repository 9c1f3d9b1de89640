/** One line per event for `weft history`: seq, time, offset, type and the fields worth reading. */
import type { EngineEvent } from '../core/types.js';
import { colors, compactJson, formatDuration, formatIso, padEnd } from './format.js';

export function formatHistory(events: EngineEvent[]): string[] {
  const steps = new Map<string, string>();
  const origin = events[0]?.at ?? 0;
  const typeWidth = Math.max(4, ...events.map((e) => e.type.length));
  const lines = [colors.dim(`${'seq'.padStart(5)}  ${'time'.padEnd(24)}  ${'+offset'.padStart(8)}  ${padEnd('type', typeWidth)}  details`)];
  for (const event of events) {
    if (event.type === 'StepStarted') steps.set(event.runId, event.stepId);
    const offset = '+' + formatDuration(event.at - origin);
    lines.push(`${String(event.seq).padStart(5)}  ${formatIso(event.at).padEnd(24)}  ${offset.padStart(8)}  ${padEnd(event.type, typeWidth)}  ${details(event, steps)}`);
  }
  return lines;
}

/** The fields worth reading for each event type; anything else as compact JSON. */
export function details(event: EngineEvent, steps: Map<string, string>): string {
  const step = (runId: string) => steps.get(runId) ?? runId;
  switch (event.type) {
    case 'WorkflowStarted':
      return `${event.definitionId}@${event.definitionVersion} input=${compactJson(event.input, 80)}`;
    case 'StepStarted':
      return `step=${event.stepId} run=${event.runId} via=${event.via} status=${event.status}${event.task ? ` activity=${event.task.activity}` : ''}${event.wait ? ` event=${event.wait.event}` : ''}`;
    case 'ActivityScheduled':
      return `step=${step(event.task.runId)} activity=${event.task.activity} attempt=${event.task.attempt}${event.task.purpose !== 'step' ? ` purpose=${event.task.purpose}` : ''}`;
    case 'ActivityCompleted':
      return `step=${step(event.runId)} attempt=${event.attempt} output=${compactJson(event.output, 80)}`;
    case 'ActivityFailed':
      return `step=${step(event.runId)} attempt=${event.attempt} error=${event.error.code}: ${event.error.message}${event.retryAt !== undefined ? ` retryAt=${formatIso(event.retryAt)}` : ' (no retry)'}`;
    case 'TimerScheduled':
      return `timer=${event.timerId} kind=${event.timer.kind} due=${formatIso(event.timer.dueAt)}${event.timer.runId ? ` step=${step(event.timer.runId)}` : ''}`;
    case 'TimerFired':
    case 'TimerCancelled':
      return `timer=${event.timerId}`;
    case 'StepCompleted':
      return `step=${event.stepId}${event.taken.length ? ` taken=${event.taken.join(',')}` : ''} output=${compactJson(event.output, 80)}`;
    case 'StepFailed':
      return `step=${event.stepId} error=${event.error.code}: ${event.error.message} handling=${event.handling}`;
    case 'StepSkipped':
    case 'StepCompensated':
    case 'StepRetried':
      return `step=${event.stepId}`;
    case 'StepCancelled':
      return `step=${event.stepId} reason=${event.reason}`;
    case 'JoinArrived':
      return `step=${step(event.runId)} via=${event.via}`;
    case 'HumanTaskCompleted':
      return `step=${step(event.runId)} action=${event.action}${event.by ? ` by=${event.by}` : ''}${event.data !== undefined ? ` data=${compactJson(event.data, 80)}` : ''}`;
    case 'CompensationStarted':
      return `reason=${event.reason} runs=${event.runs.map(step).join(',')}`;
    case 'WorkflowCompleted':
      return `output=${compactJson(event.output, 100)}`;
    case 'WorkflowFailed':
      return `error=${event.error.code}: ${event.error.message}`;
    default: {
      const { seq: _seq, at: _at, type: _type, ...rest } = event as EngineEvent & Record<string, unknown>;
      return compactJson(rest, 120);
    }
  }
}
