/** What every benchmark shares: the JSON line it prints, the 10-step no-op workflow, quantiles. */
import type { Definition } from '../src/model/schema.js';

/** One line of `npm run bench` output (null where not measured). */
export interface BenchResult {
  name: string;
  backend: string;
  steps_per_s: number | null;
  workflows_per_s: number | null;
  p50_ms: number | null;
  p99_ms: number | null;
}

/** start → s1 … sN (no-op tasks) → end. */
export function noopWorkflow(id = 'bench10', steps = 10): Definition {
  const list: Definition['steps'] = [{ id: 'start', type: 'start', next: 's1' }];
  for (let i = 1; i <= steps; i++) list.push({ id: `s${i}`, type: 'task', activity: 'noop', next: i < steps ? `s${i + 1}` : 'end' });
  list.push({ id: 'end', type: 'end' });
  return { id, version: '1.0.0', steps: list };
}

/** The q-quantile of ascending `sorted` samples, rounded to 0.01. */
export function quantile(sorted: number[], q: number): number {
  if (sorted.length === 0) return NaN;
  return Math.round(sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]! * 100) / 100;
}
