/**
 * `weft server [--config FILE] [--db PATH|URL] [--port 8080] [--host 127.0.0.1] [--activities MODULE]
 * [--body-limit SIZE] [--lease-ms MS] [--pg-pool N] [--retention DURATION] [--node-id ID]`: the
 * HTTP + WebSocket server. With `--db postgres://…` several servers on one database form a cluster
 * (docs/operations.md).
 *
 * Settings come from three places, later ones winning: the YAML config file (`--config FILE`, or
 * env `WEFT_CONFIG`), the environment (`WEFT_DB`, `WEFT_PORT`, `WEFT_HOST`, `WEFT_BODY_LIMIT`,
 * `WEFT_LEASE_MS`, `WEFT_ACTIVITIES`, `WEFT_PG_POOL`, `WEFT_RETENTION`, `WEFT_NODE_ID`), then
 * flags. Every value is validated; an error names the key and where it came from
 * (`config.yaml: port: …`, `WEFT_PORT: …`, `--port: …`).
 */
import { readFileSync } from 'node:fs';
import { dirname, isAbsolute, resolve } from 'node:path';
import { parse as parseYaml } from 'yaml';
import { startServer } from '../api/start.js';
import { parseDuration } from '../core/duration.js';
import { ActivityRegistry } from '../runtime/activity.js';
import type { EngineOptions } from '../runtime/api.js';
import { isPostgresUrl, openEngine } from '../runtime/engine.js';
import { loadActivitiesModule } from './activities-module.js';
import { parseSize, redactDb as redact } from './engine-access.js';
import { CliError, EXIT, type CliIO, writeLine } from './io.js';

export interface ServerCommandOptions {
  config?: string;
  db?: string;
  port?: string;
  host?: string;
  activities?: string;
  bodyLimit?: string;
  leaseMs?: string;
  pgPool?: string;
  retention?: string;
  nodeId?: string;
  heartbeatMs?: string;
  deadAfterMs?: string;
  taskLeaseMs?: string;
  pollMs?: string;
  leaderRetryMs?: string;
}

/** The resolved settings of `weft server`. */
export interface ServerSettings {
  db: string;
  port: number;
  host: string;
  bodyLimit?: number;
  leaseMs?: number;
  activities?: string;
  /** PostgreSQL connections this node's pool opens at most (default 10). */
  pgPool?: number;
  /** Finished instances are deleted this long after they ended, ms (default: kept). */
  retentionMs?: number;
  nodeId?: string;
  /** Cluster timing (EngineInternals): heartbeat, dead-after, in-process task/timer lease, fallback poll, leader retry. */
  heartbeatMs?: number;
  deadAfterMs?: number;
  taskLeaseMs?: number;
  pollMs?: number;
  leaderRetryMs?: number;
  /** Where each setting came from (`default`, the config file, `WEFT_…`, `--…`). */
  sources: Partial<Record<SettingKey, string>>;
}

type SettingKey = 'db' | 'port' | 'host' | 'bodyLimit' | 'leaseMs' | 'activities' | 'pgPool' | 'retention' | 'nodeId'
  | 'heartbeatMs' | 'deadAfterMs' | 'taskLeaseMs' | 'pollMs' | 'leaderRetryMs';
const MS_KEYS: SettingKey[] = ['heartbeatMs', 'deadAfterMs', 'taskLeaseMs', 'pollMs', 'leaderRetryMs'];

