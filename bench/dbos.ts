/**
 * DBOS Transact (`@dbos-inc/dbos-sdk` v5) running the benchmark's workflow: 10 sequential durable
 * steps doing nothing (`DBOS.runStep`), on the PostgreSQL server Weft is measured on, in its own
 * database. Same workloads and JSON lines as Weft's (backend `dbos`):
 *  - steps-throughput: 2,000 concurrent workflows after a warm-up of 200;
 *  - latency-10-step:  one workflow at a time, 200 runs after 50 warm-up.
 *
 * DBOS is a process-wide singleton, so it runs in a child process of its own:
 * `node --import tsx bench/dbos.ts URL [instances]` prints the two lines. `runDbos(url)` (used by
 * bench/pg.ts) creates the database, runs the child and drops the database.
 * API as documented for v5 (docs.dbos.dev/typescript/reference: DBOS.setConfig({name,
 * systemDatabaseUrl}), DBOS.registerWorkflow, DBOS.runStep, DBOS.launch, DBOS.shutdown).
 */
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { performance } from 'node:perf_hooks';
import { quantile, type BenchResult } from './common.js';
import { createBenchDatabase } from './pg-db.js';

const STEPS = 10;

async function child(url: string, instances: number): Promise<void> {
  const { DBOS } = await import('@dbos-inc/dbos-sdk');
  const noop = async (): Promise<void> => undefined;
  const tenSteps = async (): Promise<void> => {
    for (let i = 1; i <= STEPS; i++) await DBOS.runStep(noop, { name: `s${i}` });
  };
  const workflow = DBOS.registerWorkflow(tenSteps, { name: 'bench10' });
  DBOS.setConfig({ name: 'weft-bench-dbos', systemDatabaseUrl: url, logLevel: 'error' });
  await DBOS.launch();
  try {
    // Throughput: warm-up, then `instances` concurrent workflows.
    await Promise.all(Array.from({ length: 200 }, () => workflow()));
    const t0 = performance.now();
    await Promise.all(Array.from({ length: instances }, () => workflow()));
    const seconds = (performance.now() - t0) / 1000;
    const tp: BenchResult = {
      name: 'steps-throughput', backend: 'dbos', steps_per_s: Math.round((instances * STEPS) / seconds),
      workflows_per_s: Math.round(instances / seconds), p50_ms: null, p99_ms: null,
    };
    console.log(JSON.stringify(tp));
    // Latency: one at a time.
    const samples: number[] = [];
    for (let i = 0; i < 250; i++) {
      const s0 = performance.now();
      await workflow();
      if (i >= 50) samples.push(performance.now() - s0);
    }
    samples.sort((a, b) => a - b);
    const lat: BenchResult = { name: 'latency-10-step', backend: 'dbos', steps_per_s: null, workflows_per_s: null, p50_ms: quantile(samples, 0.5), p99_ms: quantile(samples, 0.99) };
    console.log(JSON.stringify(lat));
  } finally {
    await DBOS.shutdown();
  }
}

/** Runs DBOS in a child process on a fresh database; its two result lines (or throws why not). */
export async function runDbos(url: string, instances = 2000): Promise<BenchResult[]> {
  const db = await createBenchDatabase(url, 'dbos');
  try {
    const out = await new Promise<string>((resolve, reject) => {
      const p = spawn(process.execPath, ['--import', 'tsx', fileURLToPath(import.meta.url), db.url, String(instances)], { stdio: ['ignore', 'pipe', 'pipe'] });
      let stdout = '';
      let stderr = '';
      p.stdout.on('data', (d: Buffer) => { stdout += d.toString(); });
      p.stderr.on('data', (d: Buffer) => { stderr += d.toString(); });
      p.on('error', reject);
      p.on('exit', (code) => (code === 0 ? resolve(stdout) : reject(new Error(`DBOS child exited with ${code}: ${stderr.trim().split('\n').slice(-5).join(' | ')}`))));
    });
    return out.split('\n').filter((l) => l.startsWith('{')).map((l) => JSON.parse(l) as BenchResult);
  } finally {
    await db.drop();
  }
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  await child(process.argv[2]!, Number(process.argv[3] ?? 2000));
  process.exit(0);
}
