/**
 * Namespaces: the caller's namespace (from the authentication hook; by default the
 * `x-weft-namespace` header) is stored on the definitions it deploys and on the instances it
 * starts; lists show only the caller's namespace and ids of another namespace are 404.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { startServer, type RunningServer } from '../src/api/start.js';
import type { Definition } from '../src/model/schema.js';
import { openEngineWithStore } from '../src/runtime/engine.js';
import { WeftApiError, WeftClient } from '../src/sdk/client.js';
import { SqliteStore } from '../src/store/sqlite/store.js';

const hold = (id: string): Definition => ({
  id, version: '1.0.0',
  steps: [
    { id: 'start', type: 'start', next: 'h' },
    { id: 'h', type: 'human', assignees: { users: ['ann'] }, next: 'end' },
    { id: 'end', type: 'end' },
  ],
} as Definition);

async function waitFor(p: () => Promise<boolean>): Promise<void> {
  const end = Date.now() + 5000;
  while (!(await p())) {
    if (Date.now() > end) assert.fail('timed out');
    await new Promise((r) => setTimeout(r, 20));
  }
}

async function expectError(p: Promise<unknown>, status: number, code: string): Promise<void> {
  await assert.rejects(p, (err: unknown) => err instanceof WeftApiError && err.status === status && err.code === code);
}

describe('namespaces', { timeout: 30_000 }, () => {
  let server: RunningServer;
  let billing: WeftClient;
  let ops: WeftClient;
  before(async () => {
    server = await startServer({ db: ':memory:', port: 0 });
    billing = new WeftClient(server.url, { timeoutMs: 10_000, headers: { 'x-weft-namespace': 'billing' } });
    ops = new WeftClient(server.url, { timeoutMs: 10_000 }); // `default`
  });
  after(async () => { await server?.close(); });

  it('definitions: stored with the caller namespace, listed and read only there; ids belong to one namespace', async () => {
    await billing.deploy(hold('invoice'));
    await ops.deploy(hold('ticket'));
    assert.deepEqual((await billing.listDefinitions()).map((d) => d.id), ['invoice']);
    assert.deepEqual((await ops.listDefinitions()).map((d) => d.id), ['ticket']);
    assert.equal((await billing.getDefinition('invoice')).id, 'invoice');
    await expectError(ops.getDefinition('invoice'), 404, 'not_found');
    await expectError(ops.getDefinition('invoice', '1.0.0'), 404, 'not_found');
    await expectError(ops.deleteDefinition('invoice', '1.0.0'), 404, 'not_found');
    await expectError(ops.deploy({ ...hold('invoice'), version: '2.0.0' } as Definition), 409, 'not_allowed');
    await expectError(billing.deploy({ ...hold('declared'), namespace: 'elsewhere' } as Definition), 400, 'invalid_input');
    assert.equal((await billing.deploy({ ...hold('declared2'), namespace: 'billing' } as Definition)).created, true);
    assert.deepEqual((await server.engine.listDefinitions()).map((d) => [d.id, d.namespace]).sort(), [['declared2', 'billing'], ['invoice', 'billing'], ['ticket', 'default']]);
  });

  it('instances: started in the caller namespace; lists filter by it; another namespace gets 404', async () => {
    const b = (await billing.start({ definitionId: 'invoice' })).id;
    const o = (await ops.start({ definitionId: 'ticket' })).id;
    await expectError(ops.start({ definitionId: 'invoice' }), 404, 'not_found');
    assert.equal((await server.engine.getInstanceInfo(b))?.namespace, 'billing');
    assert.equal((await server.engine.getInstanceInfo(o))?.namespace, 'default');
    assert.deepEqual((await billing.listInstances()).items.map((i) => i.id), [b]);
    assert.deepEqual((await ops.listInstances()).items.map((i) => i.id), [o]);
    assert.equal((await billing.listInstances()).items[0]!.namespace, 'billing');
    assert.equal((await billing.getInstance(b)).id, b);
    await expectError(ops.getInstance(b), 404, 'not_found');
    await expectError(ops.history(b), 404, 'not_found');
    await expectError(ops.pause(b), 404, 'not_found');
    // Human tasks: the inbox shows the caller's namespace; another namespace's task is 404.
    await waitFor(async () => (await billing.inbox({ user: 'ann' })).length === 1);
    assert.deepEqual((await billing.inbox({ user: 'ann' })).map((t) => t.instanceId), [b]);
    await waitFor(async () => (await ops.inbox({ user: 'ann' })).length === 1);
    assert.deepEqual((await ops.inbox({ user: 'ann' })).map((t) => t.instanceId), [o]);
    const [tb] = await billing.inbox({ instanceId: b });
    await expectError(ops.claimTask(b, tb!.task.taskId, 'ann'), 404, 'not_found');
    await expectError(ops.completeTask(b, tb!.task.taskId, 'approve'), 404, 'not_found');
    assert.equal((await billing.claimTask(b, tb!.task.taskId, 'ann')).claimedBy, 'ann');
    assert.equal((await billing.pause(b)).status, 'paused');
  });

  it('embedded: a definition\'s own `namespace` field places it and its instances; listInstances filters', async () => {
    const engine = await openEngineWithStore(new SqliteStore(':memory:'), {});
    try {
      await engine.deploy({ ...hold('mine'), namespace: 'team-a' } as Definition);
      await engine.deploy(hold('plain'));
      const a = await engine.start('mine', {});
      const p = await engine.start('plain', {});
      assert.deepEqual((await engine.listInstances({ namespace: 'team-a' })).map((i) => i.id), [a]);
      assert.deepEqual((await engine.listInstances({ namespace: 'default' })).map((i) => i.id), [p]);
      await assert.rejects(engine.start('mine', {}, { namespace: 'default' }), /not deployed/);
    } finally {
      await engine.close();
    }
  });
});