const KEYS: Record<SettingKey, { env: string; flag: string; about: string }> = {
  db: { env: 'WEFT_DB', flag: '--db', about: 'a SQLite file path or a postgres:// URL' },
  port: { env: 'WEFT_PORT', flag: '--port', about: 'an integer 0-65535' },
  host: { env: 'WEFT_HOST', flag: '--host', about: 'an interface name or address' },
  bodyLimit: { env: 'WEFT_BODY_LIMIT', flag: '--body-limit', about: 'a size such as 1048576, 512kb or 1mib' },
  leaseMs: { env: 'WEFT_LEASE_MS', flag: '--lease-ms', about: 'an integer number of milliseconds, at least 100' },
  activities: { env: 'WEFT_ACTIVITIES', flag: '--activities', about: 'a module path' },
  pgPool: { env: 'WEFT_PG_POOL', flag: '--pg-pool', about: 'an integer number of connections, 1-1000' },
  retention: { env: 'WEFT_RETENTION', flag: '--retention', about: 'a duration such as 30d, 12h or 90m' },
  nodeId: { env: 'WEFT_NODE_ID', flag: '--node-id', about: 'a node id' },
  heartbeatMs: { env: 'WEFT_HEARTBEAT_MS', flag: '--heartbeat-ms', about: 'an integer number of milliseconds, at least 10' },
  deadAfterMs: { env: 'WEFT_DEAD_AFTER_MS', flag: '--dead-after-ms', about: 'an integer number of milliseconds, at least 10' },
  taskLeaseMs: { env: 'WEFT_TASK_LEASE_MS', flag: '--task-lease-ms', about: 'an integer number of milliseconds, at least 10' },
  pollMs: { env: 'WEFT_POLL_MS', flag: '--poll-ms', about: 'an integer number of milliseconds, at least 10' },
  leaderRetryMs: { env: 'WEFT_LEADER_RETRY_MS', flag: '--leader-retry-ms', about: 'an integer number of milliseconds, at least 10' },
};
const KNOWN = 'db, port, host, bodyLimit, leaseMs, activities, pgPool, retention, nodeId, heartbeatMs, deadAfterMs, taskLeaseMs, pollMs, leaderRetryMs';

/** Config-file spellings: camelCase or kebab-case (`bodyLimit`, `body-limit`). */
const FILE_KEYS: Record<string, SettingKey> = {
  db: 'db', port: 'port', host: 'host', bodyLimit: 'bodyLimit', 'body-limit': 'bodyLimit',
  leaseMs: 'leaseMs', 'lease-ms': 'leaseMs', activities: 'activities',
  pgPool: 'pgPool', 'pg-pool': 'pgPool', retention: 'retention', nodeId: 'nodeId', 'node-id': 'nodeId',
  heartbeatMs: 'heartbeatMs', 'heartbeat-ms': 'heartbeatMs', deadAfterMs: 'deadAfterMs', 'dead-after-ms': 'deadAfterMs',
  taskLeaseMs: 'taskLeaseMs', 'task-lease-ms': 'taskLeaseMs', pollMs: 'pollMs', 'poll-ms': 'pollMs',
  leaderRetryMs: 'leaderRetryMs', 'leader-retry-ms': 'leaderRetryMs',
};

function fail(where: string, message: string): never {
  throw new CliError(`${where}: ${message}`, EXIT.usage);
}

