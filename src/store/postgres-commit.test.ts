/**
 * The one-round-trip group commit of the PostgreSQL store (postgres/commit.ts): the PL/pgSQL
 * function must write exactly what the statement-by-statement path writes, and report conflicts
 * as the same typed errors, naming the first failing instance in BATCH order (not id order, the
 * order the function locks rows in). The conformance suite runs through the function too (every
 * single-round batch takes it); this file compares the two paths row for row.
 */
import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createTestDatabase, pgTestSetup } from '../../test/helpers/pg.js';
import { evs, inst, task } from './conformance.js';
import { DuplicateInstanceError, LeaseLostError, SeqConflictError } from './errors.js';
import { COMMIT_FUNCTION, commitInOneCall, fitsOneCall, writeBatch } from './postgres/commit.js';
import { openPostgresStore, type PostgresStore } from './postgres/store.js';
import type { CommitBatch, InstanceWrite } from './types.js';

const T0 = 1_700_000_000_000;
const BOUNDED = { statementTimeoutMs: 20_000, queryTimeoutMs: 30_000 };
const TABLES = ['instances', 'event_chunks', 'snapshots', 'tasks', 'timers', 'waits', 'human_tasks', 'outbox'];

const setup = await pgTestSetup();

/** A batch touching every kind of row: creates, events, a snapshot, claims, timers, waits, humans, outbox. */
function richBatch(): CommitBatch {
  const a: InstanceWrite = {
    instanceId: 'a', create: inst('a', { idempotencyKey: 'ka', labels: { team: 'x' }, correlationId: 'c-a', namespace: 'ns1' }),
    expectedSeq: 0, events: evs(1, 3), update: { status: 'running', updatedAt: T0 + 3 },
    snapshot: { seq: 3, state: { id: 'a', seq: 3, vars: { quote: 'say "hi" \\ there', n: [1, 2.5, null] } } as never },
    effects: {
      tasksToSchedule: [task('a', 't1', { priority: 5, queue: 'q1' }), task('a', 't2')],
      claims: [{ taskId: 't1', owner: 'node-1', token: 'tok-1', expiresAt: T0 + 60_000 }],
      timersToSet: [{ timerId: 'tm1', timer: { timerId: 'tm1', runId: 'r1', dueAt: T0 + 5000, purpose: 'timer' } as never }],
      waitsToAdd: [{ runId: 'w1', event: 'paid', key: { order: 7, a: 'b' } }, { runId: 'w2', event: 'any' }],
      humanTasksToOpen: [{ runId: 'h1', stepId: 'approve', task: { taskId: 'h1', users: ['ann'], groups: [] } as never, input: null }],
    },
  };
  const b: InstanceWrite = {
    instanceId: 'b', create: inst('b', { parentId: 'a', parentRunId: 'r-child' }), expectedSeq: 0, events: evs(1, 1),
    update: { status: 'completed', updatedAt: T0 + 9, endedAt: T0 + 9 },
  };
  return {
    now: T0, instances: [a, b],
    outbox: [{ topic: 'lifecycle', instanceId: 'a', payload: [{ topic: 'workflow.started' }] }, { topic: 'other', payload: null }],
  };
}

/** Every row of the hot tables, in key order (the outbox's identity column included). */
async function dump(store: PostgresStore): Promise<Record<string, unknown[]>> {
  const out: Record<string, unknown[]> = {};
  for (const t of TABLES) out[t] = (await store.pool.query(`SELECT * FROM ${t} ORDER BY 1, 2`)).rows;
  return out;
}

async function viaStatements(store: PostgresStore, batch: CommitBatch): Promise<void> {
  const c = await store.pool.connect();
  try {
    await c.query('BEGIN');
    await writeBatch(c, batch);
    await c.query('COMMIT');
  } catch (err) {
    await c.query('ROLLBACK');
    throw err;
  } finally {
    c.release();
  }
}

