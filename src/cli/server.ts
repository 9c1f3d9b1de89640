/** `weft server [--db PATH] [--port 8080] [--host 127.0.0.1] [--activities MODULE]`: the HTTP + WebSocket server. */
import { startServer } from '../api/start.js';
import { ActivityRegistry } from '../runtime/activity.js';
import { loadActivitiesModule } from './activities-module.js';
import { CliError, EXIT, type CliIO, writeLine } from './io.js';

export interface ServerCommandOptions {
  db?: string;
  port?: string;
  host?: string;
  activities?: string;
  bodyLimit?: string;
  leaseMs?: string;
}

export async function serverCommand(o: ServerCommandOptions, io: CliIO): Promise<number> {
  const port = Number(o.port ?? process.env.WEFT_PORT ?? 8080);
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new CliError(`--port must be an integer 0-65535, not "${o.port}"`, EXIT.usage);
  const bodyLimit = o.bodyLimit !== undefined ? Number(o.bodyLimit) : undefined;
  if (bodyLimit !== undefined && !(bodyLimit > 0)) throw new CliError('--body-limit must be a positive number of bytes', EXIT.usage);
  const leaseMs = o.leaseMs !== undefined ? Number(o.leaseMs) : undefined;
  if (leaseMs !== undefined && !(leaseMs >= 100)) throw new CliError('--lease-ms must be at least 100', EXIT.usage);
  const activities = new ActivityRegistry();
  if (o.activities) await loadActivitiesModule(o.activities, activities);
  const db = o.db ?? process.env.WEFT_DB ?? '.weft/weft.db';
  const server = await startServer({
    db, port, host: o.host ?? process.env.WEFT_HOST ?? '127.0.0.1',
    engineOptions: { activities },
    ...(bodyLimit !== undefined && { bodyLimit }),
    ...(leaseMs !== undefined && { engineInternals: { remoteLeaseMs: leaseMs } }),
  });
  writeLine(io.stdout, `weft server listening on ${server.url} (database ${db})`);
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
