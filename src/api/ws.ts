/**
 * The WebSocket at `/api/v1/ws` (SPEC C6). Messages are JSON objects with a `type`.
 *
 * Client → server
 *   {type: 'subscribe', id, instanceId, afterSeq?}   one instance: a snapshot (or, with `afterSeq`,
 *                                                    exactly the events after it) then every event
 *   {type: 'subscribe', id, definitionId}            every instance of a definition
 *   {type: 'subscribe', id, all: true}               everything the caller may see
 *   (only the caller's namespace: another namespace's instance or definition is `not_found`, as
 *   over REST; definition/all subscriptions never carry another namespace's instances)
 *   … with resume: {since, seqs: {instanceId: lastSeq}}   no snapshot: exactly the events missed
 *                                                    (per instance, after the seq the client has)
 *   {type: 'unsubscribe', id}
 *   {type: 'command', requestId, command: {type, instanceId, …}}
 *   {type: 'ping'}
 *   {type: 'worker.poll' | 'worker.heartbeat' | 'worker.complete' | 'worker.fail' | 'worker.leave', requestId, workerId, …}
 *                                                    the remote-worker protocol (docs/workers.md) over the socket:
 *                                                    same bodies and answers as the HTTP routes, as `result`/`error`
 * Server → client
 *   {type: 'snapshot', sub, instanceId, seq, state} | {type: 'snapshot', sub, at, instances: [{id, seq, …}]}
 *   {type: 'events', sub, instanceId, status, at?, events: [{seq, type, …}, …]}   per instance in seq order, no gaps
 *   {type: 'resumed', sub, at}                       a definition/all resume has caught up
 *   {type: 'result', requestId, instanceId, status, events} | {type: 'error', requestId?, sub?, error, message, details?}
 *   {type: 'pong'}
 * The server pings every `pingMs` (default 30 s) and closes a socket that did not answer the
 * previous ping (idle timeout).
 */
import type { FastifyPluginAsync } from 'fastify';
import type { WebSocket } from 'ws';
import type { Command, EngineEvent, InstanceState } from '../core/types.js';
import type { CommittedBatch } from '../runtime/api.js';
import type { Caller } from './auth.js';
import { ApiError, toErrorBody } from './errors.js';
import { CLIENT_COMMANDS, runCommand } from './routes/instances.js';
import type { ApiContext } from './server.js';

export interface WsOptions {
  /** Ping interval, ms (default 30 s); a socket that misses a pong is closed. */
  pingMs?: number;
  /** Close a socket whose send buffer grows past this (a client too slow to keep up), bytes. */
  maxBufferedBytes?: number;
}

type Sub =
  | { kind: 'instance'; id: string; instanceId: string; lastSeq: number; ready: boolean; buffer: CommittedBatch[]; filling: boolean }
  | ManySub;

/**
 * A definition or all subscription: per-instance cursors (`seqs`), so that every instance's events
 * reach the client once, in seq order, without gaps (a gap is read from the log), including across
 * a reconnect (`resume`).
 */
interface ManySub {
  kind: 'many';
  id: string;
  definitionId?: string;
  seqs: Map<string, number>;
  ready: boolean;
  buffer: CommittedBatch[];
  filling: boolean;
}

/**
 * How far before the client's watermark a resume looks for changed instances: covers commits whose
 * clock reading is earlier than one already delivered (group commit) and small clock steps.
 */
export const RESUME_MARGIN_MS = 5_000;

export function websocketRoutes(ctx: ApiContext, o: WsOptions = {}): FastifyPluginAsync {
  const pingMs = o.pingMs ?? 30_000;
  const maxBuffered = o.maxBufferedBytes ?? 16 * 1024 * 1024;
  return async (app) => {
    app.get('/ws', { websocket: true, schema: { tags: ['events'], summary: 'WebSocket: subscriptions and commands (see docs/api.md)' }, config: { action: 'ws.connect', resource: 'ws' } }, (socket, req) => {
      new Connection(ctx, socket, req.caller, pingMs, maxBuffered).start();
    });
  };
}

