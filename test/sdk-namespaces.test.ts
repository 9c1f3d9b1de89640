/**
 * The SDK's `namespace` option: a `WeftClient` and a `Worker` (HTTP and WebSocket transports) work
 * in their namespace — the worker runs only that namespace's tasks, `watch()` sees only it.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { startServer, type RunningServer } from '../src/api/start.js';
import type { Definition } from '../src/model/schema.js';
import { WeftClient } from '../src/sdk/client.js';
import { Worker } from '../src/sdk/worker.js';

const worky = (id: string): Definition => ({
  id, version: '1.0.0',
  steps: [
    { id: 'start', type: 'start', next: 'a' },
    { id: 'a', type: 'task', activity: 'ns.echo', next: 'end' },
    { id: 'end', type: 'end' },
  ],
} as Definition);

async function waitFor<T>(p: () => Promise<T | undefined | false>, what: string): Promise<T> {
  const end = Date.now() + 10_000;
  for (;;) {
    const v = await p();
    if (v) return v;
    if (Date.now() > end) assert.fail(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

describe('SDK namespace option', { timeout: 60_000 }, () => {
  let server: RunningServer;
  before(async () => { server = await startServer({ db: ':memory:', port: 0 }); });
  after(async () => { await server?.close(); });

  for (const transport of ['http', 'ws'] as const) {
    it(`a Worker (${transport}) with namespace runs only that namespace's tasks; watch() sees only it`, async () => {
      const ns = `team-${transport}`;
      const team = new WeftClient(server.url, { timeoutMs: 10_000, namespace: ns });
      const dflt = new WeftClient(server.url, { timeoutMs: 10_000 });
      await team.deploy(worky(`w-${transport}`));
      await dflt.deploy(worky(`d-${transport}`));
      assert.deepEqual((await team.listDefinitions()).map((d) => d.id), [`w-${transport}`]);
      const seen: string[] = [];
      const watcher = team.watch({ all: true }, { onEvents: (m) => { seen.push(m.instanceId); } });
      const ran: string[] = [];
      const worker = new Worker({
        server: server.url, namespace: ns, transport, workerId: 'same-id', pollWaitMs: 200,
        activities: { 'ns.echo': async (input: unknown) => { ran.push((input as { who: string }).who); return input; } },
      });
      worker.start();
      try {
        const other = (await dflt.start({ definitionId: `d-${transport}`, input: { who: 'default' } })).id;
        const mine = (await team.start({ definitionId: `w-${transport}`, input: { who: ns } })).id;
        await waitFor(async () => (await team.getInstance(mine)).status === 'completed', 'the team instance to complete');
        assert.deepEqual(ran, [ns]);
        assert.equal((await dflt.getInstance(other)).status, 'running', 'the default task waits for a default worker');
        assert.deepEqual((await team.workers()).map((w: any) => [w.id, w.namespace]), [['same-id', ns]]);
        assert.ok(!(await dflt.workers()).some((w: any) => w.namespace === ns));
        await dflt.terminate(other);
        await waitFor(async () => seen.includes(mine), 'the watch to see the team instance');
        assert.ok(!seen.includes(other), 'watch() never shows another namespace');
      } finally {
        await worker.stop();
        watcher.close();
      }
    });
  }
});
