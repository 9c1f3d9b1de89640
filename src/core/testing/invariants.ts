/**
 * Token invariants of an instance state, for definitions where every step runs at most one token
 * at a time (block-structured: no parallel branches re-merging without a join, one foreach run…),
 * which is what `generators.ts` produces.
 *
 * - No duplication: active runs are keyed by their id, each run's step exists, and no step holds
 *   two active runs at once.
 * - Joins: at most one pending run per join; `arrived < needed <= expected`; the branches still
 *   alive inside the join's region (active runs there, parked tokens there) can still bring it to
 *   `needed` — otherwise a token was lost (not checked during a cancel, which drops tokens).
 * - Terminal instances hold nothing: no active runs, tasks, timers, parked tokens.
 * - Every task belongs to an active run (step/item), or is the current compensation.
 * - Every timer belongs to an active run (and a retry timer to its retrying task), or is the
 *   workflow timeout.
 * - Progress: a `running`/`waiting` instance always has something that can move it (a task, a
 *   timer, a wait, a human or manual task, a child); a compensating one has its compensation task.
 */
import assert from 'node:assert/strict';
import type { CompiledDefinition } from '../compiled.js';
import type { InstanceState } from '../types.js';
import { TERMINAL_STATUSES } from '../types.js';

export function checkInvariants(def: CompiledDefinition, s: InstanceState): void {
  const runs = Object.values(s.active);
  const byStep = new Map<string, number>();
  for (const [id, run] of Object.entries(s.active)) {
    assert.equal(run.id, id, 'run keyed by its id');
    assert.ok(def.steps.has(run.stepId), `run ${id} of unknown step ${run.stepId}`);
    byStep.set(run.stepId, (byStep.get(run.stepId) ?? 0) + 1);
  }
  for (const [stepId, n] of byStep) assert.equal(n, 1, `step "${stepId}" holds ${n} tokens at once (duplicated token)`);

  for (const run of runs) {
    if (!run.join) continue;
    const { arrived, needed, expected, from } = run.join;
    assert.equal(from.length, arrived);
    assert.ok(arrived < needed, `join ${run.stepId} has ${arrived} arrivals but should have fired at ${needed}`);
    assert.ok(needed <= expected, `join ${run.stepId} needs ${needed} of ${expected}`);
    assert.equal(run.status, 'pending');
    const region = def.steps.get(run.stepId)?.region ?? new Set<string>();
    const alive = runs.filter((r) => region.has(r.stepId)).length + s.parked.filter((p) => region.has(p.stepId) || p.stepId === run.stepId).length;
    // (A cancel drops every token without an `on: cancel` path, so cleanup paths may strand a join.)
    if (s.status !== 'failed' && !s.cancelRequested) {
      assert.ok(arrived + alive >= needed, `join ${run.stepId}: ${arrived} arrived, ${alive} branches alive, ${needed} needed — a token was lost`);
    }
  }

  if (TERMINAL_STATUSES.has(s.status)) {
    assert.deepEqual(s.active, {}, `${s.status} instance with active runs`);
    assert.deepEqual(s.tasks, {}, `${s.status} instance with tasks`);
    assert.deepEqual(s.timers, {}, `${s.status} instance with timers`);
    assert.deepEqual(s.parked, [], `${s.status} instance with parked tokens`);
    assert.ok(s.endedAt !== undefined, 's.endedAt !== undefined');
    return;
  }

  for (const t of Object.values(s.tasks)) {
    if (t.purpose === 'compensate') {
      assert.equal(s.status, 'compensating', `compensation task ${t.taskId} outside compensation`);
      assert.equal(s.compensating?.[0], t.runId, 'the compensation task is the current one');
      continue;
    }
    const run = s.active[t.runId];
    assert.ok(run, `task ${t.taskId} belongs to no active run`);
    if (t.purpose === 'step') {
      assert.equal(run.attempt, t.attempt);
      assert.equal(run.status, t.status, `run ${run.id} is ${run.status} but its task is ${t.status}`);
    } else {
      assert.ok(run.foreach, `item task ${t.taskId} of a run that is not a foreach`);
    }
  }
  for (const run of runs) {
    if (run.status === 'scheduled' || run.status === 'retrying') {
      assert.ok(Object.values(s.tasks).some((t) => t.runId === run.id), `run ${run.id} is ${run.status} without a task`);
    }
  }
  for (const [id, timer] of Object.entries(s.timers)) {
    if (timer.kind === 'workflow-timeout') {
      assert.equal(timer.runId, undefined);
      continue;
    }
    // A compensation's retry timer belongs to the run being compensated (no longer active).
    const compensation = timer.kind === 'retry' && s.tasks[timer.taskId!]?.purpose === 'compensate';
    if (compensation) assert.equal(s.compensating?.[0], timer.runId, `retry timer ${id} of a compensation that is not the current one`);
    else assert.ok(timer.runId && s.active[timer.runId], `timer ${id} belongs to no active run`);
    if (timer.kind === 'retry') assert.equal(s.tasks[timer.taskId!]?.status, 'retrying', `retry timer ${id} without a retrying task`);
  }

  if (s.status === 'running' || s.status === 'waiting') {
    const movable = Object.keys(s.tasks).length > 0
      || Object.values(s.timers).some((t) => t.kind !== 'workflow-timeout')
      || runs.some((r) => r.status === 'waiting_event' || r.status === 'waiting_human' || r.manualTaskId !== undefined || r.childId !== undefined || (r.foreach !== undefined && r.foreach.running > 0 && r.foreach.done < r.foreach.next));
    assert.ok(movable, `instance is ${s.status} with nothing that can move it: ${JSON.stringify(runs.map((r) => [r.id, r.status]))}`);
    assert.deepEqual(s.parked, [], 'parked tokens outside a pause');
  }
  if (s.status === 'compensating') {
    assert.equal(runs.length, 0, 'runs active while compensating');
    assert.ok(Object.values(s.tasks).some((t) => t.purpose === 'compensate'), 'compensating without a compensation task');
  }
}
