/**
 * node-scaling: the throughput workload (2,000 concurrent 10-step no-op workflows) on 1, 2 and 3
 * node processes sharing one PostgreSQL database (a fresh one per node count). Each node is a
 * child process running an engine (bench/pg-node-child.ts); the instances are started spread
 * evenly over the nodes at the same moment, and the clock stops when the database shows every
 * one of them completed. Result: steps/s of the whole cluster, one JSON line per node count
 * (`{name: 'node-scaling', backend: 'postgres', nodes, steps_per_s, workflows_per_s, …}`).
 */
import { fork, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { performance } from 'node:perf_hooks';
import pg from 'pg';
import type { BenchResult } from './common.js';
import { createBenchDatabase, serverCpuMs } from './pg-db.js';
import { openPostgresStore } from '../src/store/postgres/store.js';
import { STEPS } from './workloads.js';

export interface ScalingResult extends BenchResult {
  nodes: number;
}

type Reply = { open?: true; ready?: true; started?: true; cpuMs?: number; error?: string };

function next(child: ChildProcess, want: keyof Reply): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const onMessage = (m: Reply) => {
      if (m.error !== undefined) { cleanup(); reject(new Error(`node: ${m.error}`)); return; }
      if (m[want] !== undefined) { cleanup(); resolve(m); }
    };
    const onExit = (code: number | null) => { cleanup(); reject(new Error(`node exited with ${code}`)); };
    const cleanup = () => { child.off('message', onMessage); child.off('exit', onExit); };
    child.on('message', onMessage);
    child.on('exit', onExit);
  });
}

async function completed(c: pg.Client): Promise<number> {
  return Number((await c.query<{ n: string }>(`SELECT count(*) AS n FROM instances WHERE status = 'completed'`)).rows[0]!.n);
}

async function nodesCpuMs(children: ChildProcess[]): Promise<number> {
  const replies = await Promise.all(children.map((c) => { const r = next(c, 'cpuMs'); c.send({ cpu: true }); return r; }));
  return replies.reduce((sum, r) => sum + (r.cpuMs ?? 0), 0);
}

/** `verbose`: prints the nodes' and the database server's CPU per step to stderr. */
export async function nodeScaling(url: string, nodes: number, instances = 2000, verbose = false, warmupPerNode = 100): Promise<ScalingResult> {
  const db = await createBenchDatabase(url, `n${nodes}`);
  const children: ChildProcess[] = [];
  const watcher = new pg.Client({ connectionString: db.url });
  watcher.on('error', () => undefined);
  try {
    // Migrate once before the nodes start (they would serialize on the migration lock anyway).
    await (await openPostgresStore(db.url)).close();
    const script = fileURLToPath(new URL('./pg-node-child.ts', import.meta.url));
    // One after the other: the first deploys `bench10`, the others find it deployed.
    for (let i = 0; i < nodes; i++) {
      // WEFT_BENCH_NODE_PROFILE=DIR: each node writes a CPU profile there when it exits.
      const prof = process.env.WEFT_BENCH_NODE_PROFILE;
      const execArgv = ['--import', 'tsx', ...(prof ? ['--cpu-prof', `--cpu-prof-dir=${prof}`] : [])];
      const child = fork(script, [db.url], { execArgv, stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
      children.push(child);
      await next(child, 'open');
    }
    await Promise.all(children.map((c) => { const r = next(c, 'ready'); c.send({ warmup: warmupPerNode }); return r; }));
    await watcher.connect();
    const base = await completed(watcher);
    const cpu0 = verbose ? await nodesCpuMs(children) : 0;
    const server0 = verbose ? await serverCpuMs(watcher, db.name) : undefined;
    const share = (i: number) => Math.floor(instances / nodes) + (i < instances % nodes ? 1 : 0);
    const t0 = performance.now();
    const started = children.map((c, i) => { const r = next(c, 'started'); c.send({ go: share(i) }); return r; });
    const deadline = t0 + 180_000;
    let failed: unknown;
    void Promise.all(started).catch((err) => { failed = err; });
    while ((await completed(watcher)) - base < instances) {
      if (failed !== undefined) throw failed;
      if (performance.now() > deadline) throw new Error('node-scaling: instances did not complete within 180 s');
      await new Promise((r) => setTimeout(r, 20));
    }
    const seconds = (performance.now() - t0) / 1000;
    if (verbose) {
      const cpu = (await nodesCpuMs(children)) - cpu0;
      const server1 = await serverCpuMs(watcher, db.name);
      const server = server0 !== undefined && server1 !== undefined ? `, database server ${(((server1 - server0) * 1000) / (instances * STEPS)).toFixed(1)} µs` : '';
      console.error(`node-scaling (${nodes} nodes): nodes ${((cpu * 1000) / (instances * STEPS)).toFixed(1)} µs CPU per step${server} (wall ${(seconds * 1000).toFixed(0)} ms)`);
    }
    // Hot tables stay small: a finished step's task row goes in the commit that completes it.
    const left = Number((await watcher.query<{ n: string }>('SELECT (SELECT count(*) FROM tasks) + (SELECT count(*) FROM timers) AS n')).rows[0]!.n);
    if (left !== 0) throw new Error(`node-scaling: ${left} task/timer rows left after every instance completed`);
    return {
      name: 'node-scaling', backend: 'postgres', nodes,
      steps_per_s: Math.round((instances * STEPS) / seconds), workflows_per_s: Math.round(instances / seconds),
      p50_ms: null, p99_ms: null,
    };
  } finally {
    await watcher.end().catch(() => undefined);
    await Promise.all(children.map((c) => new Promise<void>((resolve) => {
      if (c.exitCode !== null) { resolve(); return; }
      const timer = setTimeout(() => { c.kill('SIGKILL'); }, 10_000);
      c.once('exit', () => { clearTimeout(timer); resolve(); });
      c.send({ close: true });
    })));
    await db.drop();
  }
}
