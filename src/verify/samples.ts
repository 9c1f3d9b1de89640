/**
 * Generated definitions for benchmarks and tests: wide parallel blocks, long chains, and a
 * deadlocking variant (a decision inside a branch that can skip the join).
 */
import type { Definition } from '../model/schema.js';

/** start → parallel → `branches` chains of `length` noop tasks → join → end. */
export function wideDefinition(branches: number, length: number, opts: { deadlock?: boolean } = {}): Definition {
  const steps: Record<string, unknown>[] = [{ id: 'start', type: 'start', next: 'split' }];
  const transitions: Record<string, unknown>[] = [];
  const heads: string[] = [];
  for (let b = 0; b < branches; b++) {
    for (let i = 0; i < length; i++) {
      const id = `b${b}_t${i}`;
      if (i === 0) heads.push(id);
      const next = i === length - 1 ? 'join' : `b${b}_t${i + 1}`;
      steps.push({ id, type: 'task', activity: 'noop', next });
    }
  }
  steps.push({ id: 'split', type: 'parallel', next: heads });
  steps.push({ id: 'join', type: 'join', mode: 'all', split: 'split', next: 'end' });
  steps.push({ id: 'end', type: 'end' });
  if (opts.deadlock) {
    // The last branch may leave through its own end: the join then waits forever.
    const last = `b${branches - 1}_t${length - 1}`;
    const s = steps.find((x) => x.id === last)!;
    delete s.next;
    steps.push({ id: 'skip_join', type: 'decision' }, { id: 'early_end', type: 'end' });
    transitions.push({ from: last, to: 'skip_join' }, { from: 'skip_join', to: 'early_end', when: 'vars.skip = true' }, { from: 'skip_join', to: 'join', default: true });
  }
  return { id: `wide-${branches}x${length}${opts.deadlock ? '-deadlock' : ''}`, version: '1.0.0', steps, transitions } as unknown as Definition;
}
