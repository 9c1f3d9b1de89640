/**
 * Several engines on one PostgreSQL database behave as one logical engine (issue 4): work started
 * on one node runs on another, caches follow other nodes' commits, commands to one instance from
 * two nodes are serialized (one wins, the other reloads and retries), a node that dies is taken
 * over, leadership moves, the outbox relay never skips a row committed late, retention deletes
 * finished instances. Each test opens its own engines on this file's own database.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import pg from 'pg';
import type { Definition } from '../src/model/schema.js';
import { ActivityRegistry } from '../src/runtime/activity.js';
import type { Engine } from '../src/runtime/api.js';
import { openEngine, type EngineInternals } from '../src/runtime/engine.js';
import { OutboxRelay } from '../src/runtime/outbox-relay.js';
import { OUTBOX_TOPIC, type LifecycleMessage } from '../src/runtime/lifecycle.js';
import { migrate } from '../src/store/postgres/migrate.js';
import { openPostgresStore } from '../src/store/postgres/store.js';
import { createTestDatabase, pgTestSetup, type TestDatabase } from './helpers/pg.js';
import { PassThrough } from 'node:stream';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runCli } from '../src/cli/program.js';
import { resolveServerSettings } from '../src/cli/server.js';
import { CliError } from '../src/cli/io.js';
import { loadMigrations as loadSqliteMigrations } from '../src/store/sqlite/migrate.js';
import { loadMigrations as loadPgMigrations } from '../src/store/postgres/migrate.js';

async function cli(args: string[]): Promise<{ code: number; out: string; err: string }> {
  const stdout = new PassThrough();
  const stderr = new PassThrough();
  let out = '';
  let err = '';
  stdout.on('data', (d) => { out += String(d); });
  stderr.on('data', (d) => { err += String(d); });
  const code = await runCli(args, { stdout, stderr, interactive: false });
  return { code, out, err };
}

describe('cluster settings and commands (no database needed)', () => {
  it('weft server reads the cluster settings from flags, env and the file, and refuses bad values clearly', () => {
    const s = resolveServerSettings({ db: 'postgres://u@h/db', pgPool: '5', retention: '7d', nodeId: 'n1', heartbeatMs: '250' }, {
      WEFT_DEAD_AFTER_MS: '1500', WEFT_TASK_LEASE_MS: '2000', WEFT_POLL_MS: '500', WEFT_LEADER_RETRY_MS: '300',
    });
    assert.deepEqual([s.db, s.pgPool, s.retentionMs, s.nodeId, s.heartbeatMs, s.deadAfterMs, s.taskLeaseMs, s.pollMs, s.leaderRetryMs],
      ['postgres://u@h/db', 5, 7 * 86_400_000, 'n1', 250, 1500, 2000, 500, 300]);
    const usage = (f: () => unknown, re: RegExp) => assert.throws(f, (e: unknown) => e instanceof CliError && re.test(e.message));
    usage(() => resolveServerSettings({ db: 'mysql://u@h/db' }, {}), /--db: unsupported database URL scheme/);
    usage(() => resolveServerSettings({ pgPool: '0' }, {}), /--pg-pool: expected an integer number of connections/);
    usage(() => resolveServerSettings({}, { WEFT_RETENTION: 'forever' }), /WEFT_RETENTION: expected a duration/);
    usage(() => resolveServerSettings({}, { WEFT_HEARTBEAT_MS: '5' }), /WEFT_HEARTBEAT_MS: expected an integer number of milliseconds, at least 10/);
  });

  it('openEngine refuses a URL of another scheme instead of creating a file named after it', async () => {
    await assert.rejects(openEngine({ db: 'mysql://u@h/db' }), /unsupported database URL "mysql:\/\/…"/);
  });

  it('weft nodes lists the server\'s nodes (an embedded server: itself, leading)', { timeout: 30_000 }, async () => {
    const { startServer } = await import('../src/api/start.js');
    const server = await startServer({ db: ':memory:', port: 0, engineOptions: { nodeId: 'solo' } });
    try {
      const r = await cli(['nodes', '--server', server.url, '--json']);
      assert.equal(r.code, 0, r.err);
      const { nodes } = JSON.parse(r.out);
      assert.deepEqual(nodes.map((n: { id: string; status: string; leader: boolean }) => [n.id, n.status, n.leader]), [['solo', 'alive', true]]);
      const table = await cli(['nodes', '--server', server.url]);
      assert.match(table.out, /solo\s+alive\s+yes/);
    } finally {
      await server.close();
    }
  });

  it('weft migrate on a SQLite file: applies what is missing, then says it is up to date', async () => {
    const file = join(mkdtempSync(join(tmpdir(), 'weft-migrate-')), 'w.db');
    const missing = await cli(['migrate', '--db', file]);
    assert.equal(missing.code, 1);
    assert.match(missing.err, /database not found/);
    const Database = (await import('better-sqlite3')).default;
    new Database(file).close(); // an empty file: nothing applied yet
    const first = await cli(['migrate', '--db', file, '--json']);
    assert.equal(first.code, 0, first.err);
    assert.deepEqual(JSON.parse(first.out).applied, loadSqliteMigrations().map((m) => `${String(m.version).padStart(3, '0')}_${m.name}`));
    const again = await cli(['migrate', '--db', file]);
    assert.equal(again.code, 0);
    assert.match(again.out, /up to date/);
  });
});


const setup = await pgTestSetup();

const FAST: EngineInternals = { heartbeatMs: 100, deadAfterMs: 1_000, leaderRetryMs: 100, pollMs: 500 };

const oneTask = (activity: string): Definition => ({
  id: `one-${activity}`, version: '1.0.0',
  steps: [
    { id: 'start', type: 'start', next: 'a' },
    { id: 'a', type: 'task', activity, next: 'end' },
    { id: 'end', type: 'end' },
  ],
});

const twoWaits: Definition = {
  id: 'two-waits', version: '1.0.0',
  steps: [
    { id: 'start', type: 'start', next: 'split' },
    { id: 'split', type: 'parallel', next: ['wa', 'wb'] },
    { id: 'wa', type: 'wait', event: 'a', next: 'join' },
    { id: 'wb', type: 'wait', event: 'b', next: 'join' },
    { id: 'join', type: 'join', next: 'end' },
    { id: 'end', type: 'end' },
  ],
};

function registry(handlers: Record<string, (input: unknown) => unknown> = {}): ActivityRegistry {
  const r = new ActivityRegistry();
  for (const [name, fn] of Object.entries(handlers)) r.register(name, async (input) => fn(input));
  return r;
}

async function until(what: string, check: () => Promise<boolean> | boolean, timeoutMs = 15_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting until ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

describe('cluster: several engines on one PostgreSQL database', { skip: setup.status === 'skip' }, () => {
  if (setup.status === 'fail') {
    it('PostgreSQL is required', () => assert.fail(setup.reason));
    return;
  }
  let db: TestDatabase;
  const open: Engine[] = [];
  before(async () => { db = await createTestDatabase(setup.status === 'ready' ? setup.adminUrl : undefined); });
  after(async () => {
    for (const e of open.splice(0)) await e.close().catch(() => undefined);
    await db?.drop();
  });

  async function node(nodeId: string, handlers: Record<string, (input: unknown) => unknown> = {}, extra: EngineInternals = {}, logs?: string[]): Promise<Engine> {
    const e = await openEngine({
      db: db.url, nodeId, activities: registry(handlers), poolSize: 4,
      ...(logs && { logger: (level, message, fields) => logs.push(`${level} ${message} ${JSON.stringify(fields ?? {})}`) }),
    }, { ...FAST, ...extra });
    open.push(e);
    return e;
  }
  async function closeNode(e: Engine): Promise<void> {
    open.splice(open.indexOf(e), 1);
    await e.close();
  }

  it('work started on one node runs on the node that has the activity; the first node sees the result', { timeout: 30_000 }, async () => {
    // No fallback poll within the test: only the notice can wake B.
    const a = await node('a-1', {}, { pollMs: 600_000 });
    const b = await node('b-1', { onlyOnB: (input) => ({ ranOn: 'b', input }) }, { pollMs: 600_000 });
    const id = await a.start(oneTask('onlyOnB'), { x: 1 });
    const done = await a.waitUntilDone(id, { timeoutMs: 20_000 });
    assert.equal(done.status, 'completed');
    assert.deepEqual(done.steps.a?.output, { ranOn: 'b', input: { x: 1 } });
    const nodes = await a.listNodes();
    assert.deepEqual(nodes.filter((n) => n.status === 'alive').map((n) => n.id).sort(), ['a-1', 'b-1']);
    assert.deepEqual(nodes.find((n) => n.id === 'b-1')?.capabilities.includes('onlyOnB'), true);
    await until('one leader', () => [a, b].filter((e) => e.isLeader()).length === 1);
    const leader = [a, b].find((e) => e.isLeader())!;
    // Another cluster on the same server leads its own database: pg_locks shows both locks.
    const otherDb = await createTestDatabase(setup.status === 'ready' ? setup.adminUrl : undefined);
    const elsewhere = await openEngine({ db: otherDb.url, nodeId: 'elsewhere', poolSize: 2 }, FAST);
    try {
      await until('the other cluster has a leader', () => elsewhere.isLeader());
      // Both views at once: a server-wide answer could satisfy at most one of them.
      assert.deepEqual((await b.listNodes()).filter((n) => n.leader).map((n) => n.id), [leader.nodeId], 'the node list names the leader of this database only');
      assert.deepEqual((await elsewhere.listNodes()).filter((n) => n.leader).map((n) => n.id), ['elsewhere']);
    } finally {
      await elsewhere.close();
      await otherDb.drop();
    }
    await closeNode(a);
    await closeNode(b);
    assert.deepEqual((await (await node('reader-1')).listNodes()).map((n) => n.id), ['reader-1'], 'a clean shutdown removes the node');
    await closeNode(open[open.length - 1]);
  });

  it('a command sent by a node with a stale cache conflicts, reloads and retries: nothing is lost', { timeout: 30_000 }, async () => {
    const logsB: string[] = [];
    const a = await node('a-2');
    const b = await node('b-2', {}, { listen: false }, logsB); // deaf: its cache is sure to be stale
    const id = await a.start(twoWaits, {});
    await a.waitUntil(id, (s) => Object.keys(s.active).length === 2, { timeoutMs: 10_000 });
    assert.equal((await b.getState(id))?.status, 'waiting', 'B caches the instance');
    await a.send({ type: 'DeliverEvent', instanceId: id, name: 'a', payload: 1 });
    await b.send({ type: 'DeliverEvent', instanceId: id, name: 'b', payload: 2 });
    assert.ok(logsB.some((l) => l.includes('commit failed') && l.includes('SeqConflictError')), 'B hit the optimistic seq check');
    const done = await a.waitUntilDone(id, { timeoutMs: 10_000 });
    assert.equal(done.status, 'completed');
    const names = (await a.getHistory(id)).filter((e) => e.type === 'StepCompleted').map((e) => (e as { stepId?: string }).stepId);
    assert.ok(names.includes('wa') && names.includes('wb'), 'both events were recorded');
    await closeNode(a);
    await closeNode(b);
  });

  it('a command the stale cached state would reject is re-checked against the store and applied', { timeout: 30_000 }, async () => {
    const a = await node('a-stale');
    const b = await node('b-stale', {}, { listen: false }); // deaf: its cached state stays behind
    const id = await a.start(twoWaits, {});
    await a.waitUntil(id, (s) => Object.keys(s.active).length === 2, { timeoutMs: 10_000 });
    assert.equal((await b.getState(id))?.status, 'waiting');
    await a.send({ type: 'Pause', instanceId: id });
    // On B's cached state the instance is not paused: Resume would be refused (invalid_state).
    await b.send({ type: 'Resume', instanceId: id });
    const history = await a.getHistory(id);
    assert.deepEqual(history.filter((e) => e.type === 'WorkflowPaused' || e.type === 'WorkflowResumed').map((e) => e.type), ['WorkflowPaused', 'WorkflowResumed']);
    await closeNode(a);
    await closeNode(b);
  });

  it('a timer set by one node is fired by another whose cached state predates it, and its row is not dropped', { timeout: 30_000 }, async () => {
    const a = await node('a-timer');
    const b = await node('b-timer', {}, { listen: false });
    const def: Definition = {
      id: 'late-timer', version: '1.0.0',
      steps: [
        { id: 'start', type: 'start', next: 'w' },
        { id: 'w', type: 'wait', event: 'go', next: 'pause' },
        { id: 'pause', type: 'timer', delay: '300ms', next: 'end' },
        { id: 'end', type: 'end' },
      ],
    };
    const id = await a.start(def, {});
    await a.waitUntil(id, (s) => s.steps.w !== undefined, { timeoutMs: 10_000 });
    assert.equal((await b.getState(id))?.status, 'waiting', 'B caches the state before the timer exists');
    await closeNode(a); // only B is left to fire the timer A is about to set
    const a2 = await node('a-timer-2', {}, { pollMs: 600_000 });
    await a2.send({ type: 'DeliverEvent', instanceId: id, name: 'go' });
    await closeNode(a2);
    const done = await b.waitUntilDone(id, { timeoutMs: 20_000 }).catch(async (err) => { throw new Error(`${String(err)}; timers: ${JSON.stringify(await b.getHistory(id))}`); });
    assert.equal(done.status, 'completed');
    await closeNode(b);
  });

  it("a worker's completion is not refused by a cached state that disagrees with the store's lease (defence against a cache gone wrong)", { timeout: 30_000 }, async () => {
    const a = await node('a-guard');
    const id = await a.start(oneTask('remote.only'), {});
    const [t] = await a.remote.claim({ workerId: 'w', activities: ['remote.only'] }, 1, 10_000);
    assert.equal(t?.instanceId, id);
    // Simulate a cached state that lost the task although nothing was committed (same seq).
    const cache = (a as unknown as { cache: { peek(id: string): { state: { tasks: Record<string, unknown> } } | undefined } }).cache;
    const entry = cache.peek(id);
    assert.ok(entry, 'the instance is cached');
    delete entry.state.tasks[t!.taskId];
    await a.remote.complete('w', { instanceId: id, taskId: t!.taskId, token: t!.token, attempt: t!.attempt, output: 'ok' });
    assert.equal((await a.waitUntilDone(id, { timeoutMs: 10_000 })).status, 'completed');
    await closeNode(a);
  });

  it('two nodes sending to the same instances at once: every command is applied exactly once', { timeout: 60_000 }, async () => {
    const a = await node('a-3');
    const b = await node('b-3');
    const ids = await Promise.all(Array.from({ length: 20 }, () => a.start(twoWaits, {})));
    await Promise.all(ids.map((id) => a.waitUntil(id, (s) => Object.keys(s.active).length === 2, { timeoutMs: 20_000 })));
    await Promise.all(ids.map((id) => b.getState(id))); // both nodes cache the same seq
    await Promise.all(ids.flatMap((id) => [
      a.send({ type: 'DeliverEvent', instanceId: id, name: 'a' }),
      b.send({ type: 'DeliverEvent', instanceId: id, name: 'b' }),
    ]));
    for (const id of ids) {
      const s = await b.waitUntilDone(id, { timeoutMs: 20_000 });
      assert.equal(s.status, 'completed');
      const history = await a.getHistory(id);
      const seqs = history.map((e) => e.seq);
      assert.deepEqual(seqs, seqs.map((_, i) => i + 1), 'one gap-free log');
      for (const step of ['wa', 'wb']) {
        assert.equal(history.filter((e) => e.type === 'StepCompleted' && (e as { stepId?: string }).stepId === step).length, 1, `${step} completed once`);
      }
    }
    await closeNode(a);
    await closeNode(b);
  });

  it("a node's cached state follows commits made on another node (getState, waitUntil, committed events)", { timeout: 30_000 }, async () => {
    const a = await node('a-4');
    const b = await node('b-4');
    const id = await a.start(twoWaits, {});
    await a.waitUntil(id, (s) => Object.keys(s.active).length === 2, { timeoutMs: 10_000 });
    const cachedSeq = (await a.getState(id))!.seq;
    const seen: number[] = [];
    const off = a.on('committed', (c) => { if (c.instanceId === id) seen.push(...c.events.map((e) => e.seq)); });
    const waiting = a.waitUntilDone(id, { timeoutMs: 20_000 });
    await b.send({ type: 'DeliverEvent', instanceId: id, name: 'a' });
    await b.send({ type: 'DeliverEvent', instanceId: id, name: 'b' });
    const done = await waiting;
    assert.equal(done.status, 'completed');
    await until('A has the new state', async () => (await a.getState(id))?.status === 'completed');
    const last = (await b.getState(id))!.seq;
    await until('A emitted every event B committed', () => seen.length === last - cachedSeq);
    assert.deepEqual(seen, Array.from({ length: last - cachedSeq }, (_, i) => cachedSeq + 1 + i));
    off();
    await closeNode(a);
    await closeNode(b);
  });

  it('leadership moves when the leader closes; duties start on the new leader and stop on the old', { timeout: 30_000 }, async () => {
    const a = await node('a-5');
    await until('A leads', () => a.isLeader());
    const b = await node('b-5');
    const events: string[] = [];
    a.onLeadership({ start: () => events.push('a:start'), stop: () => events.push('a:stop') });
    b.onLeadership({ start: () => events.push('b:start'), stop: () => events.push('b:stop') });
    assert.deepEqual(events, ['a:start']);
    assert.equal(b.isLeader(), false);
    await closeNode(a);
    await until('B leads', () => b.isLeader());
    assert.deepEqual(events, ['a:start', 'a:stop', 'b:start']);
    await closeNode(b);
    assert.deepEqual(events, ['a:start', 'a:stop', 'b:start', 'b:stop']);
  });

  it('a node killed while running a task is marked dead and its task is taken over at once (not after the lease)', { timeout: 60_000 }, async () => {
    // The victim runs in its own process: SIGKILL leaves its row, its lease (60 s) and its lock behind.
    const code = `
      const { openEngine } = await import(${JSON.stringify(new URL('../src/runtime/engine.ts', import.meta.url).href)});
      const { ActivityRegistry } = await import(${JSON.stringify(new URL('../src/runtime/activity.ts', import.meta.url).href)});
      const activities = new ActivityRegistry();
      activities.register('slow', () => { process.stdout.write('RUNNING\\n'); return new Promise(() => {}); });
      const e = await openEngine({ db: process.env.DB, nodeId: 'victim', activities }, { heartbeatMs: 100, leaseMs: 60000 });
      await e.start(${JSON.stringify(oneTask('slow'))}, {}, { instanceId: 'taken-over' });
    `;
    const child = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', code], { env: { ...process.env, DB: db.url }, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (d) => { out += String(d); });
    child.stderr.on('data', (d) => { err += String(d); });
    const exited = new Promise((r) => child.on('exit', r));
    try {
      await until('the victim runs the task', () => out.includes('RUNNING') || child.exitCode !== null, 30_000);
      assert.ok(out.includes('RUNNING'), `victim failed: ${err}`);
    } catch (e) {
      child.kill('SIGKILL');
      throw e;
    }
    const ran: string[] = [];
    const b = await node('rescuer', { slow: () => { ran.push('rescuer'); return 'rescued'; } }, { leaseMs: 60_000 });
    child.kill('SIGKILL');
    await exited;
    const done = await b.waitUntilDone('taken-over', { timeoutMs: 30_000 });
    assert.equal(done.status, 'completed');
    assert.deepEqual(ran, ['rescuer']);
    const victim = (await b.listNodes()).find((n) => n.id === 'victim');
    assert.equal(victim?.status, 'dead');
    await closeNode(b);
  });

  it('retention (leader): finished instances are deleted with their log; running ones stay', { timeout: 30_000 }, async () => {
    const e = await openEngine({ db: db.url, nodeId: 'keeper', retentionMs: 0, activities: registry({ quick: () => 1 }) }, { ...FAST, retentionIntervalMs: 100 });
    open.push(e);
    const running = await e.start(twoWaits, {});
    const finished = await e.start(oneTask('quick'), {});
    await e.waitUntilDone(finished, { timeoutMs: 10_000 }).catch(() => undefined); // may already be purged
    await until('the finished instance is purged', async () => (await e.getInstanceInfo(finished)) === undefined);
    assert.deepEqual(await e.getHistory(finished), []);
    assert.equal((await e.getInstanceInfo(running))?.status, 'waiting');
    await closeNode(e);
  });

  it('a result waiting for a slow commit keeps its lease: the task is not claimed and run again elsewhere', { timeout: 30_000 }, async () => {
    let runs = 0;
    let entered!: () => void;
    const running = new Promise<void>((r) => { entered = r; });
    let release!: () => void;
    const gate = new Promise<void>((r) => { release = r; });
    const a = await node('slow-commit-a', { once: async () => { runs++; entered(); await gate; return 'a'; } }, { leaseMs: 300 });
    const b = await node('slow-commit-b', { once: () => { runs++; return 'b'; } }, { leaseMs: 300, pollMs: 100 });
    const id = await a.start(oneTask('once'), {});
    await running;
    const raw = new pg.Client({ connectionString: db.url });
    await raw.connect();
    try {
      // Hold the instance row: A's commit of the result waits on it for many lease lengths.
      await raw.query('BEGIN');
      await raw.query('SELECT 1 FROM instances WHERE id = $1 FOR UPDATE', [id]);
      release();
      await new Promise((r) => setTimeout(r, 2_000));
      await raw.query('COMMIT');
    } finally {
      await raw.query('ROLLBACK').catch(() => undefined);
      await raw.end();
    }
    const done = await a.waitUntilDone(id, { timeoutMs: 10_000 });
    assert.equal(done.steps.a?.output, 'a');
    assert.equal(runs, 1, 'the activity ran once');
    await closeNode(a);
    await closeNode(b);
  });

  it('a finished instance leaves no task, timer or wait rows behind (hot tables stay small)', { timeout: 30_000 }, async () => {
    const e = await node('tidy', { quick: () => 1 });
    const def: Definition = {
      id: 'tidy', version: '1.0.0', timeout: '1h',
      steps: [
        { id: 'start', type: 'start', next: 'split' },
        { id: 'split', type: 'parallel', next: ['t', 'w'] },
        { id: 't', type: 'task', activity: 'quick', next: 'pause' },
        { id: 'pause', type: 'timer', delay: '10ms', next: 'join' },
        { id: 'w', type: 'wait', event: 'go', timeout: '1h', next: 'join' },
        { id: 'join', type: 'join', next: 'end' },
        { id: 'end', type: 'end' },
      ],
    };
    const id = await e.start(def, {});
    await e.waitUntil(id, (s) => s.steps.pause?.status === 'completed', { timeoutMs: 10_000 });
    await e.send({ type: 'DeliverEvent', instanceId: id, name: 'go' });
    assert.equal((await e.waitUntilDone(id, { timeoutMs: 10_000 })).status, 'completed');
    const store = await openPostgresStore(db.url, { poolSize: 1 });
    try {
      assert.deepEqual(await store.listTasks({ instanceId: id }), []);
      assert.deepEqual(await store.listTimers(id), [], 'the workflow timeout and the wait timeout are gone too');
      assert.deepEqual(await store.listWaits(id), []);
    } finally {
      await store.close();
    }
    await closeNode(e);
  });

  it('a pooled connection that breaks while checked out (a transaction in progress) does not crash the process', { timeout: 30_000 }, async () => {
    const store = await openPostgresStore(db.url, { poolSize: 2 });
    try {
      const c = await store.pool.connect();
      const { rows } = await c.query<{ pid: number }>('SELECT pg_backend_pid() AS pid');
      await c.query('BEGIN');
      const ended = new Promise((r) => c.once('end', r));
      const admin = new pg.Client({ connectionString: db.url });
      await admin.connect();
      await admin.query('SELECT pg_terminate_backend($1)', [rows[0]!.pid]); // as a server restart or a cut network would
      await admin.end();
      await ended;
      await assert.rejects(c.query('SELECT 1'));
      c.release(true);
      assert.equal((await store.pool.query<{ one: number }>('SELECT 1 AS one')).rows[0]!.one, 1, 'the pool carries on with a new connection');
    } finally {
      await store.close();
    }
  });

  it('the outbox relay delivers a row committed late with a lower id, and deletes only what it read', { timeout: 30_000 }, async () => {
    const store = await openPostgresStore(db.url, { poolSize: 3 });
    const raw = new pg.Client({ connectionString: db.url });
    await raw.connect();
    try {
      await store.pool.query('DELETE FROM outbox');
      const msg = (instanceId: string): LifecycleMessage => ({ topic: 'workflow.completed', instanceId, seq: 1, at: 1 });
      // A transaction takes an outbox id and stays open (a slow committer on another node)...
      await raw.query('BEGIN');
      await raw.query(`INSERT INTO outbox (topic, instance_id, payload, created_at) VALUES ($1, NULL, $2::jsonb, 1)`, [OUTBOX_TOPIC, JSON.stringify([msg('late')])]);
      // ...while a later commit (higher id) becomes visible first.
      await store.commit({ now: 1, instances: [], outbox: [{ topic: OUTBOX_TOPIC, payload: [msg('early')] }] });
      const seen: string[] = [];
      const relay = new OutboxRelay(store, (m) => seen.push(m.instanceId), () => undefined);
      relay.poke();
      await until('the early row is relayed', () => seen.length === 1);
      await relay.idle();
      await raw.query('COMMIT');
      relay.poke();
      await until('the late row is relayed', () => seen.length === 2);
      await relay.idle();
      assert.deepEqual(seen, ['early', 'late']);
      assert.deepEqual(await store.readOutbox(0, 10), []);
    } finally {
      await raw.query('ROLLBACK').catch(() => undefined);
      await raw.end();
      await store.close();
    }
  });

  it('weft migrate --db URL applies the PostgreSQL migrations once, and hides the password in what it prints', { timeout: 30_000 }, async () => {
    const other = await createTestDatabase(setup.status === 'ready' ? setup.adminUrl : undefined);
    try {
      const url = other.url.replace('://postgres@', '://postgres:secret@');
      const first = await cli(['migrate', '--db', url]);
      assert.equal(first.code, 0, first.err);
      assert.deepEqual(first.out.trim().split('\n'), loadPgMigrations().map((m) => `applied ${String(m.version).padStart(3, '0')}_${m.name}`));
      const again = await cli(['migrate', '--db', url]);
      assert.match(again.out, /postgres:\*\*\*@.*: up to date/);
      assert.ok(!again.out.includes('secret'));
    } finally {
      await other.drop();
    }
  });

  it('migrations: a number applied out of order (004 landing after 005) is still applied', { timeout: 30_000 }, async () => {
    const other = await createTestDatabase(setup.status === 'ready' ? setup.adminUrl : undefined);
    const c = new pg.Client({ connectionString: other.url });
    await c.connect();
    try {
      const m = (version: number) => ({ version, name: `m${version}`, sql: `CREATE TABLE t${version} (x int)` });
      assert.deepEqual(await migrate(c as unknown as pg.PoolClient, [m(1), m(2), m(3), m(5)]), [1, 2, 3, 5]);
      assert.deepEqual(await migrate(c as unknown as pg.PoolClient, [m(1), m(2), m(3), m(4), m(5)]), [4]);
      assert.deepEqual(await migrate(c as unknown as pg.PoolClient, [m(1), m(2), m(3), m(4), m(5)]), []);
    } finally {
      await c.end();
      await other.drop();
    }
  });
});
