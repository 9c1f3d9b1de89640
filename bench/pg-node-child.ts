/**
 * One node of the node-scaling benchmark (bench/node-scaling.ts): an engine on the shared
 * PostgreSQL database, driven over IPC. `{warmup: n}` runs n instances to completion (JIT,
 * statement caches) and answers `{ready}`; `{go: n}` starts n instances at once and answers
 * `{started}`; `{cpu}` answers `{cpuMs}` (CPU used so far); completion is observed by the parent in the database, not here, because in a
 * cluster another node may finish an instance this one started.
 */
import { openEngine } from '../src/runtime/engine.js';
import { noopWorkflow } from './common.js';

const url = process.argv[2]!;
// Capacity above the instance count: each node runs the tasks of the instances it starts
// (leased in the same commit), so no task waits in the backlog for another node.
const engine = await openEngine({ db: url, concurrency: 10_000 });
await engine.deploy(noopWorkflow());

process.on('message', async (m: { warmup?: number; go?: number; cpu?: true; close?: true }) => {
  try {
    if (m.warmup !== undefined) {
      await Promise.all(Array.from({ length: m.warmup }, async () => engine.waitUntilDone(await engine.start('bench10', {}), { timeoutMs: 60_000 })));
      process.send!({ ready: true });
    } else if (m.go !== undefined) {
      await Promise.all(Array.from({ length: m.go }, () => engine.start('bench10', {})));
      process.send!({ started: true });
    } else if (m.cpu) {
      const u = process.cpuUsage();
      process.send!({ cpuMs: (u.user + u.system) / 1000 });
    } else if (m.close) {
      await engine.close();
      process.exit(0);
    }
  } catch (err) {
    process.send!({ error: String(err) });
  }
});
process.send!({ open: true });
