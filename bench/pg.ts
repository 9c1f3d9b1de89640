/**
 * `npm run bench -- --pg postgres://postgres@127.0.0.1:5432/weft_bench`: the embedded workloads on
 * the PostgreSQL store (same JSON lines, backend `postgres`), node scaling (1, 2, 3 node
 * processes on one database) and DBOS Transact on the same server, with the Weft/DBOS ratios.
 * Every workload runs on a fresh database (`./pg-db.ts`), dropped afterwards. Numbers and how to
 * read them: docs/operations.md § Benchmarks on PostgreSQL, docs/storage.md § PostgreSQL.
 */
import pg from 'pg';
import type { Engine } from '../src/runtime/api.js';
import { openEngine, openEngineWithStore } from '../src/runtime/engine.js';
import { openPostgresStore } from '../src/store/postgres/store.js';
import { noopWorkflow, type BenchResult } from './common.js';
import { runDbos } from './dbos.js';
import { nodeScaling } from './node-scaling.js';
import { createBenchDatabase, serverCpuMs } from './pg-db.js';
import { latency, stepsThroughput, type WorkloadOptions } from './workloads.js';

export interface PgBenchOptions {
  only?: string;
  instances?: number;
  concurrency?: number;
  verbose?: boolean;
  profilePath?: string;
  /** Connections per engine (default: the store's). */
  poolSize?: number;
  /** Commit statement by statement instead of the one-call function (the before/after comparison of docs/storage.md). */
  statementCommit?: boolean;
}

/** An engine on a fresh database with `bench10` deployed; closed and dropped after `fn`. */
export async function withPgEngine<T>(url: string, label: string, o: PgBenchOptions, fn: (e: Engine, serverCpu?: () => Promise<number | undefined>) => Promise<T>): Promise<T> {
  const db = await createBenchDatabase(url, label);
  try {
    const options = { ...(o.concurrency !== undefined && { concurrency: o.concurrency }) };
    const engine = o.statementCommit
      ? await openEngineWithStore(await openPostgresStore(db.url, { oneCallCommit: false, ...(o.poolSize !== undefined && { poolSize: o.poolSize }) }), options)
      : await openEngine({ db: db.url, ...(o.poolSize !== undefined && { poolSize: o.poolSize }), ...options });
    const probe = new pg.Client({ connectionString: db.url });
    probe.on('error', () => undefined);
    try {
      await engine.deploy(noopWorkflow());
      if (o.verbose) await probe.connect();
      return await fn(engine, o.verbose ? () => serverCpuMs(probe, db.name) : undefined);
    } finally {
      await probe.end().catch(() => undefined);
      await engine.close();
    }
  } finally {
    await db.drop();
  }
}

/** Undefined when the server of `url` answers (through its `postgres` database), else why not. */
export async function pgReachable(url: string): Promise<string | undefined> {
  let u: URL;
  try { u = new URL(url); } catch { return 'not a URL'; }
  u.pathname = '/postgres';
  const c = new pg.Client({ connectionString: u.toString(), connectionTimeoutMillis: 3000 });
  c.on('error', () => undefined);
  try {
    await c.connect();
    return undefined;
  } catch (err) {
    return (err as Error).message || String(err);
  } finally {
    await c.end().catch(() => undefined);
  }
}

/** Runs the PostgreSQL cases named by `only` (all by default); `print` gets each JSON line. */
export async function pgBenchmarks(url: string, o: PgBenchOptions, print: (line: string) => void): Promise<BenchResult[]> {
  const w: WorkloadOptions = { backend: 'postgres', ...(o.verbose && { verbose: true }), ...(o.profilePath !== undefined && { profilePath: o.profilePath }) };
  const wanted = (name: string) => o.only === undefined || o.only === name || o.only === `pg-${name}`;
  const results: BenchResult[] = [];
  const emit = (r: BenchResult) => { results.push(r); print(JSON.stringify(r)); };
  const instances = o.instances ?? 2000;
  const weftTp = wanted('steps-throughput') ? await withPgEngine(url, 'tp', o, (e, serverCpu) => stepsThroughput(e, instances, { ...w, ...(serverCpu && { serverCpuMs: serverCpu }) })) : undefined;
  if (weftTp) emit(weftTp);
  const weftLat = wanted('latency-10-step') ? await withPgEngine(url, 'lat', o, (e) => latency(e, w)) : undefined;
  if (weftLat) emit(weftLat);
  if (wanted('node-scaling')) {
    for (const nodes of [1, 2, 3]) {
      const r = await nodeScaling(url, nodes, instances, o.verbose === true);
      results.push(r);
      print(JSON.stringify(r));
    }
  }
  if (wanted('dbos')) {
    let dbos: BenchResult[];
    try {
      dbos = await runDbos(url, instances);
    } catch (err) {
      // Said in the output rather than dropped: the comparison is part of the report.
      print(JSON.stringify({ name: 'dbos', backend: 'dbos', error: `DBOS Transact could not run: ${(err as Error).message}` }));
      return results;
    }
    for (const r of dbos) emit(r);
    const dbosTp = dbos.find((r) => r.name === 'steps-throughput');
    const dbosLat = dbos.find((r) => r.name === 'latency-10-step');
    const ratio = (a: number | null | undefined, b: number | null | undefined) => (a == null || b == null || b === 0 ? null : Math.round((a / b) * 100) / 100);
    print(JSON.stringify({
      name: 'weft-vs-dbos', backend: 'postgres',
      // Weft/DBOS: above 1 Weft is faster for throughput; below 1 Weft is faster for latency.
      steps_per_s_ratio: ratio(weftTp?.steps_per_s, dbosTp?.steps_per_s),
      p50_ms_ratio: ratio(weftLat?.p50_ms, dbosLat?.p50_ms),
    }));
  }
  return results;
}
