/**
 * Harness of the fault tests (test/cluster-*.test.ts): real `weft server --db postgres://…` node
 * processes and `weft worker` processes, started, SIGKILLed and restarted by the test; instances
 * started over HTTP; progress and histories read straight from the database, so checks do not
 * depend on which nodes are up.
 *
 * `WEFT_CLUSTER_LOGS=DIR` appends every process's output to `DIR/<name>.log` (to debug a failure).
 *
 * Every process a `Cluster` starts is SIGKILLed by `cluster.stop()` (call it in `after()`), and by
 * an exit hook if the test process ends without calling it.
 */
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { appendFileSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, it } from 'node:test';
import pg from 'pg';
import { WeftApiError, WeftClient } from '../../src/sdk/client.js';
import { pgTestSetup } from './pg.js';
import type { EngineEvent } from '../../src/core/types.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const BIN = fileURLToPath(new URL('../../bin/weft.js', import.meta.url));
export const FIXTURES = fileURLToPath(new URL('../fixtures/cluster/', import.meta.url));
export const NODE_ACTIVITIES = `${FIXTURES}node.activities.mjs`;
export const WORKER_ACTIVITIES = `${FIXTURES}worker.activities.mjs`;
/** The mixed definitions of the kill test (sequential, parallel + join, decision, timer, retry). */
export const MIXED_DEFINITIONS = ['sequential', 'parallel', 'decision', 'timer', 'retry'];
/** Their ids, in the same order. */
export const MIXED_DEFINITION_IDS = ['cluster-seq', 'cluster-par', 'cluster-decide', 'cluster-timer', 'cluster-retry'];
/** Instance `i` of a mixed run: the shapes round-robin, input `{n: i}` (the decision branches on its parity). */
export const mixedInstance = (i: number) => ({ definitionId: MIXED_DEFINITION_IDS[i % MIXED_DEFINITION_IDS.length]!, input: { n: i } });

/**
 * Short heartbeat, dead-after and lease settings, so a killed or cut-off node is taken over in
 * seconds rather than the production defaults' tens of seconds. Not shorter: on a loaded 2-core
 * machine (load average 10-20) a starved node misses a 1.5 s dead-after bound and is declared
 * dead while alive — safe (its leases are refused afterwards) but wasteful.
 */
export const FAST_NODE_SETTINGS: Record<string, string> = {
  WEFT_HEARTBEAT_MS: '500',
  WEFT_DEAD_AFTER_MS: '5000',
  WEFT_TASK_LEASE_MS: '3000',
  WEFT_LEASE_MS: '3000',
  WEFT_POLL_MS: '500',
  WEFT_LEADER_RETRY_MS: '500',
  WEFT_PG_POOL: '4',
};

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * `describe(title, body)` when PostgreSQL is reachable; otherwise a loudly skipped suite, or a
 * failing test with `CI=true` (see test/helpers/pg.ts). `body` gets the admin URL.
 */
export async function describeWithPostgres(title: string, body: (adminUrl: string) => void): Promise<void> {
  const setup = await pgTestSetup();
  if (setup.status === 'skip') describe(title, { skip: setup.reason }, () => undefined);
  else if (setup.status === 'fail') it(`${title}: PostgreSQL is reachable (required with CI=true)`, () => assert.fail(setup.reason));
  else describe(title, () => body(setup.adminUrl));
}

/** One child process with its recent output kept for failure messages. */
class Proc {
  child: ChildProcess | undefined;
  private lines: string[] = [];
  /** Everything printed since the first start (bounded), for tests that wait for a log line. */
  private transcript = '';
  exited: Promise<void> = Promise.resolve();

  constructor(readonly name: string, public args: string[], private readonly env: Record<string, string>) {}

  get running(): boolean { return this.child !== undefined && this.child.exitCode === null && this.child.signalCode === null; }

