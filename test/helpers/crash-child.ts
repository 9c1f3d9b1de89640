/**
 * The process the crash test kills. Opens an engine on the SQLite file given as argv[2] (recovery
 * runs on open), starts whichever of the N instances are not started yet (idempotency keys make
 * re-starts no-ops), waits for all of them and prints DONE. Activities take small random delays
 * and fail now and then, so kills land on running tasks, retries and timers.
 *
 *   node --import tsx test/helpers/crash-child.ts <db> [count]
 */
import { appendFileSync } from 'node:fs';
import { openEngine } from '../../src/runtime/engine.js';
import { ActivityRegistry, type ActivityContext } from '../../src/runtime/activity.js';
import type { Definition } from '../../src/model/schema.js';

const [db, countArg] = process.argv.slice(2);
const COUNT = Number(countArg ?? 1000);

export const CRASH_WORKFLOW: Definition = {
  id: 'crashy', version: '1.0.0',
  retry: { maxAttempts: 10, initialInterval: '5ms', maxInterval: '20ms', jitter: 0.5 },
  steps: [
    { id: 'start', type: 'start', next: 'a' },
    { id: 'a', type: 'task', activity: 'work', input: { step: 'a' }, next: 'split' },
    { id: 'split', type: 'parallel', next: ['b', 'c'] },
    { id: 'b', type: 'task', activity: 'work', input: { step: 'b' }, next: 'join' },
    { id: 'c', type: 'task', activity: 'flaky', input: { step: 'c' }, next: 'join' },
    { id: 'join', type: 'join', next: 'pause' },
    { id: 'pause', type: 'timer', delay: '20ms', next: 'd' },
    { id: 'd', type: 'task', activity: 'work', input: { step: 'd' }, next: 'end' },
    { id: 'end', type: 'end' },
  ],
};

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
/** Every handler execution that returned, so the test can see work that ran more than once. */
const executed = (ctx: ActivityContext) => appendFileSync(`${db}.executions`, `${ctx.instanceId} ${ctx.taskId} ${ctx.attempt}\n`);
const activities = new ActivityRegistry()
  .register('work', async (input: { step: string }, ctx) => {
    await sleep(Math.random() * 60);
    executed(ctx);
    return { done: input.step };
  })
  .register('flaky', async (input: { step: string }, ctx) => {
    await sleep(Math.random() * 60);
    executed(ctx);
    if (Math.random() < 0.2) throw new Error('transient');
    return { done: input.step };
  });

const engine = await openEngine({ db, activities, snapshotEvery: 7, concurrency: 32 });
await engine.deploy(CRASH_WORKFLOW);
process.stdout.write('READY\n');
const ids = await Promise.all(Array.from({ length: COUNT }, (_, i) => engine.start('crashy', { i }, { idempotencyKey: `crash-${i}` })));
process.stdout.write('STARTED\n');
await Promise.all(ids.map((id) => engine.waitUntilDone(id, { timeoutMs: 60_000 })));
await engine.close();
process.stdout.write('DONE\n');
