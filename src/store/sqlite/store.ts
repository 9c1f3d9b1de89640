/**
 * SQLite store (embedded default): better-sqlite3, WAL, `synchronous=NORMAL` (a commit survives a
 * process crash; an OS crash may lose the last commits but never corrupts the file), every
 * statement prepared once. Methods are async to share the Store shape with networked backends;
 * the work inside is synchronous.
 */
import Database from 'better-sqlite3';
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import { randomBytes } from 'node:crypto';
import type { EngineEvent, InstanceState } from '../../core/types.js';
import { DefinitionConflictError, DuplicateInstanceError, SeqConflictError } from '../errors.js';
import { canonicalJson, toJsonColumn } from '../json.js';
import type {
  ClaimTasksOptions, NodeRecord, PurgeResult, CommitBatch, DefinitionRecord, DefinitionSummary, DueTimersOptions, HumanTaskClaim, HumanTaskFilter,
  HumanTaskRecord, InstanceFilter, InstanceLog, InstanceRecord, InstanceUpdate, LeaseRenewal, NewInstance,
  OutboxRow, ReadEventsOptions, Store, StoredTask, TaskKey, TimerRow, WaitRow,
  DueSchedulesOptions, ScheduleFilter, ScheduleRecord,
} from '../types.js';
import { CommitWriter, type Statement } from './commit.js';
import { EventLog } from './event-log.js';
import { migrate } from './migrate.js';
import {
  toHumanTask, toInstance, toTask, toTimer,
  toNode, type HumanSqlRow, type InstanceSqlRow, type NodeSqlRow, type TaskSqlRow, type TimerSqlRow,
} from './rows.js';
import { claimTasks } from './tasks.js';
import { SqliteSchedules } from './schedules.js';
import { Checkpointer } from './checkpointer.js';

export interface SqliteStoreOptions {
  /** Milliseconds a writer waits for another process's lock (default 5000). */
  busyTimeoutMs?: number;
  /** Checkpoint the WAL in a worker thread (default true for files). */
  backgroundCheckpoints?: boolean;
  readonly?: boolean;
}

const MAX_SEQ = Number.MAX_SAFE_INTEGER;

export class SqliteStore implements Store {
  readonly backend = 'sqlite';
  readonly db: Database.Database;
  private readonly log: EventLog;
  private readonly writer: CommitWriter;
  private readonly s: Record<string, Statement>;
  private closed = false;
  private readonly checkpointer?: Checkpointer;