  /** Spawns; resolves with the first stdout match of `ready` (fails if the process exits or `timeoutMs` passes first). */
  start(ready: RegExp, timeoutMs = 90_000): Promise<RegExpMatchArray> {
    const child = spawn(process.execPath, [BIN, ...this.args], {
      cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, WEFT_CLI_FROM_SOURCE: '1', ...this.env },
    });
    this.child = child;
    live.add(child);
    this.exited = new Promise((resolve) => child.once('exit', () => { live.delete(child); resolve(); }));
    return new Promise((resolve, reject) => {
      let out = '';
      const timer = setTimeout(() => { child.kill('SIGKILL'); reject(new Error(`${this.name} did not start in ${timeoutMs} ms:\n${this.recent()}`)); }, timeoutMs);
      const keep = (stream: string) => (d: Buffer) => {
        const text = String(d);
        if (this.transcript.length < 4_000_000) this.transcript += text;
        if (process.env.WEFT_CLUSTER_LOGS) appendFileSync(join(process.env.WEFT_CLUSTER_LOGS, `${this.name}.log`), text);
        for (const line of text.split('\n')) if (line.trim()) this.lines.push(`[${stream}] ${line}`);
        if (this.lines.length > 300) this.lines = this.lines.slice(-200);
        if (stream === 'out') {
          out += text;
          const m = out.match(ready);
          if (m) { clearTimeout(timer); out = ''; resolve(m); }
        }
      };
      child.stdout!.on('data', keep('out'));
      child.stderr!.on('data', keep('err'));
      child.once('exit', (code, signal) => { clearTimeout(timer); reject(new Error(`${this.name} exited (${signal ?? code}) before it was ready:\n${this.recent()}`)); });
    });
  }

  async kill(signal: NodeJS.Signals = 'SIGKILL'): Promise<void> {
    if (this.running) this.child!.kill(signal);
    await this.exited;
  }

  /** The last `n` lines printed (without the validator's start-up chatter). */
  recent(n = 40): string { return this.lines.filter((l) => !l.includes('strict mode:')).slice(-n).join('\n'); }

  /** Lines of everything printed (stdout and stderr, all starts) that match `re`. */
  grep(re: RegExp): string[] { return this.transcript.split('\n').filter((l) => re.test(l)); }
}

const live = new Set<ChildProcess>();
process.once('exit', () => { for (const c of live) c.kill('SIGKILL'); });

export interface NodeOptions {
  /** Database URL of this node (default the cluster's; the partition test routes one node through a proxy). */
  db?: string;
  /** Extra environment (settings, `WEFT_CLUSTER_HOLD_MS`, …). */
  env?: Record<string, string>;
}

export class ClusterNode {
  readonly proc: Proc;
  url = '';
  port = 0;
  client!: WeftClient;
  kills = 0;

  constructor(readonly name: string, readonly db: string, env: Record<string, string>) {
    // The port is 0 on the first start and the same port on restarts, so workers and clients
    // pointed at this node find it again.
    this.proc = new Proc(name, [], env);
  }

  async start(): Promise<void> {
    this.proc.args = ['server', '--db', this.db, '--port', String(this.port), '--activities', NODE_ACTIVITIES];
    const m = await this.proc.start(/listening on (http:\/\/\S+)/);
    this.url = m[1]!;
    this.port = Number(new URL(this.url).port);
    // Generous: on a loaded machine a node may take seconds to answer.
    this.client = new WeftClient(this.url, { timeoutMs: 30_000 });
  }

  get running(): boolean { return this.proc.running; }

  async kill(): Promise<void> { this.kills++; await this.proc.kill('SIGKILL'); }

  async restart(): Promise<void> { await this.proc.kill('SIGKILL'); await this.start(); }
}

export class ClusterWorker {
  readonly proc: Proc;
  constructor(readonly name: string, readonly serverUrl: string, capacity: number, env: Record<string, string>) {
    this.proc = new Proc(name, ['worker', '--server', serverUrl, '--activities', WORKER_ACTIVITIES, '--id', name, '--capacity', String(capacity), '--heartbeat-ms', '250'], env);
  }
  async start(): Promise<void> { await this.proc.start(/weft worker \S+ serving/); }
}

export interface ClusterOptions {
  /** The database every node uses unless told otherwise. */
  db: string;
  /** Environment of every process (defaults: `FAST_NODE_SETTINGS`). */
  env?: Record<string, string>;
  /** File the fixture activities append their executions to (`WEFT_CLUSTER_LOG`). */
  log?: string;
}

export class Cluster {
  readonly nodes: ClusterNode[] = [];
  readonly workers: ClusterWorker[] = [];
  private readonly env: Record<string, string>;
  private pool: pg.Pool;