class Connection {
  private readonly subs = new Map<string, Sub>();
  private alive = true;
  /** Remote workers speaking over this socket; their pending polls end when it closes. */
  private readonly workerIds = new Set<string>();
  private readonly polls = new Set<AbortController>();
  private pinger?: NodeJS.Timeout;
  private off?: () => void;

  constructor(private readonly ctx: ApiContext, private readonly ws: WebSocket, private readonly caller: Caller, private readonly pingMs: number, private readonly maxBuffered: number) {}

  start(): void {
    this.ws.on('message', (data, isBinary) => void this.onMessage(isBinary ? '' : data.toString()));
    this.ws.on('pong', () => { this.alive = true; });
    this.ws.on('close', () => this.stop());
    this.ws.on('error', () => this.stop());
    this.pinger = setInterval(() => {
      if (!this.alive) { this.ws.terminate(); this.stop(); return; }
      this.alive = false;
      try { this.ws.ping(); } catch { /* closed */ }
    }, this.pingMs);
    this.pinger.unref();
    this.off = this.ctx.engine.on('committed', (b) => this.onCommitted(b));
  }

  private stop(): void {
    if (this.pinger) clearInterval(this.pinger);
    this.off?.();
    this.off = undefined;
    this.subs.clear();
    for (const a of this.polls) a.abort();
    this.polls.clear();
    // Its leases run out on their own (lease expiry → retried by policy), exactly as over HTTP.
    for (const w of this.workerIds) this.ctx.engine.remote.disconnected(w, this.caller.namespace);
    this.workerIds.clear();
  }

  private send(msg: unknown): void {
    if (this.ws.readyState !== this.ws.OPEN) return;
    if (this.ws.bufferedAmount > this.maxBuffered) { this.ws.close(1013, 'client too slow'); return; }
    this.ws.send(JSON.stringify(msg));
  }

  private sendError(err: unknown, ref: { requestId?: unknown; sub?: unknown }): void {
    const { body } = toErrorBody(err);
    this.send({ type: 'error', ...(ref.requestId !== undefined && { requestId: ref.requestId }), ...(ref.sub !== undefined && { sub: ref.sub }), ...body });
  }

  private async onMessage(text: string): Promise<void> {
    this.alive = true;
    let msg: Record<string, unknown>;
    try {
      msg = JSON.parse(text) as Record<string, unknown>;
      if (typeof msg !== 'object' || msg === null || Array.isArray(msg)) throw new SyntaxError('a message must be a JSON object');
    } catch (err) {
      this.sendError(new ApiError('malformed_json', `message is not a JSON object: ${(err as Error).message}`), {});
      return;
    }
    const ref = { requestId: msg.requestId, sub: msg.id };
    try {
      await this.ctx.auth.check(this.caller, `ws.${String(msg.type)}`, { type: 'ws' });
      switch (msg.type) {
        case 'ping': this.send({ type: 'pong' }); return;
        case 'subscribe': await this.subscribe(msg); return;
        case 'unsubscribe': this.subs.delete(String(msg.id)); this.send({ type: 'unsubscribed', sub: msg.id }); return;
        case 'command': await this.command(msg); return;
        case 'worker.poll': case 'worker.heartbeat': case 'worker.complete': case 'worker.fail': case 'worker.leave':
          await this.worker(msg); return;
        default: throw new ApiError('invalid_input', `unknown message type ${JSON.stringify(msg.type)} (subscribe, unsubscribe, command, ping, worker.*)`, { field: 'type' });
      }
    } catch (err) {
      this.sendError(err, ref);
    }
  }

