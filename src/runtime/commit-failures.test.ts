import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { CommandRejected } from '../core/errors.js';
import type { Definition } from '../model/schema.js';
import { SqliteStore } from '../store/sqlite/store.js';
import type { CommitBatch, Store } from '../store/types.js';
import { openEngineWithStore } from './engine.js';

const def = (activity: string): Definition => ({
  id: 'one', version: '1.0.0',
  steps: [{ id: 'start', type: 'start', next: 't' }, { id: 't', type: 'task', activity, next: 'end' }, { id: 'end', type: 'end' }],
});

/** A SQLite store whose next `failures` commits throw. */
function flakyStore(failures: { count: number; error?: () => Error }): SqliteStore {
  const store = new SqliteStore(':memory:');
  const commit = store.commit.bind(store);
  store.commit = async (batch: CommitBatch) => {
    if (failures.count > 0) {
      failures.count--;
      throw failures.error?.() ?? new Error('SQLITE_IOERR: disk I/O error');
    }
    return commit(batch);
  };
  return store;
}

describe('engine: commit failures', () => {
  it('retries a batch whose transaction failed, rebuilding state from the log', async () => {
    const failures = { count: 0 };
    const store = flakyStore(failures);
    const e = await openEngineWithStore(store);
    try {
      await e.deploy(def('noop'));
      failures.count = 2;
      const id = await e.start('one', {});
      const done = await e.waitUntilDone(id, { timeoutMs: 5000 });
      assert.equal(done.status, 'completed');
      const history = await e.getHistory(id);
      assert.deepEqual(history.map((x) => x.seq), history.map((_, i) => i + 1));
      assert.equal(history.filter((x) => x.type === 'WorkflowStarted').length, 1);
    } finally {
      await e.close();
    }
  });

  it('rejects the callers when the store keeps failing, and writes nothing', async () => {
    const failures = { count: 0 };
    const store = flakyStore(failures);
    const e = await openEngineWithStore(store);
    try {
      await e.deploy(def('noop'));
      failures.count = 100;
      await assert.rejects(e.start('one', {}), /disk I\/O error/);
      failures.count = 0;
      assert.deepEqual(await e.listInstances(), []);
    } finally {
      await e.close();
    }
  });

  it('a completion by a holder whose lease was taken over is rejected as stale and changes nothing', async () => {
    const store = new SqliteStore(':memory:');
    const e = await openEngineWithStore(store);
    try {
      let release!: () => void;
      const gate = new Promise<void>((r) => { release = r; });
      let running!: () => void;
      const started = new Promise<void>((r) => { running = r; });
      e.registerActivity('slow', async () => { running(); await gate; return { mine: true }; });
      await e.deploy(def('slow'));
      const id = await e.start('one', {});
      await started;
      // Another node takes the task over (its lease expired, say).
      store.db.prepare(`UPDATE tasks SET owner = 'other', lease_token = 'other-token'`).run();
      const notices: string[] = [];
      e.on('activity', (n) => notices.push(n.type));
      release();
      await new Promise((r) => setTimeout(r, 50));
      const state = await e.getState(id);
      assert.equal(state?.status, 'running', 'the stale completion was not recorded');
      const task = (await store.listTasks({ instanceId: id }))[0];
      assert.equal(task.lease?.token, 'other-token');
      // The new holder completes it.
      await e.send({ type: 'CompleteActivity', instanceId: id, taskId: task.taskId, attempt: task.attempt, output: { theirs: true } });
      const done = await e.waitUntilDone(id, { timeoutMs: 5000 });
      assert.deepEqual(done.output, { theirs: true });
    } finally {
      await e.close();
    }
  });

  it('a rejected command in a batch does not disturb the others in it', async () => {
    const store: Store = new SqliteStore(':memory:');
    const e = await openEngineWithStore(store);
    try {
      await e.deploy(def('noop'));
      const ids = await Promise.all([e.start('one', {}), e.start('one', {})]);
      const results = await Promise.allSettled([
        e.send({ type: 'Pause', instanceId: 'missing' }),
        e.send({ type: 'UpdateVariables', instanceId: ids[0], vars: { a: 1 } }),
      ]);
      assert.equal(results[0].status, 'rejected');
      assert.ok((results[0] as PromiseRejectedResult).reason instanceof CommandRejected);
      for (const id of ids) assert.equal((await e.waitUntilDone(id, { timeoutMs: 5000 })).status, 'completed');
    } finally {
      await e.close();
    }
  });
});
