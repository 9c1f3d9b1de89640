/**
 * The browser's live connection to `/api/v1/ws` (docs/api.md, "WebSocket"). One socket per page,
 * shared by every subscription; it reconnects with exponential backoff and resumes each
 * subscription exactly where it stopped, so callbacks see every event once, in seq order.
 *
 * API (each subscribe returns its unsubscribe):
 * - `subscribeInstance(id, {onSnapshot, onEvents, onError})`: the instance's state, then its event
 *   batches. Resumes with `afterSeq` (the last seq delivered): no second snapshot.
 * - `subscribeAll({onSnapshot, onEvents, onInstance, onError})` and
 *   `subscribeDefinition(definitionId, {…})`: the instance list, then batches of any instance in
 *   scope. `onInstance` gets a small summary (id, status, seq, …) on the snapshot and after each
 *   batch — enough to keep a list up to date. Resumes with the cursor `{since, seqs}`.
 * - `onConnectionChange(fn)`: `connecting` | `open` | `reconnecting` | `closed` (also drawn in the
 *   top bar's `#connection`). `reconnect()` drops the socket and reconnects (tests, a "retry" link).
 */
import type { EngineEvent, InstanceState, InstanceStatus } from '../../src/core/types.js';
import type { InstanceSummary } from '../../src/runtime/api.js';

export type ConnectionState = 'connecting' | 'open' | 'reconnecting' | 'closed';

export interface ServerError { error: string; message: string; details?: unknown }

export interface InstanceHandlers {
  /** The state when the subscription starts (not called again on reconnect: the events resume). */
  onSnapshot(state: InstanceState): void;
  /** New events, contiguous with what was delivered before, with the status after them. */
  onEvents(events: EngineEvent[], status: InstanceStatus): void;
  onError?(error: ServerError): void;
}

/** What `onInstance` gets: the list's fields that events can change. */
export interface InstanceUpdate {
  id: string;
  status: InstanceStatus;
  seq: number;
  /** Present on the snapshot (the server's summary). */
  summary?: InstanceSummary;
  /** `at` of the last event of the batch (ms). */
  updatedAt?: number;
}

export interface ManyHandlers {
  onSnapshot?(instances: InstanceSummary[]): void;
  onEvents?(instanceId: string, events: EngineEvent[], status: InstanceStatus): void;
  onInstance?(update: InstanceUpdate): void;
  onError?(error: ServerError): void;
}

export type Unsubscribe = () => void;

interface Subscription {
  id: string;
  /** The subscribe message without resume information. */
  target: { instanceId: string } | { definitionId: string } | { all: true };
  /** Builds the subscribe message for (re)connecting. */
  message(): Record<string, unknown>;
  handle(msg: Record<string, unknown>): void;
  error(err: ServerError): void;
}

const MIN_DELAY_MS = 250;
const MAX_DELAY_MS = 8000;

let socket: WebSocket | undefined;
let state: ConnectionState = 'closed';
let delay = MIN_DELAY_MS;
let retryTimer: ReturnType<typeof setTimeout> | undefined;
let everOpened = false;
let nextSub = 0;
const subs = new Map<string, Subscription>();
const listeners = new Set<(s: ConnectionState) => void>();

function url(): string {
  return `${location.protocol === 'https:' ? 'wss' : 'ws'}://${location.host}/api/v1/ws`;
}

function setState(next: ConnectionState): void {
  state = next;
  const el = document.getElementById('connection');
  if (el) {
    const text: Record<ConnectionState, string> = { connecting: 'Connecting…', open: 'Live', reconnecting: 'Reconnecting…', closed: '' };
    el.textContent = text[next];
    el.dataset.state = next;
  }
  for (const l of listeners) l(next);
}

function send(msg: Record<string, unknown>): void {
  if (socket?.readyState === WebSocket.OPEN) socket.send(JSON.stringify(msg));
}

function connect(): void {
  retryTimer = undefined;
  if (subs.size === 0) return;
  setState(everOpened ? 'reconnecting' : 'connecting');
  const ws = new WebSocket(url());
  socket = ws;
  let heard = false;
  ws.onopen = () => {
    everOpened = true;
    setState('open');
    for (const sub of subs.values()) ws.send(JSON.stringify(sub.message()));
  };
  ws.onmessage = (ev) => {
    // The backoff resets only once the server has answered: one that accepts and drops at once is not hammered.
    if (!heard) { heard = true; delay = MIN_DELAY_MS; }
    let msg: Record<string, unknown>;
    try { msg = JSON.parse(String(ev.data)) as Record<string, unknown>; } catch { return; }
    const sub = typeof msg.sub === 'string' ? subs.get(msg.sub) : undefined;
    if (msg.type === 'error') {
      const err = { error: String(msg.error), message: String(msg.message), details: msg.details };
      if (sub) sub.error(err);
      else console.warn('weft live:', err.message);
      return;
    }
    sub?.handle(msg);
  };
  ws.onclose = () => {
    if (socket !== ws) return; // replaced by reconnect()
    socket = undefined;
    if (subs.size === 0) { setState('closed'); return; }
    setState('reconnecting');
    const wait = delay;
    delay = Math.min(delay * 2, MAX_DELAY_MS);
    retryTimer = setTimeout(connect, wait);
  };
}

