/** Durations: `500ms`, `30s`, `5m`, `1h30m`, `2d`, `1w`, or a number of milliseconds. */
const UNIT_MS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000, w: 604_800_000 };
const PART = /(\d+(?:\.\d+)?)(ms|s|m|h|d|w)/g;

export function parseDuration(value: string | number): number {
  if (typeof value === 'number') return value;
  let total = 0;
  let consumed = 0;
  for (const m of value.matchAll(PART)) {
    total += Number(m[1]) * UNIT_MS[m[2]];
    consumed += m[0].length;
  }
  if (consumed === 0 || consumed !== value.length) throw new Error(`invalid duration "${value}"`);
  return Math.round(total);
}
