/**
 * Numbered plain-SQL migrations for PostgreSQL (`src/store/migrations/postgres/NNN_name.sql`),
 * applied at open. Several nodes may start at once against one database: the whole run holds a
 * session-level `pg_advisory_lock`, so exactly one applies each migration and the others wait,
 * then find nothing left to do. Each migration runs in its own transaction together with its
 * `schema_version` row (PostgreSQL DDL is transactional: a failed migration leaves no trace).
 */
import { loadMigrationFiles, migrationsDir as sharedMigrationsDir, type Migration } from '../migration-files.js';
import type { PoolClient } from 'pg';

export type { Migration };

/** The advisory-lock key of the migration run (any constant; shared by every Weft node). */
export const MIGRATION_LOCK_KEY = 0x77656674_01; // 'weft' + 1

export function migrationsDir(): string {
  return sharedMigrationsDir('postgres');
}

export function loadMigrations(dir = migrationsDir()): Migration[] {
  return loadMigrationFiles(dir);
}

/** Applies every migration newer than the database, under the advisory lock; returns the versions applied. */
export async function migrate(client: PoolClient, migrations = loadMigrations()): Promise<number[]> {
  await client.query('SELECT pg_advisory_lock($1)', [MIGRATION_LOCK_KEY]);
  try {
    await client.query(`CREATE TABLE IF NOT EXISTS schema_version (
      version integer PRIMARY KEY, name text NOT NULL, applied_at bigint NOT NULL)`);
    // Every migration not recorded yet, not only those above the highest: numbers are reserved by
    // parallel work (004 may land after 005 was applied) and each file is independent.
    const { rows } = await client.query<{ version: number }>('SELECT version FROM schema_version');
    const done = new Set(rows.map((r) => r.version));
    const applied: number[] = [];
    for (const m of migrations) {
      if (done.has(m.version)) continue;
      await client.query('BEGIN');
      try {
        await client.query(m.sql);
        await client.query('INSERT INTO schema_version (version, name, applied_at) VALUES ($1, $2, $3)', [m.version, m.name, Date.now()]);
        await client.query('COMMIT');
      } catch (err) {
        await client.query('ROLLBACK').catch(() => undefined);
        throw new Error(`PostgreSQL migration ${m.version}_${m.name} failed: ${(err as Error).message}`, { cause: err });
      }
      applied.push(m.version);
    }
    return applied;
  } finally {
    await client.query('SELECT pg_advisory_unlock($1)', [MIGRATION_LOCK_KEY]).catch(() => undefined);
  }
}
