/**
 * PostgreSQL for tests. `WEFT_TEST_PG` (default `postgres://postgres@127.0.0.1:5432/postgres`)
 * names a server and a maintenance database; each test file creates its own fresh database
 * `weft_test_<random>` there and drops it afterwards.
 *
 * Reachability decides what a PostgreSQL test file does (`pgTestSetup()`):
 * - reachable: run;
 * - unreachable and `CI` is not `true`: skip, with a LOUD message on stderr saying how to start it;
 * - unreachable and `CI=true`: fail (CI must run the PostgreSQL suite; `.ci/run` starts the server).
 */
import pg from 'pg';
import { randomBytes } from 'node:crypto';

export const DEFAULT_PG_URL = 'postgres://postgres@127.0.0.1:5432/postgres';

export function pgAdminUrl(): string {
  return process.env.WEFT_TEST_PG || DEFAULT_PG_URL;
}

/** `url` with another database name. */
export function withDatabase(url: string, database: string): string {
  const u = new URL(url);
  u.pathname = `/${database}`;
  return u.toString();
}

/** Connects once (bounded: 3 s) and returns undefined, or the reason it could not. */
export async function pgUnreachableReason(url = pgAdminUrl()): Promise<string | undefined> {
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 3000, query_timeout: 5000 });
  client.on('error', () => undefined);
  try {
    await client.connect();
    await client.query('SELECT 1');
    return undefined;
  } catch (err) {
    return (err as Error).message || String(err);
  } finally {
    await client.end().catch(() => undefined);
  }
}

export interface TestDatabase {
  url: string;
  name: string;
  drop(): Promise<void>;
}

/** Creates `weft_test_<random>` on the admin server; `drop()` removes it (closing stray connections). */
export async function createTestDatabase(adminUrl = pgAdminUrl()): Promise<TestDatabase> {
  const name = `weft_test_${randomBytes(6).toString('hex')}`;
  const admin = async (sql: string) => {
    const c = new pg.Client({ connectionString: adminUrl, connectionTimeoutMillis: 5000, query_timeout: 30_000 });
    c.on('error', () => undefined);
    await c.connect();
    try { await c.query(sql); } finally { await c.end().catch(() => undefined); }
  };
  await admin(`CREATE DATABASE ${name}`);
  return {
    name,
    url: withDatabase(adminUrl, name),
    drop: () => admin(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`),
  };
}

export type PgSetup =
  | { status: 'ready'; adminUrl: string }
  | { status: 'skip'; reason: string }
  | { status: 'fail'; reason: string };

/** Decides whether this file's PostgreSQL tests run, skip (loudly) or fail; see the header. */
export async function pgTestSetup(): Promise<PgSetup> {
  const adminUrl = pgAdminUrl();
  const why = await pgUnreachableReason(adminUrl);
  if (why === undefined) return { status: 'ready', adminUrl };
  const shown = adminUrl.replace(/:\/\/([^:@/]+):[^@]*@/, '://$1:***@');
  const reason = `PostgreSQL is not reachable at ${shown} (${why})`;
  if (process.env.CI === 'true') return { status: 'fail', reason: `${reason}; CI=true requires it (.ci/run starts it)` };
  const bar = '!'.repeat(100);
  process.stderr.write([
    '', bar,
    `!!! POSTGRESQL MISSING — the PostgreSQL store tests are SKIPPED.`,
    `!!! ${reason}`,
    `!!! Start it:  pg_ctlcluster --skip-systemctl-redirect $(ls /etc/postgresql) main start`,
    `!!! (or point WEFT_TEST_PG at a server you may create databases on, e.g. postgres://postgres@127.0.0.1:5432/postgres)`,
    `!!! With CI=true an unreachable PostgreSQL is a test failure.`,
    bar, '', '',
  ].join('\n'));
  return { status: 'skip', reason };
}
