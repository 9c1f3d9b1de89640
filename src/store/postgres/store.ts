/**
 * PostgreSQL store (several nodes, one database): `pg` with a bounded pool, the same Store shape
 * and conformance suite as SQLite. Open it with `openPostgresStore(url)`: migrations run first,
 * under an advisory lock (`./migrate.ts`).
 *
 * - `commit(batch)` is ONE transaction for many instances, written with set-based statements
 *   (`./commit.ts`); deadlocks and serialization failures between nodes are retried (the
 *   transaction rolled back entirely, so a retry is safe).
 * - Claims (`claimTasks`, `dueTimers` with an owner) are single statements that lock candidate
 *   rows `FOR UPDATE SKIP LOCKED`, bounded by the limit: concurrent claimers take disjoint rows
 *   and never wait for one another.
 * - Rows come back in the SQLite row shapes (bigint → number, JSON as text), so the row mappers
 *   of `../sqlite/rows.ts` are shared and both backends return identical records.
 */
import pg from 'pg';
import type { PoolClient, QueryResultRow } from 'pg';
import { randomBytes } from 'node:crypto';
import type { EngineEvent, InstanceState } from '../../core/types.js';
import { DefinitionConflictError, SeqConflictError } from '../errors.js';
import { canonicalJson, toJsonColumn } from '../json.js';
import type {
  ClaimTasksOptions, NodeRecord, PurgeResult, CommitBatch, DefinitionRecord, DefinitionSummary, DueTimersOptions, HumanTaskClaim, HumanTaskFilter,
  HumanTaskRecord, InstanceFilter, InstanceLog, InstanceRecord, InstanceUpdate, LeaseRenewal, NewInstance,
  OutboxRow, ReadEventsOptions, Store, StoredTask, TaskKey, TimerRow, WaitRow,
  DueSchedulesOptions, ScheduleFilter, ScheduleRecord,
} from '../types.js';
import {
  toHumanTask, toInstance, toTask, toTimer,
  toNode, type HumanSqlRow, type InstanceSqlRow, type NodeSqlRow, type TaskSqlRow, type TimerSqlRow,
} from '../sqlite/rows.js';
import { commitInOneCall, fitsOneCall, insertInstances, installCommitFunction, run, writeBatch } from './commit.js';
import { migrate } from './migrate.js';
import { PostgresSchedules } from './schedules.js';

export interface PostgresStoreOptions {
  /** Most connections this process opens (default 10). Claims, commits and reads share them. */
  poolSize?: number;
  /** Milliseconds to wait for a connection from the pool / the server (default 10,000). */
  connectionTimeoutMs?: number;
  /** Apply pending migrations at open (default true). */
  migrate?: boolean;
  /** Errors of idle pooled connections (e.g. the server restarted); default: ignored (the pool drops them). */
  onError?: (err: Error) => void;
  /** `application_name` shown in `pg_stat_activity` (default `weft`). */
  applicationName?: string;
  /** Server-side `statement_timeout` per statement, ms (default none). Bounds lock waits too. */
  statementTimeoutMs?: number;
  /** Client-side bound on one query's round trip, ms (default none): a cut-off server fails fast. */
  queryTimeoutMs?: number;
  /** Commit each batch with one call of the installed PL/pgSQL function (default true; false: statement by statement, for comparisons). */
  oneCallCommit?: boolean;
}

const MAX_SEQ = Number.MAX_SAFE_INTEGER;
/** The LISTEN/NOTIFY channel of a Weft cluster (runtime/cluster/notifications.ts listens on it). */
export const NOTIFY_CHANNEL = 'weft_cluster';
/** One statement for any number of payloads (each under PostgreSQL's 8,000-byte limit). */
const NOTIFY_SQL = 'SELECT pg_notify($1, p) FROM unnest($2::text[]) AS p';
const INT8_OID = 20;
const JSON_OID = 114;
const JSONB_OID = 3802;
/** Retried SQLSTATEs: deadlock_detected, serialization_failure. */
const RETRYABLE = new Set(['40P01', '40001']);

/** bigint → number (times and seqs stay far below 2^53); json/jsonb → the raw text (parsed by the row mappers). */
const types = {
  getTypeParser(oid: number, format?: 'text' | 'binary') {
    if (oid === INT8_OID) return (v: string) => Number(v);
    if (oid === JSONB_OID || oid === JSON_OID) return (v: string) => v;
    return pg.types.getTypeParser(oid, format as 'text');
  },
} as unknown as pg.CustomTypesConfig;

type Row = Record<string, unknown>;

export class PostgresStore implements Store {
  readonly backend = 'postgres';
  readonly pool: pg.Pool;
  private closed = false;
  /** The commit function's name once installed (commit.ts); undefined: statement-by-statement commits. */
  private commitFunction: string | undefined;