  /** The remote-worker protocol over the socket: the same contract as POST /workers/:id/… */
  private async worker(msg: Record<string, unknown>): Promise<void> {
    const remote = this.ctx.engine.remote;
    const workerId = str(msg, 'workerId');
    const reply = (body: Record<string, unknown>) => this.send({ type: 'result', requestId: msg.requestId, ...body });
    switch (msg.type) {
      case 'worker.poll': {
        const activities = msg.activities;
        if (!Array.isArray(activities) || !activities.every((a) => typeof a === 'string' && a.length > 0)) throw new ApiError('invalid_input', 'activities must be an array of activity names', { field: 'activities' });
        const capacity = optInt(msg, 'capacity', 1, 100_000);
        const max = optInt(msg, 'max', 0, 1000) ?? 1;
        const waitMs = optInt(msg, 'waitMs', 0, 60_000) ?? 20_000;
        const queues = msg.queues;
        if (queues !== undefined && !(Array.isArray(queues) && queues.every((q) => q === null || typeof q === 'string'))) throw new ApiError('invalid_input', 'queues must be an array of names (or null)', { field: 'queues' });
        this.workerIds.add(workerId);
        const abort = new AbortController();
        this.polls.add(abort);
        try {
          const tasks = await remote.claim({
            workerId, activities: activities as string[], transport: 'ws', namespace: this.caller.namespace,
            ...(capacity !== undefined && { capacity }), ...(queues !== undefined && { queues: queues as Array<string | null> }),
          }, max, this.ctx.closing.value ? 0 : waitMs, abort.signal);
          // Tasks claimed for a socket that just closed are not lost: their leases run out and they are retried.
          reply({ tasks });
        } finally {
          this.polls.delete(abort);
        }
        return;
      }
      case 'worker.heartbeat': {
        const tasks = msg.tasks;
        if (!Array.isArray(tasks)) throw new ApiError('invalid_input', 'tasks must be an array', { field: 'tasks' });
        const beats = tasks.map((t, i) => {
          if (typeof t !== 'object' || t === null) throw new ApiError('invalid_input', `tasks[${i}] must be an object`, { field: `tasks.${i}` });
          const r = t as Record<string, unknown>;
          return { instanceId: str(r, 'instanceId', `tasks.${i}.`), taskId: str(r, 'taskId', `tasks.${i}.`), token: str(r, 'token', `tasks.${i}.`), ...(r.details !== undefined && { details: r.details }) };
        });
        reply({ tasks: await remote.heartbeat(workerId, beats, this.caller.namespace) });
        return;
      }
      case 'worker.complete':
      case 'worker.fail': {
        const ref = { instanceId: str(msg, 'instanceId'), taskId: str(msg, 'taskId'), token: str(msg, 'token'), attempt: optInt(msg, 'attempt', 1, Number.MAX_SAFE_INTEGER) ?? (() => { throw new ApiError('invalid_input', 'attempt is required', { field: 'attempt' }); })() };
        if (msg.type === 'worker.complete') {
          await remote.complete(workerId, { ...ref, ...(msg.output !== undefined && { output: msg.output }) }, this.caller.namespace);
        } else {
          const e = msg.error as Record<string, unknown> | undefined;
          if (typeof e !== 'object' || e === null || typeof e.code !== 'string' || !e.code || typeof e.message !== 'string') throw new ApiError('invalid_input', 'error must be {code, message, nonRetryable?, details?}', { field: 'error' });
          await remote.fail(workerId, { ...ref, error: { code: e.code, message: e.message, ...(typeof e.nonRetryable === 'boolean' && { nonRetryable: e.nonRetryable }), ...(e.details !== undefined && { details: e.details }) } }, this.caller.namespace);
        }
        reply({ ok: true });
        return;
      }
      case 'worker.leave':
        remote.unregister(workerId, this.caller.namespace);
        this.workerIds.delete(workerId);
        reply({ ok: true });
        return;
    }
  }

  private async command(msg: Record<string, unknown>): Promise<void> {
    const c = msg.command as Record<string, unknown> | undefined;
    if (typeof c !== 'object' || c === null) throw new ApiError('invalid_input', 'command must be an object', { field: 'command' });
    if (typeof c.instanceId !== 'string' || !c.instanceId) throw new ApiError('invalid_input', 'command.instanceId is required', { field: 'command.instanceId' });
    if (!(CLIENT_COMMANDS as readonly unknown[]).includes(c.type)) throw new ApiError('invalid_input', `command.type must be one of ${CLIENT_COMMANDS.join(', ')}`, { field: 'command.type' });
    const out = await runCommand(this.ctx, this.caller, c as unknown as Command);
    this.send({ type: 'result', requestId: msg.requestId, ...out });
  }

