// A FireTimer refused by this node's state: on one node (SQLite) the row is an orphan and goes;
// with several nodes (clustered) a refusal may come from a state another node has overtaken, so the
// row of a running instance stays and fires again after its lease (the kill test lost timers).
import { describe, it, afterEach } from 'node:test';
import assert from 'node:assert/strict';
import { CommandRejected } from '../core/errors.js';
import type { Command } from '../core/types.js';
import { SqliteStore } from '../store/sqlite/store.js';
import { TimerService } from './timers.js';

const stores: SqliteStore[] = [];
afterEach(async () => { for (const s of stores.splice(0)) await s.close(); });

async function storeWithTimer(status: 'running' | 'completed'): Promise<SqliteStore> {
  const store = new SqliteStore(':memory:');
  stores.push(store);
  await store.commit({
    now: 1,
    instances: [{
      instanceId: 'i1', expectedSeq: 0, events: [],
      create: { id: 'i1', definitionId: 'd', definitionVersion: '1', createdAt: 1, status },
      effects: { timersToSet: [{ timerId: 't1', timer: { dueAt: 10, kind: 'timer', runId: 'wait#1' } }] },
    }],
  });
  return store;
}

/** Fires the due timer with a refusing submit; resolves once the refusal has been dealt with. */
async function fireRefused(store: SqliteStore, clustered: boolean): Promise<void> {
  let settled!: () => void;
  const done = new Promise<void>((r) => { settled = r; });
  const service = new TimerService({
    store, nodeId: 'n1', clock: () => 100, leaseMs: 1000, clustered,
    log: (_level, message) => { if (message.startsWith('a timer was refused')) settled(); },
    submit: async (c: Command) => { throw new CommandRejected('not_found', `no timer in ${c.instanceId}`); },
  });
  await service.start();
  // Settled: the row was kept (the log says so) or is gone.
  for (let i = 0; i < 500; i++) {
    if ((await store.listTimers('i1')).length === 0) settled();
    const r = await Promise.race([done.then(() => true), new Promise<boolean>((r) => setTimeout(() => r(false), 20))]);
    if (r) break;
  }
  service.close();
}

describe('TimerService: a refused FireTimer', () => {
  it('one node: the orphan row is deleted', async () => {
    const store = await storeWithTimer('running');
    await fireRefused(store, false);
    assert.deepEqual(await store.listTimers('i1'), []);
  });

  it('several nodes: the row of a running instance stays (it fires again after its lease)', async () => {
    const store = await storeWithTimer('running');
    await fireRefused(store, true);
    assert.deepEqual((await store.listTimers('i1')).map((t) => t.timerId), ['t1']);
  });

  it('several nodes: the row of an ended instance is deleted', async () => {
    const store = await storeWithTimer('completed');
    await fireRefused(store, true);
    assert.deepEqual(await store.listTimers('i1'), []);
  });
});
