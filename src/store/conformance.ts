/**
 * The store conformance suite: every backend runs it (`runStoreConformance('sqlite', make)`).
 * It feeds hand-made events and effects, so it needs nothing from the core.
 */
import { describe, it, beforeEach, afterEach } from 'node:test';
import assert from 'node:assert/strict';
import type { TaskRow } from '../core/effects.js';
import type { EngineEvent, InstanceState } from '../core/types.js';
import { DefinitionConflictError, DuplicateInstanceError, LeaseLostError, SeqConflictError } from './errors.js';
import type { InstanceWrite, NewInstance, ScheduleRecord, Store } from './types.js';

const T0 = 1_700_000_000_000;

export function ev(seq: number, extra: Record<string, unknown> = {}): EngineEvent {
  return { type: 'VariablesUpdated', seq, at: T0 + seq, vars: { n: seq }, ...extra } as EngineEvent;
}
export function evs(from: number, to: number): EngineEvent[] {
  const out: EngineEvent[] = [];
  for (let s = from; s <= to; s++) out.push(ev(s));
  return out;
}
export function inst(id: string, extra: Partial<NewInstance> = {}): NewInstance {
  return { id, definitionId: 'wf', definitionVersion: '1.0.0', createdAt: T0, ...extra };
}
export function task(instanceId: string, taskId: string, extra: Partial<TaskRow> = {}): TaskRow {
  return {
    instanceId, taskId, runId: `r-${taskId}`, stepId: `s-${taskId}`, activity: 'act', input: { x: taskId },
    attempt: 1, status: 'scheduled', purpose: 'step', priority: 0, ...extra,
  };
}
function fakeState(id: string, seq: number): InstanceState {
  return {
    id, definitionId: 'wf', definitionVersion: '1.0.0', status: 'running', input: { a: 1 }, vars: { seq }, env: {},
    createdAt: T0, updatedAt: T0 + seq, seq, runCounter: 0, active: {}, steps: {}, tasks: {}, timers: {},
    parked: [], compensable: [], signals: [], expecting: {},
  } as InstanceState;
}
/** A write that creates `id` with events 1..n. */
function createWrite(id: string, n: number, extra: Partial<InstanceWrite> = {}): InstanceWrite {
  return { instanceId: id, create: inst(id), expectedSeq: 0, events: evs(1, n), update: { status: 'running', updatedAt: T0 + n }, ...extra };
}

