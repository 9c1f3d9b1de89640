/**
 * What used to live only in the server's memory is durable: human-task claims and reassignments
 * survive a server restart on the same database; definition versions can be deleted (204) unless
 * an instance uses them (409 `in_use`).
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { startServer, type RunningServer } from '../src/api/start.js';
import type { Definition } from '../src/model/schema.js';
import { WeftApiError, WeftClient } from '../src/sdk/client.js';

const HOLD: Definition = {
  id: 'hold', version: '1.0.0',
  steps: [
    { id: 'start', type: 'start', next: 'h' },
    { id: 'h', type: 'human', assignees: { users: ['ann'], groups: ['ops'] }, next: 'end' },
    { id: 'end', type: 'end' },
  ],
} as Definition;

async function expectError(p: Promise<unknown>, status: number, code: string): Promise<void> {
  await assert.rejects(p, (err: unknown) => err instanceof WeftApiError && err.status === status && err.code === code);
}

describe('durable claims, reassignments and definition deletion', { timeout: 60_000 }, () => {
  it('claims and reassignments survive a restart; only the claimant completes', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'weft-persist-'));
    const db = join(dir, 'weft.db');
    let server: RunningServer | undefined;
    try {
      server = await startServer({ db, port: 0 });
      let c = new WeftClient(server.url, { timeoutMs: 10_000 });
      await c.deploy(HOLD);
      const a = (await c.start({ definitionId: 'hold' })).id;
      const b = (await c.start({ definitionId: 'hold' })).id;
      await server.engine.waitUntil(a, (s) => s.status === 'waiting', { timeoutMs: 5000 });
      await server.engine.waitUntil(b, (s) => s.status === 'waiting', { timeoutMs: 5000 });
      const [ta] = await c.inbox({ instanceId: a });
      const [tb] = await c.inbox({ instanceId: b });
      assert.equal((await c.claimTask(a, ta!.task.taskId, 'ann')).claimedBy, 'ann');
      await c.reassignTask(b, tb!.task.taskId, { users: ['cy'], groups: [] });
      await server.close();

      server = await startServer({ db, port: 0 });
      c = new WeftClient(server.url, { timeoutMs: 10_000 });
      const after = await c.inbox({ instanceId: a });
      assert.equal(after[0]!.claimedBy, 'ann', 'the claim survived the restart');
      await expectError(c.claimTask(a, ta!.task.taskId, 'bob'), 409, 'invalid_state');
      const bob = new WeftClient(server.url, { timeoutMs: 10_000, headers: { 'x-weft-user': 'bob' } });
      await expectError(bob.completeTask(a, ta!.task.taskId, 'approve'), 409, 'invalid_state');
      await expectError(bob.releaseTask(a, ta!.task.taskId), 409, 'invalid_state');
      const ann = new WeftClient(server.url, { timeoutMs: 10_000, headers: { 'x-weft-user': 'ann' } });
      assert.equal((await ann.releaseTask(a, ta!.task.taskId)).claimedBy, undefined);
      await ann.claimTask(a, ta!.task.taskId);
      assert.equal((await ann.completeTask(a, ta!.task.taskId, 'approve')).status, 'completed');
      await expectError(ann.claimTask(a, ta!.task.taskId), 404, 'not_found');

      assert.deepEqual((await c.inbox({ user: 'cy' })).map((t) => t.instanceId), [b], 'the reassignment survived the restart');
      assert.deepEqual(await c.inbox({ user: 'ann', instanceId: b }), []);
      assert.deepEqual(await c.inbox({ group: 'ops', instanceId: b }), []);
    } finally {
      await server?.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('DELETE a definition version: 204 when unused, 409 in_use while an instance uses it, 404 unknown', async () => {
    const server = await startServer({ db: ':memory:', port: 0 });
    try {
      const c = new WeftClient(server.url, { timeoutMs: 10_000 });
      await c.deploy(HOLD);
      await c.deploy({ ...HOLD, version: '2.0.0' } as Definition);
      const id = (await c.start({ definitionId: 'hold', version: '1.0.0' })).id;
      await expectError(c.deleteDefinition('hold', '1.0.0'), 409, 'in_use');
      const res = await fetch(`${server.url}/api/v1/definitions/hold/versions/2.0.0`, { method: 'DELETE', signal: AbortSignal.timeout(10_000) });
      assert.equal(res.status, 204);
      await expectError(c.deleteDefinition('hold', '2.0.0'), 404, 'not_found');
      await expectError(c.getDefinition('hold', '2.0.0'), 404, 'not_found');
      await expectError(c.start({ definitionId: 'hold', version: '2.0.0' }), 404, 'not_found');
      assert.equal((await c.getDefinition('hold')).version, '1.0.0', 'latest falls back to the remaining version');
      // Still in use by a terminated instance: instances keep pinning their version.
      await c.terminate(id);
      await expectError(c.deleteDefinition('hold', '1.0.0'), 409, 'in_use');
      await expectError(c.deleteDefinition('nope', '1.0.0'), 404, 'not_found');
    } finally {
      await server.close();
    }
  });
});
