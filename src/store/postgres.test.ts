/**
 * The PostgreSQL store: the SAME conformance suite as SQLite, against a fresh database
 * (`weft_test_<random>`, dropped after), plus what only a shared database has — concurrent
 * migrations, disjoint concurrent claims, optimistic conflicts between connections.
 * Without a reachable PostgreSQL the file skips loudly, unless CI=true (then it fails):
 * see test/helpers/pg.ts.
 */
import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createTestDatabase, pgTestSetup } from '../../test/helpers/pg.js';
import { evs, inst, runStoreConformance, task } from './conformance.js';
import { SeqConflictError } from './errors.js';
import { loadMigrations } from './postgres/migrate.js';
import { PostgresStore, claimTasksQuery, leaseDueTimersQuery, openPostgresStore } from './postgres/store.js';

const TABLES = 'definitions, instances, event_chunks, snapshots, tasks, timers, waits, human_tasks, outbox, schedules';
const T0 = 1_700_000_000_000;
/** Nothing in this file may hang a test run: every statement and round trip is bounded. */
const BOUNDED = { statementTimeoutMs: 20_000, queryTimeoutMs: 30_000 };

const setup = await pgTestSetup();

if (setup.status === 'skip') {
  describe('store conformance: postgres', { skip: setup.reason }, () => undefined);
} else if (setup.status === 'fail') {
  it('PostgreSQL is reachable (required with CI=true)', () => assert.fail(setup.reason));
} else {
  const db = await createTestDatabase(setup.adminUrl);
  after(() => db.drop());

  /** A store on the test database, emptied (the schema stays; migrations are a no-op after the first). */
  const fresh = async (options: { poolSize?: number } = {}): Promise<PostgresStore> => {
    const s = await openPostgresStore(db.url, { ...BOUNDED, poolSize: options.poolSize ?? 4 });
    await s.pool.query(`TRUNCATE ${TABLES} RESTART IDENTITY`);
    return s;
  };

  runStoreConformance('postgres', () => fresh());

  describe('postgres specifics', () => {
    it('applies the numbered migrations once, even when several nodes open at the same moment', async () => {
      const other = await createTestDatabase(setup.adminUrl);
      try {
        const stores = await Promise.all([1, 2, 3, 4].map(() => openPostgresStore(other.url, { ...BOUNDED, poolSize: 2 })));
        const { rows } = await stores[0].pool.query('SELECT version, name FROM schema_version ORDER BY version');
        assert.deepEqual(rows.map((r) => r.version), loadMigrations().map((m) => m.version));
        assert.deepEqual(rows.map((r) => r.name), loadMigrations().map((m) => m.name));
        await Promise.all(stores.map((s) => s.close()));
        const again = await openPostgresStore(other.url, BOUNDED);
        assert.equal((await again.pool.query('SELECT COUNT(*)::int AS n FROM schema_version')).rows[0].n, rows.length);
        await again.close();
      } finally {
        await other.drop();
      }
    });

    it('concurrent claimers on separate pools take disjoint tasks (SKIP LOCKED), bounded by their limit', async () => {
      const a = await fresh();
      const nodes = [a, ...(await Promise.all([1, 2, 3].map(() => openPostgresStore(db.url, { ...BOUNDED, poolSize: 2 }))))];
      try {
        const tasks = Array.from({ length: 120 }, (_, i) => task('cc', `t${String(i).padStart(3, '0')}`, { priority: i % 3 }));
        await a.commit({ now: T0, instances: [{ instanceId: 'cc', create: inst('cc'), expectedSeq: 0, events: evs(1, 1), update: { status: 'running', updatedAt: T0 }, effects: { tasksToSchedule: tasks } }] });
        const seen: string[] = [];
        await Promise.all(nodes.map(async (s, n) => {
          for (;;) {
            const got = await s.claimTasks({ owner: `n${n}`, now: T0, leaseMs: 60_000, limit: 7, activities: ['act'] });
            assert.ok(got.length <= 7);
            if (got.length === 0) return;
            seen.push(...got.map((t) => t.taskId));
          }
        }));
        assert.equal(seen.length, 120, 'every task claimed');
        assert.equal(new Set(seen).size, 120, 'no task claimed twice');
        const owners = new Set((await a.listTasks()).map((t) => t.lease?.owner));
        assert.ok(owners.size >= 2, `work spread over nodes (${[...owners].join(', ')})`);
      } finally {
        await Promise.all(nodes.map((s) => s.close()));
      }
    });

    it('concurrent timer leases are disjoint', async () => {
      const a = await fresh();
      const b = await openPostgresStore(db.url, { ...BOUNDED, poolSize: 2 });
      try {
        const timersToSet = Array.from({ length: 60 }, (_, i) => ({ timerId: `tm${i}`, timer: { dueAt: T0 + i, kind: 'timer' as const } }));
        await a.commit({ now: T0, instances: [{ instanceId: 'tt', create: inst('tt'), expectedSeq: 0, events: [], effects: { timersToSet } }] });
        const seen: string[] = [];
        await Promise.all([a, b, a, b].map(async (s, n) => {
          for (;;) {
            const got = await s.dueTimers({ now: T0 + 100, limit: 5, owner: `n${n}`, leaseMs: 60_000 });
            if (got.length === 0) return;
            seen.push(...got.map((t) => t.timerId));
          }
        }));
        assert.equal(seen.length, 60);
        assert.equal(new Set(seen).size, 60);
      } finally {
        await Promise.all([a.close(), b.close()]);
      }
    });

    it('of concurrent commits to one instance from several connections, exactly one wins', async () => {
      const a = await fresh({ poolSize: 8 });
      try {
        await a.commit({ now: T0, instances: [{ instanceId: 'oc', create: inst('oc'), expectedSeq: 0, events: evs(1, 1), update: { status: 'running', updatedAt: T0 } }] });
        const results = await Promise.allSettled(Array.from({ length: 8 }, (_, i) => a.commit({
          now: T0, instances: [{ instanceId: 'oc', expectedSeq: 1, events: [{ ...evs(2, 2)[0], vars: { by: i } } as never], update: { status: 'running', updatedAt: T0 + i } }],
        })));
        assert.equal(results.filter((r) => r.status === 'fulfilled').length, 1);
        for (const r of results) if (r.status === 'rejected') assert.ok(r.reason instanceof SeqConflictError, String(r.reason));
        assert.deepEqual((await a.readEvents('oc')).map((e) => e.seq), [1, 2]);
      } finally {
        await a.close();
      }
    });

    it('writes many instances per commit with set-based statements, including one instance twice', async () => {
      const a = await fresh();
      try {
        const n = 300;
        await a.commit({
          now: T0,
          instances: Array.from({ length: n }, (_, i) => ({
            instanceId: `m${i}`, create: inst(`m${i}`, { idempotencyKey: `k${i}` }), expectedSeq: 0, events: evs(1, 2),
            update: { status: 'running' as const, updatedAt: T0 }, effects: { tasksToSchedule: [task(`m${i}`, 't')] },
          })),
          outbox: [{ topic: 'a', payload: 1 }, { topic: 'b', payload: 2 }],
        });
        // The same instance twice in one batch: both writes apply, in order.
        await a.commit({
          now: T0,
          instances: [
            { instanceId: 'm0', expectedSeq: 2, events: evs(3, 3), update: { status: 'running', updatedAt: T0 }, effects: { tasksToRemove: [{ taskId: 't', cancelled: false }] } },
            { instanceId: 'm1', expectedSeq: 2, events: evs(3, 3), update: { status: 'running', updatedAt: T0 } },
            { instanceId: 'm0', expectedSeq: 3, events: evs(4, 5), update: { status: 'completed', updatedAt: T0, endedAt: T0 }, effects: { tasksToSchedule: [task('m0', 't', { attempt: 2 })] } },
          ],
        });
        assert.equal((await a.listInstances()).length, n);
        assert.deepEqual((await a.readEvents('m0')).map((e) => e.seq), [1, 2, 3, 4, 5]);
        assert.equal((await a.getInstance('m0'))?.status, 'completed');
        assert.equal((await a.getTask('m0', 't'))?.attempt, 2);
        assert.deepEqual((await a.readOutbox(0, 10)).map((o) => o.topic), ['a', 'b']);
      } finally {
        await a.close();
      }
    });

    it('the claim and due-timer statements read their indexes, never the whole table (EXPLAIN)', async () => {
      const a = await fresh();
      try {
        // 10,000 instances with a task (4 activities, 3 priorities; half leased elsewhere) and a timer each.
        for (let b = 0; b < 10; b++) {
          await a.commit({ now: T0 + b, instances: Array.from({ length: 1000 }, (_, j) => {
            const i = b * 1000 + j;
            return {
              instanceId: `e${i}`, create: inst(`e${i}`), expectedSeq: 0, events: evs(1, 1), update: { status: 'running' as const, updatedAt: T0 },
              effects: {
                tasksToSchedule: [task(`e${i}`, 't', { activity: `act${i % 4}`, priority: i % 3 })],
                claims: i % 2 ? [{ taskId: 't', owner: 'other', token: 'x', expiresAt: T0 + (i % 10) * 1000 }] : undefined,
                timersToSet: [{ timerId: 'tm', timer: { dueAt: T0 + i * 100, kind: 'timer' as const } }],
              },
            };
          }) });
        }
        await a.pool.query('ANALYZE');
        const plan = async (q: { text: string; values: unknown[] }) =>
          (await a.pool.query(`EXPLAIN (COSTS OFF) ${q.text}`, q.values)).rows.map((r) => r['QUERY PLAN']).join('\n');
        const claim = await plan(claimTasksQuery({ owner: 'n', now: T0 + 5000, leaseMs: 1000, limit: 50, activities: ['act0', 'act1'] }, 'p'));
        assert.match(claim, /Index Scan using tasks_ready/, claim);
        assert.match(claim, /Index Scan using tasks_leased/, claim);
        assert.match(claim, /LockRows/, claim);
        assert.doesNotMatch(claim, /Seq Scan/, claim);
        const timers = await plan(leaseDueTimersQuery({ owner: 'n', now: T0 + 500_000, limit: 100, leaseMs: 1000 }));
        assert.match(timers, /Index Scan using timers_due/, timers);
        assert.doesNotMatch(timers, /Seq Scan/, timers);
      } finally {
        await a.close();
      }
    });

    it('keeps the pool bounded under load', async () => {
      const a = await fresh({ poolSize: 3 });
      try {
        let peak = 0;
        await Promise.all(Array.from({ length: 40 }, async (_, i) => {
          await a.createInstance(inst(`p${i}`));
          peak = Math.max(peak, a.pool.totalCount);
        }));
        assert.ok(peak <= 3, `peak ${peak} connections`);
        assert.equal((await a.listInstances()).length, 40);
      } finally {
        await a.close();
      }
    });
  });
}
