/**
 * `WeftClient`: a typed client over every REST resource of a Weft server (docs/api.md). Errors
 * come back as `WeftApiError` carrying the server's `{error, message, details}` and the status.
 * Uses the global `fetch` (Node 20+, browsers).
 */
import type { Definition } from '../model/schema.js';
import type { EngineEvent, InstanceState, InstanceStatus } from '../core/types.js';
import type { HumanTaskRow, InstanceSummary } from '../runtime/api.js';
import type { ScheduleInfo, ScheduleInput, ScheduleUpdate } from '../runtime/schedules.js';
import type { ScheduleOverlap, ScheduleRun } from '../store/types.js';
import type { HeartbeatAnswer, HeartbeatRequest, QueueInfo, RemoteTask, WorkerInfo } from '../runtime/remote-tasks.js';
import type { NodeInfo } from '../runtime/api.js';
import type { VerificationReport } from '../verify/verify.js';
import { watch, type WatchOptions, type Watcher } from './watch.js';

export class WeftApiError extends Error {
  constructor(readonly status: number, readonly code: string, message: string, readonly details?: unknown) {
    super(message);
    this.name = 'WeftApiError';
  }
}

export interface ClientOptions {
  /** Extra headers on every request (credentials, `x-weft-user`, `x-weft-namespace`). */
  headers?: Record<string, string>;
  /**
   * The namespace to work in (sent as `x-weft-namespace`, which the default authentication hook
   * reads; default `default`). Everything the client sees and does — definitions, instances, tasks,
   * events, workers, watches — is in that namespace.
   */
  namespace?: string;
  fetch?: typeof fetch;
  /** Per-request timeout, ms (default 60 s). */
  timeoutMs?: number;
}

export interface StartRequest {
  definitionId: string;
  version?: string;
  input?: unknown;
  instanceId?: string;
  labels?: Record<string, string>;
  correlationId?: string;
  vars?: Record<string, unknown>;
  idempotencyKey?: string;
}

export interface ListInstancesQuery {
  definitionId?: string;
  status?: InstanceStatus[];
  correlationId?: string;
  parentId?: string;
  labels?: Record<string, string>;
  createdAfter?: number;
  createdBefore?: number;
  limit?: number;
  cursor?: string;
}

export interface CommandResult {
  instanceId: string;
  status: InstanceStatus;
  events: EngineEvent[];
}

export interface DeployResult {
  id: string; version: string; created: boolean;
  /** The verifier's verdict (`skipped` when identical content was already deployed). */
  verdict?: 'sound' | 'unsound' | 'unknown' | 'skipped';
  /** Deployed although unsound (`force`). */
  forced?: boolean;
  warnings?: unknown[];
}
export interface DeployOptions {
  /** Deploy even when the verifier proves it unsound (otherwise 422 `unsound_definition` with `details.report`). */
  force?: boolean;
}
export interface DefinitionListItem { id: string; latest: string; versions: Array<{ version: string; createdAt: number }> }
export interface InboxItem extends HumanTaskRow { claimedBy?: string; claimedAt?: number }

export class WeftClient {
  readonly baseUrl: string;
  private readonly fetchFn: typeof fetch;

  private readonly options: ClientOptions;

  constructor(baseUrl: string, options: ClientOptions = {}) {
    this.options = { ...options, headers: clientHeaders(options) };
    this.baseUrl = baseUrl.replace(/\/+$/, '');
    this.fetchFn = options.fetch ?? globalThis.fetch.bind(globalThis);
  }

  /** A raw call: JSON in, JSON out, `WeftApiError` on any error status. */
  async request<T>(method: string, path: string, body?: unknown, headers: Record<string, string> = {}, signal?: AbortSignal): Promise<T> {
    const init: RequestInit = { method, headers: { ...this.options.headers, ...headers } };
    if (body !== undefined) {
      init.body = typeof body === 'string' ? body : JSON.stringify(body);
      (init.headers as Record<string, string>)['content-type'] ??= 'application/json';
    }
    const timeout = AbortSignal.timeout(this.options.timeoutMs ?? 60_000);
    init.signal = signal ? AbortSignal.any([signal, timeout]) : timeout;
    const res = await this.fetchFn(this.baseUrl + path, init);
    const text = await res.text();
    let data: unknown;
    try { data = text ? JSON.parse(text) : undefined; } catch { data = text; }
    if (!res.ok) {
      const e = (data ?? {}) as { error?: string; message?: string; details?: unknown };
      throw new WeftApiError(res.status, e.error ?? 'http_error', e.message ?? `${method} ${path}: HTTP ${res.status}`, e.details);
    }
    return data as T;
  }

