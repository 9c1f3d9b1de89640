/**
 * The WebSocket at `/api/v1/ws` (SPEC C6). Messages are JSON objects with a `type`.
 *
 * Client → server
 *   {type: 'subscribe', id, instanceId, afterSeq?}   one instance: a snapshot (or, with `afterSeq`,
 *                                                    exactly the events after it) then every event
 *   {type: 'subscribe', id, definitionId}            every instance of a definition
 *   {type: 'subscribe', id, all: true}               everything the caller may see
 *   {type: 'unsubscribe', id}
 *   {type: 'command', requestId, command: {type, instanceId, …}}
 *   {type: 'ping'}
 * Server → client
 *   {type: 'snapshot', sub, instanceId, seq, state} | {type: 'snapshot', sub, instances: [...]}
 *   {type: 'events', sub, instanceId, status, events: [{seq, type, …}, …]}   in seq order, no gaps
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
  | { kind: 'definition'; id: string; definitionId: string }
  | { kind: 'all'; id: string };

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
        default: throw new ApiError('invalid_input', `unknown message type ${JSON.stringify(msg.type)} (subscribe, unsubscribe, command, ping)`, { field: 'type' });
      }
    } catch (err) {
      this.sendError(err, ref);
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
      sub.ready = true;
      const buffered = sub.buffer;
      sub.buffer = [];
      for (const b of buffered) await this.deliver(sub, b);
      return;
    }
    if (typeof msg.definitionId === 'string') {
      await this.ctx.auth.check(this.caller, 'instance.list', { type: 'definition', id: msg.definitionId });
      const sub: Sub = { kind: 'definition', id, definitionId: msg.definitionId };
      this.subs.set(id, sub);
      this.send({ type: 'snapshot', sub: id, instances: await engine.listInstances({ definitionId: msg.definitionId, limit: 1000 }) });
      return;
    }
    if (msg.all === true) {
      await this.ctx.auth.check(this.caller, 'instance.list', { type: 'instance' });
      this.subs.set(id, { kind: 'all', id });
      this.send({ type: 'snapshot', sub: id, instances: await engine.listInstances({ limit: 1000 }) });
      return;
    }
    throw new ApiError('invalid_input', 'subscribe needs "instanceId", "definitionId" or "all": true', { field: 'instanceId' });
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
      } else if (sub.kind === 'all' || (sub.kind === 'definition' && b.state.definitionId === sub.definitionId)) {
        this.send({ type: 'events', sub: sub.id, instanceId: b.instanceId, status: b.state.status, events: b.events });
      }
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
  return { instanceId: b.instanceId, events: b.events.slice() as EngineEvent[], state: { status: b.state.status, definitionId: b.state.definitionId } as InstanceState };
}
