/**
 * Task claims, SQLite. Runnable = unclaimed (`owner IS NULL`, index `tasks_ready`) or lease
 * expired (index `tasks_leased`). Order: priority (high first), then age. Each claimed row gets a
 * fresh lease token: completions guarded by an older token fail (`LeaseLostError`).
 * Runs inside the caller's IMMEDIATE transaction.
 */
import type Database from 'better-sqlite3';
import type { ClaimTasksOptions, StoredTask } from '../types.js';
import { toTask, type TaskSqlRow } from './rows.js';

const cache = new WeakMap<Database.Database, Map<string, Database.Statement>>();

function stmt(db: Database.Database, sql: string): Database.Statement {
  let m = cache.get(db);
  if (!m) cache.set(db, (m = new Map()));
  let s = m.get(sql);
  if (!s) m.set(sql, (s = db.prepare(sql)));
  return s;
}

type Candidate = TaskSqlRow;

function queueFilter(queues: Array<string | null> | undefined): { sql: string; args: unknown[] } {
  if (!queues) return { sql: '', args: [] };
  const named = queues.filter((q): q is string => q !== null);
  const parts: string[] = [];
  if (named.length) parts.push(`queue IN (${named.map(() => '?').join(', ')})`);
  if (queues.includes(null)) parts.push('queue IS NULL');
  return { sql: parts.length ? ` AND (${parts.join(' OR ')})` : ' AND 0', args: named };
}

/** Only tasks of instances in this namespace (instances without one are `default`). */
export function namespaceFilter(namespace: string | undefined): { sql: string; args: unknown[] } {
  if (namespace === undefined) return { sql: '', args: [] };
  // Correlated: one primary-key lookup per candidate task (not a scan of the namespace's instances).
  return { sql: ` AND EXISTS (SELECT 1 FROM instances i WHERE i.id = tasks.instance_id AND COALESCE(i.namespace, 'default') = ?)`, args: [namespace] };
}

export function claimTasks(db: Database.Database, o: ClaimTasksOptions, tokenPrefix: string): StoredTask[] {
  if (o.limit <= 0) return [];
  const qf = queueFilter(o.queues);
  const nf = namespaceFilter(o.namespace);
  const q = { sql: qf.sql + nf.sql, args: [...qf.args, ...nf.args] };
  const candidates: Candidate[] = [];
  // Unclaimed, per activity so each read is one index range in priority order.
  if (o.activities) {
    for (const activity of o.activities) {
      const s = stmt(db, `SELECT * FROM tasks WHERE owner IS NULL AND activity = ?${q.sql} ORDER BY priority DESC, created_at LIMIT ?`);
      candidates.push(...(s.all(activity, ...q.args, o.limit) as Candidate[]));
    }
  } else {
    const s = stmt(db, `SELECT * FROM tasks WHERE owner IS NULL${q.sql} ORDER BY priority DESC, created_at LIMIT ?`);
    candidates.push(...(s.all(...q.args, o.limit) as Candidate[]));
  }
  // Expired leases (their holder died or stalled).
  const act = o.activities ? ` AND activity IN (${o.activities.map(() => '?').join(', ')})` : '';
  if (!o.activities || o.activities.length > 0) {
    const s = stmt(db, `SELECT * FROM tasks WHERE owner IS NOT NULL AND lease_expires_at < ?${act}${q.sql} ORDER BY lease_expires_at LIMIT ?`);
    candidates.push(...(s.all(o.now, ...(o.activities ?? []), ...q.args, o.limit) as Candidate[]));
  }
  candidates.sort((a, b) => b.priority - a.priority || a.created_at - b.created_at);
  const chosen = candidates.slice(0, o.limit);
  const update = stmt(db, `UPDATE tasks SET owner = ?, lease_token = ?, lease_expires_at = ?, claims = claims + 1
    WHERE instance_id = ? AND task_id = ?`);
  const expiresAt = o.now + o.leaseMs;
  return chosen.map((row, i) => {
    const token = `${tokenPrefix}.${i}`;
    update.run(o.owner, token, expiresAt, row.instance_id, row.task_id);
    return toTask({ ...row, owner: o.owner, lease_token: token, lease_expires_at: expiresAt, claims: row.claims + 1 });
  });
}
