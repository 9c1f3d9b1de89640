/**
 * Numbered plain-SQL migrations (`src/store/migrations/sqlite/NNN_name.sql`), applied in order at
 * open inside one transaction each; `schema_version` records what ran.
 */
import { loadMigrationFiles, migrationsDir as sharedMigrationsDir, type Migration } from '../migration-files.js';
import type Database from 'better-sqlite3';

export type { Migration };

export function migrationsDir(): string {
  return sharedMigrationsDir('sqlite');
}

export function loadMigrations(dir = migrationsDir()): Migration[] {
  return loadMigrationFiles(dir);
}

/** Applies every migration newer than the database; returns the versions applied. */
export function migrate(db: Database.Database, migrations = loadMigrations()): number[] {
  db.exec('CREATE TABLE IF NOT EXISTS schema_version (version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at INTEGER NOT NULL)');
  const current = (db.prepare('SELECT MAX(version) AS v FROM schema_version').get() as { v: number | null }).v ?? 0;
  const applied: number[] = [];
  const record = db.prepare('INSERT INTO schema_version (version, name, applied_at) VALUES (?, ?, ?)');
  for (const m of migrations) {
    if (m.version <= current) continue;
    db.transaction(() => {
      db.exec(m.sql);
      record.run(m.version, m.name, Date.now());
    }).immediate();
    applied.push(m.version);
  }
  return applied;
}