  private async subscribe(msg: Record<string, unknown>): Promise<void> {
    const id = msg.id;
    if (typeof id !== 'string' || !id) throw new ApiError('invalid_input', 'subscribe needs a string "id" naming the subscription', { field: 'id' });
    if (this.subs.has(id)) throw new ApiError('invalid_input', `subscription "${id}" exists`, { field: 'id' });
    const engine = this.ctx.engine;
    if (typeof msg.instanceId === 'string') {
      const instanceId = msg.instanceId;
      await this.ctx.auth.check(this.caller, 'instance.read', { type: 'instance', id: instanceId });
      // Namespaces: another namespace's instance does not exist for the caller (as over REST).
      const info = await engine.getInstanceInfo(instanceId);
      if (info && (info.namespace ?? 'default') !== this.caller.namespace) throw new ApiError('not_found', `instance "${instanceId}" does not exist`);
      if (msg.afterSeq !== undefined && !(Number.isInteger(msg.afterSeq) && (msg.afterSeq as number) >= 0)) {
        throw new ApiError('invalid_input', 'afterSeq must be an integer ≥ 0', { field: 'afterSeq' });
      }
      const sub: Sub = { kind: 'instance', id, instanceId, lastSeq: 0, ready: false, buffer: [], filling: false };
      this.subs.set(id, sub); // live batches are buffered from now on
      try {
        if (msg.afterSeq === undefined) {
          const state = await engine.getState(instanceId);
          if (!state) throw new ApiError('not_found', `instance "${instanceId}" does not exist`);
          sub.lastSeq = state.seq;
          this.send({ type: 'snapshot', sub: id, instanceId, seq: state.seq, state });
        } else {
          const state = await engine.getState(instanceId);
          if (!state) throw new ApiError('not_found', `instance "${instanceId}" does not exist`);
          sub.lastSeq = msg.afterSeq as number;
          await this.catchUp(sub, state.status, state.seq);
        }
      } catch (err) {
        this.subs.delete(id);
        throw err;
      }
      await this.release(sub, (b) => this.deliver(sub, b));
      return;
    }
    if (typeof msg.definitionId === 'string' || msg.all === true) {
      const definitionId = typeof msg.definitionId === 'string' ? msg.definitionId : undefined;
      await this.ctx.auth.check(this.caller, 'instance.list', definitionId !== undefined ? { type: 'definition', id: definitionId } : { type: 'instance' });
      const namespace = this.caller.namespace;
      if (definitionId !== undefined) {
        // A definition of another namespace does not exist for the caller (as over REST); one not deployed yet may be watched.
        const owner = (await engine.listDefinitions()).find((d) => d.id === definitionId)?.namespace;
        if (owner !== undefined && owner !== namespace) throw new ApiError('not_found', `definition "${definitionId}" is not deployed`);
      }
      const resume = parseResume(msg.resume);
      const sub: ManySub = { kind: 'many', id, ...(definitionId !== undefined && { definitionId }), seqs: new Map(), ready: false, buffer: [], filling: false };
      this.subs.set(id, sub); // live batches are buffered from now on
      try {
        if (!resume) {
          const at = Date.now();
          const instances = await engine.listInstances({ namespace, ...(definitionId !== undefined && { definitionId }), limit: 1000 });
          for (const i of instances) sub.seqs.set(i.id, i.seq);
          this.send({ type: 'snapshot', sub: id, at, instances });
        } else {
          for (const [k, v] of Object.entries(resume.seqs)) sub.seqs.set(k, v);
          const at = Date.now();
          // Every instance in scope that changed since the watermark (minus the margin): the events after what the client has.
          let afterId: string | undefined;
          for (;;) {
            const page = await engine.listInstances({ namespace, ...(definitionId !== undefined && { definitionId }), updatedAfter: resume.since - RESUME_MARGIN_MS, limit: 500, ...(afterId !== undefined && { afterId }) });
            for (const i of page) {
              const known = sub.seqs.get(i.id) ?? 0;
              if (i.seq > known) await this.catchUpMany(sub, i.id, i.status, known, i.seq, i.updatedAt);
            }
            if (page.length < 500) break;
            afterId = page[page.length - 1]!.id;
          }
          this.send({ type: 'resumed', sub: id, at });
        }
      } catch (err) {
        this.subs.delete(id);
        throw err;
      }
      await this.release(sub, (b) => this.deliverMany(sub, b));
      return;
    }
    throw new ApiError('invalid_input', 'subscribe needs "instanceId", "definitionId" or "all": true', { field: 'instanceId' });
  }

