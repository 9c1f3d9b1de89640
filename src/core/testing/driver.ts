/**
 * Plays the world against one instance from a list of random choices: completes or fails tasks in
 * any order, fires timers, delivers signals and events, answers humans and manual tasks, finishes
 * children, and throws in control commands (pause/resume/cancel/terminate/skip/retry/reset/update/
 * compensate) whose rejection is fine. `drain` then plays a cooperative world (no control
 * commands) and must bring the instance to an end.
 */
import type { ErrorInfo, InstanceState } from '../types.js';
import { TERMINAL_STATUSES } from '../types.js';
import type { Cmd, Harness } from './harness.js';
import { EVENTS } from './generators.js';

export type Choice = [number, number];

/** Every command the world could send now (some of which the core may reject). */
export function possibleCommands(h: Harness, b: number, cooperative: boolean): Cmd[] {
  const s = h.s;
  const out: Cmd[] = [];
  const code = ['e1', 'e2', 'timeout'][b % 3];
  for (const t of Object.values(s.tasks)) {
    if (t.status !== 'scheduled') continue;
    out.push({ type: 'CompleteActivity', taskId: t.taskId, attempt: t.attempt, output: { c: b % 7 } } as Cmd);
    if (!cooperative) {
      const error: ErrorInfo = { code, message: code, ...(b % 5 === 0 && { nonRetryable: true }) };
      out.push({ type: 'FailActivity', taskId: t.taskId, attempt: t.attempt, error } as Cmd);
    }
  }
  const timers = Object.entries(s.timers).sort((x, y) => x[1].dueAt - y[1].dueAt || (x[0] < y[0] ? -1 : 1));
  for (const [timerId, t] of timers) if (!cooperative || t.kind !== 'workflow-timeout') out.push({ type: 'FireTimer', timerId } as Cmd);
  for (const run of Object.values(s.active)) {
    if (run.status === 'waiting_event' && run.wait) out.push({ type: 'Signal', name: run.wait.event, payload: { c: b % 7 } } as Cmd);
    if (run.human && run.status === 'waiting_human') {
      out.push({ type: 'CompleteHumanTask', taskId: run.human.taskId, action: 'approve', data: { c: b % 7 } } as Cmd);
      if (!cooperative) out.push({ type: 'RejectHumanTask', taskId: run.human.taskId, reason: 'no' } as Cmd);
    }
    if (run.manualTaskId) {
      const actions = cooperative ? ['skip'] : ['retry', 'skip', 'fail'];
      out.push({ type: 'CompleteHumanTask', taskId: run.manualTaskId, action: actions[b % actions.length], data: { c: 1 } } as Cmd);
    }
    if (run.childId) out.push({ type: 'ChildFinished', childId: run.childId, status: cooperative || b % 4 ? 'completed' : 'failed', output: { c: b % 7 }, error: { code: 'child', message: 'child failed' } } as Cmd);
    if (run.foreach) {
      const f = run.foreach;
      const children = h.def.steps.get(run.stepId)?.step.type === 'foreach' && 'workflow' in h.def.steps.get(run.stepId)!.step;
      for (let i = 0; i < f.next; i++) {
        if (children && !(i in f.results)) {
          out.push({ type: 'ChildFinished', childId: `${s.id}/${run.id}[${i}]`, status: cooperative || b % 4 ? 'completed' : 'failed', output: { c: b % 7 }, error: { code: 'child', message: 'child failed' } } as Cmd);
        }
      }
      // A duplicate, an item not started, or an item run as an activity: rejected.
      if (!cooperative && b % 9 === 0) out.push({ type: 'ChildFinished', childId: `${s.id}/${run.id}[${b % 3}]`, status: 'completed' } as Cmd);
    }
  }
  if (s.status === 'paused') out.push({ type: 'Resume' } as Cmd);
  if (!cooperative) {
    out.push({ type: 'Signal', name: EVENTS[b % EVENTS.length], payload: { c: b % 7 } } as Cmd);
    out.push(control(h, b));
  }
  return out;
}

function control(h: Harness, b: number): Cmd {
  const stepIds = [...h.def.steps.keys()];
  const stepId = stepIds[b % stepIds.length];
  switch (b % 23) {
    case 0: case 1: case 2: case 3: return { type: 'Pause' } as Cmd;
    case 4: case 5: case 6: return { type: 'Resume' } as Cmd;
    case 7: return { type: 'Cancel' } as Cmd;
    case 8: return { type: 'Terminate' } as Cmd;
    case 9: case 10: case 11: return { type: 'SkipStep', stepId, output: { c: 2 } } as Cmd;
    case 12: case 13: case 14: return { type: 'RetryStep', stepId: h.s.failedRun?.stepId ?? stepId } as Cmd;
    case 15: case 16: return { type: 'RetryFrom', stepId } as Cmd;
    case 17: return { type: 'Compensate' } as Cmd;
    case 18: return { type: 'CompleteActivity', taskId: `${stepId}#1`, attempt: 1 } as Cmd;
    case 19: return { type: 'FireTimer', timerId: 'workflow/timeout' } as Cmd;
    default: return { type: 'UpdateVariables', vars: { c: b % 7 } } as Cmd;
  }
}

/** Sends one command picked by `choice`; false when nothing could be sent. */
export async function step(h: Harness, [a, b]: Choice, cooperative = false): Promise<boolean> {
  const options = possibleCommands(h, b, cooperative);
  if (options.length === 0) return false;
  const cmd = options[a % options.length];
  h.now += 1000;
  const timer = cmd.type === 'FireTimer' ? h.s.timers[(cmd as { timerId: string }).timerId] : undefined;
  if (timer) h.now = Math.max(h.now, timer.dueAt);
  await h.attempt(cmd);
  return true;
}

export function isTerminal(s: InstanceState): boolean {
  return TERMINAL_STATUSES.has(s.status);
}

/** Cooperative world until the instance ends; throws when it gets stuck or runs too long. */
export async function drain(h: Harness, onEach: () => void, max = 2000): Promise<void> {
  for (let i = 0; i < max; i++) {
    if (isTerminal(h.s)) return;
    // Prefer tasks, waits and humans over timers so timeouts do not always win.
    const options = possibleCommands(h, i, true);
    if (options.length === 0) throw new Error(`instance is ${h.s.status} and nothing can move it`);
    const nonTimer = options.filter((c) => c.type !== 'FireTimer');
    const cmd = (nonTimer.length ? nonTimer : options)[0];
    if (cmd.type === 'FireTimer') h.now = Math.max(h.now, h.s.timers[(cmd as { timerId: string }).timerId].dueAt);
    await h.attempt(cmd);
    onEach();
  }
  throw new Error(`instance did not end in ${max} commands (status ${h.s.status})`);
}
