/**
 * Client commands against a Weft server (`--server URL` or env `WEFT_SERVER`): deploy,
 * definitions, start, list, status, history, pause, resume, cancel, terminate, skip, retry,
 * signal, events publish, tasks list|claim|complete|reject|reassign|release, workers. Tables for people, `--json`
 * for scripts.
 *
 * `status`, `history` and `resume` already exist as local commands on a `--db` file: given
 * `--server` (or WEFT_SERVER without `--db`) they run against the server instead.
 */
import { readFileSync } from 'node:fs';
import { CommanderError, type Command } from 'commander';
import { WeftApiError, WeftClient } from '../sdk/client.js';
import { formatReport } from '../verify/report.js';
import type { VerificationReport } from '../verify/verify.js';
import { CliError, EXIT, type CliIO, writeLine } from './io.js';

type Opts = Record<string, unknown> & { server?: string; json?: boolean };
type Handler = (client: WeftClient, args: string[], o: Opts, out: Output) => Promise<unknown>;

interface Output {
  json: boolean;
  print(value: unknown, table?: () => string): void;
}

/** Who the CLI calls as: `--as USER` / env WEFT_USER, `--namespace NS` / env WEFT_NAMESPACE (the default auth hook's headers). */
function callerHeaders(o: Opts): Record<string, string> {
  const user = (o.as as string | undefined) ?? process.env.WEFT_USER;
  const ns = (o.namespace as string | undefined) ?? process.env.WEFT_NAMESPACE;
  return { ...(user && { 'x-weft-user': user }), ...(ns && { 'x-weft-namespace': ns }) };
}

function serverOf(o: Opts): string {
  const s = (o.server as string | undefined) ?? process.env.WEFT_SERVER;
  if (!s) throw new CliError('--server URL (or env WEFT_SERVER) is required', EXIT.usage);
  return s;
}

export function table(rows: Array<Record<string, unknown>>, columns: string[]): string {
  if (rows.length === 0) return '(none)';
  const cells = rows.map((r) => columns.map((c) => fmt(r[c])));
  const widths = columns.map((c, i) => Math.max(c.length, ...cells.map((row) => row[i]!.length)));
  const line = (vals: string[]) => vals.map((v, i) => v.padEnd(widths[i]!)).join('  ').trimEnd();
  return [line(columns.map((c) => c.toUpperCase())), ...cells.map(line)].join('\n');
}

function fmt(v: unknown): string {
  if (v === undefined || v === null) return '';
  if (typeof v === 'number' && v > 1e12) return new Date(v).toISOString().replace('.000Z', 'Z');
  if (Array.isArray(v)) return v.join(',');
  if (typeof v === 'object') return JSON.stringify(v);
  return String(v);
}

function parseJsonArg(text: string | undefined, what: string): unknown {
  if (text === undefined) return undefined;
  const src = text.startsWith('@') ? readFileSync(text.slice(1), 'utf8') : text;
  try { return JSON.parse(src); } catch (err) { throw new CliError(`${what} is not valid JSON: ${(err as Error).message}`, EXIT.usage); }
}

const commandResult = (r: { instanceId: string; status: string; events: Array<{ type: string }> }) =>
  `${r.instanceId}: ${r.status} (${r.events.map((e) => e.type).join(', ') || 'no events'})`;