  constructor(readonly path: string, options: SqliteStoreOptions = {}) {
    if (path !== ':memory:' && !path.startsWith('file:')) mkdirSync(dirname(path), { recursive: true });
    this.db = new Database(path, { readonly: options.readonly ?? false });
    this.db.pragma(`busy_timeout = ${options.busyTimeoutMs ?? 5000}`);
    if (!options.readonly) {
      this.db.pragma('journal_mode = WAL');
      this.db.pragma('synchronous = NORMAL');
      this.db.pragma('foreign_keys = OFF');
      this.db.pragma('temp_store = MEMORY');
      this.db.pragma('cache_size = -32000');
      migrate(this.db);
      if (options.backgroundCheckpoints !== false && path !== ':memory:' && !path.startsWith('file:')) {
        // The worker checkpoints soon after commits; the main connection only as a fallback.
        this.db.pragma('wal_autocheckpoint = 20000');
        this.checkpointer = new Checkpointer(path);
      }
    }
    this.log = new EventLog(this.db);
    this.writer = new CommitWriter(this.db, this.log);
    const p = (sql: string) => this.db.prepare(sql);
    this.s = {
      getDef: p('SELECT id, version, hash, body, created_at, namespace FROM definitions WHERE id = ? AND version = ?'),
      insertDef: p('INSERT INTO definitions (id, version, hash, body, created_at, namespace) VALUES (?, ?, ?, ?, ?, ?)'),
      listDefs: p('SELECT id, version, hash, created_at, namespace FROM definitions ORDER BY created_at, id, version'),
      listDefsOf: p('SELECT id, version, hash, created_at, namespace FROM definitions WHERE id = ? ORDER BY created_at, version'),
      getInstance: p('SELECT * FROM instances WHERE id = ?'),
      getInstanceByKey: p('SELECT * FROM instances WHERE idempotency_key = ?'),
      updateInstance: p('UPDATE instances SET status = COALESCE(?, status), seq = COALESCE(?, seq), updated_at = ?, ended_at = COALESCE(?, ended_at) WHERE id = ?'),
      updateInstanceAt: p('UPDATE instances SET status = COALESCE(?, status), seq = COALESCE(?, seq), updated_at = ?, ended_at = COALESCE(?, ended_at) WHERE id = ? AND seq = ?'),
      seqOf: p('SELECT seq FROM instances WHERE id = ?').pluck(true),
      moveSeq: p('UPDATE instances SET seq = ? WHERE id = ? AND seq = ?'),
      putSnapshot: p('INSERT OR REPLACE INTO snapshots (instance_id, seq, body) VALUES (?, ?, ?)'),
      getSnapshot: p('SELECT seq, body FROM snapshots WHERE instance_id = ? AND seq <= ? ORDER BY seq DESC LIMIT 1'),
      renewLease: p(`UPDATE tasks SET lease_expires_at = ?, heartbeat = COALESCE(?, heartbeat)
        WHERE instance_id = ? AND task_id = ? AND lease_token = ?`),
      releaseOwner: p('UPDATE tasks SET owner = NULL, lease_token = NULL, lease_expires_at = NULL WHERE owner = ?'),
      releaseAll: p('UPDATE tasks SET owner = NULL, lease_token = NULL, lease_expires_at = NULL WHERE owner IS NOT NULL'),
      releaseTimersOwner: p('UPDATE timers SET owner = NULL, lease_expires_at = NULL WHERE owner = ?'),
      releaseTimersAll: p('UPDATE timers SET owner = NULL, lease_expires_at = NULL WHERE owner IS NOT NULL'),
      getTask: p('SELECT * FROM tasks WHERE instance_id = ? AND task_id = ?'),
      dueTimers: p(`SELECT instance_id, timer_id, due_at, body FROM timers
        WHERE due_at <= ? AND (owner IS NULL OR lease_expires_at < ?) ORDER BY due_at LIMIT ?`),
      leaseTimer: p('UPDATE timers SET owner = ?, lease_expires_at = ? WHERE instance_id = ? AND timer_id = ?'),
      nextTimer: p('SELECT MIN(due_at) FROM timers WHERE owner IS NULL').pluck(true),
      listTimers: p('SELECT instance_id, timer_id, due_at, body FROM timers WHERE instance_id = ? ORDER BY due_at'),
      deleteTimer: p('DELETE FROM timers WHERE instance_id = ? AND timer_id = ?'),
      findWaits: p('SELECT instance_id, run_id, event, key FROM waits WHERE event = ? AND key IS ? LIMIT ?'),
      listWaits: p('SELECT instance_id, run_id, event, key FROM waits WHERE instance_id = ? ORDER BY run_id'),
      getHuman: p('SELECT * FROM human_tasks WHERE instance_id = ? AND task_id = ?'),
      claimHuman: p(`UPDATE human_tasks SET claimed_by = ?, claimed_at = ?
        WHERE instance_id = ? AND task_id = ? AND status = 'open' AND (claimed_by IS NULL OR claimed_by = ?)`),
      releaseHuman: p(`UPDATE human_tasks SET claimed_by = NULL, claimed_at = NULL
        WHERE instance_id = ? AND task_id = ? AND status = 'open' AND (? IS NULL OR claimed_by IS NULL OR claimed_by = ?)`),
      reassignHuman: p(`UPDATE human_tasks SET claimed_by = NULL, claimed_at = NULL,
        assigned_users = COALESCE(?, assigned_users), assigned_groups = COALESCE(?, assigned_groups)
        WHERE instance_id = ? AND task_id = ? AND status = 'open'`),
      defUsers: p('SELECT id FROM instances WHERE definition_id = ? AND definition_version = ? LIMIT 10').pluck(true),
      deleteDef: p('DELETE FROM definitions WHERE id = ? AND version = ?'),
      readOutbox: p('SELECT id, topic, instance_id, payload, created_at FROM outbox WHERE id > ? ORDER BY id LIMIT ?'),
      deleteOutbox: p('DELETE FROM outbox WHERE id <= ?'),
    };
  }

