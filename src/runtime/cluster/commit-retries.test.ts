/**
 * The commit queue under cluster conditions: a database connection that breaks for a while, and
 * batches failing because of ONE other instance's conflict (stale completions after a takeover).
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { Definition } from '../../model/schema.js';
import { LeaseLostError } from '../../store/errors.js';
import { SqliteStore } from '../../store/sqlite/store.js';
import type { CommitBatch } from '../../store/types.js';
import { ActivityRegistry } from '../activity.js';
import { openEngineWithStore } from '../engine.js';

const oneTask: Definition = {
  id: 'one', version: '1.0.0',
  steps: [{ id: 'start', type: 'start', next: 't' }, { id: 't', type: 'task', activity: 'work', next: 'end' }, { id: 'end', type: 'end' }],
};

/** A SQLite store whose next `count` commits throw `error()` (the failures a PostgreSQL node sees). */
function failingStore(failures: { count: number; error: () => Error }): SqliteStore {
  const store = new SqliteStore(':memory:');
  const commit = store.commit.bind(store);
  store.commit = async (batch: CommitBatch) => {
    if (failures.count > 0) { failures.count--; throw failures.error(); }
    return commit(batch);
  };
  return store;
}

describe('commit retries in a cluster', () => {
  it("an activity's result outlasts a database outage longer than the callers' retry budget: recorded once, not re-run", { timeout: 30_000 }, async () => {
    const failures = { count: 0, error: () => Object.assign(new Error('Connection terminated unexpectedly'), { code: undefined }) };
    const store = failingStore(failures);
    let runs = 0;
    const activities = new ActivityRegistry();
    activities.register('work', async () => { runs++; if (runs === 1) failures.count = 7; return 'done'; });
    const e = await openEngineWithStore(store, { activities }, { leaseMs: 200 });
    try {
      const id = await e.start(oneTask, {});
      const s = await e.waitUntilDone(id, { timeoutMs: 20_000 });
      assert.equal(s.status, 'completed');
      assert.equal(failures.count, 0, 'every failure was consumed');
      assert.equal(runs, 1, 'the result was retried until committed, not dropped and the activity re-run');
    } finally {
      await e.close();
    }
  });

  it("a user's command is not failed by other instances' conflicts in the same batches", { timeout: 30_000 }, async () => {
    // Every batch fails on a stale completion of ANOTHER instance, more times than a caller's budget (5).
    const failures = { count: 0, error: () => new LeaseLostError('someone-else', 'x#1') };
    const store = failingStore(failures);
    const e = await openEngineWithStore(store, {});
    try {
      await e.deploy({ ...oneTask, steps: [{ id: 'start', type: 'start', next: 'end' }, { id: 'end', type: 'end' }] });
      failures.count = 8;
      const id = await e.start('one', {});
      assert.equal((await e.waitUntilDone(id, { timeoutMs: 10_000 })).status, 'completed');
      assert.equal(failures.count, 0);
    } finally {
      await e.close();
    }
  });
});