  private constructor(readonly url: string, options: PostgresStoreOptions) {
    this.pool = new pg.Pool({
      connectionString: url,
      max: options.poolSize ?? 10,
      connectionTimeoutMillis: options.connectionTimeoutMs ?? 10_000,
      idleTimeoutMillis: 30_000,
      application_name: options.applicationName ?? 'weft',
      // A silently cut network is noticed by TCP keepalive probes, not after the OS's ~2 hours.
      keepAlive: true,
      keepAliveInitialDelayMillis: 10_000,
      types,
      ...(options.statementTimeoutMs !== undefined ? { statement_timeout: options.statementTimeoutMs } : {}),
      ...(options.queryTimeoutMs !== undefined ? { query_timeout: options.queryTimeoutMs } : {}),
    });
    this.pool.on('error', (err) => options.onError?.(err));
    // pg-pool listens for errors of IDLE clients only; a client checked out for a transaction
    // whose connection breaks (network cut, server restart) emits 'error' with no listener, which
    // would crash the process. A permanent listener on every client: the query in flight fails
    // with the error, and the pool discards the client when it is released.
    this.pool.on('connect', (client) => { client.on('error', (err) => options.onError?.(err)); });
  }

  /** Connects, applies pending migrations (under the advisory lock) and returns the store. */
  static async open(url: string, options: PostgresStoreOptions = {}): Promise<PostgresStore> {
    const store = new PostgresStore(url, options);
    try {
      const c = await store.pool.connect();
      try {
        if (options.migrate !== false) await migrate(c);
        // The one-round-trip group commit (commit.ts); without it, statement by statement.
        if (options.oneCallCommit !== false) store.commitFunction = await installCommitFunction(c, options.onError);
      } finally { c.release(); }
    } catch (err) {
      await store.pool.end().catch(() => undefined);
      throw err;
    }
    return store;
  }

  private async q<R extends QueryResultRow = Row>(text: string, values: unknown[] = []): Promise<R[]> {
    return (await this.pool.query<R>(text, values)).rows;
  }

  /** Runs `fn` in a transaction on one pooled connection; retries deadlocks/serialization failures. */
  private async tx<T>(fn: (c: PoolClient) => Promise<T>, begin = 'BEGIN'): Promise<T> {
    for (let attempt = 1; ; attempt++) {
      const c = await this.pool.connect();
      let broken = false;
      try {
        await c.query(begin);
        const out = await fn(c);
        await c.query('COMMIT');
        return out;
      } catch (err) {
        // A connection that timed out or broke cannot roll back (and would wait on it): drop it;
        // the server aborts the transaction when the session ends.
        if (connectionLost(err)) broken = true;
        else try { await c.query('ROLLBACK'); } catch { broken = true; }
        const code = (err as { code?: string }).code;
        if (code !== undefined && RETRYABLE.has(code) && attempt < 5) {
          await new Promise((r) => setTimeout(r, attempt * 5 + Math.random() * 10));
          continue;
        }
        throw err;
      } finally {
        c.release(broken);
      }
    }
  }

  // ------------------------------------------------------------------------ definitions

  async putDefinition(record: DefinitionRecord): Promise<{ created: boolean }> {
    const inserted = await this.q(`INSERT INTO definitions (id, version, hash, body, created_at, namespace)
      VALUES ($1, $2, $3, $4::jsonb, $5, $6) ON CONFLICT (id, version) DO NOTHING RETURNING id`,
    [record.id, record.version, record.hash, JSON.stringify(record.definition), record.createdAt, record.namespace ?? 'default']);
    if (inserted.length === 1) return { created: true };
    const existing = await this.q<{ hash: string }>('SELECT hash FROM definitions WHERE id = $1 AND version = $2', [record.id, record.version]);
    if (existing.length === 0) return this.putDefinition(record); // deleted meanwhile
    if (existing[0].hash !== record.hash) throw new DefinitionConflictError(record.id, record.version);
    return { created: false };
  }

  async getDefinition(id: string, version: string): Promise<DefinitionRecord | undefined> {
    const [r] = await this.q<{ id: string; version: string; hash: string; body: string; created_at: number; namespace: string }>(
      'SELECT id, version, hash, body, created_at, namespace FROM definitions WHERE id = $1 AND version = $2', [id, version]);
    return r && { id: r.id, version: r.version, hash: r.hash, definition: JSON.parse(r.body), createdAt: r.created_at, namespace: r.namespace };
  }

  async listDefinitions(id?: string): Promise<DefinitionSummary[]> {
    const rows = await this.q<{ id: string; version: string; hash: string; created_at: number; namespace: string }>(id === undefined
      ? 'SELECT id, version, hash, created_at, namespace FROM definitions ORDER BY created_at, id, version'
      : 'SELECT id, version, hash, created_at, namespace FROM definitions WHERE id = $1 ORDER BY created_at, version', id === undefined ? [] : [id]);
    return rows.map((r) => ({ id: r.id, version: r.version, hash: r.hash, createdAt: r.created_at, namespace: r.namespace }));
  }

