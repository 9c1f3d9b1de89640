/** Small text helpers shared by the views: durations, clock times, padding, JSON. */
import pc from 'picocolors';

export function formatDuration(ms: number): string {
  if (!Number.isFinite(ms) || ms < 0) return '-';
  if (ms < 1000) return `${Math.round(ms)}ms`;
  if (ms < 60_000) return `${(ms / 1000).toFixed(ms < 10_000 ? 2 : 1)}s`;
  const totalSeconds = Math.round(ms / 1000);
  const h = Math.floor(totalSeconds / 3600);
  const m = Math.floor((totalSeconds % 3600) / 60);
  const s = totalSeconds % 60;
  return h > 0 ? `${h}h${String(m).padStart(2, '0')}m` : `${m}m${String(s).padStart(2, '0')}s`;
}

/** `14:03:07` for today, full ISO otherwise: what a person watching a run wants to read. */
export function formatClock(at: number, now: number = Date.now()): string {
  const d = new Date(at);
  const sameDay = new Date(now).toDateString() === d.toDateString();
  const hms = d.toTimeString().slice(0, 8);
  return sameDay ? hms : d.toISOString();
}

export function formatIso(at: number): string {
  return new Date(at).toISOString();
}

/** Pads on the right, counting visible characters only (colour codes do not count). */
export function padEnd(text: string, width: number): string {
  const visible = stripAnsi(text).length;
  return visible >= width ? text : text + ' '.repeat(width - visible);
}

// eslint-disable-next-line no-control-regex
const ANSI = /\u001b\[[0-9;]*m/g;
export function stripAnsi(text: string): string {
  return text.replace(ANSI, '');
}

export function truncate(text: string, max: number): string {
  return text.length <= max ? text : text.slice(0, Math.max(0, max - 1)) + '…';
}

/** Compact one-line JSON for log lines; `undefined` shows as nothing. */
export function compactJson(value: unknown, max = 120): string {
  if (value === undefined) return '';
  let text: string;
  try {
    text = JSON.stringify(value) ?? String(value);
  } catch {
    text = String(value);
  }
  return truncate(text, max);
}

export function prettyJson(value: unknown): string {
  return JSON.stringify(value === undefined ? null : value, null, 2);
}

export const colors = pc;
