/**
 * The group commit, SQLite: every write of a batch inside one IMMEDIATE transaction. Any error
 * (typed conflict or I/O) rolls the whole batch back.
 *
 * Per instance, in this order: create row → optimistic seq move → lease guards → events →
 * snapshot → effect rows (removals before inserts, so a task/timer replaced in one batch ends
 * up present). Then the outbox.
 */
import type Database from 'better-sqlite3';
import { DuplicateInstanceError, LeaseLostError, SeqConflictError } from '../errors.js';
import { canonicalJson, toJsonColumn } from '../json.js';
import type { CommitBatch, InstanceWrite, NewInstance, OutboxMessage } from '../types.js';
import type { EventLog } from './event-log.js';
import { taskBody, timerBody } from './rows.js';

export type Statement = Database.Statement<unknown[], unknown>;

export class CommitWriter {
  private readonly s: Record<string, Statement>;
  readonly run: (batch: CommitBatch) => void;

  constructor(db: Database.Database, private readonly log: EventLog) {
    const p = (sql: string) => db.prepare(sql);
    this.s = {
      insertInstance: p(`INSERT INTO instances (id, definition_id, definition_version, namespace, status, seq, parent_id,
        parent_run_id, correlation_id, labels, idempotency_key, created_at, updated_at)
        VALUES (?, ?, ?, ?, ?, 0, ?, ?, ?, ?, ?, ?, ?)`),
      instanceById: p('SELECT id FROM instances WHERE id = ?').pluck(true),
      instanceByKey: p('SELECT id FROM instances WHERE idempotency_key = ?').pluck(true),
      seqOf: p('SELECT seq FROM instances WHERE id = ?').pluck(true),
      moveSeq: p('UPDATE instances SET seq = ?, status = ?, updated_at = ?, ended_at = ? WHERE id = ? AND seq = ?'),
      moveSeqSameStatus: p('UPDATE instances SET seq = ?, updated_at = ? WHERE id = ? AND seq = ?'),
      moveSeqOnly: p('UPDATE instances SET seq = ? WHERE id = ? AND seq = ?'),
      leaseToken: p('SELECT lease_token FROM tasks WHERE instance_id = ? AND task_id = ?').pluck(true),
      putSnapshot: p('INSERT OR REPLACE INTO snapshots (instance_id, seq, body) VALUES (?, ?, ?)'),
      deleteTask: p('DELETE FROM tasks WHERE instance_id = ? AND task_id = ?'),
      upsertTask: p(`INSERT INTO tasks (instance_id, task_id, activity, queue, priority, attempt, body, owner, lease_token,
        lease_expires_at, claims, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
        ON CONFLICT (instance_id, task_id) DO UPDATE SET activity = excluded.activity, queue = excluded.queue,
        priority = excluded.priority, attempt = excluded.attempt, body = excluded.body, owner = excluded.owner,
        lease_token = excluded.lease_token, lease_expires_at = excluded.lease_expires_at,
        claims = tasks.claims + excluded.claims, created_at = excluded.created_at`),
      deleteTimer: p('DELETE FROM timers WHERE instance_id = ? AND timer_id = ?'),
      upsertTimer: p(`INSERT INTO timers (instance_id, timer_id, due_at, body) VALUES (?, ?, ?, ?)
        ON CONFLICT (instance_id, timer_id) DO UPDATE SET due_at = excluded.due_at, body = excluded.body,
        owner = NULL, lease_expires_at = NULL`),
      deleteWait: p('DELETE FROM waits WHERE instance_id = ? AND run_id = ?'),
      upsertWait: p('INSERT OR REPLACE INTO waits (instance_id, run_id, event, key) VALUES (?, ?, ?, ?)'),
      closeHuman: p(`UPDATE human_tasks SET status = 'closed', closed_at = ? WHERE instance_id = ? AND run_id = ? AND status = 'open'`),
      upsertHuman: p(`INSERT INTO human_tasks (instance_id, task_id, run_id, step_id, status, body, input, created_at)
        VALUES (?, ?, ?, ?, 'open', ?, ?, ?)
        ON CONFLICT (instance_id, task_id) DO UPDATE SET run_id = excluded.run_id, step_id = excluded.step_id,
        status = 'open', body = excluded.body, input = excluded.input, closed_at = NULL,
        claimed_by = NULL, claimed_at = NULL, assigned_users = NULL, assigned_groups = NULL`),
      insertOutbox: p('INSERT INTO outbox (topic, instance_id, payload, created_at) VALUES (?, ?, ?, ?)'),
    };
    this.run = db.transaction((batch: CommitBatch) => {
      for (const w of batch.instances) this.writeInstance(w, batch.now);
      if (batch.outbox) this.writeOutbox(batch.outbox, batch.now);
    }).immediate;
  }

