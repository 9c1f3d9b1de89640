import { describe, it, afterEach } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CommandRejected } from '../core/errors.js';
import type { Definition } from '../model/schema.js';
import { SqliteStore } from '../store/sqlite/store.js';
import { ActivityFailure, ActivityRegistry } from './activity.js';
import type { CommittedBatch, Engine, EngineOptions } from './api.js';
import { openEngine, openEngineWithStore } from './engine.js';

const open: Engine[] = [];
const dirs: string[] = [];
async function engine(options: EngineOptions = {}): Promise<Engine> {
  const e = await openEngine({ db: ':memory:', ...options });
  open.push(e);
  return e;
}
function tempDb(): string {
  const dir = mkdtempSync(join(tmpdir(), 'weft-engine-'));
  dirs.push(dir);
  return join(dir, 'weft.db');
}
afterEach(async () => {
  for (const e of open.splice(0)) await e.close();
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

function seq(id: string, activities: string[], extra: Partial<Definition> = {}): Definition {
  const steps: Definition['steps'] = [{ id: 'start', type: 'start', next: activities.length ? 's0' : 'end' }];
  activities.forEach((activity, i) => steps.push({ id: `s${i}`, type: 'task', activity, next: i + 1 < activities.length ? `s${i + 1}` : 'end' }));
  steps.push({ id: 'end', type: 'end' });
  return { id, version: '1.0.0', steps, ...extra };
}

const deferred = <T = void>() => {
  let resolve!: (v: T) => void;
  const promise = new Promise<T>((r) => { resolve = r; });
  return { promise, resolve };
};

describe('engine: running workflows', () => {
  it('runs a sequence of tasks to completion and records the history', async () => {
    const e = await engine();
    const batches: CommittedBatch[] = [];
    e.on('committed', (b) => batches.push(b));
    e.registerActivity('double', (input: { n: number }) => ({ n: input.n * 2 }));
    await e.deploy(seq('seq', ['double', 'double', 'noop']));
    const id = await e.start('seq', { n: 3 });
    const done = await e.waitUntilDone(id, { timeoutMs: 5000 });
    assert.equal(done.status, 'completed');
    assert.deepEqual(done.output, { n: 12 });
    const history = await e.getHistory(id);
    assert.equal(history[0].type, 'WorkflowStarted');
    assert.equal(history.at(-1)?.type, 'WorkflowCompleted');
    assert.deepEqual(history.map((x) => x.seq), history.map((_, i) => i + 1));
    assert.deepEqual(batches.flatMap((b) => b.events).map((x) => x.seq), history.map((x) => x.seq), 'committed batches carry the whole log in order');
    assert.deepEqual((await e.getHistory(id, { fromSeq: 2, limit: 2 })).map((x) => x.seq), [2, 3]);
    const at2 = await e.getStateAt(id, 2);
    assert.equal(at2?.seq, 2);
    assert.equal(at2?.status, 'running');
    assert.equal((await e.getState(id))?.status, 'completed');
    const list = await e.listInstances({ status: ['completed'] });
    assert.deepEqual(list.map((i) => i.id), [id]);
    assert.equal(list[0].definitionId, 'seq');
  });

  it('returns the same instance for the same idempotency key, even when started concurrently', async () => {
    const e = await engine();
    await e.deploy(seq('idem', ['noop']));
    const ids = await Promise.all([1, 2, 3].map(() => e.start('idem', {}, { idempotencyKey: 'once' })));
    assert.equal(new Set(ids).size, 1);
    assert.equal(await e.start('idem', {}, { idempotencyKey: 'once' }), ids[0]);
    assert.equal((await e.listInstances()).length, 1);
    await e.waitUntilDone(ids[0], { timeoutMs: 5000 });
  });

  it('rejects oversized input before writing anything', async () => {
    const e = await engine({ maxPayloadBytes: 100 });
    await e.deploy(seq('big', ['noop']));
    await assert.rejects(e.start('big', { text: 'x'.repeat(200) }), (err: unknown) => err instanceof CommandRejected && err.code === 'payload_too_large');
    assert.equal((await e.listInstances()).length, 0);
  });

  it('rejects an invalid definition listing its issues', async () => {
    const e = await engine();
    const bad = { id: 'bad', version: '1.0.0', steps: [{ id: 'start', type: 'start', next: 'nowhere' }, { id: 'end', type: 'end' }] } as Definition;
    await assert.rejects(e.deploy(bad), (err: unknown) => err instanceof Error && err.name === 'DefinitionError' && /nowhere/.test(err.message));
  });

  it('rejects a bad command without changing anything', async () => {
    const e = await engine();
    await e.deploy(seq('rej', ['slow']));
    const gate = deferred();
    e.registerActivity('slow', () => gate.promise);
    const id = await e.start('rej', {});
    const before = await e.getState(id);
    await assert.rejects(e.send({ type: 'CompleteActivity', instanceId: id, taskId: 'nope', attempt: 1 }), (err: unknown) => err instanceof CommandRejected && err.code === 'stale');
    await assert.rejects(e.send({ type: 'Resume', instanceId: 'missing' }), (err: unknown) => err instanceof CommandRejected && err.code === 'not_found');
    assert.deepEqual(await e.getState(id), before);
    gate.resolve();
    await e.waitUntilDone(id, { timeoutMs: 5000 });
  });

  it('retries a failing activity through a durable retry timer', async () => {
    const e = await engine();
    let calls = 0;
    e.registerActivity('flaky', () => {
      calls++;
      if (calls < 3) throw new Error('not yet');
      return { ok: true };
    });
    await e.deploy(seq('flaky', ['flaky'], { retry: { maxAttempts: 5, initialInterval: '10ms', jitter: 0 } }));
    const id = await e.start('flaky', {});
    const done = await e.waitUntilDone(id, { timeoutMs: 5000 });
    assert.equal(done.status, 'completed');
    assert.equal(calls, 3);
    const failed = (await e.getHistory(id)).filter((x) => x.type === 'ActivityFailed');
    assert.deepEqual(failed.map((x) => (x as { attempt: number }).attempt), [1, 2]);
  });

  it('fails with a stable code when an activity throws ActivityFailure (non-retryable)', async () => {
    const e = await engine();
    e.registerActivity('boom', () => { throw new ActivityFailure('card_declined', 'declined', { nonRetryable: true }); });
    await e.deploy(seq('boom', ['boom']));
    const done = await e.waitUntilDone(await e.start('boom', {}), { timeoutMs: 5000 });
    assert.equal(done.status, 'failed');
    assert.equal(done.error?.code, 'card_declined');
  });

  it('runs parallel branches and a timer step', async () => {
    const e = await engine();
    const def: Definition = {
      id: 'par', version: '1.0.0',
      steps: [
        { id: 'start', type: 'start', next: 'split' },
        { id: 'split', type: 'parallel', next: ['a', 'b'] },
        { id: 'a', type: 'task', activity: 'noop', next: 'join' },
        { id: 'b', type: 'timer', delay: '30ms', next: 'join' },
        { id: 'join', type: 'join', next: 'end' },
        { id: 'end', type: 'end' },
      ],
    };
    await e.deploy(def);
    const t0 = Date.now();
    const done = await e.waitUntilDone(await e.start('par', {}), { timeoutMs: 5000 });
    assert.equal(done.status, 'completed');
    assert.ok(Date.now() - t0 >= 25, 'the timer really waited');
  });

  it('delivers published events to waiting instances by correlation key', async () => {
    const e = await engine();
    const def: Definition = {
      id: 'waiter', version: '1.0.0',
      steps: [
        { id: 'start', type: 'start', next: 'w' },
        { id: 'w', type: 'wait', event: 'paid', correlation: 'input.order', next: 'end' },
        { id: 'end', type: 'end' },
      ],
    };
    await e.deploy(def);
    const a = await e.start('waiter', { order: 1 });
    const b = await e.start('waiter', { order: 2 });
    await e.waitUntil(a, (s) => s.status === 'waiting' || Object.values(s.active).some((r) => r.status === 'waiting_event'), { timeoutMs: 5000 });
    assert.equal(await e.publishEvent('paid', 3, {}), 0);
    assert.equal(await e.publishEvent('paid', 1, { amount: 5 }), 1);
    const done = await e.waitUntilDone(a, { timeoutMs: 5000 });
    assert.equal(done.status, 'completed');
    assert.notEqual((await e.getState(b))?.status, 'completed');
  });

  it('opens human tasks and completes them by command', async () => {
    const e = await engine();
    const def: Definition = {
      id: 'approval', version: '1.0.0',
      steps: [
        { id: 'start', type: 'start', next: 'ok' },
        { id: 'ok', type: 'human', title: 'Approve?', assignees: { users: ['ann'] }, next: 'end' },
        { id: 'end', type: 'end' },
      ],
    };
    await e.deploy(def);
    const id = await e.start('approval', {});
    const [task] = await e.listHumanTasks({ instanceId: id, status: 'open' });
    assert.equal(task.stepId, 'ok');
    assert.deepEqual(task.task.users, ['ann']);
    await e.send({ type: 'CompleteHumanTask', instanceId: id, taskId: task.task.taskId, action: 'approve', by: 'ann' });
    assert.equal((await e.waitUntilDone(id, { timeoutMs: 5000 })).status, 'completed');
    assert.deepEqual(await e.listHumanTasks({ instanceId: id, status: 'open' }), []);
  });

  it('starts children and resumes the parent in the same engine', async () => {
    const e = await engine();
    e.registerActivity('inc', (x: { n: number }) => ({ n: x.n + 1 }));
    await e.deploy(seq('child', ['inc']));
    const parent: Definition = {
      id: 'parent', version: '1.0.0',
      steps: [
        { id: 'start', type: 'start', next: 'sub' },
        { id: 'sub', type: 'subworkflow', workflow: 'child', version: '^1', input: { n: '${input.n}' }, next: 'end' },
        { id: 'end', type: 'end' },
      ],
    };
    await e.deploy(parent);
    const id = await e.start('parent', { n: 1 });
    const done = await e.waitUntilDone(id, { timeoutMs: 5000 });
    assert.equal(done.status, 'completed');
    const children = await e.listInstances();
    const child = children.find((c) => c.parentId === id);
    assert.ok(child, 'the child row points at its parent');
    assert.equal(child.status, 'completed');
  });

  it('cancelling an instance aborts its running activity', async () => {
    const e = await engine();
    const started = deferred();
    let aborted = false;
    e.registerActivity('hang', (_input, ctx) => new Promise((_resolve, reject) => {
      started.resolve();
      ctx.signal.addEventListener('abort', () => { aborted = true; reject(new Error('aborted')); });
    }));
    await e.deploy(seq('hang', ['hang']));
    const id = await e.start('hang', {});
    await started.promise;
    await e.send({ type: 'Cancel', instanceId: id, reason: 'test' });
    assert.equal((await e.waitUntilDone(id, { timeoutMs: 5000 })).status, 'cancelled');
    assert.equal(aborted, true);
    assert.deepEqual((await e.getHistory(id)).filter((x) => x.type === 'ActivityFailed'), [], 'an aborted handler records nothing');
  });

  it('times out an attempt (start-to-close) and a silent one (heartbeat)', async () => {
    const e = await engine();
    e.registerActivity('hang', (_i, ctx) => new Promise((_r, reject) => ctx.signal.addEventListener('abort', () => reject(new Error('aborted')))));
    const def = (id: string, extra: Record<string, unknown>): Definition => ({
      id, version: '1.0.0', retry: { maxAttempts: 1 },
      steps: [{ id: 'start', type: 'start', next: 't' }, { id: 't', type: 'task', activity: 'hang', ...extra, next: 'end' }, { id: 'end', type: 'end' }],
    } as Definition);
    await e.deploy(def('to', { timeout: '30ms' }));
    await e.deploy(def('hb', { heartbeatTimeout: '30ms' }));
    const a = await e.waitUntilDone(await e.start('to', {}), { timeoutMs: 5000 });
    const b = await e.waitUntilDone(await e.start('hb', {}), { timeoutMs: 5000 });
    assert.equal(a.status, 'failed');
    assert.equal(a.error?.code, 'timeout');
    assert.equal(b.status, 'failed');
    assert.equal(b.error?.code, 'heartbeat_timeout');
  });

  it('keeps heartbeat details for the next attempt, and heartbeats keep a slow activity alive', async () => {
    const e = await engine();
    const seen: unknown[] = [];
    e.registerActivity('beat', async (_input, ctx) => {
      seen.push(ctx.lastHeartbeat);
      for (let i = 0; i < 5; i++) {
        ctx.heartbeat({ attempt: ctx.attempt, progress: i });
        await new Promise((r) => setTimeout(r, 10));
      }
      if (ctx.attempt === 1) throw new Error('try again');
      return { ok: true };
    });
    await e.deploy({
      id: 'beat', version: '1.0.0', retry: { maxAttempts: 2, initialInterval: '5ms', jitter: 0 },
      steps: [{ id: 'start', type: 'start', next: 't' }, { id: 't', type: 'task', activity: 'beat', heartbeatTimeout: '30ms', next: 'end' }, { id: 'end', type: 'end' }],
    });
    const notices: string[] = [];
    e.on('activity', (n) => notices.push(n.type));
    const done = await e.waitUntilDone(await e.start('beat', {}), { timeoutMs: 5000 });
    assert.equal(done.status, 'completed', JSON.stringify(done.error));
    assert.deepEqual(seen, [undefined, { attempt: 1, progress: 4 }]);
    assert.ok(notices.includes('started') && notices.includes('heartbeat') && notices.includes('finished'));
  });

  it('bounds in-process concurrency and drains the backlog', async () => {
    const e = await engine({ concurrency: 2 });
    let now = 0;
    let peak = 0;
    e.registerActivity('work', async () => {
      peak = Math.max(peak, ++now);
      await new Promise((r) => setTimeout(r, 2));
      now--;
      return {};
    });
    await e.deploy(seq('bounded', ['work', 'work']));
    const ids = await Promise.all(Array.from({ length: 10 }, () => e.start('bounded', {})));
    for (const id of ids) assert.equal((await e.waitUntilDone(id, { timeoutMs: 5000 })).status, 'completed');
    assert.ok(peak <= 2, `peak ${peak}`);
  });

  it('leaves tasks of unknown activities queued until a handler is registered', async () => {
    const warnings: string[] = [];
    const e = await engine({ logger: (level, message) => { if (level === 'warn') warnings.push(message); } });
    await e.deploy(seq('remote', ['remote.thing']));
    const id = await e.start('remote', {});
    await new Promise((r) => setTimeout(r, 20));
    assert.equal((await e.getState(id))?.status, 'running');
    assert.equal(warnings.filter((w) => w.includes('remote.thing')).length, 1);
    e.registerActivity('remote.thing', () => ({ late: true }));
    assert.equal((await e.waitUntilDone(id, { timeoutMs: 5000 })).status, 'completed');
  });
});

describe('engine: durability', () => {
  it('runs correctly when the state cache is far smaller than the working set (reloads from snapshot + log)', async () => {
    const e = await openEngineWithStore(new SqliteStore(':memory:'), { snapshotEvery: 3 }, { cacheSize: 2 });
    open.push(e);
    e.registerActivity('jitter', async (x: { n: number }) => { await new Promise((r) => setTimeout(r, Math.random() * 5)); return { n: x.n + 1 }; });
    await e.deploy(seq('small-cache', ['jitter', 'jitter', 'jitter', 'jitter']));
    const ids = await Promise.all(Array.from({ length: 20 }, (_, i) => e.start('small-cache', { n: i })));
    const done = await Promise.all(ids.map((id) => e.waitUntilDone(id, { timeoutMs: 10_000 })));
    done.forEach((s, i) => {
      assert.equal(s.status, 'completed');
      assert.deepEqual(s.output, { n: i + 4 });
    });
    const history = await e.getHistory(ids[0]);
    const rebuilt = await e.getStateAt(ids[0], history.length);
    assert.deepEqual(JSON.parse(JSON.stringify(rebuilt)), done[0]);
  });

  it('re-runs tasks left running at close from their attempt, and keeps snapshots consistent', async () => {
    const db = tempDb();
    const first = await openEngine({ db, snapshotEvery: 3 });
    const started = deferred();
    first.registerActivity('step', () => { started.resolve(); return new Promise(() => undefined); });
    await first.deploy(seq('durable', ['noop', 'noop', 'step', 'noop']));
    const id = await first.start('durable', {}, { idempotencyKey: 'k' });
    await started.promise;
    const before = await first.getState(id);
    await first.close();

    const registry = new ActivityRegistry().register('step', (_i, ctx) => ({ attempt: ctx.attempt }));
    const store = new SqliteStore(db);
    const second = await openEngineWithStore(store, { activities: registry, snapshotEvery: 3 });
    open.push(second);
    assert.equal(await second.start('durable', {}, { idempotencyKey: 'k' }), id, 'idempotency survives restarts');
    const done = await second.waitUntilDone(id, { timeoutMs: 5000 });
    assert.equal(done.status, 'completed');
    const history = await second.getHistory(id);
    const completions = history.filter((x) => x.type === 'StepCompleted' && (x as { stepId: string }).stepId === 's2');
    assert.equal(completions.length, 1);
    assert.equal((completions[0] as { attempt?: number }).attempt, 1);
    assert.ok((await store.getSnapshot(id)) !== undefined, 'snapshots were written');
    // Time travel from a snapshot gives the same state as folding from the start.
    const mid = before!.seq;
    const at = await second.getStateAt(id, mid);
    const json = (x: unknown) => JSON.parse(JSON.stringify(x));
    assert.deepEqual(json(at), json(before));
  });
});
