/** Words and symbols for one step row: shared by the live view, the plain log and `status`. */
import { colors, compactJson, formatClock, formatDuration } from './format.js';
import type { StepDisplayState, StepRow } from './step-tracker.js';

const ICONS: Record<StepDisplayState, string> = {
  pending: '·', scheduled: '○', running: '▶', retrying: '↻', joining: '⋈',
  waiting_event: '⏸', waiting_timer: '⏱', waiting_human: '?', waiting_child: '⇲',
  completed: '✔', failed: '✖', skipped: '↷', cancelled: '⊘', compensating: '↺', compensated: '↩',
};

export function stepIcon(state: StepDisplayState): string {
  const icon = ICONS[state];
  switch (state) {
    case 'completed': return colors.green(icon);
    case 'failed': return colors.red(icon);
    case 'retrying': case 'compensating': case 'compensated': return colors.yellow(icon);
    case 'running': case 'scheduled': return colors.cyan(icon);
    case 'waiting_event': case 'waiting_timer': case 'waiting_human': case 'waiting_child': case 'joining': return colors.magenta(icon);
    default: return colors.dim(icon);
  }
}

/** `retrying (attempt 3, next at 14:02:11, in 2.00s; last error http_503: …)`, `timer until 14:05:00 (3m00s left)`, `completed in 12ms`. */
export function describeStep(row: StepRow, now: number = Date.now(), options: { elapsed?: boolean } = {}): string {
  const runs = row.runs > 1 ? ` ×${row.runs}` : '';
  const attempts = row.attempt > 1 ? `, attempt ${row.attempt}` : '';
  switch (row.state) {
    case 'pending':
      return 'pending';
    case 'scheduled':
      return `scheduled${attempts ? ` (${attempts.slice(2)})` : ''}`;
    case 'running': {
      const elapsed = options.elapsed !== false && row.lastStartedAt !== undefined ? ` ${formatDuration(now - row.lastStartedAt)}` : '';
      return `running${elapsed}${attempts}${runs}`;
    }
    case 'retrying': {
      const next = row.nextRetryAt !== undefined ? `, next at ${formatClock(row.nextRetryAt, now)}, in ${formatDuration(Math.max(0, row.nextRetryAt - now))}` : '';
      const last = row.lastError ? `; last error ${row.lastError.code}: ${row.lastError.message}` : '';
      return `retrying (attempt ${row.attempt + 1}${next}${last})`;
    }
    case 'joining':
      return row.join ? `waiting for branches (${row.join.arrived}/${row.join.needed})` : 'waiting for branches';
    case 'waiting_event': {
      const key = row.wait?.key !== undefined ? ` with key ${compactJson(row.wait.key, 60)}` : '';
      return `waiting for event "${row.wait?.event ?? '?'}"${key}${deadline(row, 'times out', now)}`;
    }
    case 'waiting_timer':
      return row.timerUntil !== undefined ? `timer until ${formatClock(row.timerUntil, now)} (${formatDuration(Math.max(0, row.timerUntil - now))} left)` : 'timer';
    case 'waiting_human': {
      const h = row.human;
      const who = h ? [...h.users, ...h.groups.map((g) => `group ${g}`)].join(', ') : '';
      const title = h?.title && h.title !== row.stepId ? ` "${h.title}"` : '';
      const kind = h?.kind === 'manual' ? 'manual intervention' : 'human task';
      return `${kind}${title}: ${h?.actions.join(' / ') ?? 'approve / reject'}${who ? ` (for ${who})` : ''}${deadline(row, 'deadline', now)}`;
    }
    case 'waiting_child':
      return `subworkflow${row.childId ? ` ${row.childId}` : ''} running`;
    case 'completed': {
      const action = row.humanAction ? ` (${row.humanAction})` : '';
      const iteration = row.iteration !== undefined ? ` [iteration ${row.iteration}]` : '';
      return `completed${action}${iteration} in ${duration(row)}${row.attempt > 1 ? ` after ${row.attempt} attempts` : ''}${runs}`;
    }
    case 'failed':
      return `failed${row.lastError ? `: ${row.lastError.code}: ${row.lastError.message}` : ''}${row.attempt > 1 ? ` (after ${row.attempt} attempts)` : ''}`;
    case 'skipped':
      return 'skipped';
    case 'cancelled':
      return 'cancelled';
    case 'compensating':
      return 'compensating';
    case 'compensated':
      return 'compensated';
  }
}

function deadline(row: StepRow, word: string, now: number): string {
  return row.deadline !== undefined ? `, ${word} at ${formatClock(row.deadline, now)}` : '';
}

function duration(row: StepRow): string {
  if (row.lastStartedAt === undefined || row.endedAt === undefined) return '-';
  return formatDuration(row.endedAt - row.lastStartedAt);
}