  async deleteDefinition(id: string, version: string): Promise<{ status: 'deleted' | 'not_found' } | { status: 'in_use'; instances: string[] }> {
    return this.tx(async (c) => {
      const def = await c.query('SELECT 1 FROM definitions WHERE id = $1 AND version = $2 FOR UPDATE', [id, version]);
      if (def.rowCount === 0) return { status: 'not_found' as const };
      const users = await c.query<{ id: string }>('SELECT id FROM instances WHERE definition_id = $1 AND definition_version = $2 ORDER BY id LIMIT 10', [id, version]);
      if (users.rows.length > 0) return { status: 'in_use' as const, instances: users.rows.map((r) => r.id) };
      await c.query('DELETE FROM definitions WHERE id = $1 AND version = $2', [id, version]);
      return { status: 'deleted' as const };
    });
  }

  // ------------------------------------------------------------------------ instances

  async createInstance(instance: NewInstance): Promise<{ instance: InstanceRecord; created: boolean }> {
    for (let i = 0; ; i++) {
      const c = await this.pool.connect();
      try {
        try {
          await insertInstances(c, [{ id: instance.id, c: instance }]);
          return { instance: toInstance((await c.query<InstanceSqlRow>('SELECT * FROM instances WHERE id = $1', [instance.id])).rows[0]), created: true };
        } catch (err) {
          const existingId = (err as { existingId?: string }).existingId;
          if (existingId === undefined) throw err;
          const existing = (await c.query<InstanceSqlRow>('SELECT * FROM instances WHERE id = $1', [existingId])).rows[0];
          if (existing) return { instance: toInstance(existing), created: false };
          if (i >= 3) throw err; // the conflicting row vanished meanwhile: try again
        }
      } finally {
        c.release();
      }
    }
  }

  async getInstance(id: string): Promise<InstanceRecord | undefined> {
    const [r] = await this.q<InstanceSqlRow>('SELECT * FROM instances WHERE id = $1', [id]);
    return r && toInstance(r);
  }

  async getInstanceByIdempotencyKey(key: string): Promise<InstanceRecord | undefined> {
    const [r] = await this.q<InstanceSqlRow>('SELECT * FROM instances WHERE idempotency_key = $1', [key]);
    return r && toInstance(r);
  }

  async listInstances(filter: InstanceFilter = {}): Promise<InstanceRecord[]> {
    const where: string[] = [];
    const args: unknown[] = [];
    const p = (v: unknown) => { args.push(v); return `$${args.length}`; };
    if (filter.status && filter.status.length > 0) where.push(`status = ANY(${p(filter.status)}::text[])`);
    if (filter.definitionId !== undefined) where.push(`definition_id = ${p(filter.definitionId)}`);
    if (filter.parentId !== undefined) where.push(`parent_id = ${p(filter.parentId)}`);
    if (filter.correlationId !== undefined) where.push(`correlation_id = ${p(filter.correlationId)}`);
    if (filter.namespace !== undefined) where.push(`namespace = ${p(filter.namespace)}`);
    if (filter.updatedAfter !== undefined) where.push(`updated_at >= ${p(filter.updatedAfter)}`);
    if (filter.afterId !== undefined) where.push(`id > ${p(filter.afterId)}`);
    const limit = filter.limit !== undefined && filter.limit >= 0 ? ` LIMIT ${p(filter.limit)}` : '';
    const sql = `SELECT * FROM instances ${where.length ? `WHERE ${where.join(' AND ')}` : ''} ORDER BY id${limit}`;
    return (await this.q<InstanceSqlRow>(sql, args)).map(toInstance);
  }

  async updateInstance(id: string, u: InstanceUpdate, expectedSeq?: number): Promise<void> {
    const set = `UPDATE instances SET status = COALESCE($1, status), seq = COALESCE($2, seq), updated_at = $3,
      ended_at = COALESCE($4, ended_at) WHERE id = $5`;
    const args: unknown[] = [u.status ?? null, u.seq ?? null, u.updatedAt, u.endedAt ?? null, id];
    const res = expectedSeq === undefined
      ? await this.pool.query(set, args)
      : await this.pool.query(`${set} AND seq = $6`, [...args, expectedSeq]);
    if (res.rowCount !== 1) {
      const [r] = await this.q<{ seq: number }>('SELECT seq FROM instances WHERE id = $1', [id]);
      throw new SeqConflictError(id, expectedSeq ?? -1, r?.seq);
    }
  }

  // ------------------------------------------------------------------------ events and snapshots

  async appendEvents(instanceId: string, expectedSeq: number, events: EngineEvent[]): Promise<void> {
    await this.commit({ now: Date.now(), instances: [{ instanceId, expectedSeq, events }] });
  }

  async readEvents(instanceId: string, options: ReadEventsOptions = {}): Promise<EngineEvent[]> {
    return readLog((t, v) => this.q(t, v), instanceId, options.fromSeq ?? 1, options.toSeq ?? MAX_SEQ, options.limit ?? MAX_SEQ);
  }

  async putSnapshot(instanceId: string, seq: number, state: InstanceState): Promise<void> {
    await this.q(`INSERT INTO snapshots (instance_id, seq, body) VALUES ($1, $2, $3::jsonb)
      ON CONFLICT (instance_id, seq) DO UPDATE SET body = excluded.body`, [instanceId, seq, JSON.stringify(state)]);
  }

