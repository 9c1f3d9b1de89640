/**
 * The group commit, PostgreSQL: every write of a batch inside ONE transaction (READ COMMITTED).
 * Two ways, with the same statements in the same order and the same typed errors:
 *
 * - `commitInOneCall` (the hot path; the store uses it whenever the function is installed and
 *   the batch writes each instance once, which is every batch the engine makes): the batch as
 *   one jsonb document, one call of a PL/pgSQL function — ONE round trip per flush.
 * - `writeBatch`: a handful of set-based statements (`unnest` of parallel arrays) inside an
 *   explicit transaction, one round trip each. Used for batches naming an instance several times
 *   and when the function cannot be installed (a role without CREATE on the schema).
 *
 * A batch may name one instance several times (its commands run in queue order). Rows of one
 * statement must not touch the same key twice, so `writeBatch` splits the writes into rounds:
 * round k holds the k-th write of every instance. Per round, in this order (the same
 * per-instance order as SQLite): create rows → optimistic seq moves
 * (`UPDATE … WHERE seq = expected`) → lease guards (task rows locked `FOR UPDATE`) → events →
 * snapshots → effect rows, removals before inserts (a task/timer replaced in one batch ends up
 * present). Then the outbox. Any error — typed conflict or I/O — rolls the whole batch back.
 *
 * Errors name the first failing instance in batch order, as SQLite's do.
 */
import { createHash } from 'node:crypto';
import type { Pool, PoolClient, QueryResultRow } from 'pg';
import { DuplicateInstanceError, LeaseLostError, SeqConflictError } from '../errors.js';
import { canonicalJson, toJsonColumn } from '../json.js';
import type { CommitBatch, InstanceWrite, NewInstance, OutboxMessage } from '../types.js';
import { taskBody, timerBody } from '../sqlite/rows.js';
import { MIGRATION_LOCK_KEY } from './migrate.js';

/** Runs a named (prepared once per connection) statement. */
export async function run<R extends QueryResultRow = QueryResultRow>(
  c: PoolClient, name: string, text: string, values: unknown[],
): Promise<R[]> {
  return (await c.query<R>({ name, text, values })).rows;
}

