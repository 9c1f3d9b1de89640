/**
 * Throw-away databases for the PostgreSQL benchmarks. `--pg postgres://user@host:port/NAME` names
 * the server and a prefix: each workload gets a fresh database `NAME_<label>_<random>`, created
 * through the server's `postgres` maintenance database and dropped afterwards (FORCE), so runs
 * never see each other's rows and nothing the user owns is ever dropped.
 */
import pg from 'pg';
import { randomBytes } from 'node:crypto';

export interface BenchDatabase {
  url: string;
  name: string;
  drop(): Promise<void>;
}

function withDatabase(url: string, database: string): string {
  const u = new URL(url);
  u.pathname = `/${database}`;
  return u.toString();
}

async function admin(url: string, sql: string): Promise<void> {
  const c = new pg.Client({ connectionString: withDatabase(url, 'postgres'), connectionTimeoutMillis: 5000 });
  c.on('error', () => undefined);
  await c.connect();
  try { await c.query(sql); } finally { await c.end().catch(() => undefined); }
}

export async function createBenchDatabase(url: string, label: string): Promise<BenchDatabase> {
  const prefix = (new URL(url).pathname.slice(1) || 'weft_bench').replace(/[^a-zA-Z0-9_]/g, '_').toLowerCase();
  const name = `${prefix}_${label}_${randomBytes(3).toString('hex')}`;
  await admin(url, `CREATE DATABASE ${name}`);
  return { name, url: withDatabase(url, name), drop: () => admin(url, `DROP DATABASE IF EXISTS ${name} WITH (FORCE)`) };
}

/**
 * CPU ms used so far by the server processes connected to `database` (utime + stime from
 * /proc; PostgreSQL on this machine only, else undefined). Backends that exit in between are
 * missed, so measure while the engine's pool is open. CPU time, unlike wall time, holds still
 * when other work shares the machine.
 */
export async function serverCpuMs(client: pg.Client, database: string): Promise<number | undefined> {
  const { readFileSync } = await import('node:fs');
  const pids = (await client.query<{ pid: number }>('SELECT pid FROM pg_stat_activity WHERE datname = $1 AND pid <> pg_backend_pid()', [database])).rows;
  let ticks = 0;
  try {
    for (const { pid } of pids) {
      let stat: string;
      try { stat = readFileSync(`/proc/${pid}/stat`, 'utf8'); } catch { continue; } // exited meanwhile
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      ticks += Number(fields[11]) + Number(fields[12]); // utime, stime (fields 14 and 15 of the line)
    }
  } catch {
    return undefined;
  }
  return pids.length === 0 ? undefined : ticks * 10; // USER_HZ is 100 on Linux
}
