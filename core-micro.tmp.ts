import { compileDefinition, execute, deriveEffects } from './src/core/index.js';
import type { InstanceState } from './src/core/types.js';
const list: any[] = [{ id: 'start', type: 'start', next: 's1' }];
for (let i = 1; i <= 10; i++) list.push({ id: `s${i}`, type: 'task', activity: 'noop', next: i < 10 ? `s${i + 1}` : 'end' });
list.push({ id: 'end', type: 'end' });
const c = compileDefinition({ id: 'b', version: '1.0.0', steps: list } as any);
const N = 2000;
async function round() {
  const states: InstanceState[] = [];
  let events = 0;
  for (let i = 0; i < N; i++) {
    const r = await execute(c, null, { type: 'StartWorkflow', instanceId: `i${i}`, input: {} }, { now: Date.now(), random: 0.5 });
    deriveEffects(c, r.events, r.state);
    states.push(r.state); events += r.events.length;
  }
  for (let step = 0; step < 10; step++) {
    for (const s of states) {
      const t = Object.values(s.tasks)[0];
      const r = await execute(c, s, { type: 'CompleteActivity', instanceId: s.id, taskId: t.taskId, attempt: t.attempt, output: {} }, { now: Date.now(), random: 0.5 });
      deriveEffects(c, r.events, r.state);
      events += r.events.length;
      JSON.stringify(r.events);
    }
  }
  return events;
}
await round(); await round();
const cpu0 = process.cpuUsage(); const t0 = performance.now();
const ev = await round();
const ms = performance.now() - t0; const cpu = process.cpuUsage(cpu0);
console.log(`core: ${(1000 * ms / (N * 10)).toFixed(1)} µs wall per step (incl. start), cpu ${((cpu.user + cpu.system) / (N * 10)).toFixed(1)} µs, events/step ${(ev / N / 10).toFixed(1)}`);