function add(sub: Subscription): Unsubscribe {
  subs.set(sub.id, sub);
  if (socket?.readyState === WebSocket.OPEN) socket.send(JSON.stringify(sub.message()));
  else if (!socket && retryTimer === undefined) connect();
  return () => {
    if (!subs.delete(sub.id)) return;
    send({ type: 'unsubscribe', id: sub.id });
    if (subs.size === 0) {
      if (retryTimer !== undefined) { clearTimeout(retryTimer); retryTimer = undefined; }
      const ws = socket;
      socket = undefined;
      ws?.close();
      setState('closed');
    }
  };
}

export function subscribeInstance(instanceId: string, h: InstanceHandlers): Unsubscribe {
  const id = `i${++nextSub}`;
  /** Last seq delivered; -1 until the snapshot. */
  let lastSeq = -1;
  const resubscribe = () => { send({ type: 'unsubscribe', id }); send(sub.message()); };
  const sub: Subscription = {
    id,
    target: { instanceId },
    message: () => ({ type: 'subscribe', id, instanceId, ...(lastSeq >= 0 && { afterSeq: lastSeq }) }),
    handle(msg) {
      if (msg.type === 'snapshot') {
        if (lastSeq >= 0) return; // a resume never needs a second one
        const s = msg.state as InstanceState;
        lastSeq = s.seq;
        h.onSnapshot(s);
      } else if (msg.type === 'events') {
        const events = (msg.events as EngineEvent[]).filter((e) => e.seq > lastSeq);
        if (events.length === 0 || lastSeq < 0) return;
        // The server promises contiguous seqs; if one were ever missing, ask again from what we have.
        if (events[0]!.seq !== lastSeq + 1) { resubscribe(); return; }
        lastSeq = events[events.length - 1]!.seq;
        h.onEvents(events, msg.status as InstanceStatus);
      }
    },
    error: (err) => h.onError?.(err),
  };
  return add(sub);
}

function subscribeMany(target: { definitionId: string } | { all: true }, h: ManyHandlers): Unsubscribe {
  const id = `m${++nextSub}`;
  let cursor: { since: number; seqs: Record<string, number> } | undefined;
  const advance = (at: unknown) => { if (cursor && typeof at === 'number' && at > cursor.since) cursor.since = at; };
  const sub: Subscription = {
    id,
    target,
    message: () => ({ type: 'subscribe', id, ...target, ...(cursor && { resume: { since: cursor.since, seqs: { ...cursor.seqs } } }) }),
    handle(msg) {
      if (msg.type === 'snapshot') {
        if (cursor) return;
        const list = (msg.instances as InstanceSummary[] | undefined) ?? [];
        cursor = { since: typeof msg.at === 'number' ? msg.at : 0, seqs: {} };
        for (const i of list) cursor.seqs[i.id] = i.seq ?? 0;
        h.onSnapshot?.(list);
        for (const i of list) h.onInstance?.({ id: i.id, status: i.status, seq: i.seq, summary: i, updatedAt: i.updatedAt });
      } else if (msg.type === 'resumed') {
        advance(msg.at);
      } else if (msg.type === 'events' && cursor) {
        const instanceId = msg.instanceId as string;
        const events = (msg.events as EngineEvent[]).filter((e) => e.seq > (cursor!.seqs[instanceId] ?? 0));
        advance(msg.at);
        if (events.length === 0) return;
        const last = events[events.length - 1]!;
        cursor.seqs[instanceId] = last.seq;
        const status = msg.status as InstanceStatus;
        h.onEvents?.(instanceId, events, status);
        h.onInstance?.({ id: instanceId, status, seq: last.seq, updatedAt: last.at });
      }
    },
    error: (err) => h.onError?.(err),
  };
  return add(sub);
}

/** Every instance of the caller's namespace. */
export function subscribeAll(h: ManyHandlers): Unsubscribe {
  return subscribeMany({ all: true }, h);
}

/** Every instance of one definition. */
export function subscribeDefinition(definitionId: string, h: ManyHandlers): Unsubscribe {
  return subscribeMany({ definitionId }, h);
}

export function onConnectionChange(fn: (s: ConnectionState) => void): Unsubscribe {
  listeners.add(fn);
  return () => listeners.delete(fn);
}

export function connectionState(): ConnectionState {
  return state;
}

/** Drops the socket and reconnects at once; subscriptions resume where they were. */
export function reconnect(): void {
  if (retryTimer !== undefined) { clearTimeout(retryTimer); retryTimer = undefined; }
  const ws = socket;
  socket = undefined;
  ws?.close();
  delay = MIN_DELAY_MS;
  connect();
}
