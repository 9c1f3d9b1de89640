/**
 * `npm run bench [-- --only NAME] [--concurrency N] [--verbose] [--profile FILE] [--pg URL]`
 *
 * Prints one JSON object per line: {name, backend, steps_per_s, workflows_per_s, p50_ms, p99_ms}.
 *  - steps-throughput: 2,000 concurrent instances of a 10-step no-op workflow, fresh temp SQLite file.
 *  - latency-10-step:  one 10-step workflow at a time, 200 runs after warm-up.
 *  - verify-…:          the verifier on a 200-step definition and on every example ({name, backend, ms, states}).
 *  - http-…:            instance starts over HTTP (50 keep-alive clients) and a 10-step workflow end to end over HTTP.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import type { Engine } from '../src/runtime/api.js';
import { openEngineWithStore } from '../src/runtime/engine.js';
import { SqliteStore } from '../src/store/sqlite/store.js';
import { noopWorkflow, quantile, type BenchResult } from './common.js';


function arg(name: string): string | undefined {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1] : undefined;
}

const only = arg('only');
const concurrency = arg('concurrency') !== undefined ? Number(arg('concurrency')) : undefined;
const pg = arg('pg');
const verbose = process.argv.includes('--verbose');
const STEPS = 10;
const profilePath = arg('profile');

/** `--profile FILE`: a CPU profile of the measured part only (open it in Chrome DevTools). */
async function startProfile(): Promise<() => Promise<void>> {
  if (profilePath === undefined) return async () => undefined;
  const { Session } = await import('node:inspector/promises');
  const { writeFileSync } = await import('node:fs');
  const session = new Session();
  session.connect();
  await session.post('Profiler.enable');
  await session.post('Profiler.setSamplingInterval', { interval: 100 });
  await session.post('Profiler.start');
  return async () => {
    const { profile } = await session.post('Profiler.stop');
    writeFileSync(profilePath, JSON.stringify(profile));
    session.disconnect();
  };
}


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

const backend = 'sqlite';

async function stepsThroughput(instances = 2000): Promise<BenchResult> {
  return withEngine(async (engine) => {
    // Warm-up: JIT and statement caches.
    await Promise.all(Array.from({ length: 200 }, async () => engine.waitUntilDone(await engine.start('bench10', {}))));
    const stopProfile = await startProfile();
    const t0 = performance.now();
    const cpu0 = process.cpuUsage();
    const elu0 = performance.eventLoopUtilization();
    const ids = await Promise.all(Array.from({ length: instances }, () => engine.start('bench10', {})));
    const states = await Promise.all(ids.map((id) => engine.waitUntilDone(id, { timeoutMs: 120_000 })));
    const seconds = (performance.now() - t0) / 1000;
    const cpu = process.cpuUsage(cpu0);
    const elu = performance.eventLoopUtilization(elu0);
    await stopProfile();
    if (verbose) console.error(`steps-throughput: ${((cpu.user + cpu.system) / (instances * STEPS)).toFixed(1)} µs CPU per step (user ${(cpu.user / 1000).toFixed(0)} ms, system ${(cpu.system / 1000).toFixed(0)} ms, wall ${(seconds * 1000).toFixed(0)} ms, main thread busy ${(elu.utilization * 100).toFixed(0)} %)`);
    const bad = states.filter((s) => s.status !== 'completed').length;
    if (bad > 0) throw new Error(`${bad} instances did not complete`);
    return {
      name: 'steps-throughput', backend,
      steps_per_s: Math.round((instances * STEPS) / seconds),
      workflows_per_s: Math.round(instances / seconds),
      p50_ms: null, p99_ms: null,
    };
  });
}

async function latency(runs = 200, warmup = 50): Promise<BenchResult> {
  return withEngine(async (engine) => {
    const samples: number[] = [];
    for (let i = 0; i < warmup + runs; i++) {
      const t0 = performance.now();
      const id = await engine.start('bench10', {});
      await engine.waitUntilDone(id, { timeoutMs: 10_000 });
      if (i >= warmup) samples.push(performance.now() - t0);
    }
    samples.sort((a, b) => a - b);
    return { name: 'latency-10-step', backend, steps_per_s: null, workflows_per_s: null, p50_ms: quantile(samples, 0.5), p99_ms: quantile(samples, 0.99) };
  });
}

const cases: Record<string, () => Promise<BenchResult>> = {
  'steps-throughput': () => stepsThroughput(arg('instances') !== undefined ? Number(arg('instances')) : undefined),
  'latency-10-step': () => latency(),
};

if (pg !== undefined) {
  console.error('--pg: the PostgreSQL store is not implemented yet; running SQLite only');
}
for (const [name, run] of Object.entries(cases)) {
  if (only !== undefined && only !== name) continue;
  console.log(JSON.stringify(await run()));
}

// The verifier (name: verify-…, with ms and states) and the HTTP server (http-…).
if (only === undefined || only.startsWith('verify')) {
  const { benchVerify } = await import('./verify.js');
  await benchVerify((line) => console.log(line));
}
if (only === undefined || only.startsWith('http')) {
  const { httpBenchmarks } = await import('./http.js');
  for (const r of await httpBenchmarks(only !== undefined ? { only } : {})) console.log(JSON.stringify(r));
}
