/** Registration of `weft server`, `weft worker` and the client commands (one line in program.ts). */
import type { Command } from 'commander';
import { registerClientCommands } from './client-commands.js';
import { registerScheduleCommands } from './schedules.js';
import type { CliIO } from './io.js';
import { serverCommand } from './server.js';
import { workerCommand } from './worker.js';

export function registerServerCommands(program: Command, io: CliIO, setExit: (code: number) => void): void {
  program.command('server').description('run the HTTP + WebSocket API server (a SQLite file, or a node of a PostgreSQL cluster)')
    .option('--config <file>', 'YAML settings (db, port, host, bodyLimit, leaseMs, activities, pgPool, retention, nodeId); env WEFT_* and flags override it (env WEFT_CONFIG)')
    .option('--db <path|url>', 'SQLite file or postgres:// URL (default .weft/weft.db; env WEFT_DB)')
    .option('-p, --port <port>', 'port (default 8080; env WEFT_PORT; 0 = any free port)')
    .option('--host <host>', 'interface (default 127.0.0.1; env WEFT_HOST)')
    .option('-a, --activities <module>', 'in-process activities module (env WEFT_ACTIVITIES)')
    .option('--body-limit <size>', 'largest request body: bytes, 512kb, 2mib (default 1mib; env WEFT_BODY_LIMIT)')
    .option('--lease-ms <ms>', 'lease of tasks given to remote workers (default 30000; env WEFT_LEASE_MS)')
    .option('--pg-pool <n>', 'PostgreSQL: most pooled connections of this node (default 10; env WEFT_PG_POOL)')
    .option('--retention <duration>', 'delete finished instances this long after they ended, e.g. 30d (default: keep; env WEFT_RETENTION)')
    .option('--node-id <id>', 'this node\'s id in the cluster (default node-<pid>-<random>; env WEFT_NODE_ID)')
    .option('--heartbeat-ms <ms>', 'cluster: node heartbeat interval (default 2000; env WEFT_HEARTBEAT_MS)')
    .option('--dead-after-ms <ms>', 'cluster: a node silent this long is dead and its work released (default 10000; env WEFT_DEAD_AFTER_MS)')
    .option('--task-lease-ms <ms>', 'lease of tasks and timers this node runs itself (default 60000; env WEFT_TASK_LEASE_MS)')
    .option('--poll-ms <ms>', 'cluster: slow fallback poll for expired leases, due timers, missed notices (default 5000; env WEFT_POLL_MS)')
    .option('--leader-retry-ms <ms>', 'cluster: how often a follower tries to become leader (default 3000; env WEFT_LEADER_RETRY_MS)')
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
  registerScheduleCommands(program, io, setExit);
}
