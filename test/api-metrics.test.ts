/**
 * Server metrics: counts move when instances run (JSON time series and Prometheus text agree),
 * the Prometheus exposition parses line by line, queue depth shows tasks nobody took, bad queries
 * are 400 with the field named.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { MetricsCollector, quantile } from '../src/api/metrics.js';
import { startServer, type RunningServer } from '../src/api/start.js';
import type { Definition } from '../src/model/schema.js';
import { WeftClient } from '../src/sdk/client.js';

const QUICK: Definition = {
  id: 'quick', version: '1.0.0',
  steps: [
    { id: 'start', type: 'start', next: 'a' },
    { id: 'a', type: 'task', activity: 'noop', next: 'end' },
    { id: 'end', type: 'end' },
  ],
} as Definition;
/** Its task waits for a remote worker that never comes: it stays queued. */
const STUCK: Definition = {
  id: 'stuck', version: '1.0.0',
  steps: [
    { id: 'start', type: 'start', next: 'w' },
    { id: 'w', type: 'task', activity: 'remote.nobody', next: 'end' },
    { id: 'end', type: 'end' },
  ],
} as Definition;

const INTERVAL_MS = 100;
let server: RunningServer;
let client: WeftClient;

interface MetricsBody { intervalMs: number; now: number; totals: Record<string, number>; samples: Array<Record<string, any>> }
const json = async (path: string) => {
  const res = await fetch(server.url + path, { signal: AbortSignal.timeout(10_000) });
  return { status: res.status, body: await res.json() as any };
};
const sum = (samples: MetricsBody['samples'], field: string) => samples.reduce((n, s) => n + (s[field] as number), 0);