const SQL = {
  insertInstances: `INSERT INTO instances (id, definition_id, definition_version, namespace, status, seq, parent_id,
      parent_run_id, correlation_id, labels, idempotency_key, created_at, updated_at)
    SELECT u.id, u.def, u.ver, u.ns, u.status, 0, u.parent, u.prun, u.corr, u.labels::jsonb, u.ikey, u.created, u.updated
    FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[], $7::text[], $8::text[],
      $9::text[], $10::text[], $11::bigint[], $12::bigint[])
      AS u(id, def, ver, ns, status, parent, prun, corr, labels, ikey, created, updated)
    ON CONFLICT DO NOTHING RETURNING id`,
  moveSeqs: `UPDATE instances i SET seq = u.new_seq,
      status = COALESCE(u.status, i.status),
      updated_at = COALESCE(u.updated_at, i.updated_at),
      ended_at = CASE WHEN u.status IS NULL THEN i.ended_at ELSE u.ended_at END
    FROM unnest($1::text[], $2::bigint[], $3::bigint[], $4::text[], $5::bigint[], $6::bigint[])
      AS u(id, expected, new_seq, status, updated_at, ended_at)
    WHERE i.id = u.id AND i.seq = u.expected
    RETURNING i.id`,
  seqOf: 'SELECT seq FROM instances WHERE id = $1',
  idByKey: 'SELECT id FROM instances WHERE idempotency_key = $1',
  idById: 'SELECT id FROM instances WHERE id = $1',
  guardRows: `SELECT t.instance_id, t.task_id, t.lease_token FROM tasks t
    JOIN unnest($1::text[], $2::text[]) AS u(i, k) ON t.instance_id = u.i AND t.task_id = u.k
    ORDER BY t.instance_id, t.task_id FOR UPDATE OF t`,
  insertChunks: `INSERT INTO event_chunks (instance_id, first_seq, last_seq, body)
    SELECT u.i, u.f, u.l, u.b::jsonb FROM unnest($1::text[], $2::bigint[], $3::bigint[], $4::text[]) AS u(i, f, l, b)`,
  upsertSnapshots: `INSERT INTO snapshots (instance_id, seq, body)
    SELECT u.i, u.s, u.b::jsonb FROM unnest($1::text[], $2::bigint[], $3::text[]) AS u(i, s, b)
    ON CONFLICT (instance_id, seq) DO UPDATE SET body = excluded.body`,
  deleteTasks: `DELETE FROM tasks t USING unnest($1::text[], $2::text[]) AS u(i, k)
    WHERE t.instance_id = u.i AND t.task_id = u.k`,
  upsertTasks: `INSERT INTO tasks (instance_id, task_id, activity, queue, priority, attempt, body, owner, lease_token,
      lease_expires_at, claims, created_at)
    SELECT u.i, u.k, u.act, u.q, u.pri, u.att, u.b::jsonb, u.own, u.tok, u.exp, u.cl, $12
    FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::int[], $6::int[], $7::text[], $8::text[],
      $9::text[], $10::bigint[], $11::int[]) AS u(i, k, act, q, pri, att, b, own, tok, exp, cl)
    ON CONFLICT (instance_id, task_id) DO UPDATE SET activity = excluded.activity, queue = excluded.queue,
      priority = excluded.priority, attempt = excluded.attempt, body = excluded.body, owner = excluded.owner,
      lease_token = excluded.lease_token, lease_expires_at = excluded.lease_expires_at,
      claims = tasks.claims + excluded.claims, created_at = excluded.created_at`,
  deleteTimers: `DELETE FROM timers t USING unnest($1::text[], $2::text[]) AS u(i, k)
    WHERE t.instance_id = u.i AND t.timer_id = u.k`,
  upsertTimers: `INSERT INTO timers (instance_id, timer_id, due_at, body)
    SELECT u.i, u.k, u.d, u.b::jsonb FROM unnest($1::text[], $2::text[], $3::bigint[], $4::text[]) AS u(i, k, d, b)
    ON CONFLICT (instance_id, timer_id) DO UPDATE SET due_at = excluded.due_at, body = excluded.body,
      owner = NULL, lease_expires_at = NULL`,
  deleteWaits: `DELETE FROM waits w USING unnest($1::text[], $2::text[]) AS u(i, r)
    WHERE w.instance_id = u.i AND w.run_id = u.r`,
  upsertWaits: `INSERT INTO waits (instance_id, run_id, event, key)
    SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::text[])
    ON CONFLICT (instance_id, run_id) DO UPDATE SET event = excluded.event, key = excluded.key`,
  closeHumans: `UPDATE human_tasks h SET status = 'closed', closed_at = $3
    FROM unnest($1::text[], $2::text[]) AS u(i, r)
    WHERE h.instance_id = u.i AND h.run_id = u.r AND h.status = 'open'`,
  upsertHumans: `INSERT INTO human_tasks (instance_id, task_id, run_id, step_id, status, body, input, created_at)
    SELECT u.i, u.k, u.r, u.s, 'open', u.b::jsonb, u.inp::jsonb, $7
    FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[]) AS u(i, k, r, s, b, inp)
    ON CONFLICT (instance_id, task_id) DO UPDATE SET run_id = excluded.run_id, step_id = excluded.step_id,
      status = 'open', body = excluded.body, input = excluded.input, closed_at = NULL,
      claimed_by = NULL, claimed_at = NULL, assigned_users = NULL, assigned_groups = NULL`,
  insertOutbox: `INSERT INTO outbox (topic, instance_id, payload, created_at)
    SELECT u.t, u.i, u.p::jsonb, $4 FROM unnest($1::text[], $2::text[], $3::text[]) WITH ORDINALITY AS u(t, i, p, n)
    ORDER BY u.n`,
} as const;

/** Columns of `instances` in the order of `SQL.insertInstances`' arrays. */
function instanceColumns(rows: Array<{ id: string; c: NewInstance }>): unknown[] {
  const cols: unknown[][] = Array.from({ length: 12 }, () => []);
  for (const { id, c } of rows) {
    cols[0].push(id); cols[1].push(c.definitionId); cols[2].push(c.definitionVersion); cols[3].push(c.namespace ?? null);
    cols[4].push(c.status ?? 'pending'); cols[5].push(c.parentId ?? null); cols[6].push(c.parentRunId ?? null);
    cols[7].push(c.correlationId ?? null); cols[8].push(toJsonColumn(c.labels)); cols[9].push(c.idempotencyKey ?? null);
    cols[10].push(c.createdAt); cols[11].push(c.updatedAt ?? c.createdAt);
  }
  return cols;
}

/**
 * Inserts new instance rows (inside the caller's transaction). Throws `DuplicateInstanceError`
 * for the first one (in order) whose id or idempotency key is taken.
 */
export async function insertInstances(c: PoolClient, rows: Array<{ id: string; c: NewInstance }>): Promise<void> {
  if (rows.length === 0) return;
  const inserted = await run<{ id: string }>(c, 'weft_insert_instances', SQL.insertInstances, instanceColumns(rows));
  if (inserted.length === rows.length) return;
  const got = new Set(inserted.map((r) => r.id));
  for (const { id, c: row } of rows) {
    if (got.has(id)) continue;
    // Not inserted: its id exists, or its key does (possibly on a row of this very batch).
    const byId = await run<{ id: string }>(c, 'weft_id_by_id', SQL.idById, [id]);
    if (byId.length === 0 && row.idempotencyKey !== undefined) {
      const byKey = await run<{ id: string }>(c, 'weft_id_by_key', SQL.idByKey, [row.idempotencyKey]);
      if (byKey.length > 0) throw new DuplicateInstanceError(id, byKey[0].id, row.idempotencyKey);
    }
    throw new DuplicateInstanceError(id, id);
  }
}

