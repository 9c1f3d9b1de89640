/**
 * The two engine workloads every backend runs (`npm run bench`): the same code for SQLite and
 * PostgreSQL, so the JSON lines compare like with like.
 *  - steps-throughput: N concurrent instances of the 10-step no-op workflow (after a warm-up);
 *  - latency-10-step:  one 10-step workflow at a time, start → done, p50/p99.
 */
import { performance } from 'node:perf_hooks';
import type { Engine } from '../src/runtime/api.js';
import { quantile, type BenchResult } from './common.js';

export const STEPS = 10;

export interface WorkloadOptions {
  backend: string;
  /** Prints CPU per step and main-thread utilisation to stderr. */
  verbose?: boolean;
  /** Writes a CPU profile of the measured part here (open it in Chrome DevTools). */
  profilePath?: string;
  /** CPU ms used so far by the database server's processes serving this run (PostgreSQL on this machine). */
  serverCpuMs?: () => Promise<number | undefined>;
}

/** A CPU profile of the measured part only; the returned function stops and writes it. */
export async function startProfile(profilePath: string | undefined): Promise<() => Promise<void>> {
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

/** `engine` has `bench10` deployed. */
export async function stepsThroughput(engine: Engine, instances: number, o: WorkloadOptions): Promise<BenchResult> {
  // Warm-up: JIT and statement caches.
  await Promise.all(Array.from({ length: 200 }, async () => engine.waitUntilDone(await engine.start('bench10', {}))));
  const stopProfile = await startProfile(o.profilePath);
  const server0 = o.verbose ? await o.serverCpuMs?.() : undefined;
  const t0 = performance.now();
  const cpu0 = process.cpuUsage();
  const elu0 = performance.eventLoopUtilization();
  const ids = await Promise.all(Array.from({ length: instances }, () => engine.start('bench10', {})));
  const states = await Promise.all(ids.map((id) => engine.waitUntilDone(id, { timeoutMs: 120_000 })));
  const seconds = (performance.now() - t0) / 1000;
  const cpu = process.cpuUsage(cpu0);
  const elu = performance.eventLoopUtilization(elu0);
  await stopProfile();
  if (o.verbose) {
    const server1 = server0 !== undefined ? await o.serverCpuMs?.() : undefined;
    const server = server0 !== undefined && server1 !== undefined ? `; database server ${(((server1 - server0) * 1000) / (instances * STEPS)).toFixed(1)} µs CPU per step` : '';
    console.error(`steps-throughput (${o.backend}): ${((cpu.user + cpu.system) / (instances * STEPS)).toFixed(1)} µs CPU per step `
      + `(user ${(cpu.user / 1000).toFixed(0)} ms, system ${(cpu.system / 1000).toFixed(0)} ms, wall ${(seconds * 1000).toFixed(0)} ms, `
      + `main thread busy ${(elu.utilization * 100).toFixed(0)} %)${server}`);
  }
  const bad = states.filter((s) => s.status !== 'completed').length;
  if (bad > 0) throw new Error(`${bad} instances did not complete`);
  return {
    name: 'steps-throughput', backend: o.backend,
    steps_per_s: Math.round((instances * STEPS) / seconds),
    workflows_per_s: Math.round(instances / seconds),
    p50_ms: null, p99_ms: null,
  };
}

/** `engine` has `bench10` deployed. */
export async function latency(engine: Engine, o: WorkloadOptions, runs = 200, warmup = 50): Promise<BenchResult> {
  const samples: number[] = [];
  for (let i = 0; i < warmup + runs; i++) {
    const t0 = performance.now();
    const id = await engine.start('bench10', {});
    await engine.waitUntilDone(id, { timeoutMs: 60_000 }); // generous: a shared machine can stall a run for seconds
    if (i >= warmup) samples.push(performance.now() - t0);
  }
  samples.sort((a, b) => a - b);
  return { name: 'latency-10-step', backend: o.backend, steps_per_s: null, workflows_per_s: null, p50_ms: quantile(samples, 0.5), p99_ms: quantile(samples, 0.99) };
}
