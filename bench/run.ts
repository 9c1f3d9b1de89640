/**
 * `npm run bench [-- --only NAME] [--concurrency N] [--instances N] [--verbose] [--profile FILE] [--pg URL] [--pool N] [--pg-statements]`
 *
 * Prints one JSON object per line: {name, backend, steps_per_s, workflows_per_s, p50_ms, p99_ms}.
 *  - steps-throughput: 2,000 concurrent instances of a 10-step no-op workflow, fresh temp SQLite file.
 *  - latency-10-step:  one 10-step workflow at a time, 200 runs after warm-up.
 *  - verify-…:          the verifier on a 200-step definition and on every example ({name, backend, ms, states}).
 *  - http-…:            instance starts over HTTP (50 keep-alive clients) and a 10-step workflow end to end over HTTP.
 *  - with `--pg URL`:   the same two workloads on PostgreSQL (backend "postgres"), node-scaling (1–3 node
 *                       processes on one database) and DBOS Transact on the same server with the
 *                       Weft/DBOS ratios (bench/pg.ts). `--only pg` runs only those; `--pg-statements`
 *                       commits statement by statement instead of in one call (for comparisons).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Engine } from '../src/runtime/api.js';
import { openEngineWithStore } from '../src/runtime/engine.js';
import { SqliteStore } from '../src/store/sqlite/store.js';
import { noopWorkflow, type BenchResult } from './common.js';
import { latency, stepsThroughput, type WorkloadOptions } from './workloads.js';


function arg(name: string): string | undefined {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1] : undefined;
}

const only = arg('only');
const concurrency = arg('concurrency') !== undefined ? Number(arg('concurrency')) : undefined;
const instances = arg('instances') !== undefined ? Number(arg('instances')) : undefined;
const pg = arg('pg');
const pool = arg('pool') !== undefined ? Number(arg('pool')) : undefined;
const verbose = process.argv.includes('--verbose');
const profilePath = arg('profile');
const workload: WorkloadOptions = { backend: 'sqlite', verbose, ...(profilePath !== undefined && { profilePath }) };

async function withEngine<T>(fn: (e: Engine) => Promise<T>): Promise<T> {
  const dir = mkdtempSync(join(tmpdir(), 'weft-bench-'));
  const store = new SqliteStore(join(dir, 'bench.db'));
  const engine = await openEngineWithStore(store, { ...(concurrency !== undefined && { concurrency }) });
  try {
    await engine.deploy(noopWorkflow());
    return await fn(engine);
  } finally {
    await engine.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

const cases: Record<string, () => Promise<BenchResult>> = {
  'steps-throughput': () => withEngine((e) => stepsThroughput(e, instances ?? 2000, workload)),
  'latency-10-step': () => withEngine((e) => latency(e, workload)),
};

const pgOnly = only !== undefined && (only === 'pg' || only.startsWith('pg-') || only === 'node-scaling' || only.startsWith('dbos'));
for (const [name, run] of Object.entries(cases)) {
  if (pgOnly || (only !== undefined && only !== name)) continue;
  console.log(JSON.stringify(await run()));
}

if (pg !== undefined) {
  const { pgBenchmarks, pgReachable } = await import('./pg.js');
  const why = await pgReachable(pg);
  if (why !== undefined) {
    console.error(`--pg ${pg}: PostgreSQL is not reachable (${why})`);
    process.exit(1);
  }
  await pgBenchmarks(pg, {
    ...(only !== undefined && only !== 'pg' && { only }),
    ...(instances !== undefined && { instances }), ...(concurrency !== undefined && { concurrency }),
    ...(pool !== undefined && { poolSize: pool }), verbose, ...(profilePath !== undefined && { profilePath }),
    ...(process.argv.includes('--pg-statements') && { statementCommit: true }),
  }, (line) => console.log(line));
}
if (pgOnly) process.exit(0);

// The verifier (name: verify-…, with ms and states) and the HTTP server (http-…).
if (only === undefined || only.startsWith('verify')) {
  const { benchVerify } = await import('./verify.js');
  await benchVerify((line) => console.log(line));
}
if (only === undefined || only.startsWith('http')) {
  const { httpBenchmarks } = await import('./http.js');
  for (const r of await httpBenchmarks(only !== undefined ? { only } : {})) console.log(JSON.stringify(r));
}