  // -------------------------------------------------------------- health
  health(): Promise<{ status: string }> { return this.request('GET', '/healthz'); }
  ready(): Promise<{ status: string }> { return this.request('GET', '/readyz'); }
  openapi(): Promise<Record<string, unknown>> { return this.request('GET', '/api/v1/openapi.json'); }

  // -------------------------------------------------------------- definitions
  /** Deploys a definition object, or YAML/JSON text (`format` says which; default by content). */
  /** An unsound definition is refused (`WeftApiError` 422 `unsound_definition`, `details.report`) unless `options.force`. */
  deploy(definition: Definition | string, format?: 'yaml' | 'json', options: DeployOptions = {}): Promise<DeployResult> {
    const path = `/api/v1/definitions${options.force ? '?force=true' : ''}`;
    if (typeof definition !== 'string') return this.request('POST', path, definition);
    const yaml = format === 'yaml' || (format === undefined && !/^\s*[{[]/.test(definition));
    return this.request('POST', path, definition, { 'content-type': yaml ? 'application/yaml' : 'application/json' });
  }
  /** Rule issues, plus the soundness verdict and report when the definition passes the rules. */
  validate(definition: Definition | string, format?: 'yaml' | 'json'): Promise<{ valid: boolean; issues: unknown[]; verdict?: VerificationReport['verdict']; report?: VerificationReport }> {
    const text = typeof definition === 'string' ? definition : JSON.stringify(definition);
    const yaml = format === 'yaml' || (format === undefined && !/^\s*[{[]/.test(text));
    return this.request('POST', '/api/v1/definitions/validate', text, { 'content-type': yaml ? 'application/yaml' : 'application/json' });
  }
  /** The verifier's full report (soundness with shortest traces; properties, resources, time unless `soundnessOnly`). */
  verify(definition: Definition | string, options: { format?: 'yaml' | 'json'; soundnessOnly?: boolean } = {}): Promise<VerificationReport> {
    const text = typeof definition === 'string' ? definition : JSON.stringify(definition);
    const yaml = options.format === 'yaml' || (options.format === undefined && !/^\s*[{[]/.test(text));
    return this.request('POST', `/api/v1/definitions/verify${options.soundnessOnly ? '?soundnessOnly=true' : ''}`, text, { 'content-type': yaml ? 'application/yaml' : 'application/json' });
  }
  async listDefinitions(): Promise<DefinitionListItem[]> { return (await this.request<{ items: DefinitionListItem[] }>('GET', '/api/v1/definitions')).items; }
  getDefinition(id: string, version?: string): Promise<Definition> {
    return this.request('GET', version ? `/api/v1/definitions/${enc(id)}/versions/${enc(version)}` : `/api/v1/definitions/${enc(id)}`);
  }
  /** 204 when deleted; 409 `in_use` while any instance uses the version; 404 unknown. */
  deleteDefinition(id: string, version: string): Promise<void> { return this.request('DELETE', `/api/v1/definitions/${enc(id)}/versions/${enc(version)}`); }

  // -------------------------------------------------------------- instances
  async start(req: StartRequest): Promise<{ id: string }> {
    const { idempotencyKey, ...body } = req;
    return this.request('POST', '/api/v1/instances', body, idempotencyKey ? { 'idempotency-key': idempotencyKey } : {});
  }
  listInstances(q: ListInstancesQuery = {}): Promise<{ items: InstanceSummary[]; nextCursor?: string }> {
    const p = new URLSearchParams();
    for (const [k, v] of Object.entries(q)) {
      if (v === undefined) continue;
      if (k === 'status') for (const s of v as string[]) p.append('status', s);
      else if (k === 'labels') for (const [lk, lv] of Object.entries(v as Record<string, string>)) p.append('label', `${lk}=${lv}`);
      else p.set(k, String(v));
    }
    const qs = p.toString();
    return this.request('GET', `/api/v1/instances${qs ? `?${qs}` : ''}`);
  }
  /** Every instance matching the query, following cursors. */
  async *instances(q: ListInstancesQuery = {}): AsyncGenerator<InstanceSummary> {
    let cursor = q.cursor;
    for (;;) {
      const page = await this.listInstances({ ...q, ...(cursor !== undefined && { cursor }) });
      yield* page.items;
      if (!page.nextCursor) return;
      cursor = page.nextCursor;
    }
  }
  getInstance(id: string): Promise<InstanceState> { return this.request('GET', `/api/v1/instances/${enc(id)}`); }
  history(id: string, o: { fromSeq?: number; limit?: number } = {}): Promise<{ events: EngineEvent[]; nextSeq?: number }> {
    const p = new URLSearchParams();
    if (o.fromSeq !== undefined) p.set('fromSeq', String(o.fromSeq));
    if (o.limit !== undefined) p.set('limit', String(o.limit));
    const qs = p.toString();
    return this.request('GET', `/api/v1/instances/${enc(id)}/history${qs ? `?${qs}` : ''}`);
  }
  stateAt(id: string, seq: number): Promise<InstanceState> { return this.request('GET', `/api/v1/instances/${enc(id)}/state?seq=${seq}`); }
  pause(id: string, reason?: string): Promise<CommandResult> { return this.request('POST', `/api/v1/instances/${enc(id)}/pause`, reason ? { reason } : {}); }
  resume(id: string): Promise<CommandResult> { return this.request('POST', `/api/v1/instances/${enc(id)}/resume`, {}); }
  cancel(id: string, reason?: string): Promise<CommandResult> { return this.request('POST', `/api/v1/instances/${enc(id)}/cancel`, reason ? { reason } : {}); }
  terminate(id: string, reason?: string): Promise<CommandResult> { return this.request('POST', `/api/v1/instances/${enc(id)}/terminate`, reason ? { reason } : {}); }
  compensate(id: string, reason?: string): Promise<CommandResult> { return this.request('POST', `/api/v1/instances/${enc(id)}/compensate`, reason ? { reason } : {}); }
  skip(id: string, stepId: string, output?: unknown): Promise<CommandResult> {
    return this.request('POST', `/api/v1/instances/${enc(id)}/steps/${enc(stepId)}/skip`, output !== undefined ? { output } : {});
  }
  retryStep(id: string, stepId: string): Promise<CommandResult> { return this.request('POST', `/api/v1/instances/${enc(id)}/steps/${enc(stepId)}/retry`, {}); }
  retryFrom(id: string, stepId: string): Promise<CommandResult> { return this.request('POST', `/api/v1/instances/${enc(id)}/retry-from`, { stepId }); }
  updateVariables(id: string, vars: Record<string, unknown>): Promise<CommandResult> { return this.request('POST', `/api/v1/instances/${enc(id)}/variables`, { vars }); }
  signal(id: string, name: string, payload?: unknown): Promise<CommandResult> {
    return this.request('POST', `/api/v1/instances/${enc(id)}/signals`, payload !== undefined ? { name, payload } : { name });
  }
  /** Any client command as data. */
  command(id: string, command: { type: string; [k: string]: unknown }): Promise<CommandResult> { return this.request('POST', `/api/v1/instances/${enc(id)}/commands`, command); }

  // -------------------------------------------------------------- human tasks
  async inbox(q: { user?: string; group?: string; instanceId?: string; status?: 'open' | 'closed'; limit?: number } = {}): Promise<InboxItem[]> {
    const p = new URLSearchParams(Object.entries(q).filter(([, v]) => v !== undefined).map(([k, v]) => [k, String(v)]));
    const qs = p.toString();
    return (await this.request<{ items: InboxItem[] }>('GET', `/api/v1/human-tasks${qs ? `?${qs}` : ''}`)).items;
  }
  claimTask(instanceId: string, taskId: string, user?: string): Promise<InboxItem> { return this.request('POST', `${ht(instanceId, taskId)}/claim`, user ? { user } : {}); }
  completeTask(instanceId: string, taskId: string, action: string, data?: unknown): Promise<CommandResult> {
    return this.request('POST', `${ht(instanceId, taskId)}/complete`, data !== undefined ? { action, data } : { action });
  }
  rejectTask(instanceId: string, taskId: string, reason?: string): Promise<CommandResult> { return this.request('POST', `${ht(instanceId, taskId)}/reject`, reason ? { reason } : {}); }
  /** Drops the caller's claim. */
  releaseTask(instanceId: string, taskId: string): Promise<InboxItem> { return this.request('POST', `${ht(instanceId, taskId)}/release`, {}); }
  reassignTask(instanceId: string, taskId: string, to: { users?: string[]; groups?: string[] }): Promise<InboxItem> { return this.request('POST', `${ht(instanceId, taskId)}/reassign`, to); }

  // -------------------------------------------------------------- events
  publishEvent(name: string, key?: unknown, payload?: unknown): Promise<{ delivered: number; started: string[]; handled: Array<{ instanceId: string; action: string }> }> {
    return this.request('POST', '/api/v1/events', { name, ...(key !== undefined && { key }), ...(payload !== undefined && { payload }) });
  }

  // -------------------------------------------------------------- workers and queues
  /** The engine nodes sharing the server's database, alive first, with the leader marked. */
  async nodes(): Promise<NodeInfo[]> { return (await this.request<{ items: NodeInfo[] }>('GET', '/api/v1/nodes')).items; }
  async workers(): Promise<WorkerInfo[]> { return (await this.request<{ items: WorkerInfo[] }>('GET', '/api/v1/workers')).items; }
  async queues(): Promise<QueueInfo[]> { return (await this.request<{ items: QueueInfo[] }>('GET', '/api/v1/queues')).items; }
  async pollTasks(workerId: string, body: { activities: string[]; capacity?: number; max?: number; waitMs?: number; queues?: Array<string | null> }, signal?: AbortSignal): Promise<RemoteTask[]> {
    return (await this.request<{ tasks: RemoteTask[] }>('POST', `/api/v1/workers/${enc(workerId)}/poll`, body, {}, signal)).tasks;
  }
  async heartbeatTasks(workerId: string, tasks: HeartbeatRequest[]): Promise<HeartbeatAnswer[]> {
    return (await this.request<{ tasks: HeartbeatAnswer[] }>('POST', `/api/v1/workers/${enc(workerId)}/heartbeat`, { tasks })).tasks;
  }
  completeTaskRun(workerId: string, r: { instanceId: string; taskId: string; token: string; attempt: number; output?: unknown }): Promise<{ ok: boolean }> {
    return this.request('POST', `/api/v1/workers/${enc(workerId)}/complete`, r);
  }
  failTaskRun(workerId: string, r: { instanceId: string; taskId: string; token: string; attempt: number; error: { code: string; message: string; nonRetryable?: boolean; details?: unknown } }): Promise<{ ok: boolean }> {
    return this.request('POST', `/api/v1/workers/${enc(workerId)}/fail`, r);
  }
  leave(workerId: string): Promise<void> { return this.request('DELETE', `/api/v1/workers/${enc(workerId)}`); }

  // -------------------------------------------------------------- schedules (docs/schedules.md)
  async listSchedules(q: { definitionId?: string } = {}): Promise<ScheduleInfo[]> {
    return (await this.request<{ items: ScheduleInfo[] }>('GET', `/api/v1/schedules${q.definitionId ? `?definitionId=${enc(q.definitionId)}` : ''}`)).items;
  }
  /** 400 names the bad field (cron, timezone, overlap, …); 409 `already_exists`; 422 `unknown_definition`. */
  createSchedule(s: ScheduleInput): Promise<ScheduleInfo> { return this.request('POST', '/api/v1/schedules', s); }
  getSchedule(id: string): Promise<ScheduleInfo> { return this.request('GET', `/api/v1/schedules/${enc(id)}`); }
  /** Given fields replace the schedule's; `null` clears an optional one. */
  updateSchedule(id: string, patch: ScheduleUpdate): Promise<ScheduleInfo> { return this.request('PATCH', `/api/v1/schedules/${enc(id)}`, patch); }
  /** 409 `invalid_state` when already paused. */
  pauseSchedule(id: string): Promise<ScheduleInfo> { return this.request('POST', `/api/v1/schedules/${enc(id)}/pause`, {}); }
  /** Resumes from now (missed times are not caught up); 409 `invalid_state` when not paused. */
  resumeSchedule(id: string): Promise<ScheduleInfo> { return this.request('POST', `/api/v1/schedules/${enc(id)}/resume`, {}); }
  deleteSchedule(id: string): Promise<void> { return this.request('DELETE', `/api/v1/schedules/${enc(id)}`); }
  /** Starts a run now (overlap `allow` unless given): the run's outcome and instance id. */
  triggerSchedule(id: string, options: { overlap?: ScheduleOverlap } = {}): Promise<ScheduleRun> {
    return this.request('POST', `/api/v1/schedules/${enc(id)}/trigger`, options.overlap ? { overlap: options.overlap } : {});
  }

  // -------------------------------------------------------------- live
  /** Subscribes over the WebSocket; reconnects and resumes from the last seq seen. */
  watch(target: { instanceId: string } | { definitionId: string } | { all: true }, options: WatchOptions = {}): Watcher {
    return watch(this.baseUrl, target, { ...options, headers: { ...this.options.headers, ...options.headers } });
  }
}

/** The headers a client sends: `headers`, plus `x-weft-namespace` from `namespace`. */
export function clientHeaders(o: Pick<ClientOptions, 'headers' | 'namespace'>): Record<string, string> {
  return { ...(o.namespace !== undefined && { 'x-weft-namespace': o.namespace }), ...o.headers };
}

function enc(s: string): string { return encodeURIComponent(s); }
function ht(instanceId: string, taskId: string): string { return `/api/v1/human-tasks/${enc(instanceId)}/${enc(taskId)}`; }