/** Splits a batch into rounds: round k holds the k-th write of each instance (order kept). */
function rounds(writes: InstanceWrite[]): InstanceWrite[][] {
  const seen = new Map<string, number>();
  const out: InstanceWrite[][] = [];
  for (const w of writes) {
    const k = seen.get(w.instanceId) ?? 0;
    seen.set(w.instanceId, k + 1);
    (out[k] ??= []).push(w);
  }
  return out;
}

/** Parallel arrays for `unnest`, with later rows of the same key replacing earlier ones. */
class Columns {
  private readonly index = new Map<string, number>();
  readonly cols: unknown[][];
  constructor(width: number) { this.cols = Array.from({ length: width }, () => []); }
  get size(): number { return this.cols[0].length; }
  put(key: string, values: unknown[]): void {
    const at = this.index.get(key);
    if (at === undefined) {
      this.index.set(key, this.cols[0].length);
      for (let i = 0; i < values.length; i++) this.cols[i].push(values[i]);
    } else {
      for (let i = 0; i < values.length; i++) this.cols[i][at] = values[i];
    }
  }
}

export async function writeBatch(c: PoolClient, batch: CommitBatch): Promise<void> {
  for (const w of batch.instances) {
    const n = w.events.length;
    if (n > 0 && (w.events[0].seq !== w.expectedSeq + 1 || w.events[n - 1].seq !== w.expectedSeq + n)) {
      throw new Error(`instance ${w.instanceId}: events must be numbered from ${w.expectedSeq + 1}`);
    }
  }
  for (const round of rounds(batch.instances)) await writeRound(c, round, batch.now);
  if (batch.outbox && batch.outbox.length > 0) await writeOutbox(c, batch.outbox, batch.now);
}