  /** The snapshot or catch-up is sent: deliver the live batches buffered meanwhile, then go live. */
  private async release<B>(sub: { ready: boolean; buffer: B[] }, deliver: (b: B) => Promise<void>): Promise<void> {
    sub.ready = true;
    const buffered = sub.buffer;
    sub.buffer = [];
    for (const b of buffered) await deliver(b);
  }

  /** Sends the logged events after `sub.lastSeq` up to `toSeq`, in pages. */
  private async catchUp(sub: Extract<Sub, { kind: 'instance' }>, status: string, toSeq: number): Promise<void> {
    while (sub.lastSeq < toSeq) {
      const events = await this.ctx.engine.getHistory(sub.instanceId, { fromSeq: sub.lastSeq + 1, limit: 1000 });
      const upto = events.filter((e) => e.seq <= toSeq);
      if (upto.length === 0) break;
      sub.lastSeq = upto[upto.length - 1]!.seq;
      this.send({ type: 'events', sub: sub.id, instanceId: sub.instanceId, status, events: upto });
    }
  }

  /** Sends the logged events of one instance after `fromSeq` up to `toSeq` to a definition/all subscription. */
  private async catchUpMany(sub: ManySub, instanceId: string, status: string, fromSeq: number, toSeq: number, at: number): Promise<void> {
    let last = fromSeq;
    while (last < toSeq) {
      const events = (await this.ctx.engine.getHistory(instanceId, { fromSeq: last + 1, limit: 1000 })).filter((e) => e.seq <= toSeq);
      if (events.length === 0) break;
      last = events[events.length - 1]!.seq;
      sub.seqs.set(instanceId, last);
      this.send({ type: 'events', sub: sub.id, instanceId, status, at, events });
    }
  }

  private async deliverMany(sub: ManySub, b: CommittedBatch): Promise<void> {
    if (b.events.length === 0) return;
    const known = sub.seqs.get(b.instanceId);
    // An instance the subscription has not seen yet (created since): from this batch on.
    if (known === undefined) {
      sub.seqs.set(b.instanceId, b.events[b.events.length - 1]!.seq);
      this.send({ type: 'events', sub: sub.id, instanceId: b.instanceId, status: b.state.status, at: b.state.updatedAt, events: b.events });
      return;
    }
    const fresh = b.events.filter((e) => e.seq > known);
    if (fresh.length === 0) return;
    if (fresh[0]!.seq > known + 1) await this.catchUpMany(sub, b.instanceId, b.state.status, known, fresh[0]!.seq - 1, b.state.updatedAt);
    const now = sub.seqs.get(b.instanceId) ?? known;
    const rest = fresh.filter((e) => e.seq > now);
    if (rest.length === 0) return;
    sub.seqs.set(b.instanceId, rest[rest.length - 1]!.seq);
    this.send({ type: 'events', sub: sub.id, instanceId: b.instanceId, status: b.state.status, at: b.state.updatedAt, events: rest });
  }

  private async deliver(sub: Extract<Sub, { kind: 'instance' }>, b: CommittedBatch): Promise<void> {
    const fresh = b.events.filter((e) => e.seq > sub.lastSeq);
    if (fresh.length === 0) return;
    if (fresh[0]!.seq > sub.lastSeq + 1) await this.catchUp(sub, b.state.status, fresh[0]!.seq - 1); // a gap: read it from the log
    const rest = fresh.filter((e) => e.seq > sub.lastSeq);
    if (rest.length === 0) return;
    sub.lastSeq = rest[rest.length - 1]!.seq;
    this.send({ type: 'events', sub: sub.id, instanceId: sub.instanceId, status: b.state.status, events: rest });
  }

