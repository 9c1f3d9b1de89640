/**
 * `Worker`: runs activity handlers in any process, against a Weft server (docs/workers.md). It
 * long-polls for tasks of its activities up to its capacity, runs each with the same
 * `ActivityContext` as in-process handlers, heartbeats every running task (renewing its lease; a
 * `cancel` in the answer aborts `ctx.signal`), and reports the result with the lease token. A
 * result the server refuses as `stale` (the lease was lost and the task retried elsewhere) is
 * dropped.
 */
import { randomUUID } from 'node:crypto';
import { hostname } from 'node:os';
import type { ActivityContext, ActivityHandler } from '../runtime/activity.js';
import { toErrorInfo } from '../runtime/activity.js';
import type { RemoteTask } from '../runtime/remote-tasks.js';
import type { HeartbeatAnswer, HeartbeatRequest } from '../runtime/remote-tasks.js';
import { WeftApiError, WeftClient, clientHeaders, type ClientOptions } from './client.js';
import { WsWorkerTransport } from './worker-ws.js';

/** How a worker talks to the server: the same calls over HTTP long-poll or one WebSocket. */
interface WorkerTransport {
  poll(body: { activities: string[]; capacity?: number; max?: number; waitMs?: number; queues?: Array<string | null> }, signal?: AbortSignal): Promise<RemoteTask[]>;
  heartbeat(tasks: HeartbeatRequest[]): Promise<HeartbeatAnswer[]>;
  complete(r: { instanceId: string; taskId: string; token: string; attempt: number; output?: unknown }): Promise<unknown>;
  fail(r: { instanceId: string; taskId: string; token: string; attempt: number; error: { code: string; message: string; nonRetryable?: boolean; details?: unknown } }): Promise<unknown>;
  leave(): Promise<unknown>;
}

export interface WorkerOptions extends ClientOptions {
  /** Server URL, e.g. http://127.0.0.1:8080. */
  server: string;
  activities: Record<string, ActivityHandler> | Map<string, ActivityHandler>;
  /** Most tasks at once (default 10). */
  capacity?: number;
  /** Default `<hostname>-<pid>-<random>`. */
  workerId?: string;
  queues?: Array<string | null>;
  /** How long one poll waits for work, ms (default 20 s). */
  pollWaitMs?: number;
  /** Heartbeat interval, ms (default: a third of each task's lease, at most 10 s). */
  heartbeatMs?: number;
  log?: (level: 'debug' | 'info' | 'warn' | 'error', message: string, fields?: Record<string, unknown>) => void;
  /** `http` (long-poll, default) or `ws` (one WebSocket for polls, heartbeats and results; same contract). */
  transport?: 'http' | 'ws';
}

interface RunningTask {
  task: RemoteTask;
  controller: AbortController;
  details?: unknown;
  detailsDirty: boolean;
  done: boolean;
}

export class Worker {
  readonly id: string;
  readonly client: WeftClient;
  private readonly handlers: Map<string, ActivityHandler>;
  private readonly capacity: number;
  private readonly running = new Map<string, RunningTask>();
  private readonly log: NonNullable<WorkerOptions['log']>;
  private stopped = true;
  private pollAbort?: AbortController;
  private loop?: Promise<void>;
  private beater?: NodeJS.Timeout;
  private wakeLoop?: () => void;
  private readonly reports = new Set<Promise<void>>();
  private readonly transport: WorkerTransport;
  /** Tasks finished (completed or failed and accepted). */
  completed = 0;

  constructor(private readonly o: WorkerOptions) {
    this.id = o.workerId ?? `${hostname()}-${process.pid}-${randomUUID().slice(0, 8)}`;
    this.client = new WeftClient(o.server, o);
    this.handlers = o.activities instanceof Map ? new Map(o.activities) : new Map(Object.entries(o.activities));
    this.capacity = o.capacity ?? 10;
    this.log = o.log ?? (() => undefined);
    if (o.transport === 'ws') {
      this.transport = new WsWorkerTransport(o.server, this.id, clientHeaders(o));
    } else {
      const c = this.client;
      this.transport = {
        poll: (body, signal) => c.pollTasks(this.id, body, signal),
        heartbeat: (tasks) => c.heartbeatTasks(this.id, tasks),
        complete: (r) => c.completeTaskRun(this.id, r),
        fail: (r) => c.failTaskRun(this.id, r),
        leave: () => c.leave(this.id),
      };
    }
  }

  get activities(): string[] { return [...this.handlers.keys()].sort(); }
  get active(): number { return this.running.size; }

  start(): this {
    if (!this.stopped) return this;
    this.stopped = false;
    this.loop = this.pollLoop();
    const every = this.o.heartbeatMs ?? 1000;
    this.beater = setInterval(() => void this.heartbeat(), every);
    this.beater.unref();
    return this;
  }

