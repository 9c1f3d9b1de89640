/**
 * The group commit, PostgreSQL: every write of a batch inside ONE transaction (READ COMMITTED),
 * as a handful of set-based statements (`unnest` of parallel arrays) instead of a statement per
 * row. Any error — typed conflict or I/O — rolls the whole batch back.
 *
 * A batch may name one instance several times (its commands run in queue order). Rows of one
 * statement must not touch the same key twice, so the writes are split into rounds: round k holds
 * the k-th write of every instance (almost always a single round). Per round, in this order
 * (the same per-instance order as SQLite): create rows → optimistic seq moves
 * (`UPDATE … WHERE seq = expected`) → lease guards (task rows locked `FOR UPDATE`) → events →
 * snapshots → effect rows, removals before inserts (a task/timer replaced in one batch ends up
 * present). Then the outbox.
 *
 * Errors name the first failing instance in batch order, as SQLite's do.
 */
import type { PoolClient, QueryResultRow } from 'pg';
import { DuplicateInstanceError, LeaseLostError, SeqConflictError } from '../errors.js';
import { canonicalJson, toJsonColumn } from '../json.js';
import type { CommitBatch, InstanceWrite, NewInstance, OutboxMessage } from '../types.js';
import { taskBody, timerBody } from '../sqlite/rows.js';

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
