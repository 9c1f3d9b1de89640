/**
 * `weft server [--config FILE] [--db PATH] [--port 8080] [--host 127.0.0.1] [--activities MODULE]
 * [--body-limit SIZE] [--lease-ms MS]`: the HTTP + WebSocket server.
 *
 * Settings come from three places, later ones winning: the YAML config file (`--config FILE`, or
 * env `WEFT_CONFIG`), the environment (`WEFT_DB`, `WEFT_PORT`, `WEFT_HOST`, `WEFT_BODY_LIMIT`,
 * `WEFT_LEASE_MS`, `WEFT_ACTIVITIES`), then flags. Every value is validated; an error names the
 * key and where it came from (`config.yaml: port: …`, `WEFT_PORT: …`, `--port: …`).
 */
import { readFileSync } from 'node:fs';
import { dirname, isAbsolute, resolve } from 'node:path';
import { parse as parseYaml } from 'yaml';
import { startServer } from '../api/start.js';
import { ActivityRegistry } from '../runtime/activity.js';
import { loadActivitiesModule } from './activities-module.js';
import { parseSize } from './engine-access.js';
import { CliError, EXIT, type CliIO, writeLine } from './io.js';

export interface ServerCommandOptions {
  config?: string;
  db?: string;
  port?: string;
  host?: string;
  activities?: string;
  bodyLimit?: string;
  leaseMs?: string;
}

/** The resolved settings of `weft server`. */
export interface ServerSettings {
  db: string;
  port: number;
  host: string;
  bodyLimit?: number;
  leaseMs?: number;
  activities?: string;
  /** Where each setting came from (`default`, the config file, `WEFT_…`, `--…`). */
  sources: Partial<Record<SettingKey, string>>;
}

type SettingKey = 'db' | 'port' | 'host' | 'bodyLimit' | 'leaseMs' | 'activities';

const KEYS: Record<SettingKey, { env: string; flag: string; about: string }> = {
  db: { env: 'WEFT_DB', flag: '--db', about: 'SQLite file path' },
  port: { env: 'WEFT_PORT', flag: '--port', about: 'an integer 0-65535' },
  host: { env: 'WEFT_HOST', flag: '--host', about: 'an interface name or address' },
  bodyLimit: { env: 'WEFT_BODY_LIMIT', flag: '--body-limit', about: 'a size such as 1048576, 512kb or 1mib' },
  leaseMs: { env: 'WEFT_LEASE_MS', flag: '--lease-ms', about: 'an integer number of milliseconds, at least 100' },
  activities: { env: 'WEFT_ACTIVITIES', flag: '--activities', about: 'a module path' },
};

/** Config-file spellings: camelCase or kebab-case (`bodyLimit`, `body-limit`). */
const FILE_KEYS: Record<string, SettingKey> = {
  db: 'db', port: 'port', host: 'host', bodyLimit: 'bodyLimit', 'body-limit': 'bodyLimit',
  leaseMs: 'leaseMs', 'lease-ms': 'leaseMs', activities: 'activities',
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
  if (typeof doc !== 'object' || Array.isArray(doc)) fail(file, 'expected a mapping of settings (db, port, host, bodyLimit, leaseMs, activities)');
  const out: Partial<Record<SettingKey, unknown>> = {};
  for (const [k, v] of Object.entries(doc as Record<string, unknown>)) {
    const key = FILE_KEYS[k];
    if (!key) fail(file, `unknown key "${k}" (known: db, port, host, bodyLimit, leaseMs, activities)`);
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
      if ((k === 'db' || k === 'activities') && typeof v === 'string' && v !== ':memory:' && !isAbsolute(v)) v = resolve(dirname(configFile), v);
      settings[k] = v;
      sources[k] = configFile;
    }
  }
  for (const k of Object.keys(KEYS) as SettingKey[]) {
    const raw = env[KEYS[k].env];
    if (raw !== undefined && raw !== '') { settings[k] = coerce(k, raw, KEYS[k].env); sources[k] = KEYS[k].env; }
  }
  const flags: Partial<Record<SettingKey, string | undefined>> = { db: o.db, port: o.port, host: o.host, bodyLimit: o.bodyLimit, leaseMs: o.leaseMs, activities: o.activities };
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
    sources,
  };
}

export async function serverCommand(o: ServerCommandOptions, io: CliIO): Promise<number> {
  const s = resolveServerSettings(o);
  const activities = new ActivityRegistry();
  if (s.activities) await loadActivitiesModule(s.activities, activities);
  const server = await startServer({
    db: s.db, port: s.port, host: s.host,
    engineOptions: { activities },
    ...(s.bodyLimit !== undefined && { bodyLimit: s.bodyLimit }),
    ...(s.leaseMs !== undefined && { engineInternals: { remoteLeaseMs: s.leaseMs } }),
  });
  writeLine(io.stdout, `weft server listening on ${server.url} (database ${s.db})`);
  writeLine(io.stdout, `API docs: ${server.url}/api/v1/docs`);
  await new Promise<void>((resolve) => {
    const stop = () => resolve();
    if (io.onInterrupt) io.onInterrupt(stop);
    process.once('SIGTERM', stop);
  });
  writeLine(io.stdout, 'shutting down');
  await server.close();
  return EXIT.ok;
}
