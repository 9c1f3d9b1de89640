/**
 * Remote workers: an SDK worker runs tasks for a server; a `weft worker` child process killed
 * with SIGKILL mid-activity loses its lease, the task is retried by policy on another worker, the
 * instance completes, the history shows the lost attempt and exactly one completion, and a late
 * completion with the dead worker's lease token is rejected `stale`.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { startServer, type RunningServer } from '../src/api/start.js';
import { REMOTE, waitFor } from './helpers/remote-workers.js';
import { WeftApiError, WeftClient } from '../src/sdk/client.js';
import { Worker } from '../src/sdk/worker.js';

let server: RunningServer;
let client: WeftClient;
let dir: string;

describe('remote workers', { timeout: 120_000 }, () => {
  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'weft-worker-'));
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
      server: server.url, workerId: 'sdk-1', capacity: 4, pollWaitMs: 500, heartbeatMs: 50,
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
      assert.ok(workers.some((w) => w.id === 'sdk-1' && w.activities.includes('slow.work')));

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
    const child = spawn(process.execPath, ['--import', 'tsx', 'src/cli/main.ts', 'worker', '--server', server.url, '--activities', module, '--id', 'doomed', '--heartbeat-ms', '100'], {
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

      second = new Worker({ server: server.url, workerId: 'survivor', pollWaitMs: 300, heartbeatMs: 100, activities: { 'slow.work': async () => ({ by: 'survivor' }) } }).start();
      // Lease expiry, the retry's backoff and a poll: well under a second when idle, but this ran
      // out at 10 s once on a machine loaded by parallel test files. No timing is asserted here.
      await waitFor(async () => (await client.getInstance(id)).status === 'completed', 45_000)
        .catch(async (err) => {
          const events = (await client.history(id)).events.map((e) => `${e.seq} ${e.type} ${JSON.stringify((e as { error?: unknown }).error ?? '')}`);
          throw new Error(`${(err as Error).message}: instance ${(await client.getInstance(id)).status}; leases ${JSON.stringify(server.engine.remote.listLeases())}; history:\n${events.join('\n')}`);
        });
      assert.deepEqual((await client.getInstance(id)).output, { by: 'survivor' });

      // The dead worker's result arrives late: refused, nothing recorded.
      const before = (await client.history(id)).events.length;
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

  it('a poll whose worker went away claims nothing: the task goes to a live worker', async () => {
    // A long-poll that its client abandons (a killed worker's connection closes) must stop
    // waiting; otherwise it would later lease tasks to a worker that no longer exists.
    const abandoned = new AbortController();
    const poll = fetch(`${server.url}/api/v1/workers/ghost/poll`, {
      method: 'POST', headers: { 'content-type': 'application/json' }, signal: abandoned.signal,
      body: JSON.stringify({ activities: ['slow.work'], capacity: 1, max: 1, waitMs: 20_000 }),
    }).catch(() => undefined);
    await new Promise((r) => setTimeout(r, 200));
    abandoned.abort();
    await poll;
    await new Promise((r) => setTimeout(r, 200));
    const { id } = await client.start({ definitionId: 'remote', input: {} });
    const live = new Worker({ server: server.url, workerId: 'alive', pollWaitMs: 300, heartbeatMs: 100, activities: { 'slow.work': async () => ({ by: 'alive' }) } }).start();
    try {
      await waitFor(async () => (await client.getInstance(id)).status === 'completed', 30_000);
      const events = (await client.history(id)).events;
      assert.doesNotMatch(JSON.stringify(events), /lease_expired/, 'no attempt was leased to the departed worker');
    } finally {
      await live.stop();
    }
  });

  it('poll, heartbeat, complete and fail validate their input; unknown leases are stale', async () => {
    const r = await fetch(`${server.url}/api/v1/workers/x/poll`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ capacity: 1 }) });
    assert.equal(r.status, 400);
    assert.equal(((await r.json()) as { details: { field: string } }).details.field, 'activities');
    assert.deepEqual(await client.pollTasks('x', { activities: ['nothing.here'], waitMs: 50 }), []);
    const beats = await client.heartbeatTasks('x', [{ instanceId: 'nope', taskId: 't', token: 'bad' }]);
    assert.deepEqual(beats.map((b) => b.cancel), [true]);
    await assert.rejects(client.completeTaskRun('x', { instanceId: 'nope', taskId: 't', token: 'bad', attempt: 1 }), (e: unknown) => e instanceof WeftApiError && e.status >= 400 && e.status < 500);
  });
});
