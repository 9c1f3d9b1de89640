/** Pure time arithmetic for timers and deadlines: `now` always comes from the command. */
import { CronExpressionParser } from 'cron-parser';
import type { Deadline } from '../model/schema.js';
import { parseDuration } from './duration.js';

const DAY_MS = 86_400_000;

/** A delay given as a duration string, milliseconds, or an expression's result of either. */
export function resolveDelay(value: unknown): number {
  if (typeof value === 'number' && Number.isFinite(value) && value >= 0) return value;
  if (typeof value === 'string') return parseDuration(value);
  throw new Error(`expected a duration, got ${JSON.stringify(value)}`);
}

/** An absolute time given as ISO 8601 text or epoch milliseconds. */
export function resolveInstant(value: unknown, what: string): number {
  const t = typeof value === 'number' ? value : typeof value === 'string' ? Date.parse(value) : NaN;
  if (!Number.isFinite(t)) throw new Error(`${what}: expected an ISO 8601 time, got ${JSON.stringify(value)}`);
  return t;
}

export function nextCronTime(expression: string, now: number, timezone?: string): number {
  const interval = CronExpressionParser.parse(expression, { currentDate: new Date(now), ...(timezone && { tz: timezone }) });
  return interval.next().getTime();
}

/**
 * Deadline of a human task. Business days count whole working days (UTC): the deadline is the
 * same time of day after `n` working days, skipping non-working weekdays and holidays.
 */
export function computeDeadline(deadline: Deadline, now: number): number {
  if (typeof deadline === 'string' || typeof deadline === 'number') return now + parseDuration(deadline);
  if ('at' in deadline) return resolveInstant(deadline.at, 'deadline.at');
  const workdays = new Set(deadline.calendar?.workdays ?? [1, 2, 3, 4, 5]);
  const holidays = new Set(deadline.calendar?.holidays ?? []);
  if (workdays.size === 0) throw new Error('business calendar has no working days');
  let t = now;
  let left = deadline.businessDays;
  while (left > 0) {
    t += DAY_MS;
    const d = new Date(t);
    const isoDay = d.getUTCDay() === 0 ? 7 : d.getUTCDay();
    if (workdays.has(isoDay) && !holidays.has(d.toISOString().slice(0, 10))) left--;
  }
  return t;
}
