/**
 * `weft worker --namespace NS` (in-process, stopped through the interrupt hook): the worker runs
 * only the tasks of that namespace's instances and shows in that namespace's `GET /workers`.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { after, before, describe, it } from 'node:test';
import { startServer, type RunningServer } from '../src/api/start.js';
import { workerCommand } from '../src/cli/worker.js';
import type { Definition } from '../src/model/schema.js';
import { WeftClient } from '../src/sdk/client.js';

const def = (id: string): Definition => ({
  id, version: '1.0.0',
  steps: [
    { id: 'start', type: 'start', next: 'a' },
    { id: 'a', type: 'task', activity: 'cli.echo', next: 'end' },
    { id: 'end', type: 'end' },
  ],
} as Definition);

async function waitFor(p: () => Promise<boolean>, what: string): Promise<void> {
  const end = Date.now() + 15_000;
  while (!(await p())) {
    if (Date.now() > end) assert.fail(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

describe('weft worker --namespace', { timeout: 60_000 }, () => {
  let server: RunningServer;
  let dir: string;
  before(async () => {
    server = await startServer({ db: ':memory:', port: 0 });
    dir = mkdtempSync(join(tmpdir(), 'weft-worker-ns-'));
  });
  after(async () => { await server?.close(); rmSync(dir, { recursive: true, force: true }); });

  it('serves only its namespace', async () => {
    const module = join(dir, 'echo.activities.mjs');
    writeFileSync(module, `export default { 'cli.echo': async (input) => ({ echoed: input }) };\n`);
    const team = new WeftClient(server.url, { timeoutMs: 10_000, namespace: 'team' });
    const dflt = new WeftClient(server.url, { timeoutMs: 10_000 });
    await team.deploy(def('team-flow'));
    await dflt.deploy(def('default-flow'));
    let stop: (() => void) | undefined;
    const stdout = new PassThrough();
    let out = '';
    stdout.on('data', (d) => { out += String(d); });
    const running = workerCommand({ server: server.url, activities: module, namespace: 'team', id: 'cli-w', capacity: '2' }, {
      stdout, stderr: new PassThrough(), interactive: false,
      onInterrupt: (h) => { stop = h; return () => { stop = undefined; }; },
    });
    try {
      const other = (await dflt.start({ definitionId: 'default-flow', input: { n: 0 } })).id;
      const mine = (await team.start({ definitionId: 'team-flow', input: { n: 1 } })).id;
      await waitFor(async () => (await team.getInstance(mine)).status === 'completed', 'the team instance');
      assert.deepEqual((await team.getInstance(mine)).output, { echoed: { n: 1 } });
      assert.equal((await dflt.getInstance(other)).status, 'running', 'the default task is not served');
      assert.deepEqual((await team.workers()).map((w: any) => [w.id, w.namespace]), [['cli-w', 'team']]);
      assert.deepEqual((await dflt.workers()).map((w: any) => w.id), []);
      assert.match(out, /in namespace team/);
      await dflt.terminate(other);
    } finally {
      await waitFor(async () => stop !== undefined, 'the worker to start');
      stop!();
      assert.equal(await running, 0);
    }
  });
});
