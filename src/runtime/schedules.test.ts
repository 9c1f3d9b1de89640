/**
 * Schedules on SQLite with an injected clock: the test moves time and calls `runDue()` (what the
 * service's one setTimeout calls), so every fire is deterministic. One test lets the real
 * setTimeout fire a every-second cron.
 */
import { afterEach, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Definition } from '../model/schema.js';
import { SqliteStore } from '../store/sqlite/store.js';
import type { ScheduleRecord } from '../store/types.js';
import type { Engine } from './api.js';
import { openEngineWithStore } from './engine.js';
import { dueFireTimes, nextFireTime, type TimeSpec } from './schedule-times.js';
import { SCHEDULE_LABEL, ScheduleError, ScheduleService, idempotencyKeyOf } from './schedules.js';

/** Completes at once. */
const QUICK: Definition = { id: 'quick', version: '1.0.0', steps: [{ id: 'start', type: 'start', next: 'end' }, { id: 'end', type: 'end' }] } as Definition;
/** Stays running (its task waits for a remote worker that never comes) until terminated. */
const HOLD: Definition = {
  id: 'hold', version: '1.0.0',
  steps: [{ id: 'start', type: 'start', next: 'w' }, { id: 'w', type: 'task', activity: 'remote.only', next: 'end' }, { id: 'end', type: 'end' }],
} as Definition;

const at = (iso: string) => Date.parse(iso);
const iso = (t: number | undefined) => (t === undefined ? undefined : new Date(t).toISOString());

