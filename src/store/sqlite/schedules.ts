/**
 * Schedules, SQLite (migration 004): the whole record is JSON in `body`; the columns the claim and
 * the lists use are split out. The PostgreSQL store shares the row mapper (`toSchedule`).
 */
import type Database from 'better-sqlite3';
import type { DueSchedulesOptions, ScheduleFilter, ScheduleRecord } from '../types.js';

export interface ScheduleSqlRow {
  body: string;
  revision: number;
}

/** The row's body with the columns that are the truth for them (revision). */
export function toSchedule(r: ScheduleSqlRow): ScheduleRecord {
  const rec = JSON.parse(r.body) as ScheduleRecord;
  rec.revision = Number(r.revision);
  return rec;
}

/** The JSON body: the record without `revision` (a column). */
export function scheduleBody(s: ScheduleRecord): string {
  const { revision: _revision, ...rest } = s;
  return JSON.stringify(rest);
}

export class SqliteSchedules {
  private readonly s;

  constructor(private readonly db: Database.Database) {
    const p = (sql: string) => db.prepare(sql);
    this.s = {
      insert: p(`INSERT INTO schedules (id, namespace, definition_id, paused, next_run_at, revision, body, created_at, updated_at)
        VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (id) DO NOTHING`),
      get: p('SELECT body, revision FROM schedules WHERE id = ?'),
      update: p(`UPDATE schedules SET namespace = ?, definition_id = ?, paused = ?, next_run_at = ?, revision = ?, body = ?, updated_at = ?,
        owner = CASE WHEN ? THEN NULL ELSE owner END, lease_expires_at = CASE WHEN ? THEN NULL ELSE lease_expires_at END
        WHERE id = ? AND revision = ?`),
      exists: p('SELECT 1 FROM schedules WHERE id = ?').pluck(true),
      delete: p('DELETE FROM schedules WHERE id = ?'),
      due: p(`SELECT id, body, revision FROM schedules
        WHERE paused = 0 AND next_run_at IS NOT NULL AND next_run_at <= ? AND (owner IS NULL OR lease_expires_at < ?)
        ORDER BY next_run_at, id LIMIT ?`),
      lease: p('UPDATE schedules SET owner = ?, lease_expires_at = ? WHERE id = ?'),
      next: p(`SELECT MIN(CASE WHEN owner IS NULL THEN next_run_at ELSE MAX(next_run_at, lease_expires_at) END)
        FROM schedules WHERE paused = 0 AND next_run_at IS NOT NULL`).pluck(true),
      releaseOwner: p('UPDATE schedules SET owner = NULL, lease_expires_at = NULL WHERE owner = ?'),
      releaseAll: p('UPDATE schedules SET owner = NULL, lease_expires_at = NULL WHERE owner IS NOT NULL'),
    };
  }

  create(s: ScheduleRecord): boolean {
    return this.s.insert.run(s.id, s.namespace, s.definitionId, s.paused ? 1 : 0, s.nextRunAt ?? null, s.revision,
      scheduleBody(s), s.createdAt, s.updatedAt).changes === 1;
  }

  get(id: string): ScheduleRecord | undefined {
    const r = this.s.get.get(id) as ScheduleSqlRow | undefined;
    return r && toSchedule(r);
  }

  list(f: ScheduleFilter = {}): ScheduleRecord[] {
    const where: string[] = [];
    const args: unknown[] = [];
    if (f.namespace !== undefined) { where.push('namespace = ?'); args.push(f.namespace); }
    if (f.definitionId !== undefined) { where.push('definition_id = ?'); args.push(f.definitionId); }
    if (f.afterId !== undefined) { where.push('id > ?'); args.push(f.afterId); }
    const sql = `SELECT body, revision FROM schedules ${where.length ? `WHERE ${where.join(' AND ')}` : ''} ORDER BY id LIMIT ?`;
    return (this.db.prepare(sql).all(...args, f.limit ?? -1) as ScheduleSqlRow[]).map(toSchedule);
  }

  update(s: ScheduleRecord, expectedRevision: number, releaseLease: boolean): 'updated' | 'conflict' | 'not_found' {
    const next = { ...s, revision: expectedRevision + 1 };
    const release = releaseLease ? 1 : 0;
    const changes = this.s.update.run(s.namespace, s.definitionId, s.paused ? 1 : 0, s.nextRunAt ?? null, next.revision, scheduleBody(next),
      s.updatedAt, release, release, s.id, expectedRevision).changes;
    if (changes === 1) return 'updated';
    return this.s.exists.get(s.id) ? 'conflict' : 'not_found';
  }

  delete(id: string): boolean {
    return this.s.delete.run(id).changes === 1;
  }

  claimDue(o: DueSchedulesOptions): ScheduleRecord[] {
    return this.db.transaction(() => {
      const rows = this.s.due.all(o.now, o.now, o.limit) as Array<ScheduleSqlRow & { id: string }>;
      for (const r of rows) this.s.lease.run(o.owner, o.now + o.leaseMs, r.id);
      return rows.map(toSchedule);
    }).immediate();
  }

  nextDue(): number | undefined {
    return (this.s.next.get() as number | null) ?? undefined;
  }

  release(owner?: string): number {
    return owner === undefined ? this.s.releaseAll.run().changes : this.s.releaseOwner.run(owner).changes;
  }
}
