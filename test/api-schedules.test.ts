/**
 * Schedules over HTTP (SDK and raw calls) and the `weft schedules` CLI commands, against a real
 * server on an in-memory SQLite engine. Firing itself is tested with an injected clock in
 * src/runtime/schedules.test.ts; here a trigger-now stands in for the clock.
 */
import assert from 'node:assert/strict';
import { PassThrough } from 'node:stream';
import { after, before, describe, it } from 'node:test';
import { startServer, type RunningServer } from '../src/api/start.js';
import { runCli } from '../src/cli/program.js';
import type { Definition } from '../src/model/schema.js';
import { SCHEDULE_LABEL } from '../src/runtime/schedules.js';
import { WeftApiError, WeftClient } from '../src/sdk/client.js';

const HOLD: Definition = {
  id: 'hold', version: '1.0.0',
  steps: [{ id: 'start', type: 'start', next: 'w' }, { id: 'w', type: 'task', activity: 'remote.only', next: 'end' }, { id: 'end', type: 'end' }],
} as Definition;

let server: RunningServer;
let client: WeftClient;
let billing: WeftClient;

async function refused(p: Promise<unknown>, status: number, code: string, field?: string): Promise<void> {
  await assert.rejects(p, (err: unknown) => {
    assert.ok(err instanceof WeftApiError, String(err));
    assert.deepEqual([err.status, err.code], [status, code], err.message);
    if (field !== undefined) assert.equal((err.details as { field?: string } | undefined)?.field, field, err.message);
    return true;
  });
}

async function weft(...args: string[]): Promise<{ code: number; out: string; err: string }> {
  const stdout = new PassThrough();
  const stderr = new PassThrough();
  let out = '';
  let err = '';
  stdout.on('data', (d) => { out += String(d); });
  stderr.on('data', (d) => { err += String(d); });
  const code = await runCli([...args, '--server', server.url], { stdout, stderr, interactive: false });
  return { code, out, err };
}