  constructor(readonly o: ClusterOptions) {
    this.env = { ...FAST_NODE_SETTINGS, ...o.env, ...(o.log && { WEFT_CLUSTER_LOG: o.log }) };
    this.pool = new pg.Pool({ connectionString: o.db, max: 2, connectionTimeoutMillis: 5000, query_timeout: 30_000 });
    this.pool.on('error', () => undefined); // an idle connection broken by a PostgreSQL restart
  }

  /** Starts a node process named `name`; resolves once it listens. */
  async startNode(name: string, o: NodeOptions = {}): Promise<ClusterNode> {
    const node = new ClusterNode(name, o.db ?? this.o.db, { ...this.env, WEFT_NODE_ID: name, WEFT_CLUSTER_NAME: name, ...o.env });
    this.nodes.push(node);
    await node.start();
    return node;
  }

  async startWorker(name: string, node: ClusterNode, capacity = 32): Promise<ClusterWorker> {
    const worker = new ClusterWorker(name, node.url, capacity, { ...this.env, WEFT_CLUSTER_NAME: name });
    this.workers.push(worker);
    await worker.start();
    return worker;
  }

  node(name: string): ClusterNode {
    const n = this.nodes.find((x) => x.name === name);
    assert.ok(n, `no node ${name}`);
    return n;
  }

  /** A client of some node that is up (nodes come and go in the kill test), among `among` if given. */
  anyClient(among: ClusterNode[] = this.nodes): WeftClient {
    const up = among.filter((n) => n.running);
    assert.ok(up.length > 0, 'no node is running');
    return up[Math.floor(Math.random() * up.length)]!.client;
  }

  /** Deploys the fixture definitions `names` (files `test/fixtures/cluster/<name>.yaml`) through one node. */
  async deploy(names: string[]): Promise<string[]> {
    const ids: string[] = [];
    for (const name of names) {
      const text = readFileSync(`${FIXTURES}${name}.yaml`, 'utf8');
      const r = await this.nodes[0]!.client.deploy(text, 'yaml');
      ids.push(r.id);
    }
    // A server that silently opened something else (a SQLite file named like the URL) fails here.
    const stored = await this.query<{ id: string }>('SELECT DISTINCT id FROM definitions WHERE id = ANY($1)', [ids]);
    assert.equal(stored.length, new Set(ids).size, `the nodes store definitions in ${this.o.db}`);
    return ids;
  }

  /**
   * Starts `count` instances spread over the running nodes, `parallel` requests at a time. Each
   * start carries an idempotency key (`<prefix>-<i>`), so a start whose node died before
   * answering is retried on another node without starting twice.
   */
  async startInstances(count: number, pick: (i: number) => { definitionId: string; input: unknown }, o: { prefix: string; parallel?: number; deadlineMs?: number; via?: ClusterNode[] }): Promise<string[]> {
    const ids = new Array<string>(count);
    let next = 0;
    const one = async (i: number) => {
      // Bounded per instance: nodes may all be restarting for a while, but not forever.
      const deadline = Date.now() + (o.deadlineMs ?? 90_000);
      const { definitionId, input } = pick(i);
      for (let attempt = 0; ; attempt++) {
        try {
          ids[i] = (await this.anyClient(o.via).start({ definitionId, input, idempotencyKey: `${o.prefix}-${i}` })).id;
          return;
        } catch (err) {
          if (Date.now() > deadline) throw new Error(`starting instance ${i} kept failing: ${(err as Error).message}`);
          await sleep(Math.min(100 * 2 ** attempt, 1000));
        }
      }
    };
    await Promise.all(Array.from({ length: o.parallel ?? 16 }, async () => {
      while (next < count) await one(next++);
    }));
    return ids;
  }

  /** `SELECT` on the cluster database, retried while PostgreSQL is restarting. */
  async query<R extends pg.QueryResultRow>(sql: string, params: unknown[] = [], retryForMs = 60_000): Promise<R[]> {
    const end = Date.now() + retryForMs;
    for (;;) {
      try {
        return (await this.pool.query<R>(sql, params)).rows;
      } catch (err) {
        if (Date.now() > end) throw err;
        await sleep(250);
      }
    }
  }

