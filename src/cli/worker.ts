/** `weft worker --server URL --activities MODULE [--capacity N] [--id ID] [--namespace NS]`: runs activities for a server. */
import { Worker } from '../sdk/worker.js';
import { ActivityRegistry, type ActivityHandler } from '../runtime/activity.js';
import { loadActivitiesModule } from './activities-module.js';
import { CliError, EXIT, type CliIO, writeLine } from './io.js';

export interface WorkerCommandOptions {
  server?: string;
  activities?: string;
  capacity?: string;
  id?: string;
  heartbeatMs?: string;
  transport?: string;
  namespace?: string;
}

export async function workerCommand(o: WorkerCommandOptions, io: CliIO): Promise<number> {
  const server = o.server ?? process.env.WEFT_SERVER;
  if (!server) throw new CliError('--server URL (or WEFT_SERVER) is required', EXIT.usage);
  if (!o.activities) throw new CliError('--activities MODULE is required', EXIT.usage);
  const capacity = o.capacity !== undefined ? Number(o.capacity) : 10;
  if (!Number.isInteger(capacity) || capacity < 1) throw new CliError('--capacity must be a positive integer', EXIT.usage);
  const transport = o.transport ?? process.env.WEFT_WORKER_TRANSPORT ?? 'http';
  if (transport !== 'http' && transport !== 'ws') throw new CliError(`--transport must be http or ws, not "${transport}"`, EXIT.usage);
  // A worker serves one namespace (the default auth hook reads it from this header).
  const namespace = o.namespace ?? process.env.WEFT_NAMESPACE;
  const registry = new ActivityRegistry();
  const names = await loadActivitiesModule(o.activities, registry);
  if (names.length === 0) throw new CliError(`activities module ${o.activities} registered no activities`);
  const handlers = new Map<string, ActivityHandler>(names.map((n) => [n, registry.get(n)!]));
  const worker = new Worker({
    server, activities: handlers, capacity, transport,
    ...(namespace && { namespace }),
    ...(o.id !== undefined && { workerId: o.id }),
    ...(o.heartbeatMs !== undefined && { heartbeatMs: Number(o.heartbeatMs) }),
    log: (level, message, fields) => { if (level !== 'debug') writeLine(io.stderr, `${level}: ${message}${fields ? ' ' + JSON.stringify(fields) : ''}`); },
  });
  worker.start();
  writeLine(io.stdout, `weft worker ${worker.id} serving ${names.join(', ')} for ${server}${namespace ? ` in namespace ${namespace}` : ''} (capacity ${capacity}, ${transport === 'ws' ? 'WebSocket' : 'HTTP long-poll'})`);
  await new Promise<void>((resolve) => {
    const stop = () => resolve();
    if (io.onInterrupt) io.onInterrupt(stop);
    process.once('SIGTERM', stop);
  });
  writeLine(io.stdout, 'draining running tasks');
  await worker.stop();
  return EXIT.ok;
}