  /** Stops polling; with `drain` (default) waits for running tasks to finish and report. */
  async stop(options: { drain?: boolean } = {}): Promise<void> {
    this.stopped = true;
    this.pollAbort?.abort();
    this.wakeLoop?.();
    await this.loop?.catch(() => undefined);
    if (options.drain === false) for (const r of this.running.values()) r.controller.abort(new Error('worker stopping'));
    while (this.running.size > 0 || this.reports.size > 0) await Promise.race([...this.reports, new Promise((r) => setTimeout(r, 20))]);
    if (this.beater) clearInterval(this.beater);
    await this.transport.leave().catch(() => undefined);
  }

  private async pollLoop(): Promise<void> {
    let backoff = 100;
    while (!this.stopped) {
      const free = this.capacity - this.running.size;
      if (free <= 0) {
        await new Promise<void>((r) => { this.wakeLoop = r; });
        continue;
      }
      this.pollAbort = new AbortController();
      try {
        const tasks = await this.transport.poll({
          activities: this.activities, capacity: this.capacity, max: free, waitMs: this.o.pollWaitMs ?? 20_000,
          ...(this.o.queues && { queues: this.o.queues }),
        }, this.pollAbort.signal);
        backoff = 100;
        for (const t of tasks) this.run(t);
      } catch (err) {
        if (this.stopped) break;
        this.log('warn', 'polling failed; retrying', { error: String(err) });
        await new Promise((r) => setTimeout(r, backoff));
        backoff = Math.min(backoff * 2, 5000);
      }
    }
  }

  private run(task: RemoteTask): void {
    const handler = this.handlers.get(task.activity);
    const r: RunningTask = { task, controller: new AbortController(), detailsDirty: false, done: false };
    const k = `${task.instanceId}\u0000${task.taskId}`;
    this.running.set(k, r);
    const ctx: ActivityContext = {
      instanceId: task.instanceId, stepId: task.stepId, runId: task.runId, taskId: task.taskId, attempt: task.attempt, activity: task.activity,
      signal: r.controller.signal,
      heartbeat: (details?: unknown) => { if (details !== undefined) { r.details = details; r.detailsDirty = true; } },
      log: (message, fields) => this.log('info', message, { ...fields, instanceId: task.instanceId, taskId: task.taskId }),
      ...(task.lastHeartbeat !== undefined && { lastHeartbeat: task.lastHeartbeat }),
    };
    const finish = (report: () => Promise<unknown>) => {
      if (r.done) return;
      r.done = true;
      this.running.delete(k);
      this.wakeLoop?.();
      if (r.controller.signal.aborted) return; // cancelled or lease lost: nothing to report
      const p = report().then(() => { this.completed++; }, (err) => {
        if (err instanceof WeftApiError && (err.code === 'stale' || err.status === 404 || err.code === 'invalid_state')) this.log('info', 'result refused (task no longer ours)', { taskId: task.taskId, error: err.message });
        else this.log('warn', 'reporting a result failed', { taskId: task.taskId, error: String(err) });
      }).finally(() => this.reports.delete(p));
      this.reports.add(p);
    };
    const ok = (output: unknown) => finish(() => this.transport.complete({ instanceId: task.instanceId, taskId: task.taskId, token: task.token, attempt: task.attempt, output }));
    const fail = (err: unknown) => finish(() => this.transport.fail({ instanceId: task.instanceId, taskId: task.taskId, token: task.token, attempt: task.attempt, error: stripUndefined(toErrorInfo(err)) }));
    if (!handler) { fail(new Error(`worker ${this.id} has no handler for "${task.activity}"`)); return; }
    try {
      Promise.resolve(handler(task.input, ctx)).then(ok, fail);
    } catch (err) {
      fail(err);
    }
  }

  private async heartbeat(): Promise<void> {
    if (this.running.size === 0) return;
    const list = [...this.running.values()];
    try {
      const answers = await this.transport.heartbeat(list.map((r) => ({
        instanceId: r.task.instanceId, taskId: r.task.taskId, token: r.task.token, ...(r.detailsDirty && { details: r.details }),
      })));
      for (const r of list) r.detailsDirty = false;
      for (const a of answers) {
        if (!a.cancel) continue;
        const r = this.running.get(`${a.instanceId}\u0000${a.taskId}`);
        if (r) {
          this.log('info', `task ${a.reason ?? 'cancelled'}; aborting`, { taskId: a.taskId });
          r.controller.abort(new Error(`activity ${a.reason ?? 'cancelled'}`));
        }
      }
    } catch (err) {
      this.log('warn', 'heartbeat failed', { error: String(err) });
    }
  }
}

function stripUndefined<T extends object>(o: T): T {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as T;
}
