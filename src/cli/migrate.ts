/**
 * `weft migrate [--db PATH|URL]`: applies the schema migrations the database lacks and prints
 * them — for operators who roll out a new version by migrating first, then restarting nodes
 * (nodes also migrate at open, under the same advisory lock). Idempotent: a second run prints
 * that the database is up to date. SQLite files and PostgreSQL URLs alike.
 */
import Database from 'better-sqlite3';
import { existsSync } from 'node:fs';
import pg from 'pg';
import { DEFAULT_DB, isPostgresUrl } from '../runtime/engine.js';
import { loadMigrations as loadPgMigrations, migrate as migratePg } from '../store/postgres/migrate.js';
import { loadMigrations as loadSqliteMigrations, migrate as migrateSqlite } from '../store/sqlite/migrate.js';
import { redactDb } from './engine-access.js';
import { CliError, EXIT, type CliIO, writeLine } from './io.js';

export interface MigrateOptions {
  db?: string;
  json?: boolean;
}

export async function migrateCommand(o: MigrateOptions, io: CliIO, env: NodeJS.ProcessEnv = process.env): Promise<number> {
  const db = o.db ?? (env.WEFT_DB || DEFAULT_DB);
  let applied: number[];
  let all: Array<{ version: number; name: string }>;
  if (isPostgresUrl(db)) {
    all = loadPgMigrations();
    const client = new pg.Client({ connectionString: db, connectionTimeoutMillis: 10_000, application_name: 'weft-migrate' });
    client.on('error', () => undefined);
    try {
      await client.connect();
      applied = await migratePg(client as unknown as pg.PoolClient, loadPgMigrations());
    } catch (err) {
      throw new CliError(`cannot migrate ${redactDb(db)}: ${(err as Error).message}`);
    } finally {
      await client.end().catch(() => undefined);
    }
  } else {
    if (db === ':memory:') throw new CliError('--db: an in-memory database cannot be migrated (give a file or a postgres:// URL)', EXIT.usage);
    if (!existsSync(db)) throw new CliError(`database not found: ${db} (a new one is created and migrated by the first engine that opens it)`);
    all = loadSqliteMigrations();
    let handle: Database.Database | undefined;
    try {
      handle = new Database(db);
      handle.pragma('busy_timeout = 5000');
      applied = migrateSqlite(handle, loadSqliteMigrations());
    } catch (err) {
      throw new CliError(`cannot migrate ${db}: ${(err as Error).message}`);
    } finally {
      handle?.close();
    }
  }
  const names = applied.map((v) => { const m = all.find((x) => x.version === v)!; return `${String(m.version).padStart(3, '0')}_${m.name}`; });
  if (o.json) writeLine(io.stdout, JSON.stringify({ database: redactDb(db), applied: names }));
  else if (names.length === 0) writeLine(io.stdout, `${redactDb(db)}: up to date (nothing to apply)`);
  else for (const n of names) writeLine(io.stdout, `applied ${n}`);
  return EXIT.ok;
}