  // ------------------------------------------------------------------------ definitions

  async putDefinition(record: DefinitionRecord): Promise<{ created: boolean }> {
    return this.db.transaction(() => {
      const existing = this.s.getDef.get(record.id, record.version) as { hash: string } | undefined;
      if (existing) {
        if (existing.hash !== record.hash) throw new DefinitionConflictError(record.id, record.version);
        return { created: false };
      }
      this.s.insertDef.run(record.id, record.version, record.hash, JSON.stringify(record.definition), record.createdAt, record.namespace ?? 'default');
      return { created: true };
    }).immediate();
  }

  async getDefinition(id: string, version: string): Promise<DefinitionRecord | undefined> {
    const r = this.s.getDef.get(id, version) as { id: string; version: string; hash: string; body: string; created_at: number; namespace: string } | undefined;
    return r && { id: r.id, version: r.version, hash: r.hash, definition: JSON.parse(r.body), createdAt: r.created_at, namespace: r.namespace };
  }

  async listDefinitions(id?: string): Promise<DefinitionSummary[]> {
    const rows = (id === undefined ? this.s.listDefs.all() : this.s.listDefsOf.all(id)) as Array<{ id: string; version: string; hash: string; created_at: number; namespace: string }>;
    return rows.map((r) => ({ id: r.id, version: r.version, hash: r.hash, createdAt: r.created_at, namespace: r.namespace }));
  }

  async deleteDefinition(id: string, version: string): Promise<{ status: 'deleted' | 'not_found' } | { status: 'in_use'; instances: string[] }> {
    return this.db.transaction(() => {
      if (!this.s.getDef.get(id, version)) return { status: 'not_found' as const };
      const users = this.s.defUsers.all(id, version) as string[];
      if (users.length > 0) return { status: 'in_use' as const, instances: users };
      this.s.deleteDef.run(id, version);
      return { status: 'deleted' as const };
    }).immediate();
  }

  // ------------------------------------------------------------------------ instances

  async createInstance(instance: NewInstance): Promise<{ instance: InstanceRecord; created: boolean }> {
    return this.db.transaction(() => {
      try {
        this.writer.insertInstance(instance);
      } catch (err) {
        if (!(err instanceof DuplicateInstanceError)) throw err;
        return { instance: toInstance(this.s.getInstance.get(err.existingId) as InstanceSqlRow), created: false };
      }
      return { instance: toInstance(this.s.getInstance.get(instance.id) as InstanceSqlRow), created: true };
    }).immediate();
  }

  async getInstance(id: string): Promise<InstanceRecord | undefined> {
    const r = this.s.getInstance.get(id) as InstanceSqlRow | undefined;
    return r && toInstance(r);
  }

  async getInstanceByIdempotencyKey(key: string): Promise<InstanceRecord | undefined> {
    const r = this.s.getInstanceByKey.get(key) as InstanceSqlRow | undefined;
    return r && toInstance(r);
  }