  async getSnapshot(instanceId: string, atOrBefore = MAX_SEQ): Promise<{ seq: number; state: InstanceState } | undefined> {
    const [r] = await this.q<{ seq: number; body: string }>(
      'SELECT seq, body FROM snapshots WHERE instance_id = $1 AND seq <= $2 ORDER BY seq DESC LIMIT 1', [instanceId, atOrBefore]);
    return r && { seq: r.seq, state: JSON.parse(r.body) as InstanceState };
  }

  async loadInstance(instanceId: string, uptoSeq?: number): Promise<InstanceLog | undefined> {
    // One REPEATABLE READ snapshot: row, snapshot and tail are from the same moment.
    return this.tx(async (c) => {
      const [r] = (await c.query<InstanceSqlRow>('SELECT * FROM instances WHERE id = $1', [instanceId])).rows;
      if (!r) return undefined;
      const instance = toInstance(r);
      const upto = Math.min(uptoSeq ?? instance.seq, instance.seq);
      const [snap] = (await c.query<{ seq: number; body: string }>(
        'SELECT seq, body FROM snapshots WHERE instance_id = $1 AND seq <= $2 ORDER BY seq DESC LIMIT 1', [instanceId, upto])).rows;
      const from = snap ? snap.seq + 1 : 1;
      const events = from <= upto ? await readLog(async (t, v) => (await c.query(t, v)).rows, instanceId, from, upto, MAX_SEQ) : [];
      const out: InstanceLog = { instance, events };
      if (snap) out.snapshot = { seq: snap.seq, state: JSON.parse(snap.body) as InstanceState };
      return out;
    }, 'BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY');
  }

  async commit(batch: CommitBatch): Promise<void> {
    if (batch.instances.length === 0 && (!batch.outbox || batch.outbox.length === 0)) return;
    if (this.commitFunction !== undefined && fitsOneCall(batch)) {
      await commitInOneCall(this.pool, this.commitFunction, batch, NOTIFY_CHANNEL);
      return;
    }
    await this.tx(async (c) => {
      await writeBatch(c, batch);
      // Inside the transaction: PostgreSQL delivers it only if the commit succeeds, in commit order.
      if (batch.notify && batch.notify.length > 0) await run(c, 'weft_notify', NOTIFY_SQL, [NOTIFY_CHANNEL, batch.notify]);
    });
  }

  /** Sends cluster notifications outside a commit (dead-node sweeps, released leases). */
  async notify(payloads: string[]): Promise<void> {
    if (payloads.length > 0) await this.q(NOTIFY_SQL, [NOTIFY_CHANNEL, payloads]);
  }

  // ------------------------------------------------------------------------ tasks

  async claimTasks(o: ClaimTasksOptions): Promise<StoredTask[]> {
    if (o.limit <= 0 || (o.activities && o.activities.length === 0)) return [];
    const { text, values } = claimTasksQuery(o, o.tokenPrefix ?? `${o.owner}.${randomBytes(4).toString('hex')}`);
    const rows = await this.q<TaskSqlRow>(text, values);
    rows.sort((a, b) => b.priority - a.priority || a.created_at - b.created_at || cmp(a.instance_id, b.instance_id) || cmp(a.task_id, b.task_id));
    return rows.map(toTask);
  }

  async renewLeases(renewals: LeaseRenewal[]): Promise<TaskKey[]> {
    if (renewals.length === 0) return [];
    const cols: unknown[][] = [[], [], [], [], []];
    for (const r of renewals) {
      cols[0].push(r.instanceId); cols[1].push(r.taskId); cols[2].push(r.token); cols[3].push(r.expiresAt); cols[4].push(toJsonColumn(r.details));
    }
    const kept = await this.q<{ instance_id: string; task_id: string }>(`UPDATE tasks t
      SET lease_expires_at = u.exp, heartbeat = COALESCE(u.details::jsonb, t.heartbeat)
      FROM unnest($1::text[], $2::text[], $3::text[], $4::bigint[], $5::text[]) AS u(i, k, tok, exp, details)
      WHERE t.instance_id = u.i AND t.task_id = u.k AND t.lease_token = u.tok
      RETURNING t.instance_id, t.task_id`, cols);
    const held = new Set(kept.map((r) => `${r.instance_id}\u0000${r.task_id}`));
    return renewals.filter((r) => !held.has(`${r.instanceId}\u0000${r.taskId}`)).map((r) => ({ instanceId: r.instanceId, taskId: r.taskId }));
  }