const HANDLERS: Record<string, Handler> = {
  deploy: async (c, [file], o, out) => {
    const text = readFileSync(file!, 'utf8');
    const r = await c.deploy(text, /\.json$/i.test(file!) ? 'json' : 'yaml', { force: o.force === true });
    out.print(r, () => [`${r.created ? 'deployed' : 'already deployed'} ${r.id}@${r.version}${r.verdict && r.verdict !== 'skipped' ? ` (${r.forced ? 'NOT SOUND, forced' : r.verdict})` : ''}`,
      ...(r.warnings ?? []).map((w) => `  warning: ${typeof w === 'object' && w !== null && 'message' in w ? String((w as { message: unknown }).message) : String(w)}`)].join('\n'));
  },
  definitions: async (c, _a, _o, out) => {
    const list = await c.listDefinitions();
    out.print(list, () => table(list.map((d) => ({ id: d.id, latest: d.latest, versions: d.versions.map((v) => v.version) })), ['id', 'latest', 'versions']));
  },
  start: async (c, [definitionId], o, out) => {
    const labels = o.label ? Object.fromEntries((o.label as string[]).map((l) => l.split('=', 2) as [string, string])) : undefined;
    const r = await c.start({
      definitionId: definitionId!,
      ...(o.input !== undefined && { input: parseJsonArg(o.input as string, '--input') }),
      ...(o.version !== undefined && { version: o.version as string }),
      ...(o.idempotencyKey !== undefined && { idempotencyKey: o.idempotencyKey as string }),
      ...(o.correlationId !== undefined && { correlationId: o.correlationId as string }),
      ...(labels && { labels }),
    });
    out.print(r, () => r.id);
  },
  list: async (c, _a, o, out) => {
    const r = await c.listInstances({
      ...(o.definition !== undefined && { definitionId: o.definition as string }),
      ...(o.status !== undefined && { status: String(o.status).split(',') as never }),
      ...(o.limit !== undefined && { limit: Number(o.limit) }),
      ...(o.cursor !== undefined && { cursor: o.cursor as string }),
    });
    out.print(r, () => table(r.items as never, ['id', 'definitionId', 'definitionVersion', 'status', 'createdAt', 'updatedAt']) + (r.nextCursor ? `\nmore: --cursor ${r.nextCursor}` : ''));
  },
  status: async (c, [id], o, out) => {
    const s = o.at !== undefined ? await c.stateAt(id!, Number(o.at)) : await c.getInstance(id!);
    out.print(s, () => {
      const steps = Object.entries(s.steps ?? {}).map(([step, r]) => ({ step, status: r.status, runs: r.runs }));
      return [`${s.definitionId}@${s.definitionVersion} ${id}: ${s.status} (seq ${s.seq})`, table(steps as never, ['step', 'status', 'runs']),
        ...(s.error ? [`error: ${s.error.code}: ${s.error.message}`] : []), ...(s.status === 'completed' ? [`output: ${JSON.stringify(s.output)}`] : [])].join('\n');
    });
  },
  history: async (c, [id], _o, out) => {
    const events: Array<{ seq: number; type: string; at: number }> = [];
    let from = 1;
    for (;;) {
      const page = await c.history(id!, { fromSeq: from, limit: 1000 });
      events.push(...page.events);
      if (!page.nextSeq) break;
      from = page.nextSeq;
    }
    out.print(events, () => table(events.map((e) => ({ seq: e.seq, at: e.at, type: e.type, step: (e as { stepId?: string }).stepId })), ['seq', 'at', 'type', 'step']));
  },
  pause: async (c, [id], o, out) => { const r = await c.pause(id!, o.reason as string | undefined); out.print(r, () => commandResult(r)); },
  resume: async (c, [id], _o, out) => { const r = await c.resume(id!); out.print(r, () => commandResult(r)); },
  cancel: async (c, [id], o, out) => { const r = await c.cancel(id!, o.reason as string | undefined); out.print(r, () => commandResult(r)); },
  terminate: async (c, [id], o, out) => { const r = await c.terminate(id!, o.reason as string | undefined); out.print(r, () => commandResult(r)); },
  skip: async (c, [id, step], o, out) => { const r = await c.skip(id!, step!, parseJsonArg(o.output as string | undefined, '--output')); out.print(r, () => commandResult(r)); },
  retry: async (c, [id, step], o, out) => {
    const r = o.from ? await c.retryFrom(id!, step!) : await c.retryStep(id!, step!);
    out.print(r, () => commandResult(r));
  },
  signal: async (c, [id, name], o, out) => { const r = await c.signal(id!, name!, parseJsonArg(o.payload as string | undefined, '--payload')); out.print(r, () => commandResult(r)); },
  'events publish': async (c, [name], o, out) => {
    const key = o.key !== undefined ? (() => { try { return JSON.parse(o.key as string); } catch { return o.key; } })() : undefined;
    const r = await c.publishEvent(name!, key, parseJsonArg(o.payload as string | undefined, '--payload'));
    out.print(r, () => `delivered to ${r.delivered} instance(s)${r.started.length ? `; started ${r.started.join(', ')}` : ''}${r.handled?.length ? `; ${r.handled.map((h) => `${h.action} ${h.instanceId}`).join(', ')}` : ''}`);
  },
  'tasks list': async (c, _a, o, out) => {
    const items = await c.inbox({ ...(o.user !== undefined && { user: o.user as string }), ...(o.group !== undefined && { group: o.group as string }), ...(o.instance !== undefined && { instanceId: o.instance as string }) });
    out.print(items, () => table(items.map((t) => ({ instance: t.instanceId, task: t.task.taskId, title: t.task.title, users: t.task.users, groups: t.task.groups, actions: t.task.actions, claimedBy: t.claimedBy })), ['instance', 'task', 'title', 'users', 'groups', 'actions', 'claimedBy']));
  },
  'tasks claim': async (c, [id, task], o, out) => { const r = await c.claimTask(id!, task!, o.user as string | undefined); out.print(r, () => `claimed ${task} by ${r.claimedBy}`); },
  'tasks complete': async (c, [id, task], o, out) => {
    const r = await c.completeTask(id!, task!, (o.action as string | undefined) ?? 'approve', parseJsonArg(o.data as string | undefined, '--data'));
    out.print(r, () => commandResult(r));
  },
  'tasks reject': async (c, [id, task], o, out) => { const r = await c.rejectTask(id!, task!, o.reason as string | undefined); out.print(r, () => commandResult(r)); },
  'tasks reassign': async (c, [id, task], o, out) => {
    const users = listArg(o.users), groups = listArg(o.groups);
    if (!users && !groups) throw new CliError('tasks reassign needs --users and/or --groups', EXIT.usage);
    const taskId = task ?? await onlyOpenTask(c, id!);
    const r = await c.reassignTask(id!, taskId, { ...(users && { users }), ...(groups && { groups }) });
    out.print(r, () => `reassigned ${taskId} to ${[...(r.task.users ?? []).map((u) => `user ${u}`), ...(r.task.groups ?? []).map((g) => `group ${g}`)].join(', ') || 'nobody'}`);
  },
  'tasks release': async (c, [id, task], _o, out) => {
    const taskId = task ?? await onlyOpenTask(c, id!);
    const r = await c.releaseTask(id!, taskId);
    out.print(r, () => `released ${taskId}${r.claimedBy ? ` (still claimed by ${r.claimedBy})` : ''}`);
  },
  nodes: async (c, _a, _o, out) => {
    const nodes = await c.nodes();
    out.print({ nodes }, () => table(nodes.map((n) => ({ ...n, leader: n.leader ? 'yes' : '' })) as never, ['id', 'status', 'leader', 'host', 'pid', 'capacity', 'capabilities', 'heartbeatAt']));
  },
  workers: async (c, _a, _o, out) => {
    const [workers, queues] = await Promise.all([c.workers(), c.queues()]);
    out.print({ workers, queues }, () => [table(workers as never, ['id', 'status', 'activities', 'capacity', 'running', 'lastSeenAt']), '', table(queues as never, ['activity', 'queue', 'queued', 'leased'])].join('\n'));
  },
};