  async statusCounts(): Promise<Record<string, number>> {
    const rows = await this.query<{ status: string; n: string }>('SELECT status, count(*) AS n FROM instances GROUP BY status');
    return Object.fromEntries(rows.map((r) => [r.status, Number(r.n)]));
  }

  /**
   * Waits until `expected` instances exist and all of them are finished (`completed`, or a final
   * failure); fails after `timeoutMs` or when nothing moved for `stallMs`, with the counts and the
   * nodes' recent output.
   */
  async waitAllFinished(expected: number, o: { timeoutMs: number; stallMs?: number; onTick?: () => void }): Promise<Record<string, number>> {
    const end = Date.now() + o.timeoutMs;
    let last = '';
    let lastChange = Date.now();
    const begun = Date.now();
    let lastReport = begun;
    for (;;) {
      const counts = await this.statusCounts();
      const finished = (counts.completed ?? 0) + (counts.failed ?? 0) + (counts.cancelled ?? 0) + (counts.terminated ?? 0);
      const total = Object.values(counts).reduce((a, b) => a + b, 0);
      if (total >= expected && finished === total) return counts;
      const key = JSON.stringify(counts) + (await this.query<{ n: string }>('SELECT count(*) AS n FROM event_chunks'))[0]!.n;
      if (key !== last) { last = key; lastChange = Date.now(); }
      if (Date.now() - lastReport > 10_000) {
        lastReport = Date.now();
        process.stderr.write(`[cluster] ${Math.round((Date.now() - begun) / 1000)} s: ${JSON.stringify(counts)}\n`);
      }
      const stalled = o.stallMs !== undefined && Date.now() - lastChange > o.stallMs;
      if (Date.now() > end || stalled) {
        assert.fail(`instances not finished (${stalled ? `no progress for ${o.stallMs} ms` : `after ${o.timeoutMs} ms`}): ${JSON.stringify(counts)} of ${expected}\n${await this.describe()}`);
      }
      o.onTick?.();
      await sleep(500);
    }
  }

  /** State of the cluster for failure messages: nodes, leftover rows, recent output of every process. */
  async describe(): Promise<string> {
    const parts: string[] = [];
    try {
      const tasks = await this.query<{ activity: string; owner: string | null; n: string }>('SELECT activity, owner, count(*) AS n FROM tasks GROUP BY activity, owner', [], 2000);
      parts.push(`tasks: ${JSON.stringify(tasks)}`);
      const timers = await this.query<{ owner: string | null; n: string }>('SELECT owner, count(*) AS n FROM timers GROUP BY owner', [], 2000);
      parts.push(`timers: ${JSON.stringify(timers)}`);
      const nodes = await this.query('SELECT id, status, heartbeat_at, died_at FROM nodes', [], 2000).catch((e: Error) => [`(nodes: ${e.message})`]);
      parts.push(`nodes: ${JSON.stringify(nodes)}`);
      const stuck = await this.query<{ id: string; definition_id: string; status: string; seq: string }>(
        "SELECT id, definition_id, status, seq FROM instances WHERE status NOT IN ('completed', 'failed', 'cancelled', 'terminated') ORDER BY id LIMIT 5", [], 2000);
      for (const inst of stuck) {
        const chunks = await this.query<{ body: EngineEvent[] }>('SELECT body FROM event_chunks WHERE instance_id = $1 ORDER BY last_seq', [inst.id], 2000);
        const events = chunks.flatMap((c) => c.body).map((e) => `${e.seq} ${e.type}${'stepId' in e ? ` ${e.stepId}` : ''}${'timerId' in e ? ` ${e.timerId}` : ''}${'attempt' in e ? ` #${e.attempt}` : ''}${'error' in e ? ` ${JSON.stringify(e.error)}` : ''}`);
        parts.push(`unfinished ${inst.id} (${inst.definition_id}, ${inst.status}, seq ${inst.seq}): ${events.join(' | ')}`);
      }
    } catch (err) {
      parts.push(`(database unreadable: ${(err as Error).message})`);
    }
    for (const p of [...this.nodes.map((n) => n.proc), ...this.workers.map((w) => w.proc)]) {
      parts.push(`--- ${p.name} (${p.running ? 'running' : 'down'})\n${p.recent(15)}`);
    }
    return parts.join('\n');
  }

  /** Every instance's events, in seq order, read from the event log. */
  async histories(): Promise<Map<string, EngineEvent[]>> {
    const rows = await this.query<{ instance_id: string; body: EngineEvent[] | string }>('SELECT instance_id, body FROM event_chunks ORDER BY instance_id, last_seq');
    const out = new Map<string, EngineEvent[]>();
    for (const r of rows) {
      const events = typeof r.body === 'string' ? JSON.parse(r.body) as EngineEvent[] : r.body;
      let list = out.get(r.instance_id);
      if (!list) out.set(r.instance_id, list = []);
      list.push(...events);
    }
    return out;
  }

  /** SIGKILLs every process this cluster started and closes its connections. */
  async stop(): Promise<void> {
    await Promise.all([...this.workers.map((w) => w.proc.kill()), ...this.nodes.map((n) => n.proc.kill())]);
    await this.pool.end().catch(() => undefined);
  }
}

export interface KillRecord {
  node: string;
  /** Instances not finished yet when the node was killed (so the kill hit work in flight). */
  unfinished: number;
  /** When it listened again, ms after the kill. */
  backAfterMs?: number;
}

/**
 * Kills a random running node with SIGKILL every `everyMs` (± half), keeps it down `downMs`, then
 * restarts it on the same port. Never takes the last running node down.
 */
export class Chaos {
  readonly kills: KillRecord[] = [];
  private stopped = false;
  private loop: Promise<void> | undefined;
  private wake: (() => void) | undefined;

