/** SQLite rows ↔ store records. */
import type { TaskRow } from '../../core/effects.js';
import type { HumanTaskInfo, InstanceStatus, TimerInfo } from '../../core/types.js';
import { fromJsonColumn } from '../json.js';
import type { HumanTaskRecord, InstanceRecord, NodeRecord, StoredTask, TimerRow } from '../types.js';

export interface InstanceSqlRow {
  id: string;
  definition_id: string;
  definition_version: string;
  namespace: string | null;
  status: string;
  seq: number;
  parent_id: string | null;
  parent_run_id: string | null;
  correlation_id: string | null;
  labels: string | null;
  idempotency_key: string | null;
  created_at: number;
  updated_at: number;
  ended_at: number | null;
}

export function toInstance(r: InstanceSqlRow): InstanceRecord {
  const out: InstanceRecord = {
    id: r.id,
    definitionId: r.definition_id,
    definitionVersion: r.definition_version,
    status: r.status as InstanceStatus,
    seq: r.seq,
    createdAt: r.created_at,
    updatedAt: r.updated_at,
  };
  if (r.namespace !== null) out.namespace = r.namespace;
  if (r.parent_id !== null) out.parentId = r.parent_id;
  if (r.parent_run_id !== null) out.parentRunId = r.parent_run_id;
  if (r.correlation_id !== null) out.correlationId = r.correlation_id;
  if (r.labels !== null) out.labels = JSON.parse(r.labels);
  if (r.idempotency_key !== null) out.idempotencyKey = r.idempotency_key;
  if (r.ended_at !== null) out.endedAt = r.ended_at;
  return out;
}

export interface TaskSqlRow {
  instance_id: string;
  task_id: string;
  activity: string;
  queue: string | null;
  priority: number;
  attempt: number;
  body: string;
  owner: string | null;
  lease_token: string | null;
  lease_expires_at: number | null;
  claims: number;
  heartbeat: string | null;
  created_at: number;
}

/** The task row minus what has its own column (instance, task id, activity, queue, priority, attempt). */
export function taskBody(t: TaskRow): string {
  const { instanceId: _i, taskId: _t, activity: _a, queue: _q, priority: _p, attempt: _n, ...rest } = t;
  return JSON.stringify(rest);
}

export function toTask(r: TaskSqlRow): StoredTask {
  const rest = JSON.parse(r.body) as Omit<TaskRow, 'instanceId' | 'taskId' | 'activity' | 'queue' | 'priority' | 'attempt'>;
  const out: StoredTask = {
    ...rest, instanceId: r.instance_id, taskId: r.task_id, activity: r.activity, priority: r.priority, attempt: r.attempt,
    claims: r.claims, createdAt: r.created_at,
  };
  if (r.queue !== null) out.queue = r.queue;
  if (r.owner !== null && r.lease_token !== null && r.lease_expires_at !== null) {
    out.lease = { owner: r.owner, token: r.lease_token, expiresAt: r.lease_expires_at };
  }
  const hb = fromJsonColumn(r.heartbeat);
  if (hb !== undefined) out.heartbeatDetails = hb;
  return out;
}

export interface TimerSqlRow {
  instance_id: string;
  timer_id: string;
  due_at: number;
  body: string;
}

export function toTimer(r: TimerSqlRow): TimerRow {
  const info = JSON.parse(r.body) as Omit<TimerInfo, 'dueAt'>;
  return { ...info, dueAt: r.due_at, instanceId: r.instance_id, timerId: r.timer_id };
}

export function timerBody(timer: TimerInfo): string {
  const { dueAt: _due, ...rest } = timer;
  return JSON.stringify(rest);
}

export interface HumanSqlRow {
  instance_id: string;
  task_id: string;
  run_id: string;
  step_id: string;
  status: string;
  body: string;
  input: string | null;
  created_at: number;
  closed_at: number | null;
  claimed_by?: string | null;
  claimed_at?: number | null;
  assigned_users?: string | null;
  assigned_groups?: string | null;
}

export function toHumanTask(r: HumanSqlRow): HumanTaskRecord {
  const task = JSON.parse(r.body) as HumanTaskInfo;
  // A reassignment replaces the declared assignees.
  if (r.assigned_users != null) task.users = JSON.parse(r.assigned_users) as string[];
  if (r.assigned_groups != null) task.groups = JSON.parse(r.assigned_groups) as string[];
  const out: HumanTaskRecord = {
    instanceId: r.instance_id,
    runId: r.run_id,
    stepId: r.step_id,
    task,
    status: r.status as 'open' | 'closed',
    createdAt: r.created_at,
  };
  const input = fromJsonColumn(r.input);
  if (input !== undefined) out.input = input;
  if (r.closed_at !== null) out.closedAt = r.closed_at;
  if (r.claimed_by != null) { out.claimedBy = r.claimed_by; out.claimedAt = r.claimed_at ?? 0; }
  if (r.assigned_users != null || r.assigned_groups != null) out.reassigned = true;
  return out;
}

export type NodeSqlRow = { id: string; host: string; pid: number; capabilities: string; capacity: number; started_at: number; heartbeat_at: number; status: string; died_at: number | null };

/** Shared with the PostgreSQL store (same row shape). */
export function toNode(r: NodeSqlRow): NodeRecord {
  const out: NodeRecord = {
    id: r.id, host: r.host, pid: r.pid, capabilities: JSON.parse(r.capabilities) as string[], capacity: r.capacity,
    startedAt: r.started_at, heartbeatAt: r.heartbeat_at, status: r.status === 'dead' ? 'dead' : 'alive',
  };
  if (r.died_at !== null) out.diedAt = r.died_at;
  return out;
}
