/** The one place the CLI opens the embedded engine, so every command opens it the same way. */
import { existsSync } from 'node:fs';
import { openEngine } from '../runtime/engine.js';
import type { Engine } from '../runtime/api.js';
import type { EngineEvent } from '../core/types.js';
import type { ActivityRegistry } from '../runtime/activity.js';
import { CliError } from './io.js';

export interface CliEngineOptions {
  db: string;
  activities?: ActivityRegistry;
  /** Resume unfinished instances on open: only `resume` wants that. */
  recover: boolean;
}

export async function openCliEngine(options: CliEngineOptions): Promise<Engine> {
  try {
    return await openEngine({ db: options.db, activities: options.activities, recover: options.recover });
  } catch (err) {
    throw new CliError(`cannot open the database ${options.db}: ${(err as Error).message}`);
  }
}

/** Commands that read an existing database must not create an empty one by accident. */
export function requireExistingDb(db: string | undefined): string {
  if (!db) throw new CliError('--db PATH is required: the SQLite file the runs were recorded in', 2);
  if (db !== ':memory:' && !existsSync(db)) throw new CliError(`database not found: ${db}`);
  return db;
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
