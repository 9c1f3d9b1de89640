/**
 * Claims and reassignments of human tasks. The store has no columns for them yet, so they live in
 * the server's memory (lost on restart: a claim is advisory, and reassignment only widens or
 * narrows who sees a task in the inbox; completion is still checked by the core).
 */
import type { HumanTaskRow } from '../runtime/api.js';
import { ApiError } from './errors.js';

interface DeskEntry {
  claimedBy?: string;
  claimedAt?: number;
  users?: string[];
  groups?: string[];
}

export interface InboxItem extends HumanTaskRow {
  claimedBy?: string;
  claimedAt?: number;
}

const k = (instanceId: string, taskId: string) => `${instanceId}\u0000${taskId}`;

export class HumanTaskDesk {
  private readonly entries = new Map<string, DeskEntry>();

  view(row: HumanTaskRow): InboxItem {
    const e = this.entries.get(k(row.instanceId, row.task.taskId));
    if (!e) return row;
    const task = { ...row.task, ...(e.users && { users: e.users }), ...(e.groups && { groups: e.groups }) };
    return { ...row, task, ...(e.claimedBy !== undefined && { claimedBy: e.claimedBy, claimedAt: e.claimedAt }) };
  }

  claim(instanceId: string, taskId: string, user: string, now: number): DeskEntry {
    const key = k(instanceId, taskId);
    const e = this.entries.get(key) ?? {};
    if (e.claimedBy !== undefined && e.claimedBy !== user) throw new ApiError('invalid_state', `task ${taskId} is claimed by ${e.claimedBy}`, { claimedBy: e.claimedBy });
    e.claimedBy = user;
    e.claimedAt = now;
    this.entries.set(key, e);
    return e;
  }

  /** Only the claimant may act on a claimed task. */
  checkActor(instanceId: string, taskId: string, user: string): void {
    const e = this.entries.get(k(instanceId, taskId));
    if (e?.claimedBy !== undefined && e.claimedBy !== user) throw new ApiError('invalid_state', `task ${taskId} is claimed by ${e.claimedBy}`, { claimedBy: e.claimedBy });
  }

  reassign(instanceId: string, taskId: string, to: { users?: string[]; groups?: string[] }): void {
    const key = k(instanceId, taskId);
    const e = this.entries.get(key) ?? {};
    if (to.users) e.users = to.users;
    if (to.groups) e.groups = to.groups;
    delete e.claimedBy;
    delete e.claimedAt;
    this.entries.set(key, e);
  }

  closed(instanceId: string, taskId: string): void {
    this.entries.delete(k(instanceId, taskId));
  }
}
