/**
 * `weft schedules list|create|get|pause|resume|delete|trigger` against a server (`--server URL`
 * or env WEFT_SERVER): tables for people, `--json` for scripts, API errors as
 * `code (status): message` with exit code 1 (docs/cli.md, docs/schedules.md).
 */
import { readFileSync } from 'node:fs';
import type { Command } from 'commander';
import type { ScheduleInfo, ScheduleInput } from '../runtime/schedules.js';
import { WeftApiError, WeftClient } from '../sdk/client.js';
import type { ScheduleRun } from '../store/types.js';
import { table } from './client-commands.js';
import { CliError, EXIT, type CliIO, writeLine } from './io.js';

type Opts = Record<string, unknown> & { server?: string; json?: boolean };
type Handler = (client: WeftClient, args: string[], o: Opts) => Promise<{ value: unknown; text: () => string }>;

const when = (s: ScheduleInfo) => (s.cron !== undefined ? `${s.cron} (${s.timezone})` : `every ${s.interval}`);
const time = (t: number | undefined) => (t === undefined ? '' : new Date(t).toISOString().replace('.000Z', 'Z'));
const lastRun = (r: ScheduleRun | undefined) => (r ? `${time(r.at)} ${r.outcome}${r.instanceId ? ` ${r.instanceId}` : ''}` : '');

function row(s: ScheduleInfo): Record<string, unknown> {
  return {
    id: s.id, definition: s.definitionVersion ? `${s.definitionId}@${s.definitionVersion}` : s.definitionId, when: when(s),
    overlap: s.overlap, paused: s.paused ? 'yes' : '', 'next run': time(s.nextRunAt), 'last run': lastRun(s.lastRun),
  };
}

function details(s: ScheduleInfo): string {
  const lines: Array<[string, string]> = [
    ['schedule', `${s.id} (namespace ${s.namespace})`],
    ['definition', s.definitionVersion ? `${s.definitionId}@${s.definitionVersion}` : `${s.definitionId} (latest)`],
    ['when', when(s)],
    ['overlap', s.overlap],
    ['catch-up', s.catchUp === 'all' ? `all (up to ${s.catchUpLimit})` : s.catchUp],
    ['paused', s.paused ? 'yes' : 'no'],
    ['next run', time(s.nextRunAt) || (s.paused ? '(paused)' : '(none: past the end time)')],
    ['last run', lastRun(s.lastRun) || '(never)'],
  ];
  if (s.lastRun?.reason) lines.push(['reason', s.lastRun.reason]);
  if (s.lastInstanceId) lines.push(['last instance', `${s.lastInstanceId}${s.lastInstanceStatus ? ` (${s.lastInstanceStatus})` : ''}`]);
  if (s.bufferedAt !== undefined) lines.push(['buffered', time(s.bufferedAt)]);
  if (s.startAt !== undefined) lines.push(['starts', time(s.startAt)]);
  if (s.endAt !== undefined) lines.push(['ends', time(s.endAt)]);
  if (s.input !== undefined) lines.push(['input', JSON.stringify(s.input)]);
  if (s.labels && Object.keys(s.labels).length > 0) lines.push(['labels', Object.entries(s.labels).map(([k, v]) => `${k}=${v}`).join(', ')]);
  const width = Math.max(...lines.map(([k]) => k.length));
  return lines.map(([k, v]) => `${k.padEnd(width)}  ${v}`).join('\n');
}

function json(text: string | undefined, what: string): unknown {
  if (text === undefined) return undefined;
  const src = text.startsWith('@') ? readFileSync(text.slice(1), 'utf8') : text;
  try { return JSON.parse(src); } catch (err) { throw new CliError(`${what} is not valid JSON: ${(err as Error).message}`, EXIT.usage); }
}

function labels(v: unknown): Record<string, string> | undefined {
  if (v === undefined) return undefined;
  return Object.fromEntries((v as string[]).map((l) => {
    const i = l.indexOf('=');
    if (i <= 0) throw new CliError(`--label "${l}" must be key=value`, EXIT.usage);
    return [l.slice(0, i), l.slice(i + 1)];
  }));
}

function int(v: unknown, what: string): number | undefined {
  if (v === undefined) return undefined;
  const n = Number(v);
  if (!Number.isInteger(n)) throw new CliError(`${what} must be an integer`, EXIT.usage);
  return n;
}

