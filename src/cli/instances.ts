/** `weft instances --db PATH`: every instance in a database, newest first. */
import type { InstanceStatus } from '../core/types.js';
import { openCliEngine, requireExistingDb } from './engine-access.js';
import { colors, formatIso, padEnd } from './format.js';
import { CliError, EXIT, type CliIO, writeLine } from './io.js';

export interface InstancesCommandOptions {
  db?: string;
  status?: string;
  limit?: string;
  json?: boolean;
}

const STATUSES: InstanceStatus[] = ['pending', 'running', 'paused', 'waiting', 'completed', 'failed', 'cancelled', 'terminated', 'compensating', 'compensated'];

export async function instancesCommand(options: InstancesCommandOptions, io: CliIO): Promise<number> {
  const db = requireExistingDb(options.db);
  const status = parseStatuses(options.status);
  const limit = options.limit === undefined ? 100 : Number(options.limit);
  if (!Number.isInteger(limit) || limit < 1) throw new CliError(`--limit must be a positive integer, got "${options.limit}"`, EXIT.usage);
  const engine = await openCliEngine({ db, recover: false });
  try {
    const rows = (await engine.listInstances({ status, limit })).sort((a, b) => b.createdAt - a.createdAt);
    if (options.json) {
      writeLine(io.stdout, JSON.stringify(rows, null, 2));
      return EXIT.ok;
    }
    if (rows.length === 0) {
      writeLine(io.stdout, `no instances${status ? ` with status ${status.join(', ')}` : ''} in ${db}`);
      return EXIT.ok;
    }
    const idWidth = Math.max(2, ...rows.map((r) => r.id.length));
    const defWidth = Math.max(10, ...rows.map((r) => `${r.definitionId}@${r.definitionVersion}`.length));
    writeLine(io.stdout, colors.dim(`${'id'.padEnd(idWidth)}  ${'definition'.padEnd(defWidth)}  ${'status'.padEnd(12)}  ${'created'.padEnd(24)}  updated`));
    for (const r of rows) {
      writeLine(io.stdout, `${r.id.padEnd(idWidth)}  ${`${r.definitionId}@${r.definitionVersion}`.padEnd(defWidth)}  ${padEnd(r.status, 12)}  ${formatIso(r.createdAt).padEnd(24)}  ${formatIso(r.updatedAt)}`);
    }
    return EXIT.ok;
  } finally {
    await engine.close();
  }
}

function parseStatuses(raw: string | undefined): InstanceStatus[] | undefined {
  if (!raw) return undefined;
  const list = raw.split(',').map((s) => s.trim()).filter(Boolean);
  const bad = list.filter((s) => !STATUSES.includes(s as InstanceStatus));
  if (bad.length) throw new CliError(`--status: unknown status ${bad.join(', ')}; one of ${STATUSES.join(', ')}`, EXIT.usage);
  return list as InstanceStatus[];
}