  /** Inserts a new instance row (inside the caller's transaction). */
  insertInstance(c: NewInstance, instanceId = c.id): void {
    const s = this.s;
    if (s.instanceById.get(instanceId) !== undefined) throw new DuplicateInstanceError(instanceId, instanceId);
    if (c.idempotencyKey !== undefined) {
      const existing = s.instanceByKey.get(c.idempotencyKey) as string | undefined;
      if (existing !== undefined) throw new DuplicateInstanceError(instanceId, existing, c.idempotencyKey);
    }
    s.insertInstance.run(instanceId, c.definitionId, c.definitionVersion, c.namespace ?? null, c.status ?? 'pending',
      c.parentId ?? null, c.parentRunId ?? null, c.correlationId ?? null, toJsonColumn(c.labels),
      c.idempotencyKey ?? null, c.createdAt, c.updatedAt ?? c.createdAt);
  }

  private writeInstance(w: InstanceWrite, now: number): void {
    const s = this.s;
    const id = w.instanceId;
    if (w.create) this.insertInstance(w.create, id);
    const n = w.events.length;
    if (n > 0 || w.update) {
      if (n > 0 && (w.events[0].seq !== w.expectedSeq + 1 || w.events[n - 1].seq !== w.expectedSeq + n)) {
        throw new Error(`instance ${id}: events must be numbered from ${w.expectedSeq + 1}`);
      }
      const u = w.update;
      const newSeq = w.expectedSeq + n;
      const changed = !u
        ? s.moveSeqOnly.run(newSeq, id, w.expectedSeq).changes
        : u.status === undefined
          ? s.moveSeqSameStatus.run(newSeq, u.updatedAt, id, w.expectedSeq).changes
          : s.moveSeq.run(newSeq, u.status, u.updatedAt, u.endedAt ?? null, id, w.expectedSeq).changes;
      if (changed !== 1) throw new SeqConflictError(id, w.expectedSeq, s.seqOf.get(id) as number | undefined);
    }
    if (w.guards) {
      for (const g of w.guards) {
        if (s.leaseToken.get(id, g.taskId) !== g.token) throw new LeaseLostError(id, g.taskId);
      }
    }
    if (n > 0) this.log.append(id, w.events);
    if (w.snapshot) s.putSnapshot.run(id, w.snapshot.seq, JSON.stringify(w.snapshot.state));
    const e = w.effects;
    if (!e) return;
    if (e.tasksToRemove) for (const t of e.tasksToRemove) s.deleteTask.run(id, t.taskId);
    if (e.tasksToSchedule) {
      const claims = e.claims;
      for (const t of e.tasksToSchedule) {
        const claim = claims ? claims.find((c) => c.taskId === t.taskId) : undefined;
        s.upsertTask.run(id, t.taskId, t.activity, t.queue ?? null, t.priority ?? 0, t.attempt, taskBody(t),
          claim ? claim.owner : null, claim ? claim.token : null, claim ? claim.expiresAt : null, claim ? 1 : 0, now);
      }
    }
    if (e.timersToRemove) for (const t of e.timersToRemove) s.deleteTimer.run(id, t);
    if (e.timersToSet) for (const t of e.timersToSet) s.upsertTimer.run(id, t.timerId, t.timer.dueAt, timerBody(t.timer));
    if (e.waitsToRemove) for (const r of e.waitsToRemove) s.deleteWait.run(id, r);
    if (e.waitsToAdd) {
      for (const wt of e.waitsToAdd) s.upsertWait.run(id, wt.runId, wt.event, wt.key === undefined ? null : canonicalJson(wt.key));
    }
    if (e.humanTasksToClose) for (const r of e.humanTasksToClose) s.closeHuman.run(now, id, r);
    if (e.humanTasksToOpen) {
      for (const h of e.humanTasksToOpen) {
        s.upsertHuman.run(id, h.task.taskId, h.runId, h.stepId, JSON.stringify(h.task), toJsonColumn(h.input), now);
      }
    }
  }

  private writeOutbox(messages: OutboxMessage[], now: number): void {
    for (const m of messages) this.s.insertOutbox.run(m.topic, m.instanceId ?? null, JSON.stringify(m.payload ?? null), now);
  }
}
