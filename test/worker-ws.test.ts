/**
 * Remote workers over the WebSocket (`transport: 'ws'`): the same lease/heartbeat/cancel contract
 * as long-poll. An SDK worker runs tasks and sees cancellation; a `weft worker --transport ws`
 * killed with SIGKILL mid-activity loses its lease, another worker finishes, the history shows the
 * lost attempt and exactly one completion, and the dead worker's late completion over a socket is
 * refused `stale`. Bad messages get `invalid_input` naming the field.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import WebSocket from 'ws';
import { startServer, type RunningServer } from '../src/api/start.js';
import { REMOTE, waitFor } from './helpers/remote-workers.js';
import { WeftApiError, WeftClient } from '../src/sdk/client.js';
import { Worker } from '../src/sdk/worker.js';

let server: RunningServer;
let client: WeftClient;
let dir: string;

describe('remote workers over WebSocket', { timeout: 120_000 }, () => {
  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'weft-worker-ws-'));
    server = await startServer({ db: join(dir, 'w.db'), port: 0, engineInternals: { remoteLeaseMs: 800 } });
    client = new WeftClient(server.url, { timeoutMs: 10_000 });
    await client.deploy(REMOTE);
  });
  after(async () => {
    await server?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('an SDK worker runs tasks, heartbeats, and sees cancellation', async () => {
    let cancelled = false;
    const worker = new Worker({
      server: server.url, transport: 'ws', workerId: 'sdk-1', capacity: 4, pollWaitMs: 500, heartbeatMs: 50,
      activities: {
        'slow.work': async (input: { hold?: boolean }, ctx) => {
          if (!input.hold) return { doubled: 2 };
          ctx.heartbeat({ progress: 1 });
          await new Promise<void>((resolve) => ctx.signal.addEventListener('abort', () => { cancelled = true; resolve(); }));
          return 'never recorded';
        },
      },
    }).start();
    try {
      const { id } = await client.start({ definitionId: 'remote', input: {} });
      await waitFor(async () => (await client.getInstance(id)).status === 'completed');
      assert.deepEqual((await client.getInstance(id)).output, { doubled: 2 });
      const workers = await client.workers();
      assert.ok(workers.some((w) => w.id === 'sdk-1' && w.transport === 'ws' && w.activities.includes('slow.work')));

      const held = await client.start({ definitionId: 'remote', input: { hold: true } });
      await waitFor(async () => (await client.workers()).find((w) => w.id === 'sdk-1')?.running === 1);
      await client.cancel(held.id);
      await waitFor(async () => cancelled);
      await waitFor(async () => (await client.getInstance(held.id)).status === 'cancelled');
    } finally {
      await worker.stop();
    }
  });

  it('a worker killed mid-activity loses its lease; another worker finishes; the late completion is stale', async () => {
    const module = join(dir, 'hang.activities.mjs');
    writeFileSync(module, `export default { 'slow.work': async () => { await new Promise((r) => setTimeout(r, 600000)); return { by: 'dead' }; } };\n`);
    const child = spawn(process.execPath, ['--import', 'tsx', 'src/cli/main.ts', 'worker', '--server', server.url, '--activities', module, '--id', 'doomed', '--heartbeat-ms', '100', '--transport', 'ws'], {
      cwd: new URL('..', import.meta.url).pathname, stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stderr = '';
    child.stderr.on('data', (d) => { stderr += String(d); });
    const exited = new Promise((r) => child.once('exit', r));
    let second: Worker | undefined;
    try {
      const { id } = await client.start({ definitionId: 'remote', input: {} });
      const lease = await waitFor(async () => server.engine.remote.listLeases().find((l) => l.workerId === 'doomed' && l.instanceId === id), 20_000);
      await new Promise((r) => setTimeout(r, 300)); // a few heartbeats: the lease is alive and renewed
      assert.ok(server.engine.remote.listLeases().some((l) => l.token === lease.token), `lease still held (worker stderr: ${stderr})`);
      child.kill('SIGKILL');
      await exited;

      second = new Worker({ server: server.url, transport: 'ws', workerId: 'survivor', pollWaitMs: 300, heartbeatMs: 100, activities: { 'slow.work': async () => ({ by: 'survivor' }) } }).start();
      await waitFor(async () => (await client.getInstance(id)).status === 'completed', 45_000); // lease expiry + retry + poll; generous for a loaded machine
      assert.deepEqual((await client.getInstance(id)).output, { by: 'survivor' });

      // The dead worker's result arrives late: refused, nothing recorded.
      const before = (await client.history(id)).events.length;
      const late = await wsCall({ type: 'worker.complete', requestId: 'late', workerId: 'doomed', instanceId: id, taskId: lease.taskId, token: lease.token, attempt: lease.attempt, output: { by: 'dead' } });
      assert.deepEqual([late.type, late.error], ['error', 'stale']);
      await assert.rejects(
        client.completeTaskRun('doomed', { instanceId: id, taskId: lease.taskId, token: lease.token, attempt: lease.attempt, output: { by: 'dead' } }),
        (err: unknown) => err instanceof WeftApiError && err.status === 409 && err.code === 'stale',
      );
      const events = (await client.history(id)).events;
      assert.equal(events.length, before);
      const text = JSON.stringify(events);
      assert.match(text, /lease_expired/, 'the lost attempt is in the history');
      const completions = events.filter((e) => e.type === 'StepCompleted' && (e as { stepId?: string }).stepId === 'w');
      assert.equal(completions.length, 1, 'exactly one completion');
    } finally {
      if (child.exitCode === null && child.signalCode === null) { child.kill('SIGKILL'); await exited; }
      await second?.stop();
    }
  });

  it('worker messages validate their input; unknown leases are stale or cancelled', async () => {
    const bad = await wsCall({ type: 'worker.poll', requestId: 'b1', workerId: 'x', capacity: 1 });
    assert.deepEqual([bad.type, bad.error, bad.details.field], ['error', 'invalid_input', 'activities']);
    const noId = await wsCall({ type: 'worker.poll', requestId: 'b2', activities: ['a'] });
    assert.equal(noId.details.field, 'workerId');
    const empty = await wsCall({ type: 'worker.poll', requestId: 'p', workerId: 'x', activities: ['nothing.here'], waitMs: 50 });
    assert.deepEqual([empty.type, empty.tasks], ['result', []]);
    const beat = await wsCall({ type: 'worker.heartbeat', requestId: 'h', workerId: 'x', tasks: [{ instanceId: 'nope', taskId: 't', token: 'bad' }] });
    assert.deepEqual(beat.tasks.map((b: { cancel: boolean }) => b.cancel), [true]);
    const noAttempt = await wsCall({ type: 'worker.fail', requestId: 'f', workerId: 'x', instanceId: 'nope', taskId: 't', token: 'bad', error: { code: 'x', message: 'y' } });
    assert.equal(noAttempt.details.field, 'attempt');
    const stale = await wsCall({ type: 'worker.complete', requestId: 'c', workerId: 'x', instanceId: 'nope', taskId: 't', token: 'bad', attempt: 1 });
    assert.equal(stale.type, 'error');
  });
});

/** One request over a fresh socket; resolves with the answer carrying its requestId. */
async function wsCall(msg: Record<string, unknown>): Promise<Record<string, any>> {
  const ws = new WebSocket(server.url.replace(/^http/, 'ws') + '/api/v1/ws');
  try {
    await new Promise((resolve, reject) => { ws.once('open', resolve); ws.once('error', reject); });
    const answer = new Promise<Record<string, any>>((resolve, reject) => {
      const t = setTimeout(() => reject(new Error('no answer')), 5000);
      ws.on('message', (d) => { const m = JSON.parse(String(d)); if (m.requestId === msg.requestId) { clearTimeout(t); resolve(m); } });
    });
    ws.send(JSON.stringify(msg));
    return await answer;
  } finally {
    ws.terminate();
  }
}