describe('schedules API', { timeout: 60_000 }, () => {
  before(async () => {
    server = await startServer({ db: ':memory:', port: 0 });
    client = new WeftClient(server.url, { timeoutMs: 10_000 });
    billing = new WeftClient(server.url, { timeoutMs: 10_000, namespace: 'billing' });
    await client.deploy(HOLD);
  });
  after(async () => { await server?.close(); });

  it('creates, reads, lists, updates, triggers and deletes a schedule', async () => {
    const created = await client.createSchedule({ id: 'nightly', definitionId: 'hold', cron: '0 2 * * *', timezone: 'Europe/Berlin', input: { n: 1 }, labels: { team: 'ops' }, overlap: 'buffer_one', catchUp: 'all', catchUpLimit: 3 });
    assert.deepEqual(
      [created.id, created.namespace, created.definitionId, created.cron, created.timezone, created.overlap, created.catchUp, created.catchUpLimit, created.paused],
      ['nightly', 'default', 'hold', '0 2 * * *', 'Europe/Berlin', 'buffer_one', 'all', 3, false]);
    assert.ok(created.nextRunAt! > Date.now());
    // 02:00 in Berlin is 00:00 or 01:00 UTC.
    assert.ok([0, 1].includes(new Date(created.nextRunAt!).getUTCHours()));
    assert.deepEqual(await client.getSchedule('nightly'), created);
    assert.deepEqual((await client.listSchedules()).map((s) => s.id), ['nightly']);
    assert.deepEqual((await client.listSchedules({ definitionId: 'other' })).map((s) => s.id), []);

    const updated = await client.updateSchedule('nightly', { cron: '*/10 * * * *', timezone: 'UTC', version: '1.x' });
    assert.equal(updated.definitionVersion, '1.x');
    assert.equal(new Date(updated.nextRunAt!).getUTCMinutes() % 10, 0);
    assert.equal((await client.updateSchedule('nightly', { version: null })).definitionVersion, undefined);

    const run = await client.triggerSchedule('nightly');
    assert.equal(run.outcome, 'started');
    assert.equal(run.manual, true);
    const instance = await client.getInstance(run.instanceId!);
    assert.equal(instance.labels?.[SCHEDULE_LABEL], 'nightly');
    assert.deepEqual(instance.input, { n: 1 });
    const skipped = await client.triggerSchedule('nightly', { overlap: 'skip' });
    assert.equal(skipped.outcome, 'skipped', 'the first run still runs');
    const seen = await client.getSchedule('nightly');
    assert.deepEqual([seen.lastInstanceId, seen.lastInstanceStatus, seen.lastRun?.outcome], [run.instanceId, 'running', 'skipped']);

    await client.deleteSchedule('nightly');
    await refused(client.getSchedule('nightly'), 404, 'not_found');
    assert.equal((await client.getInstance(run.instanceId!)).status, 'running', 'instances outlive their schedule');
  });

  it('bad input: 400 naming the field, 404, 409, 422 — and nothing changes', async () => {
    await client.createSchedule({ id: 'keep', definitionId: 'hold', interval: '1h' });
    const before = await client.listSchedules();
    await refused(client.createSchedule({ definitionId: 'hold', cron: '99 * * * *' }), 400, 'invalid_input', 'cron');
    await refused(client.createSchedule({ definitionId: 'hold', cron: '* * *' }), 400, 'invalid_input', 'cron');
    await refused(client.createSchedule({ definitionId: 'hold', cron: '0 * * * *', timezone: 'Europe/Atlantis' }), 400, 'invalid_input', 'timezone');
    await refused(client.createSchedule({ definitionId: 'hold', cron: '0 * * * *', overlap: 'never' as never }), 400, 'invalid_input', 'overlap');
    await refused(client.createSchedule({ definitionId: 'hold', cron: '0 * * * *', catchUp: 'most' as never }), 400, 'invalid_input', 'catchUp');
    await refused(client.createSchedule({ definitionId: 'hold', interval: 'soon' }), 400, 'invalid_input', 'interval');
    await refused(client.createSchedule({ id: 'has space', definitionId: 'hold', cron: '0 * * * *' }), 400, 'invalid_input', 'id');
    await refused(client.createSchedule({ definitionId: 'nope', cron: '0 * * * *' }), 422, 'unknown_definition', 'definitionId');
    await refused(billing.createSchedule({ definitionId: 'hold', cron: '0 * * * *' }), 422, 'unknown_definition', 'definitionId');
    await refused(client.createSchedule({ id: 'keep', definitionId: 'hold', cron: '0 * * * *' }), 409, 'already_exists', 'id');
    await refused(client.updateSchedule('keep', { cron: 'whenever' }), 400, 'invalid_input', 'cron');
    await refused(client.updateSchedule('keep', { definitionId: 'nope' }), 422, 'unknown_definition', 'definitionId');
    await refused(client.getSchedule('nope'), 404, 'not_found');
    await refused(client.pauseSchedule('nope'), 404, 'not_found');
    await refused(client.triggerSchedule('nope'), 404, 'not_found');
    await refused(client.deleteSchedule('nope'), 404, 'not_found');
    await client.pauseSchedule('keep');
    await refused(client.pauseSchedule('keep'), 409, 'invalid_state');
    const paused = await client.getSchedule('keep');
    assert.deepEqual((await client.listSchedules()).map((s) => s.id), before.map((s) => s.id));
    assert.equal(paused.revision, before[0]!.revision + 1, 'only the one pause changed it');
    await client.resumeSchedule('keep');
    await refused(client.resumeSchedule('keep'), 409, 'invalid_state');
    // Another namespace does not see it.
    assert.deepEqual(await billing.listSchedules(), []);
    await refused(billing.getSchedule('keep'), 404, 'not_found');
    await refused(billing.deleteSchedule('keep'), 404, 'not_found');
    // A bodiless pause (curl -X POST) is accepted too.
    const res = await fetch(`${server.url}/api/v1/schedules/keep/pause`, { method: 'POST', signal: AbortSignal.timeout(10_000) });
    assert.equal(res.status, 200, await res.clone().text());
    await client.deleteSchedule('keep');
  });

  it('weft schedules list|create|get|pause|resume|trigger|delete: tables and --json', async () => {
    const created = await weft('schedules', 'create', 'hold', '--id', 'cli', '--cron', '30 6 * * 1-5', '--timezone', 'America/New_York', '--input', '{"k":1}', '--overlap', 'skip', '--label', 'team=ops');
    assert.equal(created.code, 0, created.err);
    assert.match(created.out, /created schedule cli/);
    const list = await weft('schedules', 'list');
    assert.match(list.out, /^ID\s+DEFINITION\s+WHEN/m);
    assert.match(list.out, /cli\s+hold\s+30 6 \* \* 1-5 \(America\/New_York\)/);
    const got = JSON.parse((await weft('schedules', 'get', 'cli', '--json')).out) as { id: string; labels: Record<string, string>; input: unknown };
    assert.deepEqual([got.id, got.labels, got.input], ['cli', { team: 'ops' }, { k: 1 }]);
    assert.match((await weft('schedules', 'get', 'cli')).out, /next run/);
    assert.match((await weft('schedules', 'pause', 'cli')).out, /paused schedule cli/);
    const again = await weft('schedules', 'pause', 'cli');
    assert.equal(again.code, 1);
    assert.match(again.err, /invalid_state \(409\)/);
    assert.match((await weft('schedules', 'resume', 'cli')).out, /resumed schedule cli/);
    const trig = await weft('schedules', 'trigger', 'cli', '--json');
    assert.equal((JSON.parse(trig.out) as { outcome: string }).outcome, 'started');
    assert.match((await weft('schedules', 'trigger', 'cli', '--overlap', 'skip')).out, /skipped/);
    const bad = await weft('schedules', 'create', 'hold', '--cron', '0 * * *');
    assert.equal(bad.code, 1);
    assert.match(bad.err, /invalid_input \(400\).*cron/);
    const neither = await weft('schedules', 'create', 'hold');
    assert.equal(neither.code, 2, 'usage: --cron or --every is needed');
    assert.match((await weft('schedules', 'delete', 'cli')).out, /deleted schedule cli/);
    assert.match((await weft('schedules', 'list')).out, /\(none\)/);
  });
});
