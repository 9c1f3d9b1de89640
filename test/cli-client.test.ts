/** CLI client commands against a running server (in-process `runCli`, real HTTP). */
import assert from 'node:assert/strict';
import { PassThrough } from 'node:stream';
import { after, before, describe, it } from 'node:test';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startServer, type RunningServer } from '../src/api/start.js';
import { runCli } from '../src/cli/program.js';

let server: RunningServer;
let dir: string;

async function weft(...args: string[]): Promise<{ code: number; out: string; err: string }> {
  const stdout = new PassThrough();
  const stderr = new PassThrough();
  let out = '';
  let err = '';
  stdout.on('data', (d) => { out += String(d); });
  stderr.on('data', (d) => { err += String(d); });
  const code = await runCli(args, { stdout, stderr, interactive: false });
  return { code, out, err };
}

describe('CLI client commands', { timeout: 30_000 }, () => {
  before(async () => {
    server = await startServer({ db: ':memory:', port: 0 });
    dir = mkdtempSync(join(tmpdir(), 'weft-cli-client-'));
    writeFileSync(join(dir, 'hold.yaml'), 'id: hold\nversion: 1.0.0\nsteps:\n  - { id: start, type: start, next: h }\n  - { id: h, type: human, assignees: { users: [ann] }, next: end }\n  - { id: end, type: end }\n');
  });
  after(async () => { await server?.close(); rmSync(dir, { recursive: true, force: true }); });

  it('deploy, start, list, status, history, pause/resume, tasks, workers — tables and --json', async () => {
    const s = ['--server', server.url];
    assert.match((await weft('deploy', join(dir, 'hold.yaml'), ...s)).out, /deployed hold@1.0.0/);
    assert.match((await weft('definitions', ...s)).out, /hold\s+1\.0\.0/);
    const started = await weft('start', 'hold', '--input', '{"n":1}', '--json', ...s);
    assert.equal(started.code, 0, started.err);
    const id = (JSON.parse(started.out) as { id: string }).id;
    assert.match((await weft('list', ...s)).out, new RegExp(id));
    const status = await weft('status', id, ...s);
    assert.equal(status.code, 0, status.err);
    assert.match(status.out, /hold@1\.0\.0/);
    const history = JSON.parse((await weft('history', id, '--json', ...s)).out) as Array<{ seq: number }>;
    assert.equal(history[0]!.seq, 1);
    assert.match((await weft('pause', id, ...s)).out, /paused/);
    const again = await weft('pause', id, ...s);
    assert.equal(again.code, 1);
    assert.match(again.err, /invalid_state \(409\)/);
    assert.match((await weft('resume', id, ...s)).out, /waiting|running/);
    const tasks = JSON.parse((await weft('tasks', 'list', '--user', 'ann', '--json', ...s)).out) as Array<{ task: { taskId: string } }>;
    assert.equal(tasks.length, 1);
    assert.equal((await weft('tasks', 'complete', id, tasks[0]!.task.taskId, '--action', 'approve', ...s)).code, 0);
    assert.equal((await weft('workers', ...s)).code, 0);
    assert.match((await weft('events', 'publish', 'nobody', '--key', 'k', ...s)).out, /delivered to 0/);
    const missing = await weft('status', 'nope', ...s);
    assert.deepEqual([missing.code, /not_found/.test(missing.err)], [1, true]);
    const noServer = await weft('list');
    assert.equal(noServer.code, process.env.WEFT_SERVER ? noServer.code : 2);
  });

  it('tasks reassign and release — tables, --json, errors; --as and --namespace', async () => {
    const s = ['--server', server.url];
    const id = (JSON.parse((await weft('start', 'hold', '--json', ...s)).out) as { id: string }).id;
    const [item] = JSON.parse((await weft('tasks', 'list', '--instance', id, '--json', ...s)).out) as Array<{ task: { taskId: string } }>;
    const task = item!.task.taskId;
    // Reassign by instance and task: users and groups (comma-separated or repeated).
    const r = await weft('tasks', 'reassign', id, task, '--users', 'bob,cy', '--groups', 'ops', ...s);
    assert.equal(r.code, 0, r.err);
    assert.match(r.out, /reassigned .* to user bob, user cy, group ops/);
    const rj = JSON.parse((await weft('tasks', 'reassign', id, '--users', 'dee', '--json', ...s)).out) as { task: { users: string[]; groups?: string[] } };
    assert.deepEqual(rj.task.users, ['dee'], 'the task id defaults to the only open task');
    assert.equal((JSON.parse((await weft('tasks', 'list', '--user', 'dee', '--json', ...s)).out) as unknown[]).length, 1);
    const none = await weft('tasks', 'reassign', id, task, ...s);
    assert.deepEqual([none.code, /--users and\/or --groups/.test(none.err)], [2, true]);
    // Release: only the claimant (the caller, --as) may drop a claim.
    assert.equal((await weft('tasks', 'claim', id, task, '--user', 'dee', ...s)).code, 0);
    const notMine = await weft('tasks', 'release', id, task, '--as', 'eve', ...s);
    assert.deepEqual([notMine.code, /invalid_state \(409\)/.test(notMine.err)], [1, true]);
    const rel = await weft('tasks', 'release', id, '--as', 'dee', ...s);
    assert.equal(rel.code, 0, rel.err);
    assert.match(rel.out, new RegExp(`released ${task}`));
    const relJson = JSON.parse((await weft('tasks', 'release', id, task, '--as', 'dee', '--json', ...s)).out) as { claimedBy?: string; task: { taskId: string } };
    assert.deepEqual([relJson.task.taskId, relJson.claimedBy], [task, undefined]);
    // Unknown ids: 404 with --json error body; another namespace does not see the task.
    const missing = await weft('tasks', 'release', id, 'nope', '--json', ...s);
    assert.equal(missing.code, 1);
    assert.equal((JSON.parse(missing.out) as { error: string }).error, 'not_found');
    const other = await weft('tasks', 'reassign', id, task, '--users', 'x', '--namespace', 'elsewhere', ...s);
    assert.deepEqual([other.code, /not_found \(404\)/.test(other.err)], [1, true]);
    const noTask = await weft('tasks', 'release', 'no-such-instance', ...s);
    assert.deepEqual([noTask.code, /no open human task/.test(noTask.err)], [2, true]);
  });
});