  async listInstances(filter: InstanceFilter = {}): Promise<InstanceRecord[]> {
    const where: string[] = [];
    const args: unknown[] = [];
    if (filter.status && filter.status.length > 0) {
      where.push(`status IN (${filter.status.map(() => '?').join(', ')})`);
      args.push(...filter.status);
    }
    if (filter.definitionId !== undefined) { where.push('definition_id = ?'); args.push(filter.definitionId); }
    if (filter.parentId !== undefined) { where.push('parent_id = ?'); args.push(filter.parentId); }
    if (filter.correlationId !== undefined) { where.push('correlation_id = ?'); args.push(filter.correlationId); }
    if (filter.namespace !== undefined) { where.push('namespace = ?'); args.push(filter.namespace); }
    if (filter.updatedAfter !== undefined) { where.push('updated_at >= ?'); args.push(filter.updatedAfter); }
    if (filter.afterId !== undefined) { where.push('id > ?'); args.push(filter.afterId); }
    const sql = `SELECT * FROM instances ${where.length ? `WHERE ${where.join(' AND ')}` : ''} ORDER BY id LIMIT ?`;
    args.push(filter.limit ?? -1);
    return (this.db.prepare(sql).all(...args) as InstanceSqlRow[]).map(toInstance);
  }

  async updateInstance(id: string, u: InstanceUpdate, expectedSeq?: number): Promise<void> {
    const args = [u.status ?? null, u.seq ?? null, u.updatedAt, u.endedAt ?? null, id];
    const changes = expectedSeq === undefined
      ? this.s.updateInstance.run(...args).changes
      : this.s.updateInstanceAt.run(...args, expectedSeq).changes;
    if (changes !== 1) throw new SeqConflictError(id, expectedSeq ?? -1, this.s.seqOf.get(id) as number | undefined);
  }

  // ------------------------------------------------------------------------ events and snapshots

  async appendEvents(instanceId: string, expectedSeq: number, events: EngineEvent[]): Promise<void> {
    this.writer.run({ now: Date.now(), instances: [{ instanceId, expectedSeq, events }] });
  }

  async readEvents(instanceId: string, options: ReadEventsOptions = {}): Promise<EngineEvent[]> {
    return this.log.read(instanceId, options.fromSeq ?? 1, options.toSeq ?? MAX_SEQ, options.limit ?? MAX_SEQ);
  }

  async putSnapshot(instanceId: string, seq: number, state: InstanceState): Promise<void> {
    this.s.putSnapshot.run(instanceId, seq, JSON.stringify(state));
  }

  async getSnapshot(instanceId: string, atOrBefore = MAX_SEQ): Promise<{ seq: number; state: InstanceState } | undefined> {
    const r = this.s.getSnapshot.get(instanceId, atOrBefore) as { seq: number; body: string } | undefined;
    return r && { seq: r.seq, state: JSON.parse(r.body) as InstanceState };
  }

  async loadInstance(instanceId: string, uptoSeq?: number): Promise<InstanceLog | undefined> {
    // One read transaction: row, snapshot and tail are from the same moment.
    return this.db.transaction(() => {
      const r = this.s.getInstance.get(instanceId) as InstanceSqlRow | undefined;
      if (!r) return undefined;
      const instance = toInstance(r);
      const upto = Math.min(uptoSeq ?? instance.seq, instance.seq);
      const snap = this.s.getSnapshot.get(instanceId, upto) as { seq: number; body: string } | undefined;
      const from = snap ? snap.seq + 1 : 1;
      const events = from <= upto ? this.log.read(instanceId, from, upto, MAX_SEQ) : [];
      const out: InstanceLog = { instance, events };
      if (snap) out.snapshot = { seq: snap.seq, state: JSON.parse(snap.body) as InstanceState };
      return out;
    }).deferred();
  }

  async commit(batch: CommitBatch): Promise<void> {
    this.writer.run(batch);
    this.checkpointer?.poke();
  }

  // ------------------------------------------------------------------------ tasks