/** `--users a,b` (repeatable) → ['a', 'b']; undefined when not given. */
function listArg(v: unknown): string[] | undefined {
  if (v === undefined) return undefined;
  const parts = (Array.isArray(v) ? v : [v]).flatMap((x) => String(x).split(',')).map((x) => x.trim()).filter(Boolean);
  return parts;
}

/** The task id when an instance has exactly one open human task (so `tasks release ID` works). */
async function onlyOpenTask(c: WeftClient, instanceId: string): Promise<string> {
  const open = await c.inbox({ instanceId });
  if (open.length === 1) return open[0]!.task.taskId;
  throw new CliError(open.length === 0 ? `instance ${instanceId} has no open human task` : `instance ${instanceId} has ${open.length} open human tasks; name one: ${open.map((t) => t.task.taskId).join(', ')}`, EXIT.usage);
}

/** Runs one client command; maps API errors to a message and exit code 1. */
export async function runClientCommand(name: string, args: string[], o: Opts, io: CliIO): Promise<number> {
  const client = new WeftClient(serverOf(o), { timeoutMs: 30_000, headers: callerHeaders(o) });
  const out: Output = {
    json: o.json === true,
    print(value, text) { writeLine(io.stdout, o.json || !text ? JSON.stringify(value, null, 2) : text()); },
  };
  try {
    await HANDLERS[name]!(client, args, o, out);
    return EXIT.ok;
  } catch (err) {
    if (err instanceof WeftApiError) {
      if (o.json) writeLine(io.stdout, JSON.stringify({ error: err.code, message: err.message, ...(err.details !== undefined && { details: err.details }) }, null, 2));
      // An unsound definition: the verifier's report in plain words (problems with shortest traces).
      const report = err.code === 'unsound_definition' ? (err.details as { report?: VerificationReport } | undefined)?.report : undefined;
      const extra = report && !o.json ? `\n${formatReport(report, args[0], { info: false })}\n(deploy --force to deploy it anyway)` : '';
      throw new CliError(`${err.code} (${err.status}): ${err.message}${extra}`);
    }
    if (err instanceof TypeError && /fetch failed/.test(err.message)) throw new CliError(`cannot reach ${client.baseUrl}: ${String((err as { cause?: unknown }).cause ?? err.message)}`);
    throw err;
  }
}

