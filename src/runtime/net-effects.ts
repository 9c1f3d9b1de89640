/**
 * Effects of several commands on one instance, netted in order: a task scheduled then removed in
 * the same flush is never written; a task removed then scheduled again is one upsert. The store
 * applies removals before inserts, so the net rows are enough. Maps are created on first use:
 * this runs once per instance per flush on the hot path.
 */
import type { Effects, TaskRow } from '../core/effects.js';
import type { HumanTaskInfo, TimerInfo } from '../core/types.js';
import type { RowEffects } from '../store/types.js';

type TaskChange = { row: TaskRow; removed?: undefined } | { row?: undefined; removed: true; cancelled: boolean };
type HumanOpen = { runId: string; stepId: string; task: HumanTaskInfo; input?: unknown };

export class NetEffects {
  private tasks?: Map<string, TaskChange>;
  private timers?: Map<string, TimerInfo | null>;
  private waits?: Map<string, { event: string; key?: unknown } | null>;
  private humans?: Map<string, { close: boolean; opens: HumanOpen[] }>;

  add(fx: Effects): void {
    if (fx.tasksToRemove.length > 0 || fx.tasksToSchedule.length > 0) {
      const tasks = (this.tasks ??= new Map());
      for (const t of fx.tasksToRemove) {
        const prev = tasks.get(t.taskId);
        tasks.set(t.taskId, { removed: true, cancelled: t.cancelled || (prev?.removed === true && prev.cancelled) });
      }
      for (const t of fx.tasksToSchedule) tasks.set(t.taskId, { row: t });
    }
    if (fx.timersToRemove.length > 0 || fx.timersToSet.length > 0) {
      const timers = (this.timers ??= new Map());
      for (const id of fx.timersToRemove) timers.set(id, null);
      for (const t of fx.timersToSet) timers.set(t.timerId, t.timer);
    }
    if (fx.waitsToRemove.length > 0 || fx.waitsToAdd.length > 0) {
      const waits = (this.waits ??= new Map());
      for (const r of fx.waitsToRemove) waits.set(r, null);
      for (const w of fx.waitsToAdd) waits.set(w.runId, w.key !== undefined ? { event: w.event, key: w.key } : { event: w.event });
    }
    if (fx.humanTasksToClose.length > 0 || fx.humanTasksToOpen.length > 0) {
      const humans = (this.humans ??= new Map());
      for (const r of fx.humanTasksToClose) humans.set(r, { close: true, opens: [] });
      for (const h of fx.humanTasksToOpen) {
        let e = humans.get(h.runId);
        if (!e) humans.set(h.runId, (e = { close: false, opens: [] }));
        e.opens.push(h);
      }
    }
  }

  rows(): RowEffects {
    const out: RowEffects = {};
    if (this.tasks) {
      for (const [taskId, c] of this.tasks) {
        if (c.row) (out.tasksToSchedule ??= []).push(c.row);
        else (out.tasksToRemove ??= []).push({ taskId, cancelled: c.cancelled });
      }
    }
    if (this.timers) {
      for (const [timerId, t] of this.timers) {
        if (t) (out.timersToSet ??= []).push({ timerId, timer: t });
        else (out.timersToRemove ??= []).push(timerId);
      }
    }
    if (this.waits) {
      for (const [runId, w] of this.waits) {
        if (w) (out.waitsToAdd ??= []).push({ runId, ...w });
        else (out.waitsToRemove ??= []).push(runId);
      }
    }
    if (this.humans) {
      for (const [runId, h] of this.humans) {
        if (h.close) (out.humanTasksToClose ??= []).push(runId);
        if (h.opens.length > 0) (out.humanTasksToOpen ??= []).push(...h.opens);
      }
    }
    return out;
  }

  /** Net task changes, removals first: `row` for a scheduled task, else a removal. */
  forEachTask(fn: (taskId: string, row: TaskRow | undefined, cancelled: boolean) => void): void {
    if (!this.tasks) return;
    for (const [taskId, c] of this.tasks) if (c.removed) fn(taskId, undefined, c.cancelled);
    for (const [taskId, c] of this.tasks) if (c.row) fn(taskId, c.row, false);
  }

  forEachTimerSet(fn: (dueAt: number) => void): void {
    if (this.timers) for (const t of this.timers.values()) if (t) fn(t.dueAt);
  }
}