  async claimTasks(options: ClaimTasksOptions): Promise<StoredTask[]> {
    const prefix = options.tokenPrefix ?? `${options.owner}.${randomBytes(4).toString('hex')}`;
    return this.db.transaction(() => claimTasks(this.db, options, prefix)).immediate();
  }

  async renewLeases(renewals: LeaseRenewal[]): Promise<TaskKey[]> {
    if (renewals.length === 0) return [];
    return this.db.transaction(() => {
      const lost: TaskKey[] = [];
      for (const r of renewals) {
        const changes = this.s.renewLease.run(r.expiresAt, toJsonColumn(r.details), r.instanceId, r.taskId, r.token).changes;
        if (changes !== 1) lost.push({ instanceId: r.instanceId, taskId: r.taskId });
      }
      return lost;
    }).immediate();
  }

  async releaseLeases(owner?: string): Promise<number> {
    return this.db.transaction(() => {
      if (owner === undefined) {
        this.s.releaseTimersAll.run();
        return this.s.releaseAll.run().changes;
      }
      this.s.releaseTimersOwner.run(owner);
      return this.s.releaseOwner.run(owner).changes;
    }).immediate();
  }

  async getTask(instanceId: string, taskId: string): Promise<StoredTask | undefined> {
    const r = this.s.getTask.get(instanceId, taskId) as TaskSqlRow | undefined;
    return r && toTask(r);
  }

  async listTasks(filter: { instanceId?: string; activity?: string; namespace?: string; limit?: number } = {}): Promise<StoredTask[]> {
    const where: string[] = [];
    const args: unknown[] = [];
    if (filter.namespace !== undefined) { where.push(`EXISTS (SELECT 1 FROM instances i WHERE i.id = tasks.instance_id AND COALESCE(i.namespace, 'default') = ?)`); args.push(filter.namespace); }
    if (filter.instanceId !== undefined) { where.push('instance_id = ?'); args.push(filter.instanceId); }
    if (filter.activity !== undefined) { where.push('activity = ?'); args.push(filter.activity); }
    const sql = `SELECT * FROM tasks ${where.length ? `WHERE ${where.join(' AND ')}` : ''} ORDER BY created_at, instance_id, task_id LIMIT ?`;
    return (this.db.prepare(sql).all(...args, filter.limit ?? -1) as TaskSqlRow[]).map(toTask);
  }

  // ------------------------------------------------------------------------ timers

  async dueTimers(o: DueTimersOptions): Promise<TimerRow[]> {
    const read = () => (this.s.dueTimers.all(o.now, o.now, o.limit) as TimerSqlRow[]).map(toTimer);
    if (o.owner === undefined) return read();
    const expires = o.now + (o.leaseMs ?? 30_000);
    return this.db.transaction(() => {
      const rows = read();
      for (const t of rows) this.s.leaseTimer.run(o.owner, expires, t.instanceId, t.timerId);
      return rows;
    }).immediate();
  }

  async nextTimerDue(): Promise<number | undefined> {
    const v = this.s.nextTimer.get() as number | null;
    return v ?? undefined;
  }

  async listTimers(instanceId: string): Promise<TimerRow[]> {
    return (this.s.listTimers.all(instanceId) as TimerSqlRow[]).map(toTimer);
  }

  async deleteTimers(keys: Array<{ instanceId: string; timerId: string }>): Promise<void> {
    this.db.transaction(() => { for (const k of keys) this.s.deleteTimer.run(k.instanceId, k.timerId); }).immediate();
  }

  // ------------------------------------------------------------------------ waits, humans, outbox

  async findWaits(event: string, key: unknown, limit = 10_000): Promise<WaitRow[]> {
    const k = key === undefined ? null : canonicalJson(key);
    const rows = this.s.findWaits.all(event, k, limit) as Array<{ instance_id: string; run_id: string; event: string; key: string | null }>;
    return rows.map(toWait);
  }