/** Registers the client commands on the program (and a server mode on status/history/resume). */
export function registerClientCommands(program: Command, io: CliIO, setExit: (code: number) => void): void {
  const run = (name: string) => async (...a: unknown[]) => {
    const cmd = a[a.length - 1] as Command;
    setExit(await runClientCommand(name, cmd.args, cmd.opts() as Opts, io));
  };
  const add = (name: string, parent: Command = program) => parent.command(name).option('-s, --server <url>', 'server URL (default: env WEFT_SERVER)').option('--json', 'print JSON')
    .option('--as <user>', 'call as this user (default: env WEFT_USER)').option('--namespace <ns>', 'the namespace to work in (default: env WEFT_NAMESPACE, else `default`)');

  add('deploy').description('deploy a definition file to a server (an unsound one is refused unless --force)').argument('<file>', 'YAML or JSON definition')
    .option('--force', 'deploy even if the verifier proves it unsound').action(run('deploy'));
  add('definitions').description('list the definitions deployed on a server').action(run('definitions'));
  add('start').description('start an instance on a server').argument('<definition>', 'definition id')
    .option('-i, --input <json|@file>', 'input').option('--version <range>', 'definition version').option('--idempotency-key <key>', 'same key → same instance')
    .option('--correlation-id <id>', 'correlation id').option('--label <k=v...>', 'labels').action(run('start'));
  add('list').description('list instances on a server').option('--definition <id>', 'definition id').option('--status <list>', 'statuses, comma-separated')
    .option('--limit <n>', 'page size').option('--cursor <c>', 'next page').action(run('list'));
  for (const name of ['pause', 'cancel', 'terminate']) {
    add(name).description(`${name} an instance on a server`).argument('<id>', 'instance id').option('--reason <text>', 'why').action(run(name));
  }
  add('skip').description('skip a skippable step').argument('<id>', 'instance id').argument('<step>', 'step id').option('--output <json>', 'the step output').action(run('skip'));
  add('retry').description('retry a failed step (or --from: the instance from a step)').argument('<id>', 'instance id').argument('<step>', 'step id').option('--from', 'retry from this step').action(run('retry'));
  add('signal').description('send a signal to an instance').argument('<id>', 'instance id').argument('<name>', 'signal name').option('--payload <json>', 'payload').action(run('signal'));
  const events = program.command('events').description('external events');
  add('publish', events).description('publish an event').argument('<name>', 'event name').option('--key <value>', 'correlation key (JSON or text)').option('--payload <json|@file>', 'payload').action(run('events publish'));
  const tasks = program.command('tasks').description('human tasks');
  add('list', tasks).description('the inbox').option('--user <id>', 'for a user').option('--group <id>', 'for a group').option('--instance <id>', 'of one instance').action(run('tasks list'));
  add('claim', tasks).argument('<instance>', 'instance id').argument('<task>', 'task id').option('--user <id>', 'claim for').action(run('tasks claim'));
  add('complete', tasks).argument('<instance>', 'instance id').argument('<task>', 'task id').option('--action <a>', 'action (default approve)').option('--data <json|@file>', 'form data').action(run('tasks complete'));
  add('reject', tasks).argument('<instance>', 'instance id').argument('<task>', 'task id').option('--reason <text>', 'why').action(run('tasks reject'));
  add('reassign', tasks).description('give a task to other users/groups (drops the claim)').argument('<instance>', 'instance id').argument('[task]', 'task id (default: the instance\'s only open task)')
    .option('--users <ids...>', 'users, comma-separated or repeated').option('--groups <ids...>', 'groups, comma-separated or repeated').action(run('tasks reassign'));
  add('release', tasks).description('drop the claim on a task').argument('<instance>', 'instance id').argument('[task]', 'task id (default: the instance\'s only open task)').action(run('tasks release'));
  add('workers').description('connected workers and queues').action(run('workers'));
  add('nodes').description('the engine nodes sharing the server\'s database (cluster)').action(run('nodes'));

  // status / history / resume exist for a local --db: add a server mode.
  for (const name of ['status', 'history', 'resume']) {
    const cmd = program.commands.find((c) => c.name() === name);
    if (!cmd) { if (name === 'resume') add('resume').argument('<id>', 'instance id').action(run('resume')); continue; }
    if (!cmd.options.some((op) => op.long === '--server')) cmd.option('-s, --server <url>', 'run against a server (default: env WEFT_SERVER when --db is not given)');
    const db = cmd.options.find((op) => op.long === '--db');
    if (db) db.mandatory = false;
    cmd.hook('preAction', async (_this, action) => {
      const o = action.opts() as Opts;
      if (o.db !== undefined || (o.server === undefined && !process.env.WEFT_SERVER)) {
        if (o.db === undefined) throw new CliError(`--db PATH or --server URL is required`, EXIT.usage);
        return;
      }
      if (name === 'resume' && action.args.length === 0) throw new CliError('weft resume --server URL needs an instance id', EXIT.usage);
      const code = await runClientCommand(name, action.args, o, io);
      // Skip the local action: leave through commander's own exit path with our code.
      throw new CommanderError(code, 'commander.executeSubCommandAsync', '');
    });
    // `weft resume ID --server URL`: the local resume takes no argument; accept one without changing its action's signature.
    if (name === 'resume' && cmd.registeredArguments.length === 0) cmd.allowExcessArguments(true);
  }
}
