import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { SqliteStore } from '../../store/sqlite/store.js';
import { sweepDeadNodes } from './duties.js';

describe('dead-node sweep', () => {
  it('marks silent nodes dead and releases their leases, but never the sweeping leader (starved, not dead)', async () => {
    const store = new SqliteStore(':memory:');
    try {
      const node = (id: string, at: number) => store.registerNode({ id, host: 'h', pid: 1, capabilities: [], capacity: 1, startedAt: 0, heartbeatAt: at });
      await node('leader', 1_000); // its own heartbeat timer fired late: the row looks as stale as the dead one's
      await node('dead', 1_000);
      await node('fresh', 9_500);
      let announced = 0;
      const dead = await sweepDeadNodes({
        store, clock: () => 10_000, deadAfterMs: 2_000, self: 'leader',
        heartbeat: async () => { await store.heartbeatNode('leader', 10_000); },
        announce: async () => { announced++; }, log: () => undefined,
      });
      assert.deepEqual(dead, ['dead']);
      assert.equal(announced, 1);
      assert.deepEqual((await store.listNodes()).map((n) => [n.id, n.status]), [['fresh', 'alive'], ['leader', 'alive'], ['dead', 'dead']]);
    } finally {
      await store.close();
    }
  });
});