  private onCommitted(b: CommittedBatch): void {
    if (this.subs.size === 0) return;
    for (const sub of this.subs.values()) {
      if (sub.kind === 'instance') {
        if (sub.instanceId !== b.instanceId) continue;
        if (!sub.ready || sub.filling) { sub.buffer.push(copy(b)); continue; }
        const fresh = b.events.filter((e) => e.seq > sub.lastSeq);
        if (fresh.length > 0 && fresh[0]!.seq === sub.lastSeq + 1) {
          sub.lastSeq = fresh[fresh.length - 1]!.seq;
          this.send({ type: 'events', sub: sub.id, instanceId: sub.instanceId, status: b.state.status, events: fresh });
        } else if (fresh.length > 0) {
          sub.filling = true;
          sub.buffer.push(copy(b));
          void this.drain(sub);
        }
      } else if ((b.namespace ?? 'default') === this.caller.namespace && (sub.definitionId === undefined || b.state.definitionId === sub.definitionId)) {
        if (!sub.ready || sub.filling) { sub.buffer.push(copy(b)); continue; }
        const known = sub.seqs.get(b.instanceId);
        const fresh = known === undefined ? b.events : b.events.filter((e) => e.seq > known);
        if (fresh.length === 0) continue;
        if (known === undefined || fresh[0]!.seq === known + 1) {
          sub.seqs.set(b.instanceId, fresh[fresh.length - 1]!.seq);
          this.send({ type: 'events', sub: sub.id, instanceId: b.instanceId, status: b.state.status, at: b.state.updatedAt, events: fresh });
        } else {
          sub.filling = true;
          sub.buffer.push(copy(b));
          void this.drainMany(sub);
        }
      }
    }
  }

  private async drainMany(sub: ManySub): Promise<void> {
    try {
      while (sub.buffer.length > 0) await this.deliverMany(sub, sub.buffer.shift()!);
    } finally {
      sub.filling = false;
    }
  }

  private async drain(sub: Extract<Sub, { kind: 'instance' }>): Promise<void> {
    try {
      while (sub.buffer.length > 0) await this.deliver(sub, sub.buffer.shift()!);
    } finally {
      sub.filling = false;
    }
  }
}

/** Batches are kept past the listener call (buffering): keep only what is sent. */
function copy(b: CommittedBatch): CommittedBatch {
  return { instanceId: b.instanceId, events: b.events.slice() as EngineEvent[], state: { status: b.state.status, definitionId: b.state.definitionId, updatedAt: b.state.updatedAt } as InstanceState, ...(b.namespace !== undefined && { namespace: b.namespace }) };
}

function str(o: Record<string, unknown>, field: string, prefix = ''): string {
  const v = o[field];
  if (typeof v !== 'string' || v.length === 0 || v.length > 1000) throw new ApiError('invalid_input', `${prefix}${field} must be a non-empty string`, { field: `${prefix}${field}` });
  return v;
}

function optInt(o: Record<string, unknown>, field: string, min: number, max: number): number | undefined {
  const v = o[field];
  if (v === undefined) return undefined;
  if (!Number.isInteger(v) || (v as number) < min || (v as number) > max) throw new ApiError('invalid_input', `${field} must be an integer ${min}–${max}`, { field });
  return v as number;
}

function parseResume(v: unknown): { since: number; seqs: Record<string, number> } | undefined {
  if (v === undefined) return undefined;
  const bad = (field: string, why: string): never => { throw new ApiError('invalid_input', `resume.${field} ${why}`, { field: `resume.${field}` }); };
  if (typeof v !== 'object' || v === null || Array.isArray(v)) bad('', 'must be an object {since, seqs}');
  const r = v as Record<string, unknown>;
  if (typeof r.since !== 'number' || !Number.isFinite(r.since)) bad('since', 'must be the `at` of the last message received (a number)');
  const seqs = r.seqs ?? {};
  if (typeof seqs !== 'object' || seqs === null || Array.isArray(seqs)) bad('seqs', 'must be an object {instanceId: lastSeq}');
  for (const [k, n] of Object.entries(seqs as Record<string, unknown>)) {
    if (!Number.isInteger(n) || (n as number) < 0) bad(`seqs.${k}`, 'must be an integer ≥ 0');
  }
  return { since: r.since as number, seqs: seqs as Record<string, number> };
}
