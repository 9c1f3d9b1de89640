/**
 * The end of a run: the output (JSON), the timeline, and the verdict with its exit code. Also
 * the `--json` result object, which carries the same facts for programs.
 */
import type { InstanceState } from '../core/types.js';
import { TERMINAL_STATUSES } from '../core/types.js';
import { colors, formatDuration, prettyJson } from './format.js';
import { EXIT, type CliIO, writeLine } from './io.js';
import type { WaitingItem } from './instance-driver.js';
import type { StepTracker } from './step-tracker.js';
import { renderTimeline, timelineEntries } from './timeline.js';

export interface InstanceOutcome {
  instanceId: string;
  definitionId?: string;
  definitionVersion?: string;
  status: string;
  exitCode: number;
  output?: unknown;
  error?: { code: string; message: string };
  failedStep?: string;
  waiting: WaitingItem[];
}

export function outcomeOf(tracker: StepTracker, state: InstanceState | undefined, waiting: WaitingItem[]): InstanceOutcome {
  const status = state?.status ?? tracker.status;
  const terminal = TERMINAL_STATUSES.has(status as InstanceState['status']);
  const failedStep = tracker.failedStep ?? state?.failedRun?.stepId ?? lastFailedStep(tracker);
  // A compensated saga keeps no instance error: the failure that started it is the step's.
  const error = state?.error ?? tracker.error ?? (failedStep ? tracker.rows.get(failedStep)?.lastError : undefined);
  return {
    instanceId: tracker.instanceId,
    definitionId: state?.definitionId,
    definitionVersion: state?.definitionVersion,
    status,
    exitCode: status === 'completed' ? EXIT.ok : terminal ? EXIT.failure : EXIT.waiting,
    output: status === 'completed' ? (state?.output ?? tracker.output) : undefined,
    error: error ? { code: error.code, message: error.message } : undefined,
    failedStep: status === 'completed' ? undefined : failedStep,
    waiting: waiting.filter((w) => w.instanceId === tracker.instanceId),
  };
}

function lastFailedStep(tracker: StepTracker): string | undefined {
  let found: { stepId: string; at: number } | undefined;
  for (const row of tracker.rows.values()) {
    if (row.state === 'failed' && row.endedAt !== undefined && (!found || row.endedAt >= found.at)) found = { stepId: row.stepId, at: row.endedAt };
  }
  return found?.stepId;
}

export function resultJson(tracker: StepTracker, outcome: InstanceOutcome): Record<string, unknown> {
  return {
    ...outcome,
    durationMs: tracker.startedAt === undefined ? undefined : (tracker.endedAt ?? Date.now()) - tracker.startedAt,
    steps: [...tracker.rows.values()].map((r) => ({
      id: r.stepId,
      type: r.type,
      state: r.state,
      runs: r.runs,
      attempts: r.attempts,
      startedAt: r.firstStartedAt,
      endedAt: r.endedAt,
      error: r.lastError,
    })),
    timeline: timelineEntries(tracker),
  };
}

/** Prints output, timeline and verdict; `db` goes into the hints for what to do next. */
export function printOutcome(io: CliIO, tracker: StepTracker, outcome: InstanceOutcome, db: string): void {
  const out = io.stdout;
  writeLine(out);
  if (outcome.status === 'completed') {
    writeLine(out, colors.bold('Output'));
    writeLine(out, prettyJson(outcome.output));
    writeLine(out);
  }
  writeLine(out, renderTimeline(tracker));
  writeLine(out);
  const took = tracker.startedAt !== undefined && tracker.endedAt !== undefined ? ` in ${formatDuration(tracker.endedAt - tracker.startedAt)}` : '';
  const id = `instance ${outcome.instanceId}`;
  if (outcome.status === 'completed') {
    writeLine(out, colors.green(`✔ ${id} completed${took}`));
  } else if (outcome.exitCode === EXIT.failure) {
    const reason = outcome.error ? `${outcome.error.code}: ${outcome.error.message}` : 'no error recorded';
    writeLine(out, colors.red(`✖ ${id} ${outcome.status}${took}: ${reason}`));
    if (outcome.failedStep) writeLine(out, colors.red(`  failing step: ${outcome.failedStep}`));
    writeLine(out, colors.dim(`  full event log: weft history ${outcome.instanceId} --db ${db}`));
  } else {
    printWaiting(io, outcome, db);
  }
}

function printWaiting(io: CliIO, outcome: InstanceOutcome, db: string): void {
  const out = io.stdout;
  writeLine(out, colors.yellow(`⏸ instance ${outcome.instanceId} is ${outcome.status} and can only go on with outside input:`));
  for (const item of outcome.waiting) writeLine(out, `  step ${item.stepId}: ${item.description}`);
  writeLine(out, '  to answer, write an answers file, e.g. answers.yaml:');
  const examples = outcome.waiting.flatMap((w) => (w.example ? [w.example] : []));
  for (const example of examples.length ? examples : ['{step: STEP, action: ACTION}']) writeLine(out, `    - ${example}`);
  writeLine(out, `  then: weft resume --db ${db} --answers answers.yaml`);
}