async function writeRound(c: PoolClient, ws: InstanceWrite[], now: number): Promise<void> {
  // 1. New rows.
  const creates = ws.filter((w) => w.create).map((w) => ({ id: w.instanceId, c: w.create as NewInstance }));
  await insertInstances(c, creates);

  // 2. Optimistic seq moves, in id order (the order row locks are taken: fewer deadlocks between nodes).
  const moves = ws.filter((w) => w.events.length > 0 || w.update).sort((a, b) => (a.instanceId < b.instanceId ? -1 : a.instanceId > b.instanceId ? 1 : 0));
  if (moves.length > 0) {
    const cols: unknown[][] = [[], [], [], [], [], []];
    for (const w of moves) {
      const u = w.update;
      cols[0].push(w.instanceId); cols[1].push(w.expectedSeq); cols[2].push(w.expectedSeq + w.events.length);
      cols[3].push(u?.status ?? null); cols[4].push(u ? u.updatedAt : null); cols[5].push(u?.endedAt ?? null);
    }
    const moved = await run<{ id: string }>(c, 'weft_move_seqs', SQL.moveSeqs, cols);
    if (moved.length !== moves.length) {
      const ok = new Set(moved.map((r) => r.id));
      const bad = ws.find((w) => (w.events.length > 0 || w.update) && !ok.has(w.instanceId)) as InstanceWrite;
      const actual = await run<{ seq: number }>(c, 'weft_seq_of', SQL.seqOf, [bad.instanceId]);
      throw new SeqConflictError(bad.instanceId, bad.expectedSeq, actual[0]?.seq);
    }
  }

  // 3. Lease guards: the task rows must still carry the tokens (locked until commit, so no claim slips in).
  const guarded = ws.filter((w) => w.guards && w.guards.length > 0);
  if (guarded.length > 0) {
    const ids: string[] = [];
    const keys: string[] = [];
    for (const w of guarded) for (const g of w.guards!) { ids.push(w.instanceId); keys.push(g.taskId); }
    const rows = await run<{ instance_id: string; task_id: string; lease_token: string | null }>(c, 'weft_guard_rows', SQL.guardRows, [ids, keys]);
    const tokens = new Map(rows.map((r) => [`${r.instance_id}\u0000${r.task_id}`, r.lease_token]));
    for (const w of guarded) {
      for (const g of w.guards!) {
        if (tokens.get(`${w.instanceId}\u0000${g.taskId}`) !== g.token) throw new LeaseLostError(w.instanceId, g.taskId);
      }
    }
  }

  // 4. Events (one chunk per instance) and snapshots.
  const chunks: unknown[][] = [[], [], [], []];
  const snaps = new Columns(3);
  for (const w of ws) {
    const n = w.events.length;
    if (n > 0) {
      chunks[0].push(w.instanceId); chunks[1].push(w.events[0].seq); chunks[2].push(w.events[n - 1].seq);
      chunks[3].push(JSON.stringify(w.events));
    }
    if (w.snapshot) snaps.put(`${w.instanceId}\u0000${w.snapshot.seq}`, [w.instanceId, w.snapshot.seq, JSON.stringify(w.snapshot.state)]);
  }
  if (chunks[0].length > 0) await run(c, 'weft_insert_chunks', SQL.insertChunks, chunks);
  if (snaps.size > 0) await run(c, 'weft_upsert_snapshots', SQL.upsertSnapshots, snaps.cols);

  // 5. Effect rows: every removal of a kind before its inserts.
  const taskDel: unknown[][] = [[], []];
  const taskPut = new Columns(11);
  const timerDel: unknown[][] = [[], []];
  const timerPut = new Columns(4);
  const waitDel: unknown[][] = [[], []];
  const waitPut = new Columns(4);
  const humanClose: unknown[][] = [[], []];
  const humanPut = new Columns(6);
  for (const w of ws) {
    const e = w.effects;
    if (!e) continue;
    const id = w.instanceId;
    if (e.tasksToRemove) for (const t of e.tasksToRemove) { taskDel[0].push(id); taskDel[1].push(t.taskId); }
    if (e.tasksToSchedule) {
      for (const t of e.tasksToSchedule) {
        const claim = e.claims ? e.claims.find((x) => x.taskId === t.taskId) : undefined;
        taskPut.put(`${id}\u0000${t.taskId}`, [id, t.taskId, t.activity, t.queue ?? null, t.priority ?? 0, t.attempt, taskBody(t),
          claim ? claim.owner : null, claim ? claim.token : null, claim ? claim.expiresAt : null, claim ? 1 : 0]);
      }
    }
    if (e.timersToRemove) for (const t of e.timersToRemove) { timerDel[0].push(id); timerDel[1].push(t); }
    if (e.timersToSet) for (const t of e.timersToSet) timerPut.put(`${id}\u0000${t.timerId}`, [id, t.timerId, t.timer.dueAt, timerBody(t.timer)]);
    if (e.waitsToRemove) for (const r of e.waitsToRemove) { waitDel[0].push(id); waitDel[1].push(r); }
    if (e.waitsToAdd) {
      for (const wt of e.waitsToAdd) waitPut.put(`${id}\u0000${wt.runId}`, [id, wt.runId, wt.event, wt.key === undefined ? null : canonicalJson(wt.key)]);
    }
    if (e.humanTasksToClose) for (const r of e.humanTasksToClose) { humanClose[0].push(id); humanClose[1].push(r); }
    if (e.humanTasksToOpen) {
      for (const h of e.humanTasksToOpen) {
        humanPut.put(`${id}\u0000${h.task.taskId}`, [id, h.task.taskId, h.runId, h.stepId, JSON.stringify(h.task), toJsonColumn(h.input)]);
      }
    }
  }
  if (taskDel[0].length > 0) await run(c, 'weft_delete_tasks', SQL.deleteTasks, taskDel);
  if (taskPut.size > 0) await run(c, 'weft_upsert_tasks', SQL.upsertTasks, [...taskPut.cols, now]);
  if (timerDel[0].length > 0) await run(c, 'weft_delete_timers', SQL.deleteTimers, timerDel);
  if (timerPut.size > 0) await run(c, 'weft_upsert_timers', SQL.upsertTimers, timerPut.cols);
  if (waitDel[0].length > 0) await run(c, 'weft_delete_waits', SQL.deleteWaits, waitDel);
  if (waitPut.size > 0) await run(c, 'weft_upsert_waits', SQL.upsertWaits, waitPut.cols);
  if (humanClose[0].length > 0) await run(c, 'weft_close_humans', SQL.closeHumans, [...humanClose, now]);
  if (humanPut.size > 0) await run(c, 'weft_upsert_humans', SQL.upsertHumans, [...humanPut.cols, now]);
}

async function writeOutbox(c: PoolClient, messages: OutboxMessage[], now: number): Promise<void> {
  const cols: unknown[][] = [[], [], []];
  for (const m of messages) { cols[0].push(m.topic); cols[1].push(m.instanceId ?? null); cols[2].push(JSON.stringify(m.payload ?? null)); }
  await run(c, 'weft_insert_outbox', SQL.insertOutbox, [...cols, now]);
}

