/**
 * The end-of-run timeline: one line per step that ran — start offset from the instance start,
 * duration, attempts, outcome — with a small text Gantt bar on a shared time axis (`↩` marks
 * when a step was compensated).
 */
import { colors, formatDuration, padEnd } from './format.js';
import type { StepRow, StepTracker } from './step-tracker.js';

export interface TimelineEntry {
  stepId: string;
  startOffsetMs: number;
  durationMs: number;
  attempts: number;
  runs: number;
  outcome: string;
  /** Offset at which the step was compensated, if it was. */
  compensatedOffsetMs?: number;
}

export function timelineEntries(tracker: StepTracker, now: number = Date.now()): TimelineEntry[] {
  const origin = tracker.startedAt ?? 0;
  const end = tracker.endedAt ?? now;
  return [...tracker.rows.values()]
    .filter((row): row is StepRow & { firstStartedAt: number } => row.firstStartedAt !== undefined)
    .sort((a, b) => a.firstStartedAt - b.firstStartedAt)
    .map((row) => ({
      stepId: row.stepId,
      startOffsetMs: row.firstStartedAt - origin,
      durationMs: (row.completedAt ?? row.endedAt ?? end) - row.firstStartedAt,
      attempts: row.attempts,
      runs: row.runs,
      outcome: row.state,
      ...(row.compensatedAt !== undefined ? { compensatedOffsetMs: row.compensatedAt - origin } : {}),
    }));
}

const BAR_WIDTH = 32;

export function renderTimeline(tracker: StepTracker, now: number = Date.now()): string {
  const entries = timelineEntries(tracker, now);
  if (entries.length === 0) return 'Timeline: no step ran.';
  const total = Math.max(1, (tracker.endedAt ?? now) - (tracker.startedAt ?? now));
  const idWidth = Math.max(4, ...entries.map((e) => e.stepId.length));
  const header =
    `${padEnd('step', idWidth)}  ${'start'.padStart(8)}  ${'duration'.padStart(8)}  attempts  ${padEnd('outcome', 13)}  ` +
    `|${'0'.padEnd(BAR_WIDTH / 2)}${formatDuration(total).padStart(BAR_WIDTH / 2)}|`;
  const lines = entries.map((e) => {
    const attempts = e.attempts === 0 ? '-' : String(e.attempts) + (e.runs > 1 ? ` (×${e.runs})` : '');
    return (
      `${padEnd(e.stepId, idWidth)}  ${('+' + formatDuration(e.startOffsetMs)).padStart(8)}  ${formatDuration(e.durationMs).padStart(8)}  ` +
      `${attempts.padEnd(8)}  ${padEnd(colorOutcome(e.outcome), 13)}  |${bar(e, total)}|`
    );
  });
  return [`Timeline (total ${formatDuration(total)})`, '  ' + colors.dim(header), ...lines.map((l) => '  ' + l)].join('\n');
}

function bar(entry: TimelineEntry, total: number): string {
  const start = Math.min(BAR_WIDTH - 1, Math.floor((entry.startOffsetMs / total) * BAR_WIDTH));
  const length = Math.max(1, Math.min(BAR_WIDTH - start, Math.round((entry.durationMs / total) * BAR_WIDTH)));
  const fill = entry.durationMs === 0 ? '▏' : '█'.repeat(length);
  const visible = entry.durationMs === 0 ? 1 : length;
  const cells = [...(' '.repeat(start) + fill + ' '.repeat(BAR_WIDTH - start - visible))];
  if (entry.compensatedOffsetMs !== undefined) {
    cells[Math.min(BAR_WIDTH - 1, Math.floor((entry.compensatedOffsetMs / total) * BAR_WIDTH))] = '↩';
  }
  return cells.join('');
}

function colorOutcome(outcome: string): string {
  if (outcome === 'completed') return colors.green(outcome);
  if (outcome === 'failed') return colors.red(outcome);
  if (outcome === 'compensated' || outcome === 'cancelled' || outcome === 'skipped') return colors.yellow(outcome);
  return outcome;
}