  async releaseLeases(owner?: string): Promise<number> {
    return this.tx(async (c) => {
      if (owner === undefined) {
        await c.query('UPDATE timers SET owner = NULL, lease_expires_at = NULL WHERE owner IS NOT NULL');
        return (await c.query('UPDATE tasks SET owner = NULL, lease_token = NULL, lease_expires_at = NULL WHERE owner IS NOT NULL')).rowCount ?? 0;
      }
      await c.query('UPDATE timers SET owner = NULL, lease_expires_at = NULL WHERE owner = $1', [owner]);
      return (await c.query('UPDATE tasks SET owner = NULL, lease_token = NULL, lease_expires_at = NULL WHERE owner = $1', [owner])).rowCount ?? 0;
    });
  }

  async getTask(instanceId: string, taskId: string): Promise<StoredTask | undefined> {
    const [r] = await this.q<TaskSqlRow>('SELECT * FROM tasks WHERE instance_id = $1 AND task_id = $2', [instanceId, taskId]);
    return r && toTask(r);
  }

  async listTasks(filter: { instanceId?: string; activity?: string; namespace?: string; limit?: number } = {}): Promise<StoredTask[]> {
    const where: string[] = [];
    const args: unknown[] = [];
    const p = (v: unknown) => { args.push(v); return `$${args.length}`; };
    if (filter.namespace !== undefined) where.push(`instance_id IN (SELECT id FROM instances WHERE COALESCE(namespace, 'default') = ${p(filter.namespace)})`);
    if (filter.instanceId !== undefined) where.push(`instance_id = ${p(filter.instanceId)}`);
    if (filter.activity !== undefined) where.push(`activity = ${p(filter.activity)}`);
    const limit = filter.limit !== undefined && filter.limit >= 0 ? ` LIMIT ${p(filter.limit)}` : '';
    const sql = `SELECT * FROM tasks ${where.length ? `WHERE ${where.join(' AND ')}` : ''} ORDER BY created_at, instance_id, task_id${limit}`;
    return (await this.q<TaskSqlRow>(sql, args)).map(toTask);
  }

  // ------------------------------------------------------------------------ timers

  async dueTimers(o: DueTimersOptions): Promise<TimerRow[]> {
    let rows: TimerSqlRow[];
    if (o.owner === undefined) {
      rows = await this.q<TimerSqlRow>(`SELECT instance_id, timer_id, due_at, body FROM timers
        WHERE due_at <= $1 AND (owner IS NULL OR lease_expires_at < $1) ORDER BY due_at, instance_id, timer_id LIMIT $2`, [o.now, o.limit]);
    } else {
      const { text, values } = leaseDueTimersQuery({ ...o, owner: o.owner });
      rows = await this.q<TimerSqlRow>(text, values);
      rows.sort((a, b) => a.due_at - b.due_at || cmp(a.instance_id, b.instance_id) || cmp(a.timer_id, b.timer_id));
    }
    return rows.map(toTimer);
  }

  async nextTimerDue(): Promise<number | undefined> {
    const [r] = await this.q<{ m: number | null }>('SELECT MIN(due_at) AS m FROM timers WHERE owner IS NULL');
    return r?.m ?? undefined;
  }

  async listTimers(instanceId: string): Promise<TimerRow[]> {
    return (await this.q<TimerSqlRow>('SELECT instance_id, timer_id, due_at, body FROM timers WHERE instance_id = $1 ORDER BY due_at, timer_id', [instanceId])).map(toTimer);
  }

  async deleteTimers(keys: Array<{ instanceId: string; timerId: string }>): Promise<void> {
    if (keys.length === 0) return;
    await this.q(`DELETE FROM timers t USING unnest($1::text[], $2::text[]) AS u(i, k) WHERE t.instance_id = u.i AND t.timer_id = u.k`,
      [keys.map((k) => k.instanceId), keys.map((k) => k.timerId)]);
  }

  // ------------------------------------------------------------------------ waits, humans, outbox

  async findWaits(event: string, key: unknown, limit = 10_000): Promise<WaitRow[]> {
    // Two statements rather than `IS NOT DISTINCT FROM`, which cannot use the (event, key) index.
    const rows = key === undefined
      ? await this.q<WaitSqlRow>('SELECT instance_id, run_id, event, key FROM waits WHERE event = $1 AND key IS NULL LIMIT $2', [event, limit])
      : await this.q<WaitSqlRow>('SELECT instance_id, run_id, event, key FROM waits WHERE event = $1 AND key = $2 LIMIT $3', [event, canonicalJson(key), limit]);
    return rows.map(toWait);
  }

  async listWaits(instanceId: string): Promise<WaitRow[]> {
    return (await this.q<WaitSqlRow>('SELECT instance_id, run_id, event, key FROM waits WHERE instance_id = $1 ORDER BY run_id', [instanceId])).map(toWait);
  }