  async listWaits(instanceId: string): Promise<WaitRow[]> {
    return (this.s.listWaits.all(instanceId) as Array<{ instance_id: string; run_id: string; event: string; key: string | null }>).map(toWait);
  }

  async listHumanTasks(filter: HumanTaskFilter = {}): Promise<HumanTaskRecord[]> {
    const where: string[] = [];
    const args: unknown[] = [];
    if (filter.instanceId !== undefined) { where.push('instance_id = ?'); args.push(filter.instanceId); }
    if (filter.status !== undefined) { where.push('status = ?'); args.push(filter.status); }
    if (filter.namespace !== undefined) { where.push('instance_id IN (SELECT id FROM instances WHERE namespace = ?)'); args.push(filter.namespace); }
    const sql = `SELECT * FROM human_tasks ${where.length ? `WHERE ${where.join(' AND ')}` : ''} ORDER BY created_at, instance_id, task_id`;
    let out = (this.db.prepare(sql).all(...args) as HumanSqlRow[]).map(toHumanTask);
    if (filter.user !== undefined || filter.group !== undefined) {
      out = out.filter((h) => (filter.user !== undefined && h.task.users.includes(filter.user))
        || (filter.group !== undefined && h.task.groups.includes(filter.group)));
    }
    return filter.limit !== undefined ? out.slice(0, filter.limit) : out;
  }

  async getHumanTask(instanceId: string, taskId: string): Promise<HumanTaskRecord | undefined> {
    const r = this.s.getHuman.get(instanceId, taskId) as HumanSqlRow | undefined;
    return r && toHumanTask(r);
  }

  async claimHumanTask(instanceId: string, taskId: string, user: string, now: number): Promise<HumanTaskClaim> {
    return this.db.transaction((): HumanTaskClaim => {
      if (this.s.claimHuman.run(user, now, instanceId, taskId, user).changes === 1) {
        return { status: 'claimed', task: toHumanTask(this.s.getHuman.get(instanceId, taskId) as HumanSqlRow) };
      }
      const r = this.s.getHuman.get(instanceId, taskId) as HumanSqlRow | undefined;
      if (!r || r.status !== 'open') return { status: 'not_found' };
      return { status: 'taken', claimedBy: r.claimed_by as string };
    }).immediate();
  }

  async releaseHumanTask(instanceId: string, taskId: string, user?: string): Promise<HumanTaskRecord | undefined> {
    return this.db.transaction(() => {
      if (this.s.releaseHuman.run(instanceId, taskId, user ?? null, user ?? null).changes !== 1) return undefined;
      return toHumanTask(this.s.getHuman.get(instanceId, taskId) as HumanSqlRow);
    }).immediate();
  }

  async reassignHumanTask(instanceId: string, taskId: string, to: { users?: string[]; groups?: string[] }): Promise<HumanTaskRecord | undefined> {
    return this.db.transaction(() => {
      const users = to.users ? JSON.stringify(to.users) : null;
      const groups = to.groups ? JSON.stringify(to.groups) : null;
      if (this.s.reassignHuman.run(users, groups, instanceId, taskId).changes !== 1) return undefined;
      return toHumanTask(this.s.getHuman.get(instanceId, taskId) as HumanSqlRow);
    }).immediate();
  }

  async readOutbox(afterId: number, limit: number): Promise<OutboxRow[]> {
    const rows = this.s.readOutbox.all(afterId, limit) as Array<{ id: number; topic: string; instance_id: string | null; payload: string; created_at: number }>;
    return rows.map((r) => {
      const out: OutboxRow = { id: r.id, topic: r.topic, payload: JSON.parse(r.payload), createdAt: r.created_at };
      if (r.instance_id !== null) out.instanceId = r.instance_id;
      return out;
    });
  }

  async deleteOutbox(upToId: number): Promise<number> {
    return this.s.deleteOutbox.run(upToId).changes;
  }

