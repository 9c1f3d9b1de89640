/**
 * Schedules, PostgreSQL (migration 004): the same rows as SQLite (`body` JSONB, split-out columns
 * for the claim and the lists). The claim is ONE statement locking the due rows
 * `FOR UPDATE SKIP LOCKED`, so two nodes claiming at once take disjoint schedules and never wait.
 */
import type pg from 'pg';
import type { DueSchedulesOptions, ScheduleFilter, ScheduleRecord } from '../types.js';
import { scheduleBody, toSchedule, type ScheduleSqlRow } from '../sqlite/schedules.js';

type Query = <R extends pg.QueryResultRow>(text: string, values?: unknown[]) => Promise<R[]>;

export class PostgresSchedules {
  constructor(private readonly q: Query) {}

  async create(s: ScheduleRecord): Promise<boolean> {
    const rows = await this.q(`INSERT INTO schedules (id, namespace, definition_id, paused, next_run_at, revision, body, created_at, updated_at)
      VALUES ($1, $2, $3, $4, $5, $6, $7::jsonb, $8, $9) ON CONFLICT (id) DO NOTHING RETURNING id`,
    [s.id, s.namespace, s.definitionId, s.paused, s.nextRunAt ?? null, s.revision, scheduleBody(s), s.createdAt, s.updatedAt]);
    return rows.length === 1;
  }

  async get(id: string): Promise<ScheduleRecord | undefined> {
    const [r] = await this.q<ScheduleSqlRow>('SELECT body, revision FROM schedules WHERE id = $1', [id]);
    return r && toSchedule(r);
  }

  async list(f: ScheduleFilter = {}): Promise<ScheduleRecord[]> {
    const where: string[] = [];
    const args: unknown[] = [];
    const p = (v: unknown) => { args.push(v); return `$${args.length}`; };
    if (f.namespace !== undefined) where.push(`namespace = ${p(f.namespace)}`);
    if (f.definitionId !== undefined) where.push(`definition_id = ${p(f.definitionId)}`);
    if (f.afterId !== undefined) where.push(`id > ${p(f.afterId)}`);
    const limit = f.limit !== undefined && f.limit >= 0 ? ` LIMIT ${p(f.limit)}` : '';
    const sql = `SELECT body, revision FROM schedules ${where.length ? `WHERE ${where.join(' AND ')}` : ''} ORDER BY id${limit}`;
    return (await this.q<ScheduleSqlRow>(sql, args)).map(toSchedule);
  }

  async update(s: ScheduleRecord, expectedRevision: number, releaseLease: boolean): Promise<'updated' | 'conflict' | 'not_found'> {
    const next = { ...s, revision: expectedRevision + 1 };
    const rows = await this.q(`UPDATE schedules SET namespace = $1, definition_id = $2, paused = $3, next_run_at = $4, revision = $5,
        body = $6::jsonb, updated_at = $7,
        owner = CASE WHEN $8 THEN NULL ELSE owner END, lease_expires_at = CASE WHEN $8 THEN NULL ELSE lease_expires_at END
      WHERE id = $9 AND revision = $10 RETURNING id`,
    [s.namespace, s.definitionId, s.paused, s.nextRunAt ?? null, next.revision, scheduleBody(next), s.updatedAt, releaseLease, s.id, expectedRevision]);
    if (rows.length === 1) return 'updated';
    return (await this.q('SELECT 1 FROM schedules WHERE id = $1', [s.id])).length === 1 ? 'conflict' : 'not_found';
  }

  async delete(id: string): Promise<boolean> {
    return (await this.q('DELETE FROM schedules WHERE id = $1 RETURNING id', [id])).length === 1;
  }

  async claimDue(o: DueSchedulesOptions): Promise<ScheduleRecord[]> {
    const { text, values } = claimDueSchedulesQuery(o);
    const rows = await this.q<ScheduleSqlRow & { next_run_at: number; id: string }>(text, values);
    rows.sort((a, b) => a.next_run_at - b.next_run_at || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
    return rows.map(toSchedule);
  }

  async nextDue(): Promise<number | undefined> {
    const [r] = await this.q<{ m: number | null }>(`SELECT MIN(CASE WHEN owner IS NULL THEN next_run_at ELSE GREATEST(next_run_at, lease_expires_at) END) AS m
      FROM schedules WHERE NOT paused AND next_run_at IS NOT NULL`);
    return r?.m ?? undefined;
  }

  async release(owner?: string): Promise<number> {
    const rows = owner === undefined
      ? await this.q('UPDATE schedules SET owner = NULL, lease_expires_at = NULL WHERE owner IS NOT NULL RETURNING id')
      : await this.q('UPDATE schedules SET owner = NULL, lease_expires_at = NULL WHERE owner = $1 RETURNING id', [owner]);
    return rows.length;
  }
}

/** The due-schedule claim (exported for an EXPLAIN check): lock due rows SKIP LOCKED, lease them, in one statement. */
export function claimDueSchedulesQuery(o: DueSchedulesOptions): { text: string; values: unknown[] } {
  return {
    text: `WITH due AS (
        SELECT id FROM schedules
        WHERE NOT paused AND next_run_at IS NOT NULL AND next_run_at <= $1 AND (owner IS NULL OR lease_expires_at < $1)
        ORDER BY next_run_at, id LIMIT $2 FOR UPDATE SKIP LOCKED)
      UPDATE schedules s SET owner = $3, lease_expires_at = $4
      WHERE s.id IN (SELECT id FROM due)
      RETURNING s.id, s.body, s.revision, s.next_run_at`,
    values: [o.now, o.limit, o.owner, o.now + o.leaseMs],
  };
}