  async listHumanTasks(filter: HumanTaskFilter = {}): Promise<HumanTaskRecord[]> {
    const where: string[] = [];
    const args: unknown[] = [];
    const p = (v: unknown) => { args.push(v); return `$${args.length}`; };
    if (filter.instanceId !== undefined) where.push(`instance_id = ${p(filter.instanceId)}`);
    if (filter.status !== undefined) where.push(`status = ${p(filter.status)}`);
    if (filter.namespace !== undefined) where.push(`instance_id IN (SELECT id FROM instances WHERE namespace = ${p(filter.namespace)})`);
    const sql = `SELECT * FROM human_tasks ${where.length ? `WHERE ${where.join(' AND ')}` : ''} ORDER BY created_at, instance_id, task_id`;
    let out = (await this.q<HumanSqlRow>(sql, args)).map(toHumanTask);
    if (filter.user !== undefined || filter.group !== undefined) {
      out = out.filter((h) => (filter.user !== undefined && h.task.users.includes(filter.user))
        || (filter.group !== undefined && h.task.groups.includes(filter.group)));
    }
    return filter.limit !== undefined ? out.slice(0, filter.limit) : out;
  }

  async getHumanTask(instanceId: string, taskId: string): Promise<HumanTaskRecord | undefined> {
    const [r] = await this.q<HumanSqlRow>('SELECT * FROM human_tasks WHERE instance_id = $1 AND task_id = $2', [instanceId, taskId]);
    return r && toHumanTask(r);
  }

  async claimHumanTask(instanceId: string, taskId: string, user: string, now: number): Promise<HumanTaskClaim> {
    const [claimed] = await this.q<HumanSqlRow>(`UPDATE human_tasks SET claimed_by = $1, claimed_at = $2
      WHERE instance_id = $3 AND task_id = $4 AND status = 'open' AND (claimed_by IS NULL OR claimed_by = $1)
      RETURNING *`, [user, now, instanceId, taskId]);
    if (claimed) return { status: 'claimed', task: toHumanTask(claimed) };
    const [r] = await this.q<HumanSqlRow>('SELECT * FROM human_tasks WHERE instance_id = $1 AND task_id = $2', [instanceId, taskId]);
    if (!r || r.status !== 'open') return { status: 'not_found' };
    if (r.claimed_by == null) return this.claimHumanTask(instanceId, taskId, user, now); // released meanwhile
    return { status: 'taken', claimedBy: r.claimed_by };
  }

  async releaseHumanTask(instanceId: string, taskId: string, user?: string): Promise<HumanTaskRecord | undefined> {
    const [r] = await this.q<HumanSqlRow>(`UPDATE human_tasks SET claimed_by = NULL, claimed_at = NULL
      WHERE instance_id = $1 AND task_id = $2 AND status = 'open' AND ($3::text IS NULL OR claimed_by IS NULL OR claimed_by = $3)
      RETURNING *`, [instanceId, taskId, user ?? null]);
    return r && toHumanTask(r);
  }

  async reassignHumanTask(instanceId: string, taskId: string, to: { users?: string[]; groups?: string[] }): Promise<HumanTaskRecord | undefined> {
    const [r] = await this.q<HumanSqlRow>(`UPDATE human_tasks SET claimed_by = NULL, claimed_at = NULL,
        assigned_users = COALESCE($1::jsonb, assigned_users), assigned_groups = COALESCE($2::jsonb, assigned_groups)
      WHERE instance_id = $3 AND task_id = $4 AND status = 'open' RETURNING *`,
    [to.users ? JSON.stringify(to.users) : null, to.groups ? JSON.stringify(to.groups) : null, instanceId, taskId]);
    return r && toHumanTask(r);
  }

  async readOutbox(afterId: number, limit: number): Promise<OutboxRow[]> {
    const rows = await this.q<{ id: number; topic: string; instance_id: string | null; payload: string; created_at: number }>(
      'SELECT id, topic, instance_id, payload, created_at FROM outbox WHERE id > $1 ORDER BY id LIMIT $2', [afterId, limit]);
    return rows.map((r) => {
      const out: OutboxRow = { id: r.id, topic: r.topic, payload: JSON.parse(r.payload), createdAt: r.created_at };
      if (r.instance_id !== null) out.instanceId = r.instance_id;
      return out;
    });
  }

  async deleteOutbox(upToId: number): Promise<number> {
    return (await this.pool.query('DELETE FROM outbox WHERE id <= $1', [upToId])).rowCount ?? 0;
  }

  async deleteOutboxRows(ids: number[]): Promise<number> {
    if (ids.length === 0) return 0;
    return (await this.pool.query('DELETE FROM outbox WHERE id = ANY($1::bigint[])', [ids])).rowCount ?? 0;
  }

  // ------------------------------------------------------------------------ nodes and retention

  async registerNode(n: Omit<NodeRecord, 'status' | 'diedAt'>): Promise<void> {
    await this.q(`INSERT INTO nodes (id, host, pid, capabilities, capacity, started_at, heartbeat_at, status, died_at)
      VALUES ($1, $2, $3, $4::jsonb, $5, $6, $7, 'alive', NULL)
      ON CONFLICT (id) DO UPDATE SET host = excluded.host, pid = excluded.pid, capabilities = excluded.capabilities,
        capacity = excluded.capacity, started_at = excluded.started_at, heartbeat_at = excluded.heartbeat_at, status = 'alive', died_at = NULL`,
    [n.id, n.host, n.pid, JSON.stringify(n.capabilities), n.capacity, n.startedAt, n.heartbeatAt]);
  }