if (setup.status === 'skip') {
  describe('postgres one-call commit', { skip: setup.reason }, () => undefined);
} else if (setup.status === 'fail') {
  it('PostgreSQL is reachable (required with CI=true)', () => assert.fail(setup.reason));
} else {
  const dbs = await Promise.all([createTestDatabase(setup.adminUrl), createTestDatabase(setup.adminUrl)]);
  after(() => Promise.all(dbs.map((d) => d.drop())));
  const open = async (i: number) => {
    const s = await openPostgresStore(dbs[i].url, { ...BOUNDED, poolSize: 2 });
    await s.pool.query(`TRUNCATE ${TABLES.join(', ')} RESTART IDENTITY`);
    return s;
  };

  describe('postgres one-call commit', () => {
    it('installs its function at open and writes exactly the rows the statement-by-statement path writes', async () => {
      const [fn, st] = [await open(0), await open(1)];
      try {
        const found = await fn.pool.query('SELECT 1 FROM pg_proc WHERE proname = $1', [COMMIT_FUNCTION]);
        assert.equal(found.rowCount, 1);
        assert.equal(fitsOneCall(richBatch()), true);
        await commitInOneCall(fn.pool, COMMIT_FUNCTION, richBatch());
        await viaStatements(st, richBatch());
        // A second batch: removals before inserts (task t2 replaced by attempt 2), closes, deletes.
        const second = (): CommitBatch => ({
          now: T0 + 100,
          instances: [{
            instanceId: 'a', expectedSeq: 3, events: evs(4, 5), update: { updatedAt: T0 + 100 },
            effects: {
              tasksToRemove: [{ taskId: 't1' } as never, { taskId: 't2' } as never], tasksToSchedule: [task('a', 't2', { attempt: 2 })],
              timersToRemove: ['tm1'], waitsToRemove: ['w1'], humanTasksToClose: ['h1'],
            },
            guards: [{ taskId: 't1', token: 'tok-1' }],
          }],
        });
        await commitInOneCall(fn.pool, COMMIT_FUNCTION, second());
        await viaStatements(st, second());
        const [x, y] = [await dump(fn), await dump(st)];
        assert.deepEqual(x, y);
        assert.equal(x.tasks.length, 1);
        assert.equal((x.tasks[0] as { attempt: number }).attempt, 2);
        assert.equal(x.event_chunks.length, 3);
      } finally {
        await fn.close();
        await st.close();
      }
    });

    it('names the first conflicting instance in batch order, and writes nothing', async () => {
      const s = await open(0);
      try {
        await s.commit({ now: T0, instances: ['m', 'z'].map((id) => ({ instanceId: id, create: inst(id), expectedSeq: 0, events: evs(1, 2), update: { status: 'running', updatedAt: T0 } })) });
        const before = await dump(s);
        // Both moves are stale; `z` comes first in the batch although the function locks `m` first.
        const stale = (id: string): InstanceWrite => ({ instanceId: id, expectedSeq: 1, events: evs(2, 2), update: { updatedAt: T0 + 1 } });
        await assert.rejects(s.commit({ now: T0 + 1, instances: [stale('z'), stale('m')] }),
          (err: unknown) => err instanceof SeqConflictError && err.instanceId === 'z' && err.expectedSeq === 1 && err.actualSeq === 2);
        // A new row taking an existing idempotency key names the holder.
        await s.commit({ now: T0, instances: [{ instanceId: 'k1', create: inst('k1', { idempotencyKey: 'key' }), expectedSeq: 0, events: [] }] });
        await assert.rejects(s.commit({ now: T0 + 2, instances: [{ instanceId: 'k2', create: inst('k2', { idempotencyKey: 'key' }), expectedSeq: 0, events: evs(1, 1), update: { updatedAt: T0 } }] }),
          (err: unknown) => err instanceof DuplicateInstanceError && err.instanceId === 'k2' && err.existingId === 'k1' && err.idempotencyKey === 'key');
        await assert.rejects(s.commit({ now: T0 + 2, instances: [{ instanceId: 'm', create: inst('m'), expectedSeq: 0, events: [] }] }),
          (err: unknown) => err instanceof DuplicateInstanceError && err.instanceId === 'm' && err.existingId === 'm' && err.idempotencyKey === undefined);
        // A completion guarded by a token the task row does not carry.
        await s.commit({ now: T0, instances: [{ instanceId: 'm', expectedSeq: 2, events: evs(3, 3), update: { updatedAt: T0 }, effects: { tasksToSchedule: [task('m', 't')], claims: [{ taskId: 't', owner: 'n', token: 'real', expiresAt: T0 + 1000 }] } }] });
        await assert.rejects(s.commit({ now: T0 + 3, instances: [{ instanceId: 'm', expectedSeq: 3, events: evs(4, 4), update: { updatedAt: T0 }, guards: [{ taskId: 't', token: 'forged' }], effects: { tasksToRemove: [{ taskId: 't' } as never] } }] }),
          (err: unknown) => err instanceof LeaseLostError && err.instanceId === 'm' && err.taskId === 't');
        const after = await dump(s);
        // Only the successful commits wrote: k1's row (no events) and m's event 3; the refused ones nothing.
        assert.equal(after.event_chunks.length, before.event_chunks.length + 1);
        assert.equal(after.instances.length, before.instances.length + 1);
        assert.equal((after.tasks as unknown[]).length, 1);
      } finally {
        await s.close();
      }
    });

    it('refuses events not numbered from expectedSeq + 1 before sending anything', async () => {
      const s = await open(0);
      try {
        await assert.rejects(s.commit({ now: T0, instances: [{ instanceId: 'n', create: inst('n'), expectedSeq: 0, events: evs(2, 3), update: { updatedAt: T0 } }] }),
          /events must be numbered from 1/);
        assert.equal((await s.pool.query('SELECT count(*)::int AS n FROM instances')).rows[0].n, 0);
      } finally {
        await s.close();
      }
    });
  });
}
