import { SqliteStore } from './src/store/sqlite/store.js';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { EngineEvent } from './src/core/types.js';
const layout = (process.argv[2] ?? 'chunk') as 'chunk' | 'row';
const store = new SqliteStore(join(mkdtempSync(join(tmpdir(), 'm-')), 'x.db'), { eventLayout: layout });
const variant = process.argv[3] ?? '';
if (variant.includes('noleased')) store.db.exec('DROP INDEX tasks_leased');
if (variant.includes('nostatusidx')) store.db.exec('DROP INDEX instances_status');
if (variant.includes('nodefidx')) store.db.exec('DROP INDEX instances_definition');
if (variant.includes('nockpt')) store.db.pragma('wal_autocheckpoint = 0');
if (variant.includes('bigckpt')) store.db.pragma('wal_autocheckpoint = 10000');
if (variant.includes('mmap')) store.db.pragma('mmap_size = 268435456');
const N = 2000, ROUNDS = 12;
const ev = (seq: number, i: number): EngineEvent => ({ type: 'StepStarted', seq, at: Date.now(), runId: `s${i}#${seq}`, stepId: `s${i}`, via: 'x->y', status: 'scheduled', input: {}, task: { taskId: `s${i}#${seq}`, runId: `s${i}#${seq}`, activity: 'noop', input: {}, attempt: 1, status: 'scheduled', purpose: 'step' } } as any);
const ids = Array.from({ length: N }, (_, i) => `inst-${i.toString().padStart(6, '0')}-abcdef`);
const seqs = new Map<string, number>();
let t = 0, writes = 0;
for (let r = 0; r < ROUNDS; r++) {
  const instances = ids.map((id) => {
    const base = seqs.get(id) ?? 0;
    const events = [ev(base + 1, r), { type: 'StepCompleted', seq: base + 2, at: 1, runId: 'a', stepId: 'b', output: {}, taken: ['x->y'], taskId: `prev${r}`, attempt: 1 } as any, ev(base + 3, r)].map((e, k) => ({ ...e, seq: base + 1 + k }));
    seqs.set(id, base + 3);
    return {
      instanceId: id, expectedSeq: base, events,
      create: r === 0 ? { id, definitionId: 'bench', definitionVersion: '1.0.0', createdAt: 1 } : undefined,
      update: { status: 'running' as const, updatedAt: Date.now() },
      effects: {
        tasksToRemove: r > 0 ? [{ taskId: `t${r - 1}`, cancelled: false }] : [],
        tasksToSchedule: [{ instanceId: id, taskId: `t${r}`, runId: `t${r}`, stepId: 's', activity: 'noop', input: {}, attempt: 1, status: 'scheduled' as const, purpose: 'step' as const, priority: 0 }],
        claims: [{ taskId: `t${r}`, owner: 'node', token: `tok${r}`, expiresAt: Date.now() + 60000 }],
      },
    };
  });
  const t0 = performance.now();
  await store.commit({ now: Date.now(), instances });
  if (r > 1) { t += performance.now() - t0; writes += N; }
}
console.log(layout, variant, (1000 * t / writes).toFixed(2), 'µs per instance write');