  async heartbeatNode(id: string, now: number, update: { capabilities?: string[]; capacity?: number } = {}): Promise<boolean> {
    const res = await this.pool.query(`UPDATE nodes SET heartbeat_at = $1, capabilities = COALESCE($2::jsonb, capabilities),
      capacity = COALESCE($3, capacity) WHERE id = $4 AND status = 'alive'`,
    [now, update.capabilities ? JSON.stringify(update.capabilities) : null, update.capacity ?? null, id]);
    return res.rowCount === 1;
  }

  async listNodes(): Promise<NodeRecord[]> {
    return (await this.q<NodeSqlRow>(`SELECT * FROM nodes ORDER BY status = 'dead', id`)).map(toNode);
  }

  async markDeadNodes(heartbeatBefore: number, now: number): Promise<string[]> {
    const rows = await this.q<{ id: string }>(`UPDATE nodes SET status = 'dead', died_at = $1
      WHERE status = 'alive' AND heartbeat_at < $2 RETURNING id`, [now, heartbeatBefore]);
    return rows.map((r) => r.id).sort();
  }

  async forgetNodes(diedBefore: number): Promise<number> {
    return (await this.pool.query(`DELETE FROM nodes WHERE status = 'dead' AND died_at < $1`, [diedBefore])).rowCount ?? 0;
  }

  async removeNode(id: string): Promise<void> {
    await this.q('DELETE FROM nodes WHERE id = $1', [id]);
  }

  async purgeFinished(endedBefore: number, limit: number): Promise<PurgeResult> {
    if (limit <= 0) return { instances: 0 };
    return this.tx(async (c) => {
      // Locked SKIP LOCKED: an instance a node is committing to right now is left for the next pass.
      const ids = (await c.query<{ id: string }>(`SELECT id FROM instances WHERE ended_at IS NOT NULL AND ended_at < $1
        AND status IN ('completed', 'failed', 'cancelled', 'terminated', 'compensated')
        ORDER BY ended_at LIMIT $2 FOR UPDATE SKIP LOCKED`, [endedBefore, limit])).rows.map((r) => r.id);
      if (ids.length === 0) return { instances: 0 };
      for (const table of ['event_chunks', 'snapshots', 'tasks', 'timers', 'waits', 'human_tasks']) {
        await c.query(`DELETE FROM ${table} WHERE instance_id = ANY($1::text[])`, [ids]);
      }
      await c.query('DELETE FROM instances WHERE id = ANY($1::text[])', [ids]);
      return { instances: ids.length };
    });
  }

  // ------------------------------------------------------------------------ schedules (SQL in ./schedules.ts)

  private readonly schedules = new PostgresSchedules((text, values) => this.q(text, values));
  async createSchedule(s: ScheduleRecord): Promise<boolean> { return this.schedules.create(s); }
  async getSchedule(id: string): Promise<ScheduleRecord | undefined> { return this.schedules.get(id); }
  async listSchedules(filter?: ScheduleFilter): Promise<ScheduleRecord[]> { return this.schedules.list(filter); }
  async updateSchedule(s: ScheduleRecord, expectedRevision: number, o: { releaseLease?: boolean } = {}): Promise<'updated' | 'conflict' | 'not_found'> {
    return this.schedules.update(s, expectedRevision, o.releaseLease === true);
  }
  async deleteSchedule(id: string): Promise<boolean> { return this.schedules.delete(id); }
  async claimDueSchedules(o: DueSchedulesOptions): Promise<ScheduleRecord[]> { return this.schedules.claimDue(o); }
  async nextScheduleDue(): Promise<number | undefined> { return this.schedules.nextDue(); }
  async releaseScheduleLeases(owner?: string): Promise<number> { return this.schedules.release(owner); }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.pool.end();
  }
}

/**
 * The claim statement (exported for the EXPLAIN test): lock up to `limit` runnable rows per source
 * `FOR UPDATE SKIP LOCKED` — per activity from `tasks_ready` (priority, then age), plus expired
 * leases from `tasks_leased` — keep the best `limit`, and write their leases, in ONE statement.
 */