  async deleteOutboxRows(ids: number[]): Promise<number> {
    if (ids.length === 0) return 0;
    return this.db.prepare('DELETE FROM outbox WHERE id IN (SELECT value FROM json_each(?))').run(JSON.stringify(ids)).changes;
  }

  // ------------------------------------------------------------------------ nodes and retention

  async registerNode(n: Omit<NodeRecord, 'status' | 'diedAt'>): Promise<void> {
    this.db.prepare(`INSERT OR REPLACE INTO nodes (id, host, pid, capabilities, capacity, started_at, heartbeat_at, status, died_at)
      VALUES (?, ?, ?, ?, ?, ?, ?, 'alive', NULL)`).run(n.id, n.host, n.pid, JSON.stringify(n.capabilities), n.capacity, n.startedAt, n.heartbeatAt);
  }

  async heartbeatNode(id: string, now: number, update: { capabilities?: string[]; capacity?: number } = {}): Promise<boolean> {
    return this.db.prepare(`UPDATE nodes SET heartbeat_at = ?, capabilities = COALESCE(?, capabilities), capacity = COALESCE(?, capacity)
      WHERE id = ? AND status = 'alive'`).run(now, update.capabilities ? JSON.stringify(update.capabilities) : null, update.capacity ?? null, id).changes === 1;
  }

  async listNodes(): Promise<NodeRecord[]> {
    return (this.db.prepare(`SELECT * FROM nodes ORDER BY status = 'dead', id`).all() as NodeSqlRow[]).map(toNode);
  }

  async markDeadNodes(heartbeatBefore: number, now: number): Promise<string[]> {
    return (this.db.prepare(`UPDATE nodes SET status = 'dead', died_at = ? WHERE status = 'alive' AND heartbeat_at < ? RETURNING id`)
      .all(now, heartbeatBefore) as Array<{ id: string }>).map((r) => r.id).sort();
  }

  async forgetNodes(diedBefore: number): Promise<number> {
    return this.db.prepare(`DELETE FROM nodes WHERE status = 'dead' AND died_at < ?`).run(diedBefore).changes;
  }

  async removeNode(id: string): Promise<void> {
    this.db.prepare('DELETE FROM nodes WHERE id = ?').run(id);
  }

  async purgeFinished(endedBefore: number, limit: number): Promise<PurgeResult> {
    if (limit <= 0) return { instances: 0 };
    return this.db.transaction(() => {
      const ids = this.db.prepare(`SELECT id FROM instances WHERE ended_at IS NOT NULL AND ended_at < ?
        AND status IN ('completed', 'failed', 'cancelled', 'terminated', 'compensated') ORDER BY ended_at LIMIT ?`).pluck(true).all(endedBefore, limit) as string[];
      if (ids.length === 0) return { instances: 0 };
      const list = JSON.stringify(ids);
      for (const table of ['event_chunks', 'snapshots', 'tasks', 'timers', 'waits', 'human_tasks']) {
        this.db.prepare(`DELETE FROM ${table} WHERE instance_id IN (SELECT value FROM json_each(?))`).run(list);
      }
      this.db.prepare('DELETE FROM instances WHERE id IN (SELECT value FROM json_each(?))').run(list);
      return { instances: ids.length };
    }).immediate();
  }

  // ------------------------------------------------------------------------ schedules (SQL in ./schedules.ts)

  private schedulesSql?: SqliteSchedules;
  private get schedules(): SqliteSchedules { return (this.schedulesSql ??= new SqliteSchedules(this.db)); }
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
    await this.checkpointer?.close();
    this.db.close();
  }
}


function toWait(r: { instance_id: string; run_id: string; event: string; key: string | null }): WaitRow {
  const out: WaitRow = { instanceId: r.instance_id, runId: r.run_id, event: r.event };
  if (r.key !== null) out.key = JSON.parse(r.key);
  return out;
}

export function openSqliteStore(path: string, options?: SqliteStoreOptions): SqliteStore {
  return new SqliteStore(path, options);
}