// ---------------------------------------------------------------------------------------------
// The one-round-trip commit. The statements above cost a network round trip each (7–9 per flush,
// plus BEGIN and COMMIT); on a 10-step workflow that alone was ~20 ms. Here the whole batch goes
// to the server as ONE jsonb document and ONE call of a PL/pgSQL function, which runs the same
// statements in the same order inside the call's own transaction (an autocommit statement is a
// transaction): one round trip and one WAL flush per flush. The document also spares the client
// `pg`'s array-literal escaping of every JSON body (it was the largest client-side cost).
//
// The function reports conflicts with its own SQLSTATEs and a JSON DETAIL naming the instance;
// `commitInOneCall` turns them into the typed errors the runtime expects. Batches naming an
// instance twice (never from the engine, which writes each instance once per flush) keep the
// statement-by-statement path above.

const DUPLICATE = 'WF001';
const SEQ_CONFLICT = 'WF002';
const LEASE_LOST = 'WF003';

const COMMIT_FUNCTION_BODY = `
DECLARE
  want int;
  ids text[];
  r record;
  other text;
  actual bigint;
BEGIN
  -- 1. New instance rows; the first one (in batch order) not inserted names the conflict.
  want := COALESCE(jsonb_array_length(doc->'c'), 0);
  IF want > 0 THEN
    WITH ins AS (
      INSERT INTO instances (id, definition_id, definition_version, namespace, status, seq, parent_id, parent_run_id,
        correlation_id, labels, idempotency_key, created_at, updated_at)
      SELECT x.id, x.def, x.ver, x.ns, x.st, 0, x.par, x.prun, x.corr, x.lab::jsonb, x.ikey, x.cr, x.up
      FROM jsonb_to_recordset(doc->'c') AS x(id text, def text, ver text, ns text, st text, par text, prun text, corr text,
        lab text, ikey text, cr bigint, up bigint)
      ON CONFLICT DO NOTHING RETURNING id)
    SELECT array_agg(id) INTO ids FROM ins;
    IF COALESCE(cardinality(ids), 0) < want THEN
      SELECT x.id, x.ikey INTO r FROM jsonb_to_recordset(doc->'c') AS x(id text, ikey text, o int)
        WHERE x.id <> ALL(COALESCE(ids, '{}')) ORDER BY x.o LIMIT 1;
      other := r.id;
      IF r.ikey IS NOT NULL AND NOT EXISTS (SELECT 1 FROM instances WHERE id = r.id) THEN
        SELECT id INTO other FROM instances WHERE idempotency_key = r.ikey;
        other := COALESCE(other, r.id);
      END IF;
      RAISE EXCEPTION 'instance % already exists', r.id USING ERRCODE = '${DUPLICATE}',
        DETAIL = jsonb_build_object('id', r.id, 'existing', other, 'key', CASE WHEN other <> r.id THEN r.ikey END)::text;
    END IF;
  END IF;

  -- 2. Optimistic seq moves (sent in id order: the order row locks are taken).
  want := COALESCE(jsonb_array_length(doc->'m'), 0);
  IF want > 0 THEN
    WITH up AS (
      UPDATE instances i SET seq = x.seq, status = COALESCE(x.st, i.status), updated_at = COALESCE(x.up, i.updated_at),
        ended_at = CASE WHEN x.st IS NULL THEN i.ended_at ELSE x.en END
      FROM jsonb_to_recordset(doc->'m') AS x(id text, exp bigint, seq bigint, st text, up bigint, en bigint)
      WHERE i.id = x.id AND i.seq = x.exp
      RETURNING i.id)
    SELECT array_agg(id) INTO ids FROM up;
    IF COALESCE(cardinality(ids), 0) < want THEN
      SELECT x.id, x.exp INTO r FROM jsonb_to_recordset(doc->'m') AS x(id text, exp bigint, o int)
        WHERE x.id <> ALL(COALESCE(ids, '{}')) ORDER BY x.o LIMIT 1;
      SELECT seq INTO actual FROM instances WHERE id = r.id;
      RAISE EXCEPTION 'instance %: seq is not %', r.id, r.exp USING ERRCODE = '${SEQ_CONFLICT}',
        DETAIL = jsonb_build_object('id', r.id, 'expected', r.exp, 'actual', actual)::text;
    END IF;
  END IF;

  -- 3. Lease guards: the task rows must still carry the tokens (locked until commit).
  IF doc ? 'g' THEN
    PERFORM 1 FROM tasks t JOIN jsonb_to_recordset(doc->'g') AS x(i text, k text) ON t.instance_id = x.i AND t.task_id = x.k
      ORDER BY t.instance_id, t.task_id FOR UPDATE OF t;
    SELECT x.i, x.k INTO r FROM jsonb_to_recordset(doc->'g') AS x(i text, k text, tok text, o int)
      WHERE NOT EXISTS (SELECT 1 FROM tasks t WHERE t.instance_id = x.i AND t.task_id = x.k AND t.lease_token = x.tok)
      ORDER BY x.o LIMIT 1;
    IF FOUND THEN
      RAISE EXCEPTION 'instance %: lease on task % lost', r.i, r.k USING ERRCODE = '${LEASE_LOST}',
        DETAIL = jsonb_build_object('id', r.i, 'task', r.k)::text;
    END IF;
  END IF;

  -- 4. Events (one chunk per instance) and snapshots.
  IF doc ? 'e' THEN
    INSERT INTO event_chunks (instance_id, first_seq, last_seq, body)
    SELECT x.i, x.f, x.l, x.b FROM jsonb_to_recordset(doc->'e') AS x(i text, f bigint, l bigint, b jsonb);
  END IF;
  IF doc ? 's' THEN
    INSERT INTO snapshots (instance_id, seq, body)
    SELECT x.i, x.s, x.b FROM jsonb_to_recordset(doc->'s') AS x(i text, s bigint, b jsonb)
    ON CONFLICT (instance_id, seq) DO UPDATE SET body = excluded.body;
  END IF;

  -- 5. Effect rows: every removal of a kind before its inserts.
  IF doc ? 'td' THEN
    DELETE FROM tasks t USING jsonb_to_recordset(doc->'td') AS x(i text, k text) WHERE t.instance_id = x.i AND t.task_id = x.k;
  END IF;
  IF doc ? 'tp' THEN
    INSERT INTO tasks (instance_id, task_id, activity, queue, priority, attempt, body, owner, lease_token, lease_expires_at, claims, created_at)
    SELECT x.i, x.k, x.a, x.q, x.p, x.n, x.b, x.own, x.tok, x.exp, x.cl, (doc->>'now')::bigint
    FROM jsonb_to_recordset(doc->'tp') AS x(i text, k text, a text, q text, p int, n int, b jsonb, own text, tok text, exp bigint, cl int)
    ON CONFLICT (instance_id, task_id) DO UPDATE SET activity = excluded.activity, queue = excluded.queue,
      priority = excluded.priority, attempt = excluded.attempt, body = excluded.body, owner = excluded.owner,
      lease_token = excluded.lease_token, lease_expires_at = excluded.lease_expires_at,
      claims = tasks.claims + excluded.claims, created_at = excluded.created_at;
  END IF;
  IF doc ? 'xd' THEN
    DELETE FROM timers t USING jsonb_to_recordset(doc->'xd') AS x(i text, k text) WHERE t.instance_id = x.i AND t.timer_id = x.k;
  END IF;
  IF doc ? 'xp' THEN
    INSERT INTO timers (instance_id, timer_id, due_at, body)
    SELECT x.i, x.k, x.d, x.b FROM jsonb_to_recordset(doc->'xp') AS x(i text, k text, d bigint, b jsonb)
    ON CONFLICT (instance_id, timer_id) DO UPDATE SET due_at = excluded.due_at, body = excluded.body,
      owner = NULL, lease_expires_at = NULL;
  END IF;
  IF doc ? 'wd' THEN
    DELETE FROM waits w USING jsonb_to_recordset(doc->'wd') AS x(i text, r text) WHERE w.instance_id = x.i AND w.run_id = x.r;
  END IF;
  IF doc ? 'wp' THEN
    INSERT INTO waits (instance_id, run_id, event, key)
    SELECT x.i, x.r, x.ev, x.key FROM jsonb_to_recordset(doc->'wp') AS x(i text, r text, ev text, key text)
    ON CONFLICT (instance_id, run_id) DO UPDATE SET event = excluded.event, key = excluded.key;
  END IF;
  IF doc ? 'hd' THEN
    UPDATE human_tasks h SET status = 'closed', closed_at = (doc->>'now')::bigint
    FROM jsonb_to_recordset(doc->'hd') AS x(i text, r text)
    WHERE h.instance_id = x.i AND h.run_id = x.r AND h.status = 'open';
  END IF;
  IF doc ? 'hp' THEN
    INSERT INTO human_tasks (instance_id, task_id, run_id, step_id, status, body, input, created_at)
    SELECT x.i, x.k, x.r, x.s, 'open', x.b, x.inp::jsonb, (doc->>'now')::bigint
    FROM jsonb_to_recordset(doc->'hp') AS x(i text, k text, r text, s text, b jsonb, inp text)
    ON CONFLICT (instance_id, task_id) DO UPDATE SET run_id = excluded.run_id, step_id = excluded.step_id,
      status = 'open', body = excluded.body, input = excluded.input, closed_at = NULL,
      claimed_by = NULL, claimed_at = NULL, assigned_users = NULL, assigned_groups = NULL;
  END IF;

  -- 6. Outbox rows (ids in message order), then cluster notifications (sent only if this commits).
  IF doc ? 'o' THEN
    INSERT INTO outbox (topic, instance_id, payload, created_at)
    SELECT x.t, x.i, COALESCE(x.p, 'null'::jsonb), (doc->>'now')::bigint
    FROM jsonb_to_recordset(doc->'o') AS x(t text, i text, p jsonb, o int) ORDER BY x.o;
  END IF;
  IF doc ? 'n' THEN
    PERFORM pg_notify(doc->>'nc', p) FROM jsonb_array_elements_text(doc->'n') AS p;
  END IF;
END`;

