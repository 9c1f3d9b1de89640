/**
 * When a schedule fires: cron expressions (5 or 6 fields, read in an IANA time zone by
 * cron-parser, so daylight-saving changes are the library's well-tested arithmetic) or a fixed
 * interval, bounded by `startAt`/`endAt`. Pure functions of the spec and a time.
 *
 * Around DST (docs/schedules.md): a wall-clock time that does not exist on the spring-forward day
 * (02:30 in Europe/Berlin) runs once, an hour later in wall-clock terms; a time that exists twice
 * on the fall-back day runs once (the first). Intervals are elapsed time and ignore time zones.
 */
import { CronExpressionParser } from 'cron-parser';
import { parseDuration } from '../core/duration.js';

export interface TimeSpec {
  cron?: string;
  interval?: string;
  timezone: string;
  startAt?: number;
  endAt?: number;
  createdAt: number;
}

/** The shortest interval accepted: shorter ones would keep a node busy starting instances. */
export const MIN_INTERVAL_MS = 1000;

/** Why a time field is wrong (`field` names it), or undefined when the spec is usable. */
export function timeSpecProblem(s: Omit<TimeSpec, 'createdAt'>): { field: string; message: string } | undefined {
  if ((s.cron === undefined) === (s.interval === undefined)) {
    return { field: s.cron === undefined ? 'cron' : 'interval', message: 'give exactly one of "cron" and "interval"' };
  }
  if (!isTimeZone(s.timezone)) return { field: 'timezone', message: `unknown time zone "${s.timezone}" (use an IANA name such as Europe/Berlin)` };
  if (s.cron !== undefined) {
    const fields = s.cron.trim().split(/\s+/).filter(Boolean);
    const alias = fields.length === 1 && fields[0]!.startsWith('@');
    if (!alias && fields.length !== 5 && fields.length !== 6) {
      return { field: 'cron', message: `cron expression "${s.cron}" has ${fields.length} field(s); give 5 (minute hour day month weekday) or 6 (with seconds first)` };
    }
    try {
      CronExpressionParser.parse(s.cron, { tz: s.timezone }).next();
    } catch (err) {
      return { field: 'cron', message: `invalid cron expression "${s.cron}": ${(err as Error).message}` };
    }
  }
  if (s.interval !== undefined) {
    let ms: number;
    try { ms = parseDuration(s.interval); } catch (err) { return { field: 'interval', message: (err as Error).message }; }
    if (ms < MIN_INTERVAL_MS) return { field: 'interval', message: `interval "${s.interval}" is shorter than ${MIN_INTERVAL_MS} ms` };
  }
  if (s.startAt !== undefined && s.endAt !== undefined && s.endAt <= s.startAt) return { field: 'endAt', message: 'endAt must be after startAt' };
  return undefined;
}

export function isTimeZone(tz: string): boolean {
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: tz });
    return true;
  } catch {
    return false;
  }
}

/** The first fire time strictly after `after` within [startAt, endAt]; undefined when there is none. */
export function nextFireTime(s: TimeSpec, after: number): number | undefined {
  const from = s.startAt !== undefined ? Math.max(after, s.startAt - 1) : after;
  let t: number;
  if (s.cron !== undefined) {
    t = CronExpressionParser.parse(s.cron, { currentDate: new Date(from), tz: s.timezone }).next().getTime();
  } else {
    const { anchor, every, first } = intervalOf(s);
    const k = Math.max(first, Math.floor((from - anchor) / every) + 1);
    t = anchor + k * every;
  }
  return s.endAt !== undefined && t > s.endAt ? undefined : t;
}

/**
 * The fire times due by `to`, starting with `first` — a fire time the schedule computed with
 * `nextFireTime` (its `nextRunAt`) — at most `max`: the LATEST ones, ascending.
 *
 * Why the times chain forward from `first`: cron-parser's prev() is not reliable across DST (it
 * skips a spring-forward time that next() runs, and repeats a fall-back time that next() runs
 * once), and next() itself depends on where it starts on a DST day (from after the gap it skips
 * the shifted time it gives from before). Chaining next() from fire times reproduces exactly the
 * sequence the schedule would have run. After a long outage prev() only finds where to begin the
 * chain: 2·max+2 fire times back is at or before the max-th latest one even with a few invented
 * (at most one per fall-back night), so an outage costs about `max` steps, not one per missed time.
 */
export function dueFireTimes(s: TimeSpec, first: number, to: number, max: number): number[] {
  const hi = Math.min(to, s.endAt ?? Infinity);
  if (first > hi || max <= 0) return [];
  if (s.interval !== undefined) {
    const out: number[] = [];
    const { anchor, every, first: k0 } = intervalOf(s);
    for (let k = Math.floor((hi - anchor) / every); out.length < max; k--) {
      const t = anchor + k * every;
      if (k < k0 || t < first) break;
      out.push(t);
    }
    return out.reverse();
  }
  let start = first;
  let includeStart = true;
  const back = CronExpressionParser.parse(s.cron!, { currentDate: new Date(hi + 1), tz: s.timezone });
  for (let i = 0, candidate = hi; ; i++) {
    if (i === 2 * max + 2) { start = candidate; includeStart = false; break; }
    const t = back.prev().getTime();
    if (t <= first) break;
    candidate = t;
  }
  const out = includeStart ? [start] : [];
  const it = CronExpressionParser.parse(s.cron!, { currentDate: new Date(start), tz: s.timezone });
  for (let t = it.next().getTime(); t <= hi; t = it.next().getTime()) out.push(t);
  return out.slice(-max);
}

/** Interval times are `anchor + k × every`: from `startAt` (k ≥ 0), else one interval after creation (k ≥ 1). */
function intervalOf(s: TimeSpec): { anchor: number; every: number; first: number } {
  const every = parseDuration(s.interval!);
  return s.startAt !== undefined ? { anchor: s.startAt, every, first: 0 } : { anchor: s.createdAt, every, first: 1 };
}
