/**
 * `watch()`: a live subscription over the server's WebSocket that survives disconnections. For one
 * instance it resumes from the last sequence number seen; for a definition or everything it resumes
 * with its cursor (the server's `at` watermark and the last seq per instance). Either way the
 * callback sees every event exactly once and in seq order per instance.
 */
import WebSocket from 'ws';
import type { EngineEvent, InstanceState } from '../core/types.js';
import type { InstanceSummary } from '../runtime/api.js';

export interface WatchOptions {
  headers?: Record<string, string>;
  /** First snapshot (instance: its state; others: the instance list). Not called again on resume. */
  onSnapshot?: (snapshot: { instanceId?: string; seq?: number; state?: InstanceState; instances?: InstanceSummary[] }) => void;
  /** Events in seq order (per instance). */
  onEvents?: (batch: { instanceId: string; status: string; events: EngineEvent[] }) => void;
  onError?: (err: { error: string; message: string; details?: unknown }) => void;
  /** Connection state changes (for a UI). */
  onStatus?: (status: 'connecting' | 'open' | 'reconnecting' | 'closed') => void;
  /** Reconnect delays, ms (default 100 → 5,000, doubling). */
  minDelayMs?: number;
  maxDelayMs?: number;
  /** Definition/all subscriptions: start by resuming from a saved cursor instead of a snapshot. */
  resume?: WatchCursor;
}

/** Where a definition/all subscription stands: resume from it (also across processes: `WatchOptions.resume`). */
export interface WatchCursor {
  /** The server's `at` of the last message received (a watermark). */
  since: number;
  /** Last seq delivered per instance. */
  seqs: Record<string, number>;
}

export interface Watcher {
  /** Last seq delivered (instance subscriptions). */
  readonly lastSeq: number;
  /** Definition/all subscriptions: the resume cursor (undefined before the first snapshot). */
  readonly cursor: WatchCursor | undefined;
  /** Sends a command over the socket; resolves with its result. */
  command(command: { type: string; instanceId: string; [k: string]: unknown }): Promise<{ status: string; events: EngineEvent[] }>;
  close(): void;
  /** Resolves once the first snapshot (or resume) arrived. */
  ready: Promise<void>;
}

type Target = { instanceId: string } | { definitionId: string } | { all: true };

export function watch(baseUrl: string, target: Target, o: WatchOptions = {}): Watcher {
  const url = baseUrl.replace(/^http/, 'ws').replace(/\/+$/, '') + '/api/v1/ws';
  let ws: WebSocket | undefined;
  let closed = false;
  let lastSeq = -1;
  let cursor: WatchCursor | undefined = o.resume && { since: o.resume.since, seqs: { ...o.resume.seqs } };
  const many = !('instanceId' in target);
  const advance = (at: unknown) => { if (cursor && typeof at === 'number' && at > cursor.since) cursor.since = at; };
  let delay = o.minDelayMs ?? 100;
  let requestSeq = 0;
  const pending = new Map<string, { resolve: (v: { status: string; events: EngineEvent[] }) => void; reject: (e: Error) => void }>();
  let markReady!: () => void;
  const ready = new Promise<void>((r) => { markReady = r; });

  const connect = () => {
    if (closed) return;
    o.onStatus?.(lastSeq < 0 ? 'connecting' : 'reconnecting');
    const sock = new WebSocket(url, { headers: o.headers ?? {} });
    ws = sock;
    sock.on('open', () => {
      delay = o.minDelayMs ?? 100;
      o.onStatus?.('open');
      const sub: Record<string, unknown> = { type: 'subscribe', id: 'w', ...target };
      if ('instanceId' in target && lastSeq >= 0) sub.afterSeq = lastSeq;
      if (many && cursor) sub.resume = cursor;
      sock.send(JSON.stringify(sub));
    });
    sock.on('message', (data) => {
      let msg: Record<string, unknown>;
      try { msg = JSON.parse(data.toString()) as Record<string, unknown>; } catch { return; }
      switch (msg.type) {
        case 'snapshot':
          if (typeof msg.seq === 'number') lastSeq = msg.seq;
          else if (lastSeq < 0) lastSeq = 0;
          if (many) {
            cursor = { since: typeof msg.at === 'number' ? msg.at : 0, seqs: {} };
            for (const i of (msg.instances as Array<{ id: string; seq?: number }> | undefined) ?? []) cursor.seqs[i.id] = i.seq ?? 0;
          }
          o.onSnapshot?.(msg as never);
          markReady();
          break;
        case 'resumed':
          advance(msg.at);
          markReady();
          break;
        case 'events': {
          const events = msg.events as EngineEvent[];
          if ('instanceId' in target) {
            const fresh = events.filter((e) => e.seq > lastSeq);
            if (fresh.length === 0) break;
            lastSeq = fresh[fresh.length - 1]!.seq;
            o.onEvents?.({ instanceId: msg.instanceId as string, status: msg.status as string, events: fresh });
          } else if (cursor) {
            const id = msg.instanceId as string;
            const known = cursor.seqs[id] ?? 0;
            const fresh = events.filter((e) => e.seq > known);
            advance(msg.at);
            if (fresh.length === 0) break;
            cursor.seqs[id] = fresh[fresh.length - 1]!.seq;
            o.onEvents?.({ instanceId: id, status: msg.status as string, events: fresh });
          } else {
            o.onEvents?.(msg as never);
          }
          markReady();
          break;
        }
        case 'result': {
          const p = pending.get(String(msg.requestId));
          pending.delete(String(msg.requestId));
          p?.resolve(msg as never);
          break;
        }
        case 'error': {
          const p = msg.requestId !== undefined ? pending.get(String(msg.requestId)) : undefined;
          if (p) {
            pending.delete(String(msg.requestId));
            p.reject(Object.assign(new Error(String(msg.message)), { code: msg.error, details: msg.details }));
          } else o.onError?.(msg as never);
          break;
        }
      }
      // A resume with nothing missed sends nothing: ready once subscribed.
      if ('instanceId' in target && lastSeq >= 0) markReady();
    });
    sock.on('close', () => {
      for (const p of pending.values()) p.reject(new Error('connection closed'));
      pending.clear();
      if (closed) { o.onStatus?.('closed'); return; }
      const wait = delay;
      delay = Math.min(delay * 2, o.maxDelayMs ?? 5000);
      setTimeout(connect, wait).unref?.();
    });
    sock.on('error', () => { /* 'close' follows */ });
  };
  connect();

  return {
    get lastSeq() { return lastSeq; },
    get cursor() { return cursor && { since: cursor.since, seqs: { ...cursor.seqs } }; },
    ready,
    command(command) {
      return new Promise((resolve, reject) => {
        if (!ws || ws.readyState !== WebSocket.OPEN) { reject(new Error('not connected')); return; }
        const requestId = String(++requestSeq);
        pending.set(requestId, { resolve, reject });
        ws.send(JSON.stringify({ type: 'command', requestId, command }));
      });
    },
    close() {
      closed = true;
      ws?.close();
    },
  };
}