export function runStoreConformance(name: string, makeStore: () => Store | Promise<Store>): void {
  describe(`store conformance: ${name}`, () => {
    let store: Store;
    beforeEach(async () => { store = await makeStore(); });
    afterEach(async () => { await store.close(); });

    describe('definitions', () => {
      it('puts, gets, lists; identical content is idempotent; other content conflicts', async () => {
        const rec = { id: 'order', version: '1.0.0', definition: { id: 'order', steps: [] }, hash: 'h1', createdAt: T0 };
        assert.deepEqual(await store.putDefinition(rec), { created: true });
        assert.deepEqual(await store.putDefinition(rec), { created: false });
        await assert.rejects(store.putDefinition({ ...rec, hash: 'h2' }), DefinitionConflictError);
        await store.putDefinition({ ...rec, version: '1.1.0', hash: 'h3', createdAt: T0 + 1 });
        await store.putDefinition({ ...rec, id: 'other', hash: 'h4', createdAt: T0 + 2 });
        assert.deepEqual((await store.getDefinition('order', '1.0.0'))?.definition, rec.definition);
        assert.equal(await store.getDefinition('order', '9.9.9'), undefined);
        assert.deepEqual((await store.listDefinitions('order')).map((d) => d.version), ['1.0.0', '1.1.0']);
        assert.equal((await store.listDefinitions()).length, 3);
      });
    });

    describe('instances', () => {
      it('creates once per idempotency key and returns the existing row after', async () => {
        const a = await store.createInstance(inst('i1', { idempotencyKey: 'k1', labels: { team: 'x' }, correlationId: 'c1' }));
        assert.equal(a.created, true);
        assert.equal(a.instance.status, 'pending');
        assert.equal(a.instance.seq, 0);
        assert.deepEqual(a.instance.labels, { team: 'x' });
        const b = await store.createInstance(inst('i2', { idempotencyKey: 'k1' }));
        assert.equal(b.created, false);
        assert.equal(b.instance.id, 'i1');
        assert.equal(await store.getInstance('i2'), undefined);
        const c = await store.createInstance(inst('i1'));
        assert.equal(c.created, false);
        assert.equal((await store.getInstanceByIdempotencyKey('k1'))?.id, 'i1');
        assert.equal(await store.getInstanceByIdempotencyKey('nope'), undefined);
      });

      it('lists with filters and keyset pagination', async () => {
        await store.createInstance(inst('a1', { status: 'running' }));
        await store.createInstance(inst('a2', { status: 'completed', definitionId: 'other' }));
        await store.createInstance(inst('a3', { status: 'running', parentId: 'a1', parentRunId: 'r1' }));
        assert.deepEqual((await store.listInstances()).map((i) => i.id), ['a1', 'a2', 'a3']);
        assert.deepEqual((await store.listInstances({ status: ['running'] })).map((i) => i.id), ['a1', 'a3']);
        assert.deepEqual((await store.listInstances({ definitionId: 'other' })).map((i) => i.id), ['a2']);
        assert.deepEqual((await store.listInstances({ parentId: 'a1' })).map((i) => i.id), ['a3']);
        assert.deepEqual((await store.listInstances({ afterId: 'a1', limit: 1 })).map((i) => i.id), ['a2']);
        assert.equal((await store.getInstance('a3'))?.parentRunId, 'r1');
      });

      it('updates status and seq, optimistically when asked', async () => {
        await store.createInstance(inst('u1'));
        await store.updateInstance('u1', { status: 'running', seq: 3, updatedAt: T0 + 5 });
        await assert.rejects(store.updateInstance('u1', { status: 'completed', updatedAt: T0 + 6 }, 2), SeqConflictError);
        await store.updateInstance('u1', { status: 'completed', updatedAt: T0 + 6, endedAt: T0 + 6 }, 3);
        const row = await store.getInstance('u1');
        assert.equal(row?.status, 'completed');
        assert.equal(row?.seq, 3);
        assert.equal(row?.endedAt, T0 + 6);
      });
    });

    describe('events', () => {
      it('appends with an expected seq and rejects a conflicting append', async () => {
        await store.createInstance(inst('e1'));
        await store.appendEvents('e1', 0, evs(1, 3));
        await assert.rejects(store.appendEvents('e1', 2, [ev(3)]), (err: unknown) =>
          err instanceof SeqConflictError && err.actualSeq === 3 && err.instanceId === 'e1');
        await assert.rejects(store.appendEvents('missing', 0, [ev(1)]), SeqConflictError);
        await store.appendEvents('e1', 3, evs(4, 5));
        assert.deepEqual((await store.readEvents('e1')).map((e) => e.seq), [1, 2, 3, 4, 5]);
        assert.equal((await store.getInstance('e1'))?.seq, 5);
      });

      it('reads history ranges across commit boundaries', async () => {
        await store.createInstance(inst('h1'));
        await store.appendEvents('h1', 0, evs(1, 4));
        await store.appendEvents('h1', 4, evs(5, 5));
        await store.appendEvents('h1', 5, evs(6, 9));
        const seqs = async (o: { fromSeq?: number; toSeq?: number; limit?: number }) => (await store.readEvents('h1', o)).map((e) => e.seq);
        assert.deepEqual(await seqs({ fromSeq: 3, toSeq: 6 }), [3, 4, 5, 6]);
        assert.deepEqual(await seqs({ fromSeq: 5 }), [5, 6, 7, 8, 9]);
        assert.deepEqual(await seqs({ fromSeq: 2, limit: 4 }), [2, 3, 4, 5]);
        assert.deepEqual(await seqs({ toSeq: 1 }), [1]);
        assert.deepEqual(await seqs({ fromSeq: 10 }), []);
        assert.deepEqual(await store.readEvents('nobody'), []);
        assert.deepEqual((await store.readEvents('h1', { fromSeq: 7, toSeq: 7 }))[0], ev(7));
      });
    });

    describe('snapshots', () => {
      it('returns the latest snapshot at or before a seq, and loads row + snapshot + tail', async () => {
        await store.commit({ now: T0, instances: [createWrite('s1', 10)] });
        await store.putSnapshot('s1', 4, fakeState('s1', 4));
        await store.putSnapshot('s1', 8, fakeState('s1', 8));
        assert.equal((await store.getSnapshot('s1'))?.seq, 8);
        assert.equal((await store.getSnapshot('s1', 7))?.seq, 4);
        assert.equal(await store.getSnapshot('s1', 3), undefined);
        const log = await store.loadInstance('s1');
        assert.equal(log?.instance.seq, 10);
        assert.equal(log?.snapshot?.seq, 8);
        assert.deepEqual(log?.snapshot?.state.vars, { seq: 8 });
        assert.deepEqual(log?.events.map((e) => e.seq), [9, 10]);
        const past = await store.loadInstance('s1', 6);
        assert.equal(past?.snapshot?.seq, 4);
        assert.deepEqual(past?.events.map((e) => e.seq), [5, 6]);
        const early = await store.loadInstance('s1', 2);
        assert.equal(early?.snapshot, undefined);
        assert.deepEqual(early?.events.map((e) => e.seq), [1, 2]);
        assert.equal(await store.loadInstance('nobody'), undefined);
      });

      it('writes a snapshot inside a commit', async () => {
        await store.commit({ now: T0, instances: [createWrite('s2', 3, { snapshot: { seq: 3, state: fakeState('s2', 3) } })] });
        assert.equal((await store.getSnapshot('s2'))?.seq, 3);
      });
    });

    describe('commit', () => {
      it('writes events, rows and outbox for many instances in one call', async () => {
        await store.commit({
          now: T0,
          instances: [
            createWrite('c1', 2, {
              effects: {
                tasksToSchedule: [task('c1', 't1'), task('c1', 't2', { priority: 5, queue: 'gpu', timeoutMs: 100 })],
                timersToSet: [{ timerId: 'tm1', timer: { dueAt: T0 + 50, kind: 'timer', runId: 'r1' } }],
                waitsToAdd: [{ runId: 'r2', event: 'paid', key: { order: 7 } }],
                humanTasksToOpen: [{ runId: 'r3', stepId: 'approve', input: { amount: 3 }, task: { taskId: 'h1', users: ['ann'], groups: ['ops'], actions: ['approve'], kind: 'human' } }],
              },
            }),
            createWrite('c2', 1, { effects: { tasksToSchedule: [task('c2', 't1')] } }),
          ],
          outbox: [{ topic: 'workflow.started', instanceId: 'c1', payload: { a: 1 } }],
        });
        assert.equal((await store.getInstance('c1'))?.status, 'running');
        assert.equal((await store.getInstance('c1'))?.seq, 2);
        assert.deepEqual((await store.readEvents('c2')).map((e) => e.seq), [1]);
        const t2 = await store.getTask('c1', 't2');
        assert.equal(t2?.priority, 5);
        assert.equal(t2?.queue, 'gpu');
        assert.equal(t2?.timeoutMs, 100);
        assert.deepEqual(t2?.input, { x: 't2' });
        assert.equal(t2?.lease, undefined);
        assert.equal((await store.getTask('c2', 't1'))?.instanceId, 'c2', 'task ids are per instance');
        assert.equal((await store.listTasks({ instanceId: 'c1' })).length, 2);
        assert.deepEqual(await store.listTimers('c1'), [{ instanceId: 'c1', timerId: 'tm1', dueAt: T0 + 50, kind: 'timer', runId: 'r1' }]);
        assert.deepEqual(await store.listWaits('c1'), [{ instanceId: 'c1', runId: 'r2', event: 'paid', key: { order: 7 } }]);
        const humans = await store.listHumanTasks({ instanceId: 'c1' });
        assert.equal(humans.length, 1);
        assert.equal(humans[0].status, 'open');
        assert.deepEqual(humans[0].input, { amount: 3 });
        const outbox = await store.readOutbox(0, 10);
        assert.equal(outbox.length, 1);
        assert.deepEqual(outbox[0].payload, { a: 1 });
        assert.equal(await store.deleteOutbox(outbox[0].id), 1);
        assert.deepEqual(await store.readOutbox(0, 10), []);
      });

      it('is atomic: a failing batch writes nothing at all', async () => {
        await store.commit({ now: T0, instances: [createWrite('x1', 2)] });
        await assert.rejects(store.commit({
          now: T0,
          instances: [
            createWrite('x2', 1, { effects: { tasksToSchedule: [task('x2', 't')], timersToSet: [{ timerId: 'tm', timer: { dueAt: T0, kind: 'timer' } }] } }),
            { instanceId: 'x1', expectedSeq: 2, events: [ev(3)], update: { status: 'waiting', updatedAt: T0 }, effects: { waitsToAdd: [{ runId: 'r', event: 'e' }] } },
            { instanceId: 'x1', expectedSeq: 1, events: [ev(2)], update: { status: 'running', updatedAt: T0 } }, // stale: x1 is at 3 now
          ],
          outbox: [{ topic: 't', payload: 1 }],
        }), SeqConflictError);
        assert.equal(await store.getInstance('x2'), undefined);
        assert.deepEqual(await store.readEvents('x2'), []);
        assert.equal(await store.getTask('x2', 't'), undefined);
        assert.deepEqual(await store.listTimers('x2'), []);
        assert.deepEqual((await store.readEvents('x1')).map((e) => e.seq), [1, 2]);
        assert.equal((await store.getInstance('x1'))?.status, 'running');
        assert.deepEqual(await store.listWaits('x1'), []);
        assert.deepEqual(await store.readOutbox(0, 10), []);
      });

      it('rejects a duplicate idempotency key in a batch, naming the existing instance', async () => {
        await store.commit({ now: T0, instances: [{ ...createWrite('d1', 1), create: inst('d1', { idempotencyKey: 'key' }) }] });
        await assert.rejects(
          store.commit({ now: T0, instances: [createWrite('d0', 1), { ...createWrite('d2', 1), create: inst('d2', { idempotencyKey: 'key' }) }] }),
          (err: unknown) => err instanceof DuplicateInstanceError && err.existingId === 'd1' && err.instanceId === 'd2',
        );
        await assert.rejects(store.commit({ now: T0, instances: [createWrite('d1', 1)] }), DuplicateInstanceError);
        assert.equal(await store.getInstance('d0'), undefined);
      });

      it('applies removals before inserts: a task replaced in one batch stays, with the new attempt', async () => {
        await store.commit({ now: T0, instances: [createWrite('r1', 1, { effects: { tasksToSchedule: [task('r1', 't')] } })] });
        await store.commit({
          now: T0,
          instances: [{
            instanceId: 'r1', expectedSeq: 1, events: [ev(2)], update: { status: 'running', updatedAt: T0 },
            effects: { tasksToRemove: [{ taskId: 't', cancelled: false }], tasksToSchedule: [task('r1', 't', { attempt: 2 })] },
          }],
        });
        assert.equal((await store.getTask('r1', 't'))?.attempt, 2);
        await store.commit({ now: T0, instances: [{ instanceId: 'r1', expectedSeq: 2, events: [], effects: { tasksToRemove: [{ taskId: 't', cancelled: true }] } }] });
        assert.equal(await store.getTask('r1', 't'), undefined);
        assert.equal((await store.getInstance('r1'))?.seq, 2, 'a rows-only write leaves the row alone');
      });

      it('closes human tasks by run id and re-opens on upsert', async () => {
        const h = { taskId: 'h1', users: ['ann'], groups: ['ops'], actions: ['approve'], kind: 'human' as const };
        await store.commit({ now: T0, instances: [createWrite('hu', 1, { effects: { humanTasksToOpen: [{ runId: 'r1', stepId: 's', task: h }] } })] });
        await store.commit({ now: T0, instances: [{ instanceId: 'hu', expectedSeq: 1, events: [], effects: { humanTasksToOpen: [{ runId: 'r2', stepId: 's2', task: { ...h, taskId: 'h2', users: ['bob'], groups: [] } }] } }] });
        assert.deepEqual((await store.listHumanTasks({ user: 'ann' })).map((x) => x.task.taskId), ['h1']);
        assert.deepEqual((await store.listHumanTasks({ group: 'ops' })).map((x) => x.task.taskId), ['h1']);
        await store.commit({ now: T0 + 9, instances: [{ instanceId: 'hu', expectedSeq: 1, events: [], effects: { humanTasksToClose: ['r1'] } }] });
        assert.deepEqual((await store.listHumanTasks({ status: 'open' })).map((x) => x.task.taskId), ['h2']);
        const closed = await store.getHumanTask('hu', 'h1');
        assert.equal(closed?.status, 'closed');
        assert.equal(closed?.closedAt, T0 + 9);
      });
    });

    describe('human-task claims and reassignments', () => {
      const h = { taskId: 'h1', users: ['ann'], groups: ['ops'], actions: ['approve'], kind: 'human' as const };
      const open = (id: string) => store.commit({ now: T0, instances: [createWrite(id, 1, { effects: { humanTasksToOpen: [{ runId: 'r1', stepId: 's', task: h }] } })] });

      it('claims atomically once per user; another user gets `taken`; unknown or closed tasks are `not_found`', async () => {
        await open('hc');
        const first = await store.claimHumanTask('hc', 'h1', 'ann', T0 + 1);
        assert.equal(first.status, 'claimed');
        assert.deepEqual(first.status === 'claimed' && [first.task.claimedBy, first.task.claimedAt], ['ann', T0 + 1]);
        assert.equal((await store.claimHumanTask('hc', 'h1', 'ann', T0 + 2)).status, 'claimed', 'idempotent for the claimant');
        assert.deepEqual(await store.claimHumanTask('hc', 'h1', 'bob', T0 + 3), { status: 'taken', claimedBy: 'ann' });
        assert.deepEqual(await store.claimHumanTask('hc', 'nope', 'ann', T0), { status: 'not_found' });
        const row = await store.getHumanTask('hc', 'h1');
        assert.equal(row?.claimedBy, 'ann');
        assert.equal((await store.listHumanTasks({ instanceId: 'hc' }))[0]?.claimedBy, 'ann');
        assert.equal(await store.releaseHumanTask('hc', 'h1', 'bob'), undefined, 'only the claimant releases');
        assert.equal((await store.releaseHumanTask('hc', 'h1', 'ann'))?.claimedBy, undefined);
        assert.equal((await store.claimHumanTask('hc', 'h1', 'bob', T0 + 4)).status, 'claimed');
        await store.commit({ now: T0 + 9, instances: [{ instanceId: 'hc', expectedSeq: 1, events: [], effects: { humanTasksToClose: ['r1'] } }] });
        assert.deepEqual(await store.claimHumanTask('hc', 'h1', 'bob', T0 + 10), { status: 'not_found' });
      });

      it('reassigns users and/or groups, drops the claim, filters the inbox by the new assignees; re-opening resets', async () => {
        await open('hr');
        await store.claimHumanTask('hr', 'h1', 'ann', T0);
        const r = await store.reassignHumanTask('hr', 'h1', { users: ['cy'] });
        assert.deepEqual([r?.task.users, r?.task.groups, r?.claimedBy, r?.reassigned], [['cy'], ['ops'], undefined, true]);
        assert.deepEqual((await store.listHumanTasks({ user: 'cy' })).map((x) => x.task.taskId), ['h1']);
        assert.deepEqual(await store.listHumanTasks({ user: 'ann' }), []);
        await store.reassignHumanTask('hr', 'h1', { groups: ['fin'] });
        const again = await store.getHumanTask('hr', 'h1');
        assert.deepEqual([again?.task.users, again?.task.groups], [['cy'], ['fin']]);
        assert.equal(await store.reassignHumanTask('hr', 'missing', { users: ['x'] }), undefined);
        // A new run of the step re-opens the row with its declared assignees and no claim.
        await store.claimHumanTask('hr', 'h1', 'cy', T0);
        await store.commit({ now: T0, instances: [{ instanceId: 'hr', expectedSeq: 1, events: [], effects: { humanTasksToOpen: [{ runId: 'r2', stepId: 's', task: h }] } }] });
        const reopened = await store.getHumanTask('hr', 'h1');
        assert.deepEqual([reopened?.task.users, reopened?.claimedBy, reopened?.reassigned], [['ann'], undefined, undefined]);
      });
    });

    describe('namespaces', () => {
      it('definitions record their namespace (default `default`); instances filter by namespace', async () => {
        const rec = { id: 'ns', version: '1.0.0', definition: { id: 'ns', steps: [] }, hash: 'h1', createdAt: T0 };
        await store.putDefinition(rec);
        await store.putDefinition({ ...rec, id: 'ns2', namespace: 'billing' });
        assert.equal((await store.getDefinition('ns', '1.0.0'))?.namespace, 'default');
        assert.equal((await store.getDefinition('ns2', '1.0.0'))?.namespace, 'billing');
        assert.deepEqual((await store.listDefinitions()).map((d) => [d.id, d.namespace]), [['ns', 'default'], ['ns2', 'billing']]);
        await store.createInstance(inst('n1', { namespace: 'billing' }));
        await store.createInstance(inst('n2', { namespace: 'default' }));
        await store.createInstance(inst('n3', { namespace: 'billing' }));
        assert.deepEqual((await store.listInstances({ namespace: 'billing' })).map((i) => i.id), ['n1', 'n3']);
        assert.deepEqual((await store.listInstances({ namespace: 'default' })).map((i) => i.id), ['n2']);
        assert.equal((await store.getInstance('n1'))?.namespace, 'billing');
        const h = { taskId: 'h1', users: ['ann'], groups: [], actions: ['approve'], kind: 'human' as const };
        await store.commit({ now: T0, instances: [{ instanceId: 'n1', expectedSeq: 0, events: [], effects: { humanTasksToOpen: [{ runId: 'r1', stepId: 's', task: h }] } }] });
        await store.commit({ now: T0, instances: [{ instanceId: 'n2', expectedSeq: 0, events: [], effects: { humanTasksToOpen: [{ runId: 'r1', stepId: 's', task: h }] } }] });
        assert.deepEqual((await store.listHumanTasks({ namespace: 'billing' })).map((t) => t.instanceId), ['n1']);
        assert.deepEqual((await store.listHumanTasks({ namespace: 'default', user: 'ann' })).map((t) => t.instanceId), ['n2']);
      });
    });

    describe('definition deletion', () => {
      it('deletes a version no instance uses; refuses one in use (naming instances); unknown → not_found', async () => {
        const rec = { id: 'dd', version: '1.0.0', definition: { id: 'dd', steps: [] }, hash: 'h1', createdAt: T0 };
        await store.putDefinition(rec);
        await store.putDefinition({ ...rec, version: '2.0.0', hash: 'h2' });
        await store.createInstance(inst('u1', { definitionId: 'dd', definitionVersion: '1.0.0' }));
        assert.deepEqual(await store.deleteDefinition('dd', '1.0.0'), { status: 'in_use', instances: ['u1'] });
        assert.deepEqual(await store.deleteDefinition('dd', '2.0.0'), { status: 'deleted' });
        assert.deepEqual(await store.deleteDefinition('dd', '2.0.0'), { status: 'not_found' });
        assert.deepEqual((await store.listDefinitions('dd')).map((d) => d.version), ['1.0.0']);
        assert.equal(await store.getDefinition('dd', '2.0.0'), undefined);
        // The same id and version may be deployed again afterwards, with other content.
        assert.deepEqual(await store.putDefinition({ ...rec, version: '2.0.0', hash: 'h3' }), { created: true });
      });
    });

    describe('timers', () => {
      beforeEach(async () => {
        await store.commit({
          now: T0,
          instances: [
            createWrite('ta', 1, { effects: { timersToSet: [
              { timerId: 'late', timer: { dueAt: T0 + 300, kind: 'timer' } },
              { timerId: 'soon', timer: { dueAt: T0 + 100, kind: 'retry', taskId: 't1', runId: 'r1' } },
            ] } }),
            createWrite('tb', 1, { effects: { timersToSet: [{ timerId: 'soon', timer: { dueAt: T0 + 200, kind: 'wait-timeout' } }] } }),
          ],
        });
      });

      it('returns due timers earliest first, up to a limit', async () => {
        assert.equal(await store.nextTimerDue(), T0 + 100);
        assert.deepEqual(await store.dueTimers({ now: T0 + 50, limit: 10 }), []);
        const due = await store.dueTimers({ now: T0 + 250, limit: 10 });
        assert.deepEqual(due.map((t) => `${t.instanceId}/${t.timerId}`), ['ta/soon', 'tb/soon']);
        assert.deepEqual(due[0], { instanceId: 'ta', timerId: 'soon', dueAt: T0 + 100, kind: 'retry', taskId: 't1', runId: 'r1' });
        assert.equal((await store.dueTimers({ now: T0 + 1000, limit: 2 })).length, 2);
      });

      it('leases due timers to one owner until the lease expires; re-setting a timer clears its lease', async () => {
        const a = await store.dueTimers({ now: T0 + 250, limit: 10, owner: 'n1', leaseMs: 1000 });
        assert.equal(a.length, 2);
        assert.deepEqual(await store.dueTimers({ now: T0 + 260, limit: 10, owner: 'n2', leaseMs: 1000 }), []);
        assert.equal(await store.nextTimerDue(), T0 + 300, 'leased timers are not armed');
        const b = await store.dueTimers({ now: T0 + 1300, limit: 10, owner: 'n2', leaseMs: 1000 });
        assert.deepEqual(b.map((t) => `${t.instanceId}/${t.timerId}`), ['ta/soon', 'tb/soon', 'ta/late']);
        await store.commit({ now: T0, instances: [{ instanceId: 'tb', expectedSeq: 1, events: [], effects: { timersToSet: [{ timerId: 'soon', timer: { dueAt: T0 + 2000, kind: 'timer' } }] } }] });
        assert.deepEqual((await store.dueTimers({ now: T0 + 2000, limit: 10 })).map((t) => `${t.instanceId}/${t.timerId}`), ['tb/soon']);
        assert.equal(await store.releaseLeases('n2'), 0);
        assert.equal((await store.dueTimers({ now: T0 + 2000, limit: 10 })).length, 3);
      });

      it('removes timers through commits and outright', async () => {
        await store.commit({ now: T0, instances: [{ instanceId: 'ta', expectedSeq: 1, events: [], effects: { timersToRemove: ['soon'] } }] });
        await store.deleteTimers([{ instanceId: 'tb', timerId: 'soon' }]);
        assert.equal(await store.nextTimerDue(), T0 + 300);
        await store.deleteTimers([{ instanceId: 'ta', timerId: 'late' }]);
        assert.equal(await store.nextTimerDue(), undefined);
      });
    });

    describe('task claims and leases', () => {
      beforeEach(async () => {
        await store.commit({
          now: T0,
          instances: [
            createWrite('q1', 1, { effects: { tasksToSchedule: [task('q1', 'a'), task('q1', 'b', { priority: 9 }), task('q1', 'c', { activity: 'other' })] } }),
            createWrite('q2', 1, { effects: { tasksToSchedule: [task('q2', 'a', { queue: 'gpu' })] } }),
          ],
        });
      });

      it('claims by priority then age, filtered by activity and queue, bounded by limit', async () => {
        const first = await store.claimTasks({ owner: 'n1', now: T0, leaseMs: 1000, limit: 2, activities: ['act'], queues: [null] });
        assert.deepEqual(first.map((t) => `${t.instanceId}/${t.taskId}`), ['q1/b', 'q1/a']);
        assert.equal(first[0].lease?.owner, 'n1');
        assert.equal(first[0].lease?.expiresAt, T0 + 1000);
        assert.equal(first[0].claims, 1);
        assert.deepEqual(first[1].input, { x: 'a' });
        assert.deepEqual(await store.claimTasks({ owner: 'n2', now: T0, leaseMs: 1000, limit: 5, activities: ['act'], queues: [null] }), []);
        const gpu = await store.claimTasks({ owner: 'n2', now: T0, leaseMs: 1000, limit: 5, queues: ['gpu'] });
        assert.deepEqual(gpu.map((t) => `${t.instanceId}/${t.taskId}`), ['q2/a']);
        const any = await store.claimTasks({ owner: 'n3', now: T0, leaseMs: 1000, limit: 5 });
        assert.deepEqual(any.map((t) => `${t.instanceId}/${t.taskId}`), ['q1/c']);
        assert.deepEqual(await store.claimTasks({ owner: 'n3', now: T0, leaseMs: 1000, limit: 5, activities: [] }), []);
      });

      it('claims and lists only the tasks of one namespace when asked (instances without one are `default`)', async () => {
        await store.commit({ now: T0, instances: [createWrite('nsq', 1, { create: inst('nsq', { namespace: 'billing' }), effects: { tasksToSchedule: [task('nsq', 'a', { priority: 99 })] } })] });
        assert.deepEqual((await store.listTasks({ namespace: 'billing' })).map((t) => `${t.instanceId}/${t.taskId}`), ['nsq/a']);
        assert.deepEqual((await store.listTasks({ namespace: 'default' })).map((t) => `${t.instanceId}/${t.taskId}`).sort(), ['q1/a', 'q1/b', 'q1/c', 'q2/a']);
        const dflt = await store.claimTasks({ owner: 'd', now: T0, leaseMs: 1000, limit: 5, activities: ['act'], namespace: 'default' });
        assert.deepEqual(dflt.map((t) => `${t.instanceId}/${t.taskId}`).sort(), ['q1/a', 'q1/b', 'q2/a']);
        assert.deepEqual((await store.claimTasks({ owner: 'x', now: T0, leaseMs: 1000, limit: 5, namespace: 'elsewhere' })), []);
        const billing = await store.claimTasks({ owner: 'b', now: T0, leaseMs: 1000, limit: 5, activities: ['act'], namespace: 'billing' });
        assert.deepEqual(billing.map((t) => `${t.instanceId}/${t.taskId}`), ['nsq/a']);
        // Expired leases are re-claimed within the namespace only.
        assert.deepEqual((await store.claimTasks({ owner: 'd2', now: T0 + 5000, leaseMs: 1000, limit: 5, activities: ['act'], namespace: 'default' })).map((t) => t.instanceId).sort(), ['q1', 'q1', 'q2']);
      });

      it('re-claims after lease expiry with a new token; the stale holder cannot complete', async () => {
        const [a] = await store.claimTasks({ owner: 'n1', now: T0, leaseMs: 1000, limit: 1, activities: ['act'], queues: [null] });
        assert.equal(a.taskId, 'b');
        assert.deepEqual(await store.claimTasks({ owner: 'n2', now: T0 + 999, leaseMs: 1000, limit: 1, activities: ['act'], queues: [null] }).then((r) => r.map((t) => t.taskId)), ['a']);
        const [b] = await store.claimTasks({ owner: 'n2', now: T0 + 1001, leaseMs: 1000, limit: 1, activities: ['act'], queues: [null] });
        assert.equal(b.taskId, 'b');
        assert.equal(b.claims, 2);
        assert.notEqual(b.lease?.token, a.lease?.token);
        const complete = (token: string, seq: number): InstanceWrite => ({
          instanceId: 'q1', expectedSeq: seq, events: [ev(seq + 1)], update: { status: 'running', updatedAt: T0 },
          guards: [{ taskId: 'b', token }], effects: { tasksToRemove: [{ taskId: 'b', cancelled: false }] },
        });
        await assert.rejects(store.commit({ now: T0, instances: [complete(a.lease!.token, 1)] }),
          (err: unknown) => err instanceof LeaseLostError && err.instanceId === 'q1' && err.taskId === 'b');
        assert.equal((await store.getInstance('q1'))?.seq, 1, 'the stale completion wrote nothing');
        assert.ok(await store.getTask('q1', 'b'));
        await store.commit({ now: T0, instances: [complete(b.lease!.token, 1)] });
        assert.equal(await store.getTask('q1', 'b'), undefined);
        await assert.rejects(store.commit({ now: T0, instances: [complete(b.lease!.token, 2)] }), LeaseLostError);
      });

      it('renews leases still held, records heartbeat details, and reports lost ones', async () => {
        const [a] = await store.claimTasks({ owner: 'n1', now: T0, leaseMs: 1000, limit: 1, activities: ['act'] });
        const lost = await store.renewLeases([
          { instanceId: 'q1', taskId: a.taskId, token: a.lease!.token, expiresAt: T0 + 5000, details: { progress: 3 } },
          { instanceId: 'q1', taskId: 'a', token: 'not-mine', expiresAt: T0 + 5000 },
        ]);
        assert.deepEqual(lost, [{ instanceId: 'q1', taskId: 'a' }]);
        const row = await store.getTask('q1', a.taskId);
        assert.equal(row?.lease?.expiresAt, T0 + 5000);
        assert.deepEqual(row?.heartbeatDetails, { progress: 3 });
        assert.deepEqual(await store.claimTasks({ owner: 'n2', now: T0 + 2000, leaseMs: 1000, limit: 5, activities: ['act'], queues: [null] }).then((r) => r.map((t) => t.taskId)), ['a']);
        // Heartbeat details survive the task being replaced by its next attempt.
        await store.commit({ now: T0, instances: [{ instanceId: 'q1', expectedSeq: 1, events: [], effects: { tasksToSchedule: [task('q1', a.taskId, { attempt: 2, priority: 9 })] } }] });
        const next = await store.getTask('q1', a.taskId);
        assert.equal(next?.attempt, 2);
        assert.equal(next?.lease, undefined, 'a replaced task is unclaimed');
        assert.deepEqual(next?.heartbeatDetails, { progress: 3 });
      });

      it('releases leases of one owner, or all', async () => {
        await store.claimTasks({ owner: 'n1', now: T0, leaseMs: 60_000, limit: 1, activities: ['act'] });
        await store.claimTasks({ owner: 'n2', now: T0, leaseMs: 60_000, limit: 1, activities: ['act'] });
        assert.equal(await store.releaseLeases('n1'), 1);
        assert.equal((await store.claimTasks({ owner: 'n3', now: T0, leaseMs: 60_000, limit: 5, activities: ['act'] })).length, 2);
        assert.equal(await store.releaseLeases(), 3);
        assert.equal((await store.claimTasks({ owner: 'n4', now: T0, leaseMs: 60_000, limit: 5 })).length, 4);
      });

      it('writes a claim with the task insert (a node taking work it will run itself)', async () => {
        await store.commit({
          now: T0,
          instances: [{
            instanceId: 'q2', expectedSeq: 1, events: [ev(2)], update: { status: 'running', updatedAt: T0 },
            effects: { tasksToSchedule: [task('q2', 'z')], claims: [{ taskId: 'z', owner: 'me', token: 'tok', expiresAt: T0 + 100 }] },
          }],
        });
        const z = await store.getTask('q2', 'z');
        assert.deepEqual(z?.lease, { owner: 'me', token: 'tok', expiresAt: T0 + 100 });
        assert.equal(z?.claims, 1);
        assert.deepEqual((await store.claimTasks({ owner: 'n2', now: T0 + 50, leaseMs: 1000, limit: 9, activities: ['act'], queues: [null] })).map((t) => t.taskId), ['b', 'a']);
        assert.deepEqual((await store.claimTasks({ owner: 'n2', now: T0 + 101, leaseMs: 10, limit: 9, activities: ['act'], queues: [null] })).map((t) => t.taskId), ['z']);
      });
    });

    describe('schedules', () => {
      const sched = (id: string, extra: Partial<ScheduleRecord> = {}): ScheduleRecord => ({
        id, namespace: 'default', definitionId: 'wf', cron: '0 * * * *', timezone: 'UTC', overlap: 'skip', catchUp: 'skip',
        catchUpLimit: 10, paused: false, nextRunAt: T0 + 1000, revision: 1, createdAt: T0, updatedAt: T0, ...extra,
      });
      it('creates once per id, reads, lists by namespace/definition with keyset pages, deletes', async () => {
        const a = sched('a', { input: { n: 1 }, labels: { team: 'x' }, definitionVersion: '^1.0.0', lastRun: { at: T0, outcome: 'started', instanceId: 'i1' } });
        assert.equal(await store.createSchedule(a), true);
        assert.equal(await store.createSchedule({ ...a, definitionId: 'other' }), false, 'an existing id');
        assert.deepEqual(await store.getSchedule('a'), a);
        assert.equal((await store.getSchedule('a'))?.definitionId, 'wf', 'the duplicate wrote nothing');
        await store.createSchedule(sched('b', { namespace: 'billing' }));
        await store.createSchedule(sched('c', { definitionId: 'other' }));
        assert.deepEqual((await store.listSchedules()).map((x) => x.id), ['a', 'b', 'c']);
        assert.deepEqual((await store.listSchedules({ namespace: 'default' })).map((x) => x.id), ['a', 'c']);
        assert.deepEqual((await store.listSchedules({ definitionId: 'other' })).map((x) => x.id), ['c']);
        assert.deepEqual((await store.listSchedules({ afterId: 'a', limit: 1 })).map((x) => x.id), ['b']);
        assert.equal(await store.deleteSchedule('b'), true);
        assert.equal(await store.deleteSchedule('b'), false);
        assert.equal(await store.getSchedule('b'), undefined);
      });

      it('updates optimistically by revision: a stale writer gets conflict and changes nothing', async () => {
        await store.createSchedule(sched('u'));
        assert.equal(await store.updateSchedule(sched('u', { paused: true, updatedAt: T0 + 5 }), 1), 'updated');
        const after = await store.getSchedule('u');
        assert.deepEqual([after?.paused, after?.revision, after?.updatedAt], [true, 2, T0 + 5]);
        assert.equal(await store.updateSchedule(sched('u', { cron: '5 * * * *' }), 1), 'conflict');
        assert.equal((await store.getSchedule('u'))?.cron, '0 * * * *');
        assert.equal(await store.updateSchedule(sched('nope'), 1), 'not_found');
      });

      it('claims due unpaused rows earliest first with a lease; others skip them until it expires or is released', async () => {
        await store.createSchedule(sched('late', { nextRunAt: T0 + 300 }));
        await store.createSchedule(sched('early', { nextRunAt: T0 + 100 }));
        await store.createSchedule(sched('paused', { nextRunAt: T0 + 50, paused: true }));
        await store.createSchedule(sched('future', { nextRunAt: T0 + 10_000 }));
        await store.createSchedule(sched('ended', { nextRunAt: undefined }));
        assert.equal(await store.nextScheduleDue(), T0 + 100, 'paused and ended rows do not count');
        const first = await store.claimDueSchedules({ now: T0 + 500, limit: 1, owner: 'n1', leaseMs: 1000 });
        assert.deepEqual(first.map((x) => x.id), ['early']);
        assert.deepEqual((await store.claimDueSchedules({ now: T0 + 500, limit: 10, owner: 'n2', leaseMs: 1000 })).map((x) => x.id), ['late']);
        assert.deepEqual(await store.claimDueSchedules({ now: T0 + 600, limit: 10, owner: 'n3', leaseMs: 1000 }), [], 'both leased');
        assert.equal(await store.nextScheduleDue(), T0 + 1500, 'a leased row counts from its lease expiry');
        // The holder records its fire and drops the lease in the same write.
        assert.equal(await store.updateSchedule({ ...first[0]!, nextRunAt: T0 + 2000 }, first[0]!.revision, { releaseLease: true }), 'updated');
        assert.deepEqual((await store.claimDueSchedules({ now: T0 + 1400, limit: 10, owner: 'n3', leaseMs: 1000 })).map((x) => x.id), []);
        assert.deepEqual((await store.claimDueSchedules({ now: T0 + 1501, limit: 10, owner: 'n3', leaseMs: 1000 })).map((x) => x.id), ['late'], 'an expired lease is taken over');
        assert.equal(await store.releaseScheduleLeases('n3'), 1);
        assert.equal(await store.releaseScheduleLeases('n3'), 0);
        assert.deepEqual((await store.claimDueSchedules({ now: T0 + 2000, limit: 10, owner: 'n4', leaseMs: 1000 })).map((x) => x.id), ['late', 'early']);
        assert.equal(await store.releaseScheduleLeases(), 2);
      });

      it('concurrent claimers take disjoint due schedules', async () => {
        for (let i = 0; i < 12; i++) await store.createSchedule(sched(`d${String(i).padStart(2, '0')}`, { nextRunAt: T0 + i }));
        const claims = await Promise.all(['n1', 'n2', 'n3'].map((owner) => store.claimDueSchedules({ now: T0 + 100, limit: 5, owner, leaseMs: 1000 })));
        const ids = claims.flatMap((c) => c.map((x) => x.id));
        assert.equal(new Set(ids).size, ids.length, 'no schedule claimed twice');
        assert.ok(claims.every((c) => c.length <= 5));
        const rest = await store.claimDueSchedules({ now: T0 + 100, limit: 100, owner: 'n4', leaseMs: 1000 });
        assert.deepEqual([...ids, ...rest.map((x) => x.id)].sort(), Array.from({ length: 12 }, (_, i) => `d${String(i).padStart(2, '0')}`));
      });
    });

    describe('waits', () => {
      it('matches by event and canonical key; keyless waits match only keyless events', async () => {
        await store.commit({
          now: T0,
          instances: [
            createWrite('w1', 1, { effects: { waitsToAdd: [{ runId: 'r1', event: 'paid', key: { b: 2, a: 1 } }] } }),
            createWrite('w2', 1, { effects: { waitsToAdd: [{ runId: 'r1', event: 'paid', key: 'other' }, { runId: 'r2', event: 'shipped' }] } }),
            createWrite('w3', 1, { effects: { waitsToAdd: [{ runId: 'r9', event: 'paid' }] } }),
          ],
        });
        const ids = async (event: string, key: unknown) => (await store.findWaits(event, key)).map((w) => `${w.instanceId}/${w.runId}`).sort();
        assert.deepEqual(await ids('paid', { a: 1, b: 2 }), ['w1/r1']);
        assert.deepEqual(await ids('paid', 'other'), ['w2/r1']);
        assert.deepEqual(await ids('paid', undefined), ['w3/r9']);
        assert.deepEqual(await ids('shipped', undefined), ['w2/r2']);
        assert.deepEqual(await ids('shipped', 42), []);
        assert.deepEqual(await ids('nothing', 1), []);
        await store.commit({ now: T0, instances: [{ instanceId: 'w1', expectedSeq: 1, events: [], effects: { waitsToRemove: ['r1'] } }] });
        assert.deepEqual(await ids('paid', { a: 1, b: 2 }), []);
      });
    });

    describe('nodes', () => {
      const node = (id: string, at: number) => ({ id, host: 'h', pid: 7, capabilities: ['a', 'b'], capacity: 5, startedAt: at, heartbeatAt: at });
      it('registers, heartbeats, marks silent nodes dead, refuses their heartbeats, re-registers and forgets', async () => {
        await store.registerNode(node('n1', T0));
        await store.registerNode(node('n2', T0));
        assert.equal(await store.heartbeatNode('n1', T0 + 100, { capabilities: ['c'], capacity: 9 }), true);
        assert.equal(await store.heartbeatNode('nope', T0 + 100), false);
        assert.deepEqual(await store.markDeadNodes(T0 + 50, T0 + 200), ['n2']);
        assert.deepEqual(await store.markDeadNodes(T0 + 50, T0 + 201), [], 'a dead node is marked once');
        const nodes = await store.listNodes();
        assert.deepEqual(nodes.map((n) => [n.id, n.status, n.heartbeatAt, n.diedAt]), [['n1', 'alive', T0 + 100, undefined], ['n2', 'dead', T0, T0 + 200]]);
        assert.deepEqual([nodes[0].capabilities, nodes[0].capacity, nodes[0].host, nodes[0].pid], [['c'], 9, 'h', 7]);
        assert.equal(await store.heartbeatNode('n2', T0 + 300), false, 'a node marked dead must re-register');
        await store.registerNode(node('n2', T0 + 300));
        assert.equal((await store.listNodes()).find((n) => n.id === 'n2')?.status, 'alive');
        assert.deepEqual(await store.markDeadNodes(T0 + 250, T0 + 400), ['n1']);
        assert.equal(await store.forgetNodes(T0 + 400), 0);
        assert.equal(await store.forgetNodes(T0 + 401), 1);
        await store.removeNode('n2');
        assert.deepEqual(await store.listNodes(), []);
      });
    });

    describe('retention', () => {
      it('purges instances ended before the bound with everything they own; running and recent ones stay', async () => {
        const end = (id: string, seq: number, endedAt: number): InstanceWrite => ({
          instanceId: id, expectedSeq: seq, events: evs(seq + 1, seq + 1), update: { status: 'completed', updatedAt: endedAt, endedAt },
        });
        await store.commit({
          now: T0,
          instances: ['old1', 'old2', 'recent', 'live'].map((id) => createWrite(id, 2, {
            snapshot: { seq: 2, state: fakeState(id, 2) },
            effects: { tasksToSchedule: [task(id, 't1')], timersToSet: [{ timerId: 'tm', timer: { dueAt: T0 + 10, kind: 'timer' } }], waitsToAdd: [{ runId: 'w', event: 'e' }] },
          })),
        });
        await store.commit({ now: T0, instances: [end('old1', 2, T0 + 10), end('old2', 2, T0 + 20), end('recent', 2, T0 + 1000)] });
        assert.deepEqual(await store.purgeFinished(T0 + 500, 1), { instances: 1 }, 'bounded by the limit, oldest first');
        assert.equal(await store.getInstance('old1'), undefined);
        assert.deepEqual(await store.purgeFinished(T0 + 500, 10), { instances: 1 });
        for (const id of ['old1', 'old2']) {
          assert.equal(await store.getInstance(id), undefined);
          assert.deepEqual(await store.readEvents(id), []);
          assert.equal(await store.getSnapshot(id), undefined);
          assert.deepEqual(await store.listTasks({ instanceId: id }), []);
          assert.deepEqual(await store.listTimers(id), []);
          assert.deepEqual(await store.listWaits(id), []);
        }
        assert.deepEqual(await store.purgeFinished(T0 + 500, 10), { instances: 0 });
        assert.equal((await store.getInstance('recent'))?.status, 'completed');
        assert.equal((await store.getInstance('live'))?.status, 'running');
        assert.equal((await store.readEvents('live')).length, 2);
      });
    });

    describe('outbox rows', () => {
      it('deletes exactly the ids given, leaving rows with lower and higher ids', async () => {
        for (let i = 0; i < 4; i++) await store.commit({ now: T0, instances: [], outbox: [{ topic: 't', payload: { i } }] });
        const rows = await store.readOutbox(0, 10);
        assert.equal(rows.length, 4);
        assert.equal(await store.deleteOutboxRows([rows[1].id, rows[3].id]), 2);
        assert.deepEqual((await store.readOutbox(0, 10)).map((r) => r.payload), [{ i: 0 }, { i: 2 }]);
        assert.equal(await store.deleteOutboxRows([]), 0);
      });
    });
  });
}