/** One raw value (string from env/flags; any YAML scalar from the file) → the typed setting. */
function coerce(key: SettingKey, raw: unknown, where: string): string | number {
  const bad = (): never => fail(where, `expected ${KEYS[key].about}, got ${JSON.stringify(raw)}`);
  switch (key) {
    case 'port': {
      const n = typeof raw === 'number' ? raw : typeof raw === 'string' && /^\d+$/.test(raw.trim()) ? Number(raw) : NaN;
      if (!Number.isInteger(n) || n < 0 || n > 65535) bad();
      return n;
    }
    case 'leaseMs': {
      const n = typeof raw === 'number' ? raw : typeof raw === 'string' && /^\d+$/.test(raw.trim()) ? Number(raw) : NaN;
      if (!Number.isInteger(n) || n < 100) bad();
      return n;
    }
    case 'heartbeatMs': case 'deadAfterMs': case 'taskLeaseMs': case 'pollMs': case 'leaderRetryMs': {
      const n = typeof raw === 'number' ? raw : typeof raw === 'string' && /^\d+$/.test(raw.trim()) ? Number(raw) : NaN;
      if (!Number.isInteger(n) || n < 10) bad();
      return n;
    }
    case 'db': {
      if (typeof raw !== 'string' || raw.trim() === '') bad();
      const db = (raw as string).trim();
      // Never take another scheme's URL for a file name (it would silently become ./scheme:/… on disk).
      if (/^[a-z][a-z0-9+.-]*:\/\//i.test(db) && !isPostgresUrl(db)) fail(where, `unsupported database URL scheme in ${JSON.stringify(db.split('://')[0] + '://…')}: use a SQLite file path or postgres://user@host:5432/db`);
      return db;
    }
    case 'pgPool': {
      const n = typeof raw === 'number' ? raw : typeof raw === 'string' && /^\d+$/.test(raw.trim()) ? Number(raw) : NaN;
      if (!Number.isInteger(n) || n < 1 || n > 1000) bad();
      return n;
    }
    case 'retention': {
      if (typeof raw !== 'string' && typeof raw !== 'number') bad();
      let ms: number;
      try { ms = parseDuration(typeof raw === 'string' ? raw.trim() : (raw as number)); } catch { return bad(); }
      if (!Number.isFinite(ms) || ms < 0) bad();
      return ms;
    }
    case 'bodyLimit': {
      if (typeof raw === 'number') { if (!Number.isInteger(raw) || raw <= 0) bad(); return raw; }
      if (typeof raw !== 'string') bad();
      try { return parseSize(raw as string, where); } catch { return bad(); }
    }
    default:
      if (typeof raw !== 'string' || raw.trim() === '') bad();
      return raw as string;
  }
}

/** Reads and checks a YAML config file: a mapping of known keys (unknown keys are errors). */
export function readServerConfig(file: string): Partial<Record<SettingKey, unknown>> {
  let text: string;
  try { text = readFileSync(file, 'utf8'); } catch (err) { fail(`--config ${file}`, `cannot read the file (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`); }
  let doc: unknown;
  try { doc = parseYaml(text); } catch (err) { fail(file, `not valid YAML: ${(err as Error).message.split('\n')[0]}`); }
  if (doc === null || doc === undefined) return {};
  if (typeof doc !== 'object' || Array.isArray(doc)) fail(file, `expected a mapping of settings (${KNOWN})`);
  const out: Partial<Record<SettingKey, unknown>> = {};
  for (const [k, v] of Object.entries(doc as Record<string, unknown>)) {
    const key = FILE_KEYS[k];
    if (!key) fail(file, `unknown key "${k}" (known: ${KNOWN})`);
    out[key] = v;
  }
  return out;
}

/** file < env `WEFT_*` < flags, validated; paths in the file are relative to the file. */
export function resolveServerSettings(o: ServerCommandOptions, env: NodeJS.ProcessEnv = process.env): ServerSettings {
  const settings: Partial<Record<SettingKey, string | number>> = {};
  const sources: ServerSettings['sources'] = {};
  const configFile = o.config ?? env.WEFT_CONFIG;
  if (configFile) {
    const file = readServerConfig(configFile);
    for (const [k, raw] of Object.entries(file) as Array<[SettingKey, unknown]>) {
      let v = coerce(k, raw, `${configFile}: ${k}`);
      if ((k === 'db' || k === 'activities') && typeof v === 'string' && v !== ':memory:' && !isPostgresUrl(v) && !isAbsolute(v)) v = resolve(dirname(configFile), v);
      settings[k] = v;
      sources[k] = configFile;
    }
  }
  for (const k of Object.keys(KEYS) as SettingKey[]) {
    const raw = env[KEYS[k].env];
    if (raw !== undefined && raw !== '') { settings[k] = coerce(k, raw, KEYS[k].env); sources[k] = KEYS[k].env; }
  }
  const flags: Partial<Record<SettingKey, string | undefined>> = {
    db: o.db, port: o.port, host: o.host, bodyLimit: o.bodyLimit, leaseMs: o.leaseMs, activities: o.activities,
    pgPool: o.pgPool, retention: o.retention, nodeId: o.nodeId,
    heartbeatMs: o.heartbeatMs, deadAfterMs: o.deadAfterMs, taskLeaseMs: o.taskLeaseMs, pollMs: o.pollMs, leaderRetryMs: o.leaderRetryMs,
  };
  for (const k of Object.keys(KEYS) as SettingKey[]) {
    const raw = flags[k];
    if (raw !== undefined) { settings[k] = coerce(k, raw, KEYS[k].flag); sources[k] = KEYS[k].flag; }
  }
  return {
    db: (settings.db as string | undefined) ?? '.weft/weft.db',
    port: (settings.port as number | undefined) ?? 8080,
    host: (settings.host as string | undefined) ?? '127.0.0.1',
    ...(settings.bodyLimit !== undefined && { bodyLimit: settings.bodyLimit as number }),
    ...(settings.leaseMs !== undefined && { leaseMs: settings.leaseMs as number }),
    ...(settings.activities !== undefined && { activities: settings.activities as string }),
    ...(settings.pgPool !== undefined && { pgPool: settings.pgPool as number }),
    ...(settings.retention !== undefined && { retentionMs: settings.retention as number }),
    ...(settings.nodeId !== undefined && { nodeId: settings.nodeId as string }),
    ...Object.fromEntries(MS_KEYS.filter((k) => settings[k] !== undefined).map((k) => [k, settings[k] as number])),
    sources,
  };
}

export async function serverCommand(o: ServerCommandOptions, io: CliIO): Promise<number> {
  const s = resolveServerSettings(o);
  const activities = new ActivityRegistry();
  if (s.activities) await loadActivitiesModule(s.activities, activities);
  if (s.pgPool !== undefined && !isPostgresUrl(s.db)) fail(s.sources.pgPool ?? '--pg-pool', 'only applies to a PostgreSQL database (--db postgres://…)');
  let engine;
  try {
    engine = await openEngine({
      db: s.db, activities,
      ...(s.pgPool !== undefined && { poolSize: s.pgPool }),
      ...(s.retentionMs !== undefined && { retentionMs: s.retentionMs }),
      ...(s.nodeId !== undefined && { nodeId: s.nodeId }),
      logger: stderrLogger(io),
    }, {
      ...(s.leaseMs !== undefined && { remoteLeaseMs: s.leaseMs }),
      ...(s.taskLeaseMs !== undefined && { leaseMs: s.taskLeaseMs }),
      ...(s.heartbeatMs !== undefined && { heartbeatMs: s.heartbeatMs }),
      ...(s.deadAfterMs !== undefined && { deadAfterMs: s.deadAfterMs }),
      ...(s.pollMs !== undefined && { pollMs: s.pollMs }),
      ...(s.leaderRetryMs !== undefined && { leaderRetryMs: s.leaderRetryMs }),
    });
  } catch (err) {
    throw new CliError(`cannot open the database ${redact(s.db)}: ${(err as Error).message}`);
  }
  let server;
  try {
    server = await startServer({ engine, port: s.port, host: s.host, ...(s.bodyLimit !== undefined && { bodyLimit: s.bodyLimit }) });
  } catch (err) {
    await engine.close();
    throw err;
  }
  writeLine(io.stdout, `weft server listening on ${server.url} (database ${redact(s.db)}, node ${engine.nodeId})`);
  writeLine(io.stdout, `API docs: ${server.url}/api/v1/docs`);
  await new Promise<void>((resolve) => {
    const stop = () => resolve();
    if (io.onInterrupt) io.onInterrupt(stop);
    process.once('SIGTERM', stop);
  });
  writeLine(io.stdout, 'shutting down');
  try { await server.close(); } finally { await engine.close(); }
  return EXIT.ok;
}

/**
 * The engine's warnings and errors on stderr (`warn: message {fields}`): lost leases, refused
 * completions, the database going away and coming back. Info (leadership changes, reconnects)
 * too; debug only with `WEFT_LOG=debug`.
 */
function stderrLogger(io: CliIO): NonNullable<EngineOptions['logger']> {
  const debug = process.env.WEFT_LOG === 'debug';
  return (level, message, fields) => {
    if (level === 'debug' && !debug) return;
    writeLine(io.stderr, `${level}: ${message}${fields && Object.keys(fields).length > 0 ? ` ${JSON.stringify(fields)}` : ''}`);
  };
}