  constructor(private readonly cluster: Cluster, private readonly o: { everyMs: number; downMs: number }) {}

  start(): this {
    this.loop = this.run();
    return this;
  }

  /** Stops killing and waits until every node is running again. */
  async stop(): Promise<KillRecord[]> {
    this.stopped = true;
    this.wake?.();
    await this.loop;
    if (this.failure) throw this.failure;
    for (const n of this.cluster.nodes) if (!n.running) await n.start();
    return this.kills;
  }

  private async pause(ms: number): Promise<void> {
    await new Promise<void>((resolve) => { const t = setTimeout(resolve, ms); this.wake = () => { clearTimeout(t); resolve(); }; });
  }

  private async run(): Promise<void> {
    try {
      await this.killLoop();
    } catch (err) {
      this.failure = err as Error;
    }
  }

  private failure: Error | undefined;

  private async killLoop(): Promise<void> {
    while (!this.stopped) {
      await this.pause(this.o.everyMs * (0.5 + Math.random()));
      if (this.stopped) return;
      const up = this.cluster.nodes.filter((n) => n.running);
      if (up.length < 2) continue;
      const victim = up[Math.floor(Math.random() * up.length)]!;
      const counts = await this.cluster.statusCounts().catch(() => ({} as Record<string, number>));
      const unfinished = (counts.running ?? 0) + (counts.pending ?? 0) + (counts.waiting ?? 0);
      const at = Date.now();
      await victim.kill();
      const record: KillRecord = { node: victim.name, unfinished };
      this.kills.push(record);
      await this.pause(this.o.downMs);
      // A restart that fails is retried once (the machine may be loaded); a second failure ends the run.
      await victim.start().catch(() => victim.start());
      record.backAfterMs = Date.now() - at;
    }
  }
}

export interface HistoryReport {
  instances: number;
  /** Step runs completed (each exactly once). */
  stepCompletions: number;
  /** Task attempts recorded (completed or failed), each at most once. */
  taskAttempts: number;
  /** Attempts that failed, by error code (flaky activities, lost leases of killed nodes, …). */
  failuresByCode: Record<string, number>;
  problems: string[];
}

/**
 * The exactly-once checks over a set of histories: per instance the log has no gaps and ends
 * completed; every step run started is completed exactly once; no task attempt is recorded twice
 * (completed or failed); a task run completes with an attempt that was not recorded as failed.
 */
export function checkHistories(histories: Map<string, EngineEvent[]>): HistoryReport {
  const problems: string[] = [];
  const report: HistoryReport = { instances: histories.size, stepCompletions: 0, taskAttempts: 0, failuresByCode: {}, problems };
  const problem = (id: string, what: string) => { if (problems.length < 50) problems.push(`${id}: ${what}`); };
  for (const [id, events] of histories) {
    events.forEach((e, i) => { if (e.seq !== i + 1) problem(id, `event ${i} has seq ${e.seq} (gap or duplicate)`); });
    const lastType = events.at(-1)?.type;
    if (lastType !== 'WorkflowCompleted') problem(id, `last event is ${lastType}, not WorkflowCompleted`);
    const started = new Set<string>();
    const completed = new Map<string, number>();
    const attempts = new Set<string>();
    for (const e of events) {
      if (e.type === 'StepStarted') {
        if (started.has(e.runId)) problem(id, `run ${e.runId} started twice`);
        started.add(e.runId);
      }
      let attemptKey: string | undefined;
      if (e.type === 'StepCompleted') {
        completed.set(e.runId, (completed.get(e.runId) ?? 0) + 1);
        if (e.taskId !== undefined) attemptKey = `${e.runId}/${e.attempt}`;
      }
      if (e.type === 'ActivityCompleted') attemptKey = `${e.runId}/${e.attempt}`;
      if (e.type === 'ActivityFailed') {
        attemptKey = `${e.runId}/${e.attempt}`;
        report.failuresByCode[e.error.code] = (report.failuresByCode[e.error.code] ?? 0) + 1;
      }
      if (attemptKey !== undefined) {
        if (attempts.has(attemptKey)) problem(id, `task attempt ${attemptKey} recorded twice`);
        attempts.add(attemptKey);
        report.taskAttempts++;
      }
    }
    for (const run of started) {
      const n = completed.get(run) ?? 0;
      if (n !== 1) problem(id, `run ${run} completed ${n} times`);
    }
    for (const run of completed.keys()) if (!started.has(run)) problem(id, `run ${run} completed but never started`);
    report.stepCompletions += [...completed.values()].reduce((a, b) => a + b, 0);
  }
  return report;
}

/** Lines `<what> <who> <instance> <task> <attempt>` of a `WEFT_CLUSTER_LOG` file. */
export function readExecutionLog(file: string): Array<{ what: string; who: string; instanceId: string; taskId: string; attempt: number }> {
  let text = '';
  try { text = readFileSync(file, 'utf8'); } catch { return []; }
  return text.trim().split('\n').filter(Boolean).map((line) => {
    const [what, who, instanceId, taskId, attempt] = line.split(' ');
    return { what: what!, who: who!, instanceId: instanceId!, taskId: taskId!, attempt: Number(attempt) };
  });
}

/**
 * Calls `call` until the server gives an answer about it: success, or a 4xx refusal (returned, not
 * thrown). Network errors, timeouts and 5xx (a node restarting or reconnecting) are retried until
 * `timeoutMs`.
 */
export async function untilAnswered(what: string, call: () => Promise<unknown>, timeoutMs = 90_000): Promise<{ accepted: true } | { accepted: false; error: WeftApiError }> {
  return waitUntil(what, async () => {
    try {
      await call();
      return { accepted: true as const };
    } catch (err) {
      if (err instanceof WeftApiError && err.status >= 400 && err.status < 500) return { accepted: false as const, error: err };
      throw err;
    }
  }, timeoutMs);
}

/** Drops the test database, unless `WEFT_CLUSTER_KEEP_DB=1` (then says where it is, to inspect a failure). */
export async function dropDatabase(db: { url: string; drop(): Promise<void> } | undefined): Promise<void> {
  if (!db) return;
  if (process.env.WEFT_CLUSTER_KEEP_DB === '1') { process.stderr.write(`[cluster] kept database ${db.url}\n`); return; }
  await db.drop();
}

/** Polls `check` until it returns something truthy; fails naming `what` after `timeoutMs` (nothing timed is asserted). */
export async function waitUntil<T>(what: string, check: () => Promise<T | undefined | false | null> | T | undefined | false | null, timeoutMs: number, context?: () => Promise<string> | string): Promise<T> {
  const end = Date.now() + timeoutMs;
  let lastError: unknown;
  for (;;) {
    try {
      const v = await check();
      if (v) return v;
    } catch (err) {
      lastError = err;
    }
    if (Date.now() > end) {
      assert.fail(`${what}: not reached in ${timeoutMs} ms${lastError ? ` (last error: ${(lastError as Error).message})` : ''}${context ? `\n${await context()}` : ''}`);
    }
    await sleep(200);
  }
}

export { sleep };