const HANDLERS: Record<string, Handler> = {
  list: async (c, _a, o) => {
    const items = await c.listSchedules(o.definition !== undefined ? { definitionId: o.definition as string } : {});
    return { value: items, text: () => table(items.map(row), ['id', 'definition', 'when', 'overlap', 'paused', 'next run', 'last run']) };
  },
  create: async (c, [definitionId], o) => {
    if ((o.cron === undefined) === (o.every === undefined)) throw new CliError('give exactly one of --cron EXPR and --every DURATION', EXIT.usage);
    const l = labels(o.label);
    const limit = int(o.catchUpLimit, '--catch-up-limit');
    const input: ScheduleInput = {
      definitionId: definitionId!,
      ...(o.id !== undefined && { id: o.id as string }),
      ...(o.cron !== undefined && { cron: o.cron as string }),
      ...(o.every !== undefined && { interval: o.every as string }),
      ...(o.timezone !== undefined && { timezone: o.timezone as string }),
      ...(o.version !== undefined && { version: o.version as string }),
      ...(o.input !== undefined && { input: json(o.input as string, '--input') }),
      ...(l && { labels: l }),
      ...(o.overlap !== undefined && { overlap: o.overlap as ScheduleInput['overlap'] }),
      ...(o.catchUp !== undefined && { catchUp: o.catchUp as ScheduleInput['catchUp'] }),
      ...(limit !== undefined && { catchUpLimit: limit }),
      ...(o.paused === true && { paused: true }),
      ...(o.startAt !== undefined && { startAt: o.startAt as string }),
      ...(o.endAt !== undefined && { endAt: o.endAt as string }),
    };
    const s = await c.createSchedule(input);
    return { value: s, text: () => `created schedule ${s.id}: ${when(s)}, next run ${time(s.nextRunAt) || '(none)'}` };
  },
  get: async (c, [id]) => {
    const s = await c.getSchedule(id!);
    return { value: s, text: () => details(s) };
  },
  pause: async (c, [id]) => {
    const s = await c.pauseSchedule(id!);
    return { value: s, text: () => `paused schedule ${s.id}` };
  },
  resume: async (c, [id]) => {
    const s = await c.resumeSchedule(id!);
    return { value: s, text: () => `resumed schedule ${s.id}: next run ${time(s.nextRunAt) || '(none)'}` };
  },
  delete: async (c, [id]) => {
    await c.deleteSchedule(id!);
    return { value: { id, deleted: true }, text: () => `deleted schedule ${id}` };
  },
  trigger: async (c, [id], o) => {
    const r = await c.triggerSchedule(id!, o.overlap !== undefined ? { overlap: o.overlap as ScheduleInput['overlap'] & string } : {});
    return { value: r, text: () => (r.outcome === 'started' ? `started ${r.instanceId}` : `${r.outcome}${r.reason ? `: ${r.reason}` : ''}`) };
  },
};

/** Runs one `weft schedules` subcommand; API errors become `code (status): message` and exit 1. */
export async function runScheduleCommand(name: string, args: string[], o: Opts, io: CliIO): Promise<number> {
  const server = (o.server as string | undefined) ?? process.env.WEFT_SERVER;
  if (!server) throw new CliError('--server URL (or env WEFT_SERVER) is required', EXIT.usage);
  const user = (o.as as string | undefined) ?? process.env.WEFT_USER;
  const namespace = (o.namespace as string | undefined) ?? process.env.WEFT_NAMESPACE;
  const client = new WeftClient(server, { timeoutMs: 30_000, headers: { ...(user && { 'x-weft-user': user }) }, ...(namespace && { namespace }) });
  try {
    const { value, text } = await HANDLERS[name]!(client, args, o);
    writeLine(io.stdout, o.json ? JSON.stringify(value, null, 2) : text());
    return EXIT.ok;
  } catch (err) {
    if (err instanceof WeftApiError) {
      if (o.json) writeLine(io.stdout, JSON.stringify({ error: err.code, message: err.message, ...(err.details !== undefined && { details: err.details }) }, null, 2));
      throw new CliError(`${err.code} (${err.status}): ${err.message}`);
    }
    if (err instanceof TypeError && /fetch failed/.test(err.message)) throw new CliError(`cannot reach ${client.baseUrl}: ${String((err as { cause?: unknown }).cause ?? err.message)}`);
    throw err;
  }
}

/** Registers `weft schedules …` (one line in client-register.ts). */
export function registerScheduleCommands(program: Command, io: CliIO, setExit: (code: number) => void): void {
  const schedules = program.command('schedules').description('cron/interval schedules that start workflows on a server');
  const add = (name: string, description: string) => schedules.command(name).description(description)
    .option('-s, --server <url>', 'server URL (default: env WEFT_SERVER)').option('--json', 'print JSON')
    .option('--as <user>', 'call as this user (default: env WEFT_USER)').option('--namespace <ns>', 'the namespace to work in (default: env WEFT_NAMESPACE, else `default`)')
    .action(async (...a: unknown[]) => {
      const cmd = a[a.length - 1] as Command;
      setExit(await runScheduleCommand(name, cmd.args, cmd.opts() as Opts, io));
    });
  add('list', 'the schedules: when, overlap, next and last run').option('--definition <id>', 'of one definition');
  add('create', 'create a schedule (exactly one of --cron and --every)').argument('<definition>', 'definition id')
    .option('--id <id>', 'schedule id (default: a random one)')
    .option('--cron <expr>', 'cron expression: 5 fields (minute hour day month weekday) or 6 (seconds first)')
    .option('--every <duration>', 'an interval instead of cron: 30s, 15m, 1h30m, 1d')
    .option('--timezone <tz>', 'IANA time zone the cron is read in (default UTC)')
    .option('--version <range>', 'definition version or semver range (default: the latest at each start)')
    .option('-i, --input <json|@file>', 'input of every instance')
    .option('--label <k=v...>', 'labels of the schedule (instances also get weft.schedule=<id>)')
    .option('--overlap <policy>', 'while the last run still runs: skip (default), buffer_one, allow')
    .option('--catch-up <policy>', 'after downtime: skip, one (default), all')
    .option('--catch-up-limit <n>', 'most missed times catch-up "all" starts (default 10)')
    .option('--paused', 'create it paused')
    .option('--start-at <time>', 'no run before this ISO 8601 time')
    .option('--end-at <time>', 'no run after this ISO 8601 time');
  add('get', 'one schedule in detail').argument('<id>', 'schedule id');
  add('pause', 'pause a schedule (an error if already paused)').argument('<id>', 'schedule id');
  add('resume', 'resume a paused schedule from now (missed times are not caught up)').argument('<id>', 'schedule id');
  add('delete', 'delete a schedule (its instances keep running)').argument('<id>', 'schedule id');
  add('trigger', 'start a run now').argument('<id>', 'schedule id').option('--overlap <policy>', 'skip or buffer_one to respect a running last run (default allow)');
}
