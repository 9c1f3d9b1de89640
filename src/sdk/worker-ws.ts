/**
 * The remote-worker protocol over one WebSocket (`/api/v1/ws`, messages `worker.poll`,
 * `worker.heartbeat`, `worker.complete`, `worker.fail`, `worker.leave`): the same contract as the
 * HTTP long-poll routes — leases, heartbeats whose answer carries cancellation, results guarded by
 * the lease token. The socket is opened on first use and re-opened after a drop; requests in flight
 * when it drops fail (the worker retries polls; a lost result is like a lost HTTP response: the
 * lease runs out and the task is retried by policy).
 */
import WebSocket from 'ws';
import type { HeartbeatAnswer, HeartbeatRequest, RemoteTask } from '../runtime/remote-tasks.js';
import { WeftApiError } from './client.js';

const STATUS: Record<string, number> = { invalid_input: 400, malformed_json: 400, unauthorized: 401, forbidden: 403, not_found: 404, invalid_state: 409, stale: 409, not_allowed: 409, payload_too_large: 413 };

export class WsWorkerTransport {
  private ws?: WebSocket;
  private opening?: Promise<WebSocket>;
  private seq = 0;
  private closed = false;
  private readonly pending = new Map<string, { resolve: (v: Record<string, unknown>) => void; reject: (e: Error) => void }>();

  constructor(private readonly baseUrl: string, private readonly workerId: string, private readonly headers: Record<string, string> = {}) {}

  private socket(): Promise<WebSocket> {
    if (this.closed) return Promise.reject(new Error('transport closed'));
    if (this.ws && this.ws.readyState === WebSocket.OPEN) return Promise.resolve(this.ws);
    this.opening ??= new Promise<WebSocket>((resolve, reject) => {
      const url = this.baseUrl.replace(/^http/, 'ws').replace(/\/+$/, '') + '/api/v1/ws';
      const ws = new WebSocket(url, { headers: this.headers });
      ws.once('open', () => { this.ws = ws; this.opening = undefined; resolve(ws); });
      ws.once('error', (err) => { this.opening = undefined; reject(err); });
      ws.on('message', (data) => {
        let msg: Record<string, unknown>;
        try { msg = JSON.parse(String(data)) as Record<string, unknown>; } catch { return; }
        const p = msg.requestId !== undefined ? this.pending.get(String(msg.requestId)) : undefined;
        if (!p) return;
        this.pending.delete(String(msg.requestId));
        if (msg.type === 'error') p.reject(new WeftApiError(STATUS[String(msg.error)] ?? 500, String(msg.error), String(msg.message), msg.details));
        else p.resolve(msg);
      });
      ws.on('close', () => {
        if (this.ws === ws) this.ws = undefined;
        for (const p of this.pending.values()) p.reject(new Error('worker socket closed'));
        this.pending.clear();
      });
    });
    return this.opening;
  }

  private async call(type: string, body: Record<string, unknown>, signal?: AbortSignal): Promise<Record<string, unknown>> {
    const ws = await this.socket();
    const requestId = `w${++this.seq}`;
    return new Promise((resolve, reject) => {
      this.pending.set(requestId, { resolve, reject });
      if (signal) {
        if (signal.aborted) { this.pending.delete(requestId); reject(new Error('aborted')); return; }
        signal.addEventListener('abort', () => { if (this.pending.delete(requestId)) reject(new Error('aborted')); }, { once: true });
      }
      ws.send(JSON.stringify({ type, requestId, workerId: this.workerId, ...body }));
    });
  }

  async poll(body: { activities: string[]; capacity?: number; max?: number; waitMs?: number; queues?: Array<string | null> }, signal?: AbortSignal): Promise<RemoteTask[]> {
    return (await this.call('worker.poll', body, signal)).tasks as RemoteTask[];
  }
  async heartbeat(tasks: HeartbeatRequest[]): Promise<HeartbeatAnswer[]> {
    return (await this.call('worker.heartbeat', { tasks })).tasks as HeartbeatAnswer[];
  }
  async complete(r: { instanceId: string; taskId: string; token: string; attempt: number; output?: unknown }): Promise<void> {
    await this.call('worker.complete', r);
  }
  async fail(r: { instanceId: string; taskId: string; token: string; attempt: number; error: { code: string; message: string; nonRetryable?: boolean; details?: unknown } }): Promise<void> {
    await this.call('worker.fail', r);
  }
  async leave(): Promise<void> {
    try { await this.call('worker.leave', {}); } finally { this.close(); }
  }
  close(): void {
    this.closed = true;
    this.ws?.close();
  }
}