const engines: Engine[] = [];
const dirs: string[] = [];
afterEach(async () => {
  for (const e of engines.splice(0)) await e.close();
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

function tempDb(): string {
  const dir = mkdtempSync(join(tmpdir(), 'weft-schedules-'));
  dirs.push(dir);
  return join(dir, 'weft.db');
}

/** An engine on `store` (default a fresh in-memory one) whose clock is `clock.now`. */
async function open(clock: { now: number }, store: SqliteStore = new SqliteStore(':memory:')): Promise<Engine> {
  const e = await openEngineWithStore(store, { clock: () => clock.now });
  engines.push(e);
  await e.deploy(QUICK);
  await e.deploy(HOLD);
  return e;
}

async function scheduled(e: Engine, scheduleId: string) {
  const all = await e.listInstances();
  return all.filter((i) => i.labels?.[SCHEDULE_LABEL] === scheduleId);
}

async function waitFor(check: () => Promise<boolean>, what: string): Promise<void> {
  const end = Date.now() + 10_000;
  while (!(await check())) {
    if (Date.now() > end) assert.fail(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

async function terminate(e: Engine, instanceId: string): Promise<void> {
  await e.send({ type: 'Terminate', instanceId, reason: 'test' });
}

describe('schedules: firing', () => {
  it('fires at the cron times, once each, and advances the next run; instances carry the label and key', async () => {
    const clock = { now: at('2026-03-01T00:10:00Z') };
    const e = await open(clock);
    const s = await e.schedules.create({ id: 'hourly', definitionId: 'quick', cron: '0 * * * *', input: { n: 1 }, labels: { team: 'ops' } });
    assert.equal(iso(s.nextRunAt), '2026-03-01T01:00:00.000Z');
    await e.schedules.runDue();
    assert.equal((await scheduled(e, 'hourly')).length, 0, 'not due yet');

    clock.now = at('2026-03-01T01:00:00Z');
    await e.schedules.runDue();
    await e.schedules.runDue(); // the same moment again: nothing more
    const first = await scheduled(e, 'hourly');
    assert.equal(first.length, 1);
    assert.deepEqual(first[0]!.labels, { team: 'ops', [SCHEDULE_LABEL]: 'hourly' });
    const row = (await e.getInstanceInfo(first[0]!.id))!;
    assert.equal(row.definitionId, 'quick');
    assert.deepEqual((await e.getState(first[0]!.id))?.input, { n: 1 });
    const after = (await e.schedules.get('hourly'))!;
    assert.equal(iso(after.nextRunAt), '2026-03-01T02:00:00.000Z');
    assert.deepEqual(after.lastRun, { at: at('2026-03-01T01:00:00Z'), outcome: 'started', instanceId: first[0]!.id });

    clock.now = at('2026-03-01T01:59:59.999Z');
    await e.schedules.runDue();
    assert.equal((await scheduled(e, 'hourly')).length, 1);
    clock.now = at('2026-03-01T02:00:00.400Z');
    await e.schedules.runDue();
    assert.equal((await scheduled(e, 'hourly')).length, 2);
    // The fire time in the key is the cron time, not the (late) moment it ran.
    const second = (await e.schedules.get('hourly'))!.lastInstanceId!;
    assert.equal((await store(e).getInstance(second))?.idempotencyKey, idempotencyKeyOf('hourly', at('2026-03-01T02:00:00Z')));
  });

  it('reads cron fields in the time zone across a DST change (America/New_York fall back)', async () => {
    const clock = { now: at('2026-10-31T00:00:00Z') };
    const e = await open(clock);
    await e.schedules.create({ id: 'nine', definitionId: 'quick', cron: '0 9 * * *', timezone: 'America/New_York', overlap: 'allow' });
    const fired: string[] = [];
    for (let day = 0; day < 3; day++) {
      clock.now = (await e.schedules.get('nine'))!.nextRunAt!;
      await e.schedules.runDue();
      fired.push(iso((await e.schedules.get('nine'))!.lastRun!.at)!);
    }
    // 09:00 local is 13:00Z on EDT (UTC-4) and 14:00Z on EST (UTC-5) after 2026-11-01.
    assert.deepEqual(fired, ['2026-10-31T13:00:00.000Z', '2026-11-01T14:00:00.000Z', '2026-11-02T14:00:00.000Z']);
    assert.equal((await scheduled(e, 'nine')).length, 3);
  });

  it('Europe/Berlin: a wall time skipped by spring-forward runs once an hour later; a doubled one runs once', () => {
    const spec: TimeSpec = { cron: '30 2 * * *', timezone: 'Europe/Berlin', createdAt: 0 };
    /** Fire times in (after, to], as the schedule would run them (and as catch-up replays them). */
    const between = (x: TimeSpec, after: string, to: string, max = 100) => dueFireTimes(x, nextFireTime(x, at(after))!, at(to), max).map(iso);
    // 02:30 CET = 01:30Z; on 29 March 02:00-03:00 does not exist: 03:30 CEST = 01:30Z; then 02:30 CEST = 00:30Z.
    const spring = ['2026-03-28T01:30:00.000Z', '2026-03-29T01:30:00.000Z', '2026-03-30T00:30:00.000Z'];
    assert.deepEqual(between(spec, '2026-03-27T12:00:00Z', '2026-03-30T12:00:00Z'), spring);
    const chain: string[] = [];
    for (let t = nextFireTime(spec, at('2026-03-27T12:00:00Z'))!; t < at('2026-03-30T12:00:00Z'); t = nextFireTime(spec, t)!) chain.push(iso(t)!);
    assert.deepEqual(chain, spring, 'next run after each fire');
    // Catch-up that looks back only a little (max 1) still sees the gap day's run as the latest.
    assert.deepEqual(between(spec, '2026-03-27T12:00:00Z', '2026-03-29T12:00:00Z', 1), ['2026-03-29T01:30:00.000Z']);
    const gapDay = at('2026-03-29T01:30:00Z');
    assert.deepEqual(dueFireTimes(spec, gapDay, gapDay, 1), [gapDay], 'due at its own time');
    // On 25 October 02:30 happens twice (CEST then CET): one run.
    assert.deepEqual(between(spec, '2026-10-24T12:00:00Z', '2026-10-26T12:00:00Z'), ['2026-10-25T00:30:00.000Z', '2026-10-26T01:30:00.000Z']);
    // A long outage with a small bound: the latest times only, none invented around the fall-back night.
    assert.deepEqual(between(spec, '2026-09-01T00:00:00Z', '2026-10-26T12:00:00Z', 2), ['2026-10-25T00:30:00.000Z', '2026-10-26T01:30:00.000Z']);
    // Hourly through the fall-back night: every real hour once (25 runs that day).
    const hourlySpec: TimeSpec = { cron: '0 * * * *', timezone: 'Europe/Berlin', createdAt: 0 };
    const hourly = dueFireTimes(hourlySpec, at('2026-10-24T22:00:00Z'), at('2026-10-25T22:59:00Z'), 100);
    assert.equal(hourly.length, 25);
    assert.ok(hourly.every((t, i) => i === 0 || t - hourly[i - 1]! === 3_600_000));
  });

  it('interval schedules run every interval from startAt and stop after endAt', async () => {
    const clock = { now: at('2026-01-01T00:00:00Z') };
    const e = await open(clock);
    const s = await e.schedules.create({
      id: 'every', definitionId: 'quick', interval: '15m', overlap: 'allow',
      startAt: '2026-01-01T01:00:00Z', endAt: at('2026-01-01T01:20:00Z'),
    });
    assert.equal(iso(s.nextRunAt), '2026-01-01T01:00:00.000Z');
    clock.now = at('2026-01-01T01:00:00Z');
    await e.schedules.runDue();
    assert.equal(iso((await e.schedules.get('every'))!.nextRunAt), '2026-01-01T01:15:00.000Z');
    clock.now = at('2026-01-01T01:15:00Z');
    await e.schedules.runDue();
    const done = (await e.schedules.get('every'))!;
    assert.equal(done.nextRunAt, undefined, 'nothing after endAt');
    assert.equal((await scheduled(e, 'every')).length, 2);
  });
});

describe('schedules: overlap', () => {
  it('skip: no start while the last run is still running; starts again once it ended', async () => {
    const clock = { now: at('2026-01-01T00:00:30Z') };
    const e = await open(clock);
    await e.schedules.create({ id: 'sk', definitionId: 'hold', cron: '* * * * *', overlap: 'skip' });
    clock.now = at('2026-01-01T00:01:00Z');
    await e.schedules.runDue();
    const [first] = await scheduled(e, 'sk');
    clock.now = at('2026-01-01T00:02:00Z');
    await e.schedules.runDue();
    assert.equal((await scheduled(e, 'sk')).length, 1);
    const skipped = (await e.schedules.get('sk'))!;
    assert.equal(skipped.lastRun?.outcome, 'skipped');
    assert.match(skipped.lastRun?.reason ?? '', new RegExp(first!.id));
    assert.equal(skipped.lastInstanceStatus, 'running');
    await terminate(e, first!.id);
    clock.now = at('2026-01-01T00:03:00Z');
    await e.schedules.runDue();
    assert.equal((await scheduled(e, 'sk')).length, 2);
    assert.equal((await e.schedules.get('sk'))!.lastRun?.outcome, 'started');
  });

  it('buffer_one: remembers one start while the last run runs and starts it when that run ends', async () => {
    const clock = { now: at('2026-01-01T00:00:30Z') };
    const e = await open(clock);
    await e.schedules.create({ id: 'buf', definitionId: 'hold', cron: '* * * * *', overlap: 'buffer_one' });
    clock.now = at('2026-01-01T00:01:00Z');
    await e.schedules.runDue();
    const [first] = await scheduled(e, 'buf');
    for (const m of ['00:02', '00:03']) {
      clock.now = at(`2026-01-01T${m}:00Z`);
      await e.schedules.runDue();
    }
    const waiting = (await e.schedules.get('buf'))!;
    assert.equal(waiting.lastRun?.outcome, 'buffered');
    assert.equal(iso(waiting.bufferedAt), '2026-01-01T00:02:00.000Z', 'at most one: the first remembered time');
    assert.equal((await scheduled(e, 'buf')).length, 1);
    await terminate(e, first!.id); // the lifecycle message releases the buffered start
    await waitFor(async () => (await scheduled(e, 'buf')).length === 2, 'the buffered start');
    await waitFor(async () => (await e.schedules.get('buf'))!.bufferedAt === undefined, 'the bookkeeping');
    const after = (await e.schedules.get('buf'))!;
    const second = (await scheduled(e, 'buf')).find((i) => i.id !== first!.id)!;
    assert.deepEqual(after.lastRun, { at: at('2026-01-01T00:02:00Z'), outcome: 'started', instanceId: second.id });
    assert.equal((await e.getInstanceInfo(second.id))?.id, second.id);
    assert.equal(after.lastInstanceId, second.id);
  });

  it('allow: starts at every time even while earlier runs still run', async () => {
    const clock = { now: at('2026-01-01T00:00:30Z') };
    const e = await open(clock);
    await e.schedules.create({ id: 'al', definitionId: 'hold', cron: '* * * * *', overlap: 'allow' });
    for (const m of ['00:01', '00:02', '00:03']) {
      clock.now = at(`2026-01-01T${m}:00Z`);
      await e.schedules.runDue();
    }
    const runs = await scheduled(e, 'al');
    assert.equal(runs.length, 3);
    assert.ok(runs.every((r) => r.status === 'running'));
  });
});

describe('schedules: catch-up after downtime', () => {
  it('skip drops missed times, one starts once, all starts up to the bound (the latest)', async () => {
    const db = tempDb();
    const clock = { now: at('2026-05-01T00:10:00Z') };
    const e1 = await open(clock, new SqliteStore(db));
    const common = { definitionId: 'quick', cron: '0 * * * *', overlap: 'allow' as const };
    await e1.schedules.create({ id: 'c-skip', ...common, catchUp: 'skip' });
    await e1.schedules.create({ id: 'c-one', ...common, catchUp: 'one' });
    await e1.schedules.create({ id: 'c-all', ...common, catchUp: 'all', catchUpLimit: 3 });
    await e1.schedules.create({ id: 'c-ontime', ...common, catchUp: 'skip', cron: '30 5 * * *' });
    await e1.close();
    engines.splice(engines.indexOf(e1), 1);

    // Down from 00:10 to 05:30:20: 01:00 … 05:00 were missed; 05:30 is 20 s late (within the grace).
    clock.now = at('2026-05-01T05:30:20Z');
    const e2 = await open(clock, new SqliteStore(db));
    await e2.schedules.runDue();
    const times = async (id: string) => (await scheduled(e2, id)).length;
    assert.equal(await times('c-skip'), 0);
    const skip = (await e2.schedules.get('c-skip'))!;
    assert.deepEqual([skip.lastRun?.outcome, iso(skip.lastRun?.at), iso(skip.nextRunAt)], ['skipped', '2026-05-01T05:00:00.000Z', '2026-05-01T06:00:00.000Z']);
    assert.equal(await times('c-one'), 1);
    assert.equal(iso((await e2.schedules.get('c-one'))!.lastRun?.at), '2026-05-01T05:00:00.000Z');
    const all = await scheduled(e2, 'c-all');
    assert.equal(all.length, 3);
    const keys = await Promise.all(all.map(async (i) => (await store(e2).getInstance(i.id))!.idempotencyKey));
    assert.deepEqual(keys.sort(), ['03', '04', '05'].map((h) => idempotencyKeyOf('c-all', at(`2026-05-01T${h}:00:00Z`))).sort());
    assert.equal(iso((await e2.schedules.get('c-all'))!.nextRunAt), '2026-05-01T06:00:00.000Z');
    assert.equal(await times('c-ontime'), 1, 'late by less than the grace: not a missed time');
  });
});

/** The engine's store (tests only): reads rows the Engine interface does not show. */
function store(e: Engine): SqliteStore {
  return (e as unknown as { store: SqliteStore }).store;
}

describe('schedules: pause, resume, trigger, update', () => {
  it('a paused schedule does not fire; resume continues from now without catching up', async () => {
    const clock = { now: at('2026-01-01T00:00:30Z') };
    const e = await open(clock);
    await e.schedules.create({ id: 'p', definitionId: 'quick', cron: '* * * * *' });
    const paused = await e.schedules.pause('p');
    assert.equal(paused.paused, true);
    await assert.rejects(e.schedules.pause('p'), (err: unknown) => err instanceof ScheduleError && err.code === 'invalid_state');
    assert.equal((await e.schedules.get('p'))!.revision, paused.revision, 'pausing twice changed nothing');
    clock.now = at('2026-01-01T00:05:00Z');
    await e.schedules.runDue();
    assert.equal((await scheduled(e, 'p')).length, 0);
    const resumed = await e.schedules.resume('p');
    assert.equal(iso(resumed.nextRunAt), '2026-01-01T00:06:00.000Z');
    await assert.rejects(e.schedules.resume('p'), (err: unknown) => err instanceof ScheduleError && err.code === 'invalid_state');
    await e.schedules.runDue();
    assert.equal((await scheduled(e, 'p')).length, 0, 'times missed while paused are not caught up');
    clock.now = at('2026-01-01T00:06:00Z');
    await e.schedules.runDue();
    assert.equal((await scheduled(e, 'p')).length, 1);
  });

  it('trigger starts now (allow by default; skip when asked and the last run is running); update recomputes the next run', async () => {
    const clock = { now: at('2026-01-01T00:00:30Z') };
    const e = await open(clock);
    await e.schedules.create({ id: 't', definitionId: 'hold', cron: '0 0 1 1 *', paused: true });
    const run = await e.schedules.trigger('t');
    assert.deepEqual([run.outcome, run.manual, run.at], ['started', true, clock.now]);
    clock.now += 1;
    const skipped = await e.schedules.trigger('t', { overlap: 'skip' });
    assert.equal(skipped.outcome, 'skipped');
    clock.now += 1;
    assert.equal((await e.schedules.trigger('t')).outcome, 'started');
    assert.equal((await scheduled(e, 't')).length, 2);
    const updated = await e.schedules.update('t', { cron: '*/5 * * * *', timezone: 'Asia/Tokyo' });
    assert.equal(iso(updated.nextRunAt), '2026-01-01T00:05:00.000Z');
    assert.equal(updated.timezone, 'Asia/Tokyo');
    const toInterval = await e.schedules.update('t', { interval: '1h' });
    assert.deepEqual([toInterval.cron, toInterval.interval], [undefined, '1h']);
  });
});

describe('schedules: bad input changes nothing', () => {
  it('malformed cron, wrong field count, unknown time zone, bad policy, unknown definition, duplicate id, unknown id', async () => {
    const clock = { now: at('2026-01-01T00:00:00Z') };
    const e = await open(clock);
    await e.schedules.create({ id: 'ok', definitionId: 'quick', cron: '0 * * * *' });
    const refused = async (p: Promise<unknown>, code: string, field?: string) => {
      await assert.rejects(p, (err: unknown) => {
        assert.ok(err instanceof ScheduleError, String(err));
        assert.equal(err.code, code, err.message);
        if (field !== undefined) assert.equal(err.details?.field, field, err.message);
        return true;
      });
    };
    await refused(e.schedules.create({ id: 'x1', definitionId: 'quick', cron: '61 * * * *' }), 'invalid_input', 'cron');
    await refused(e.schedules.create({ id: 'x2', definitionId: 'quick', cron: '* * * *' }), 'invalid_input', 'cron');
    await refused(e.schedules.create({ id: 'x3', definitionId: 'quick', cron: '0 * * * *', timezone: 'Mars/Olympus' }), 'invalid_input', 'timezone');
    await refused(e.schedules.create({ id: 'x4', definitionId: 'quick', cron: '0 * * * *', overlap: 'sometimes' as never }), 'invalid_input', 'overlap');
    await refused(e.schedules.create({ id: 'x5', definitionId: 'quick' }), 'invalid_input', 'cron');
    await refused(e.schedules.create({ id: 'x6', definitionId: 'quick', cron: '0 * * * *', interval: '1h' }), 'invalid_input');
    await refused(e.schedules.create({ id: 'x7', definitionId: 'nope', cron: '0 * * * *' }), 'unknown_definition', 'definitionId');
    await refused(e.schedules.create({ id: 'x8', definitionId: 'quick', version: '9.x', cron: '0 * * * *' }), 'unknown_definition', 'version');
    await refused(e.schedules.create({ id: 'bad/id', definitionId: 'quick', cron: '0 * * * *' }), 'invalid_input', 'id');
    await refused(e.schedules.create({ id: 'x9', definitionId: 'quick', interval: '10ms' }), 'invalid_input', 'interval');
    await refused(e.schedules.create({ id: 'ok', definitionId: 'hold', cron: '5 * * * *' }), 'already_exists', 'id');
    await refused(e.schedules.create({ id: 'x10', definitionId: 'quick', cron: '0 * * * *' }, { namespace: 'billing' }), 'unknown_definition', 'definitionId');
    assert.deepEqual((await e.schedules.list()).map((s) => [s.id, s.definitionId, s.cron]), [['ok', 'quick', '0 * * * *']]);

    const before = (await e.schedules.get('ok'))!;
    await refused(e.schedules.update('ok', { cron: 'every day' }), 'invalid_input', 'cron');
    await refused(e.schedules.update('ok', { timezone: 'Nowhere/Land' }), 'invalid_input', 'timezone');
    await refused(e.schedules.update('ok', { definitionId: 'nope' }), 'unknown_definition', 'definitionId');
    assert.deepEqual(await e.schedules.get('ok'), before);

    for (const call of [e.schedules.update('nope', {}), e.schedules.pause('nope'), e.schedules.resume('nope'), e.schedules.delete('nope'), e.schedules.trigger('nope')]) {
      await refused(call, 'not_found');
    }
    assert.equal(await e.schedules.get('nope'), undefined);
    assert.equal(await e.schedules.get('ok', { namespace: 'billing' }), undefined, 'another namespace does not see it');
    await refused(e.schedules.delete('ok', { namespace: 'billing' }), 'not_found');
    await e.schedules.delete('ok');
    assert.deepEqual(await e.schedules.list(), []);
  });
});

describe('schedules: crashes and the real timer', () => {
  it('a crash between the start and the bookkeeping never starts twice', async () => {
    const db = tempDb();
    const clock = { now: at('2026-01-01T00:00:30Z') };
    const crashing = new SqliteStore(db);
    const update = crashing.updateSchedule.bind(crashing);
    let crash = true;
    crashing.updateSchedule = async (s: ScheduleRecord, rev: number, o?: { releaseLease?: boolean }) => {
      // The fire's bookkeeping write: the process "dies" after the instance started.
      if (crash && s.lastRun?.outcome === 'started') { crash = false; throw new Error('killed'); }
      return update(s, rev, o);
    };
    const e1 = await open(clock, crashing);
    await e1.schedules.create({ id: 'once', definitionId: 'hold', cron: '* * * * *', overlap: 'allow' });
    clock.now = at('2026-01-01T00:01:00Z');
    await e1.schedules.runDue();
    assert.equal(crash, false, 'the bookkeeping write was attempted and failed');
    const started = await scheduled(e1, 'once');
    assert.equal(started.length, 1);
    assert.equal(iso((await e1.schedules.get('once'))!.nextRunAt), '2026-01-01T00:01:00.000Z', 'the fire was not recorded');
    await e1.close();
    engines.splice(engines.indexOf(e1), 1);

    const e2 = await open(clock, new SqliteStore(db));
    await e2.schedules.runDue();
    const after = await scheduled(e2, 'once');
    assert.deepEqual(after.map((i) => i.id), [started[0]!.id], 'the same instance, adopted through its idempotency key');
    const s = (await e2.schedules.get('once'))!;
    assert.deepEqual(s.lastRun, { at: at('2026-01-01T00:01:00Z'), outcome: 'started', instanceId: started[0]!.id });
    assert.equal(iso(s.nextRunAt), '2026-01-01T00:02:00.000Z');
  });

  it('an update that races a fire is merged with its bookkeeping, never overwritten', async () => {
    const clock = { now: at('2026-01-01T00:00:30Z') };
    const racing = new SqliteStore(':memory:');
    const update = racing.updateSchedule.bind(racing);
    let raced = false;
    racing.updateSchedule = async (s: ScheduleRecord, rev: number, o?: { releaseLease?: boolean }) => {
      if (!raced && s.lastRun?.outcome === 'started') {
        // Someone PATCHes the cron between the fire's read and its write.
        raced = true;
        const cur = (await racing.getSchedule(s.id))!;
        assert.equal(await update({ ...cur, cron: '0 12 * * *', nextRunAt: at('2026-01-01T12:00:00Z') }, cur.revision), 'updated');
      }
      return update(s, rev, o);
    };
    const e = await open(clock, racing);
    await e.schedules.create({ id: 'race', definitionId: 'quick', cron: '* * * * *' });
    clock.now = at('2026-01-01T00:01:00Z');
    await e.schedules.runDue();
    assert.equal(raced, true);
    const s = (await e.schedules.get('race'))!;
    assert.equal(s.cron, '0 12 * * *', 'the update survives');
    assert.equal(iso(s.nextRunAt), '2026-01-01T12:00:00.000Z', 'its next run too');
    assert.deepEqual([s.lastRun?.outcome, iso(s.lastRun?.at)], ['started', '2026-01-01T00:01:00.000Z'], 'and so does the fire');
    assert.equal(s.lastInstanceId, s.lastRun?.instanceId);
  });

  it('the service\'s own timeout fires a due schedule (real clock, every-second cron)', async () => {
    const e = await openEngineWithStore(new SqliteStore(':memory:'));
    engines.push(e);
    await e.deploy(QUICK);
    await e.schedules.create({ id: 'tick', definitionId: 'quick', cron: '* * * * * *', overlap: 'allow' });
    await waitFor(async () => (await scheduled(e, 'tick')).length >= 1, 'a start by the timer');
    await e.schedules.delete('tick');
  });

  it('poke() arms for a schedule another node wrote (nothing else would wake this idle node)', async () => {
    const e = await openEngineWithStore(new SqliteStore(':memory:'));
    engines.push(e);
    await e.deploy(QUICK);
    const now = Date.now();
    await store(e).createSchedule({
      id: 'elsewhere', namespace: 'default', definitionId: 'quick', interval: '1h', timezone: 'UTC', overlap: 'allow', catchUp: 'one',
      catchUpLimit: 10, paused: false, nextRunAt: now + 20, revision: 1, createdAt: now - 3_600_000 + 20, updatedAt: now,
    });
    (e.schedules as ScheduleService).poke();
    await waitFor(async () => (await scheduled(e, 'elsewhere')).length === 1, 'the poked schedule to fire');
  });
});
