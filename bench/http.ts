/**
 * HTTP benchmarks (issue 3), one JSON line each, the same format as bench/run.ts:
 *  - http-starts:          instance starts per second over HTTP (keep-alive, 50 concurrent clients,
 *                          fetch/undici loops) of the 10-step no-op workflow, for `seconds` seconds.
 *  - http-latency-10-step: a 10-step workflow started over HTTP, completion seen over the
 *                          WebSocket, one at a time (p50/p99 end to end).
 *
 * `node --import tsx bench/http.ts [--seconds 5] [--runs 200]` runs it alone; bench/run.ts calls
 * `httpBenchmarks()`.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import WebSocket from 'ws';
import { startServer } from '../src/api/start.js';
import { noopWorkflow, quantile, type BenchResult } from './common.js';

/** Kept as a name for callers; the same line format as every benchmark. */
export type HttpBenchResult = BenchResult;


export async function httpBenchmarks(o: { seconds?: number; runs?: number; clients?: number; only?: string } = {}): Promise<HttpBenchResult[]> {
  const dir = mkdtempSync(join(tmpdir(), 'weft-bench-http-'));
  const server = await startServer({ db: join(dir, 'bench.db'), port: 0 });
  const out: HttpBenchResult[] = [];
  try {
    const url = server.url;
    const post = (path: string, body: unknown) => fetch(url + path, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
    await post('/api/v1/definitions', noopWorkflow());

    if (!o.only || o.only === 'http-starts') {
      const seconds = o.seconds ?? 5;
      const clients = o.clients ?? 50;
      const latencies: number[] = [];
      let errors = 0;
      const body = JSON.stringify({ definitionId: 'bench10', input: {} });
      const loop = async (until: number, record: boolean) => {
        while (performance.now() < until) {
          const t0 = performance.now();
          const res = await fetch(url + '/api/v1/instances', { method: 'POST', headers: { 'content-type': 'application/json' }, body });
          await res.arrayBuffer();
          if (res.status !== 201) errors++;
          else if (record) latencies.push(performance.now() - t0);
        }
      };
      const warm = performance.now() + 1000;
      await Promise.all(Array.from({ length: clients }, () => loop(warm, false)));
      const t0 = performance.now();
      await Promise.all(Array.from({ length: clients }, () => loop(t0 + seconds * 1000, true)));
      const elapsed = (performance.now() - t0) / 1000;
      if (errors > 0) throw new Error(`http-starts: ${errors} requests failed`);
      latencies.sort((a, b) => a - b);
      out.push({
        name: 'http-starts', backend: 'sqlite', steps_per_s: null,
        workflows_per_s: Math.round(latencies.length / elapsed), p50_ms: quantile(latencies, 0.5), p99_ms: quantile(latencies, 0.99),
      });
      // Let the started instances finish before measuring latency.
      await server.engine.listInstances({ status: ['running'], limit: 1 });
      for (;;) {
        const busy = await server.engine.listInstances({ status: ['running', 'pending'], limit: 1 });
        if (busy.length === 0) break;
        await new Promise((r) => setTimeout(r, 50));
      }
    }

    if (!o.only || o.only === 'http-latency-10-step') {
      const runs = o.runs ?? 200;
      const ws = new WebSocket(url.replace(/^http/, 'ws') + '/api/v1/ws');
      await new Promise((resolve, reject) => { ws.once('open', resolve); ws.once('error', reject); });
      const done = new Map<string, () => void>();
      const early = new Set<string>();
      ws.on('message', (data) => {
        const m = JSON.parse(String(data)) as { type: string; instanceId?: string; status?: string };
        if (m.type !== 'events' || m.status !== 'completed' || !m.instanceId) return;
        const r = done.get(m.instanceId);
        if (r) r(); else early.add(m.instanceId);
      });
      ws.send(JSON.stringify({ type: 'subscribe', id: 'all', all: true }));
      await new Promise((r) => setTimeout(r, 50));
      const latencies: number[] = [];
      for (let i = 0; i < runs + 20; i++) {
        const t0 = performance.now();
        const res = await post('/api/v1/instances', { definitionId: 'bench10', input: {} });
        const { id } = (await res.json()) as { id: string };
        if (!early.delete(id)) await new Promise<void>((resolve) => done.set(id, resolve));
        done.delete(id);
        if (i >= 20) latencies.push(performance.now() - t0);
      }
      ws.close();
      latencies.sort((a, b) => a - b);
      const total = latencies.reduce((a, b) => a + b, 0) / 1000;
      out.push({
        name: 'http-latency-10-step', backend: 'sqlite', steps_per_s: Math.round((runs * 10) / total), workflows_per_s: Math.round(runs / total),
        p50_ms: quantile(latencies, 0.5), p99_ms: quantile(latencies, 0.99),
      });
    }
  } finally {
    await server.close();
    rmSync(dir, { recursive: true, force: true });
  }
  return out;
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const arg = (n: string) => { const i = process.argv.indexOf(`--${n}`); return i >= 0 ? process.argv[i + 1] : undefined; };
  const results = await httpBenchmarks({
    ...(arg('seconds') !== undefined && { seconds: Number(arg('seconds')) }),
    ...(arg('runs') !== undefined && { runs: Number(arg('runs')) }),
    ...(arg('only') !== undefined && { only: arg('only')! }),
  });
  for (const r of results) console.log(JSON.stringify(r));
}
