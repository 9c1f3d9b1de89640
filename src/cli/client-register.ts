/** Registration of `weft server`, `weft worker` and the client commands (one line in program.ts). */
import type { Command } from 'commander';
import { registerClientCommands } from './client-commands.js';
import type { CliIO } from './io.js';
import { serverCommand } from './server.js';
import { workerCommand } from './worker.js';

export function registerServerCommands(program: Command, io: CliIO, setExit: (code: number) => void): void {
  program.command('server').description('run the HTTP + WebSocket API server on an embedded SQLite file')
    .option('--config <file>', 'YAML settings (db, port, host, bodyLimit, leaseMs, activities); env WEFT_* and flags override it (env WEFT_CONFIG)')
    .option('--db <path>', 'SQLite file (default .weft/weft.db; env WEFT_DB)')
    .option('-p, --port <port>', 'port (default 8080; env WEFT_PORT; 0 = any free port)')
    .option('--host <host>', 'interface (default 127.0.0.1; env WEFT_HOST)')
    .option('-a, --activities <module>', 'in-process activities module (env WEFT_ACTIVITIES)')
    .option('--body-limit <size>', 'largest request body: bytes, 512kb, 2mib (default 1mib; env WEFT_BODY_LIMIT)')
    .option('--lease-ms <ms>', 'lease of tasks given to remote workers (default 30000; env WEFT_LEASE_MS)')
    .action(async (options) => setExit(await serverCommand(options, io)));
  program.command('worker').description('run activity handlers for a server (remote worker)')
    .option('-s, --server <url>', 'server URL (env WEFT_SERVER)')
    .option('-a, --activities <module>', 'activities module')
    .option('-c, --capacity <n>', 'most tasks at once (default 10)')
    .option('--id <id>', 'worker id (default host-pid-random)')
    .option('--heartbeat-ms <ms>', 'heartbeat interval (default 1000)')
    .option('--transport <http|ws>', 'HTTP long-poll (default) or one WebSocket (env WEFT_WORKER_TRANSPORT)')
    .option('--namespace <ns>', 'serve this namespace\'s tasks (env WEFT_NAMESPACE; default `default`)')
    .action(async (options) => setExit(await workerCommand(options, io)));
  registerClientCommands(program, io, setExit);
}