/**
 * The function's name carries a hash of its body: a changed body is a new function, so nodes of
 * different versions sharing a database each call their own (old ones are harmless leftovers).
 */
export const COMMIT_FUNCTION = `weft_commit_${createHash('sha256').update(COMMIT_FUNCTION_BODY).digest('hex').slice(0, 12)}`;

/**
 * Creates the commit function unless it exists (under the migration lock, so nodes starting
 * together do not race on the catalog). Returns its name, or undefined when this role may not
 * create functions: the store then keeps the statement-by-statement commit.
 */
export async function installCommitFunction(c: PoolClient, onError?: (err: Error) => void): Promise<string | undefined> {
  // Resolved through the search_path, as the call will be.
  const exists = async () => (await c.query<{ ok: boolean }>('SELECT to_regprocedure($1) IS NOT NULL AS ok', [`${COMMIT_FUNCTION}(jsonb)`])).rows[0]?.ok === true;
  try {
    if (await exists()) return COMMIT_FUNCTION;
    await c.query('SELECT pg_advisory_lock($1)', [MIGRATION_LOCK_KEY]);
    try {
      if (!(await exists())) await c.query(`CREATE FUNCTION ${COMMIT_FUNCTION}(doc jsonb) RETURNS void LANGUAGE plpgsql AS $weft$${COMMIT_FUNCTION_BODY}$weft$`);
    } finally {
      await c.query('SELECT pg_advisory_unlock($1)', [MIGRATION_LOCK_KEY]);
    }
    return COMMIT_FUNCTION;
  } catch (err) {
    onError?.(err as Error);
    return undefined;
  }
}