export function claimTasksQuery(o: ClaimTasksOptions, prefix: string): { text: string; values: unknown[] } {
  const args: unknown[] = [];
  const p = (v: unknown) => { args.push(v); return `$${args.length}`; };
  const now = p(o.now);
  const limit = p(o.limit);
  let queue = '';
  if (o.queues) {
    const named = o.queues.filter((x): x is string => x !== null);
    const parts: string[] = [];
    if (named.length) parts.push(`queue = ANY(${p(named)}::text[])`);
    if (o.queues.includes(null)) parts.push('queue IS NULL');
    queue = parts.length ? ` AND (${parts.join(' OR ')})` : ' AND false';
  }
  // Namespace (remote workers serve theirs): instances without one are `default`.
  if (o.namespace !== undefined) queue += ` AND instance_id IN (SELECT id FROM instances WHERE COALESCE(namespace, 'default') = ${p(o.namespace)})`;
  const cols = 'ctid, instance_id, task_id, priority, created_at';
  // Unclaimed: one range of `tasks_ready` per activity, already in priority-then-age order.
  const ready = o.activities
    ? `SELECT r.* FROM unnest(${p(o.activities)}::text[]) AS a(activity) CROSS JOIN LATERAL (
        SELECT ${cols} FROM tasks t WHERE t.owner IS NULL AND t.activity = a.activity${queue}
        ORDER BY t.priority DESC, t.created_at LIMIT ${limit} FOR UPDATE SKIP LOCKED) r`
    : `SELECT ${cols} FROM tasks WHERE owner IS NULL${queue} ORDER BY priority DESC, created_at LIMIT ${limit} FOR UPDATE SKIP LOCKED`;
  // Expired leases (holder died or stalled): `tasks_leased`, oldest expiry first.
  const act = o.activities ? ` AND activity = ANY(${p(o.activities)}::text[])` : '';
  const expired = `SELECT ${cols} FROM tasks WHERE owner IS NOT NULL AND lease_expires_at < ${now}${act}${queue}
    ORDER BY lease_expires_at LIMIT ${limit} FOR UPDATE SKIP LOCKED`;
  const sql = `WITH ready AS (${ready}), expired AS (${expired}),
    picked AS (SELECT ctid FROM (SELECT * FROM ready UNION ALL SELECT * FROM expired) c
      ORDER BY priority DESC, created_at, instance_id, task_id LIMIT ${limit})
    UPDATE tasks t SET owner = ${p(o.owner)}, lease_token = ${p(prefix)} || '.' || (t.claims + 1),
      lease_expires_at = ${p(o.now + o.leaseMs)}, claims = t.claims + 1
    WHERE t.ctid = ANY(ARRAY(SELECT ctid FROM picked))
    RETURNING t.*`;
  return { text: sql, values: args };
}

/** The due-timer lease statement (exported for the EXPLAIN test). */
export function leaseDueTimersQuery(o: DueTimersOptions & { owner: string }): { text: string; values: unknown[] } {
  return {
    text: `WITH due AS (
        SELECT ctid FROM timers WHERE due_at <= $1 AND (owner IS NULL OR lease_expires_at < $1)
        ORDER BY due_at LIMIT $2 FOR UPDATE SKIP LOCKED)
      UPDATE timers t SET owner = $3, lease_expires_at = $4
      WHERE t.ctid = ANY(ARRAY(SELECT ctid FROM due))
      RETURNING t.instance_id, t.timer_id, t.due_at, t.body`,
    values: [o.now, o.limit, o.owner, o.now + (o.leaseMs ?? 30_000)],
  };
}

type WaitSqlRow = { instance_id: string; run_id: string; event: string; key: string | null };

function toWait(r: WaitSqlRow): WaitRow {
  const out: WaitRow = { instanceId: r.instance_id, runId: r.run_id, event: r.event };
  if (r.key !== null) out.key = JSON.parse(r.key);
  return out;
}

function connectionLost(err: unknown): boolean {
  const e = err as { code?: unknown; message?: unknown };
  return (typeof e?.code === 'string' && ['ECONNRESET', 'EPIPE', 'ETIMEDOUT', 'ECONNREFUSED'].includes(e.code))
    || (typeof e?.message === 'string' && /query read timeout|connection terminated|not queryable/i.test(e.message));
}

function cmp(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** Events fromSeq..toSeq (at most `limit`) from the chunked log; the PK (instance_id, last_seq) seeks to the first chunk. */
async function readLog(
  query: (text: string, values: unknown[]) => Promise<Row[]>, instanceId: string, fromSeq: number, toSeq: number, limit: number,
): Promise<EngineEvent[]> {
  const out: EngineEvent[] = [];
  if (limit <= 0 || fromSeq > toSeq) return out;
  // Every chunk in range holds at least one wanted event, so `limit` chunks are always enough.
  const rows = await query(`SELECT first_seq, body FROM event_chunks WHERE instance_id = $1 AND last_seq >= $2 AND first_seq <= $3
    ORDER BY last_seq${limit < MAX_SEQ ? ' LIMIT $4' : ''}`, limit < MAX_SEQ ? [instanceId, fromSeq, toSeq, limit] : [instanceId, fromSeq, toSeq]);
  for (const r of rows) {
    const firstSeq = r.first_seq as number;
    const chunk = JSON.parse(r.body as string) as EngineEvent[];
    for (let i = Math.max(0, fromSeq - firstSeq); i < chunk.length; i++) {
      if (chunk[i].seq > toSeq || out.length >= limit) return out;
      out.push(chunk[i]);
    }
    if (out.length >= limit) break;
  }
  return out;
}

/** Opens a PostgreSQL store at `url` (`postgres://user@host:port/db`), applying pending migrations. */
export function openPostgresStore(url: string, options?: PostgresStoreOptions): Promise<PostgresStore> {
  return PostgresStore.open(url, options);
}