async function waitFor<T>(what: string, get: () => Promise<T>, ok: (v: T) => boolean): Promise<T> {
  const end = Date.now() + 15_000;
  for (;;) {
    const v = await get();
    if (ok(v)) return v;
    if (Date.now() > end) assert.fail(`timed out waiting for ${what}: ${JSON.stringify(v).slice(0, 500)}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** Prometheus text format 0.0.4: every line a comment (`# HELP`/`# TYPE`) or `name{labels} value`. */
function parsePrometheus(text: string): Map<string, number> {
  const values = new Map<string, number>();
  const types = new Map<string, string>();
  for (const line of text.split('\n')) {
    if (line === '') continue;
    const comment = /^# (HELP|TYPE) ([a-zA-Z_:][a-zA-Z0-9_:]*) (.*)$/.exec(line);
    if (comment) {
      if (comment[1] === 'TYPE') {
        assert.ok(['counter', 'gauge', 'histogram', 'summary', 'untyped'].includes(comment[3]!), line);
        types.set(comment[2]!, comment[3]!);
      }
      continue;
    }
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{(?:[a-zA-Z_][a-zA-Z0-9_]*="(?:[^"\\]|\\.)*",?)*\})? (-?[0-9.eE+-]+|NaN|\+Inf|-Inf)$/.exec(line);
    assert.ok(m, `not a Prometheus sample line: ${JSON.stringify(line)}`);
    const base = m[1]!.replace(/_(bucket|sum|count)$/, '');
    assert.ok(types.has(m[1]!) || types.has(base), `${m[1]} has a # TYPE line`);
    values.set(m[1]! + (m[2] ?? ''), Number(m[3]));
  }
  return values;
}

describe('server metrics', { timeout: 60_000 }, () => {
  before(async () => {
    server = await startServer({ db: ':memory:', port: 0, metrics: { intervalMs: INTERVAL_MS } });
    client = new WeftClient(server.url, { timeoutMs: 10_000 });
    await client.deploy(QUICK);
    await client.deploy(STUCK);
  });
  after(async () => { await server?.close(); });

  it('counts instances and steps as they run, in the totals and the time series', async () => {
    const before = (await json('/api/v1/metrics')).body as MetricsBody;
    assert.equal(before.intervalMs, INTERVAL_MS);
    const ids: string[] = [];
    for (let i = 0; i < 5; i++) ids.push((await client.start({ definitionId: 'quick', input: { i } })).id);
    for (const id of ids) await server.engine.waitUntilDone(id, { timeoutMs: 10_000 });
    const after = await waitFor('the samples to hold the five instances', async () => (await json(`/api/v1/metrics?since=${before.now - 1}`)).body as MetricsBody,
      (m) => sum(m.samples, 'instancesCompleted') >= 5);
    assert.equal(after.totals.instancesStarted - before.totals.instancesStarted, 5);
    assert.equal(after.totals.instancesCompleted - before.totals.instancesCompleted, 5);
    // start, a, end: three steps each.
    assert.equal(after.totals.stepsCompleted - before.totals.stepsCompleted, 15);
    assert.equal(sum(after.samples, 'instancesStarted'), 5);
    assert.equal(sum(after.samples, 'stepsCompleted'), 15);
    const withDurations = after.samples.filter((s) => s.instanceDuration.count > 0);
    assert.equal(withDurations.reduce((n, s) => n + s.instanceDuration.count, 0), 5);
    for (const s of withDurations) {
      assert.ok(s.instanceDuration.p50 >= 0 && s.instanceDuration.p50 <= s.instanceDuration.p95 && s.instanceDuration.p95 <= s.instanceDuration.p99, JSON.stringify(s.instanceDuration));
    }
    assert.equal(after.samples.reduce((n, s) => n + s.stepDuration.count, 0), 5, 'one task step per instance');
    // Oldest first, one per interval.
    for (let i = 1; i < after.samples.length; i++) assert.ok(after.samples[i]!.t > after.samples[i - 1]!.t);
  });

  it('queue depth shows a task nobody took', async () => {
    const { id } = await client.start({ definitionId: 'stuck' });
    await server.engine.waitUntil(id, (s) => s.status === 'running', { timeoutMs: 10_000 });
    const m = await waitFor('a sample with the queued task', async () => (await json('/api/v1/metrics?limit=1')).body as MetricsBody, (b) => b.samples.length === 1 && b.samples[0]!.queued >= 1);
    assert.equal(m.samples.length, 1);
    await client.terminate(id);
    await waitFor('the queue to empty', async () => (await json('/api/v1/metrics?limit=1')).body as MetricsBody, (b) => b.samples[0]!.queued === 0);
  });

  it('Prometheus text parses and agrees with the JSON totals', async () => {
    const res = await fetch(`${server.url}/metrics`, { signal: AbortSignal.timeout(10_000) });
    assert.equal(res.status, 200);
    assert.match(res.headers.get('content-type') ?? '', /^text\/plain/);
    const text = await res.text();
    const values = parsePrometheus(text);
    const totals = ((await json('/api/v1/metrics')).body as MetricsBody).totals;
    assert.equal(values.get('weft_instances_started_total'), totals.instancesStarted);
    assert.equal(values.get('weft_instances_completed_total'), totals.instancesCompleted);
    assert.equal(values.get('weft_steps_completed_total'), totals.stepsCompleted);
    assert.ok(totals.instancesStarted >= 6);
    assert.equal(values.get('weft_instance_duration_seconds_count'), totals.instancesCompleted + totals.instancesCancelled + totals.instancesFailed + totals.instancesCompensated);
    assert.equal(values.get('weft_tasks{state="queued"}'), 0);
    // A second scrape does not count twice.
    const again = parsePrometheus(await (await fetch(`${server.url}/metrics`)).text());
    assert.equal(again.get('weft_instances_started_total'), totals.instancesStarted);
  });

  it('bad queries are 400 naming the field', async () => {
    for (const [q, field] of [['since=yesterday', 'since'], ['limit=0', 'limit'], ['colour=red', 'colour'], ['since=-5', 'since']] as const) {
      const r = await json(`/api/v1/metrics?${q}`);
      assert.equal(r.status, 400, q);
      assert.equal(r.body.error, 'invalid_input');
      assert.equal(r.body.details.field, field, q);
    }
  });

  it('the ring buffer keeps the last `history` samples, oldest first', async () => {
    let now = 1000;
    const c = new MetricsCollector(server.engine, { history: 3, clock: () => now });
    for (let i = 0; i < 5; i++) { now += 10; await c.sample(); }
    assert.deepEqual(c.samples().map((s) => s.t), [1030, 1040, 1050]);
    assert.deepEqual(c.samples(1035).map((s) => s.t), [1040, 1050]);
    assert.deepEqual(c.samples(undefined, 1).map((s) => s.t), [1050]);
  });

  it('quantiles are nearest-rank', () => {
    const v = Array.from({ length: 100 }, (_, i) => i + 1);
    assert.equal(quantile(v, 0.5), 50);
    assert.equal(quantile(v, 0.95), 95);
    assert.equal(quantile(v, 0.99), 99);
    assert.equal(quantile([7], 0.99), 7);
  });
});