/** True when `batch` can go in one call (each instance written once). */
export function fitsOneCall(batch: CommitBatch): boolean {
  const n = batch.instances.length;
  if (n <= 1) return true;
  const seen = new Set<string>();
  for (let i = 0; i < n; i++) {
    const id = batch.instances[i].instanceId;
    if (seen.has(id)) return false;
    seen.add(id);
  }
  return true;
}

/** Pushes onto `doc[key]`, creating the list on first use (absent lists are skipped by the function). */
function add(doc: Record<string, unknown>, key: string, row: unknown): void {
  const list = doc[key] as unknown[] | undefined;
  if (list) list.push(row);
  else doc[key] = [row];
}

/** Rows of one kind keyed by (instance, id): a later row of the same key replaces an earlier one. */
function putKeyed(doc: Record<string, unknown>, key: string, index: Map<string, number>, k: string, row: unknown): void {
  const at = index.get(k);
  if (at !== undefined) { (doc[key] as unknown[])[at] = row; return; }
  index.set(k, ((doc[key] as unknown[] | undefined)?.length) ?? 0);
  add(doc, key, row);
}

/** The batch as the function's jsonb document (field names short: the text is built per flush). */
export function commitDocument(batch: CommitBatch, notifyChannel?: string): Record<string, unknown> {
  const doc: Record<string, unknown> = { now: batch.now };
  const ws = batch.instances;
  const moves: Array<{ id: string; exp: number; seq: number; st?: string; up?: number; en?: number; o: number }> = [];
  const taskKeys = new Map<string, number>();
  const timerKeys = new Map<string, number>();
  const waitKeys = new Map<string, number>();
  const humanKeys = new Map<string, number>();
  let guardNo = 0;
  for (let o = 0; o < ws.length; o++) {
    const w = ws[o];
    const id = w.instanceId;
    const n = w.events.length;
    if (n > 0 && (w.events[0].seq !== w.expectedSeq + 1 || w.events[n - 1].seq !== w.expectedSeq + n)) {
      throw new Error(`instance ${id}: events must be numbered from ${w.expectedSeq + 1}`);
    }
    const c = w.create;
    if (c) {
      add(doc, 'c', {
        id, def: c.definitionId, ver: c.definitionVersion, ns: c.namespace, st: c.status ?? 'pending', par: c.parentId,
        prun: c.parentRunId, corr: c.correlationId, lab: toJsonColumn(c.labels) ?? undefined, ikey: c.idempotencyKey,
        cr: c.createdAt, up: c.updatedAt ?? c.createdAt, o,
      });
    }
    if (n > 0 || w.update) {
      const u = w.update;
      moves.push({ id, exp: w.expectedSeq, seq: w.expectedSeq + n, st: u?.status, up: u?.updatedAt, en: u?.endedAt, o });
    }
    if (w.guards) for (const g of w.guards) add(doc, 'g', { i: id, k: g.taskId, tok: g.token, o: guardNo++ });
    if (n > 0) add(doc, 'e', { i: id, f: w.events[0].seq, l: w.events[n - 1].seq, b: w.events });
    if (w.snapshot) add(doc, 's', { i: id, s: w.snapshot.seq, b: w.snapshot.state });
    const e = w.effects;
    if (!e) continue;
    if (e.tasksToRemove) for (const t of e.tasksToRemove) add(doc, 'td', { i: id, k: t.taskId });
    if (e.tasksToSchedule) {
      for (const t of e.tasksToSchedule) {
        const claim = e.claims ? e.claims.find((x) => x.taskId === t.taskId) : undefined;
        const { instanceId: _i, taskId: _t, activity: _a, queue: _q, priority: _p, attempt: _n, ...rest } = t;
        putKeyed(doc, 'tp', taskKeys, `${id}\u0000${t.taskId}`, {
          i: id, k: t.taskId, a: t.activity, q: t.queue, p: t.priority ?? 0, n: t.attempt, b: rest,
          own: claim?.owner, tok: claim?.token, exp: claim?.expiresAt, cl: claim ? 1 : 0,
        });
      }
    }
    if (e.timersToRemove) for (const k of e.timersToRemove) add(doc, 'xd', { i: id, k });
    if (e.timersToSet) {
      for (const t of e.timersToSet) {
        const { dueAt: _d, ...rest } = t.timer;
        putKeyed(doc, 'xp', timerKeys, `${id}\u0000${t.timerId}`, { i: id, k: t.timerId, d: t.timer.dueAt, b: rest });
      }
    }
    if (e.waitsToRemove) for (const r of e.waitsToRemove) add(doc, 'wd', { i: id, r });
    if (e.waitsToAdd) {
      for (const wt of e.waitsToAdd) {
        putKeyed(doc, 'wp', waitKeys, `${id}\u0000${wt.runId}`, { i: id, r: wt.runId, ev: wt.event, key: wt.key === undefined ? undefined : canonicalJson(wt.key) });
      }
    }
    if (e.humanTasksToClose) for (const r of e.humanTasksToClose) add(doc, 'hd', { i: id, r });
    if (e.humanTasksToOpen) {
      for (const h of e.humanTasksToOpen) {
        putKeyed(doc, 'hp', humanKeys, `${id}\u0000${h.task.taskId}`, {
          i: id, k: h.task.taskId, r: h.runId, s: h.stepId, b: h.task, inp: toJsonColumn(h.input) ?? undefined,
        });
      }
    }
  }
  if (moves.length > 0) doc.m = moves.sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  if (batch.outbox && batch.outbox.length > 0) {
    doc.o = batch.outbox.map((m, o) => ({ t: m.topic, i: m.instanceId, p: m.payload ?? null, o }));
  }
  if (notifyChannel !== undefined && batch.notify && batch.notify.length > 0) { doc.n = batch.notify; doc.nc = notifyChannel; }
  return doc;
}

