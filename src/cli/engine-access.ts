/** The one place the CLI opens the embedded engine, so every command opens it the same way. */
import { existsSync } from 'node:fs';
import { isPostgresUrl, openEngine } from '../runtime/engine.js';
import type { Engine } from '../runtime/api.js';
import type { EngineEvent } from '../core/types.js';
import type { ActivityRegistry } from '../runtime/activity.js';
import { CliError } from './io.js';

export interface CliEngineOptions {
  /** A SQLite file or a PostgreSQL URL (`postgres://…`). */
  db: string;
  activities?: ActivityRegistry;
  /** Resume unfinished instances on open: only `resume` wants that. */
  recover: boolean;
  /** `--max-payload`, else `WEFT_MAX_PAYLOAD` from the environment, else the engine's 1 MiB. */
  maxPayload?: string;
}

const SIZE = /^(\d+)\s*(b|kb|kib|mb|mib|gb|gib)?$/i;
const UNIT: Record<string, number> = { b: 1, kb: 1000, kib: 1024, mb: 1e6, mib: 1024 ** 2, gb: 1e9, gib: 1024 ** 3 };

/** `1048576`, `512kb`, `1MiB` → bytes; anything else is a usage error naming the setting. */
export function parseSize(text: string, what: string): number {
  const m = SIZE.exec(text.trim());
  if (!m || Number(m[1]) <= 0) throw new CliError(`${what}: expected a size such as 1048576, 512kb or 1mib, got "${text}"`, 2);
  return Number(m[1]) * UNIT[(m[2] ?? 'b').toLowerCase()];
}

export async function openCliEngine(options: CliEngineOptions): Promise<Engine> {
  const size = options.maxPayload ?? process.env.WEFT_MAX_PAYLOAD;
  const maxPayloadBytes = size !== undefined ? parseSize(size, options.maxPayload !== undefined ? '--max-payload' : 'WEFT_MAX_PAYLOAD') : undefined;
  try {
    return await openEngine({ db: options.db, activities: options.activities, recover: options.recover, maxPayloadBytes });
  } catch (err) {
    throw new CliError(`cannot open the database ${redactDb(options.db)}: ${(err as Error).message}`);
  }
}

/** Commands that read an existing database must not create an empty one by accident (a PostgreSQL URL names a server's database: it is checked on connect). */
export function requireExistingDb(db: string | undefined): string {
  if (!db) throw new CliError('--db PATH|URL is required: the SQLite file (or postgres:// URL) the runs were recorded in', 2);
  if (isPostgresUrl(db)) return db;
  if (db !== ':memory:' && !existsSync(db)) throw new CliError(`database not found: ${db}`);
  return db;
}

/** A database URL without its password, for messages. */
export function redactDb(db: string): string {
  return db.replace(/^(postgres(?:ql)?:\/\/[^:@/]+):[^@]*@/i, '$1:***@');
}

const HISTORY_PAGE = 5_000;

/** The whole event log of an instance, read page by page. */
export async function readHistory(engine: Engine, instanceId: string): Promise<EngineEvent[]> {
  const events: EngineEvent[] = [];
  for (let fromSeq = 1; ; ) {
    const page = await engine.getHistory(instanceId, { fromSeq, limit: HISTORY_PAGE });
    events.push(...page);
    if (page.length < HISTORY_PAGE) return events;
    fromSeq = page[page.length - 1].seq + 1;
  }
}