/** Retried SQLSTATEs: deadlock_detected, serialization_failure (the call rolled back entirely). */
const RETRYABLE = new Set(['40P01', '40001']);

/** Commits `batch` with one call of `fn` (see above); typed errors as from `writeBatch`. */
export async function commitInOneCall(pool: Pool, fn: string, batch: CommitBatch, notifyChannel?: string): Promise<void> {
  const text = JSON.stringify(commitDocument(batch, notifyChannel));
  for (let attempt = 1; ; attempt++) {
    try {
      await pool.query({ name: fn, text: `SELECT ${fn}($1::jsonb)`, values: [text] });
      return;
    } catch (err) {
      const code = (err as { code?: string }).code;
      if (code !== undefined && RETRYABLE.has(code) && attempt < 5) {
        await new Promise((r) => setTimeout(r, attempt * 5 + Math.random() * 10));
        continue;
      }
      throw typedError(err);
    }
  }
}

function typedError(err: unknown): unknown {
  const e = err as { code?: string; detail?: string };
  if (e.code !== DUPLICATE && e.code !== SEQ_CONFLICT && e.code !== LEASE_LOST) return err;
  const d = JSON.parse(e.detail ?? '{}') as { id: string; existing?: string; key?: string | null; expected?: number; actual?: number | null; task?: string };
  if (e.code === DUPLICATE) return new DuplicateInstanceError(d.id, d.existing ?? d.id, d.key ?? undefined);
  if (e.code === SEQ_CONFLICT) return new SeqConflictError(d.id, d.expected ?? -1, d.actual ?? undefined);
  return new LeaseLostError(d.id, d.task ?? '');
}
