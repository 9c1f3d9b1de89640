/**
 * A stand-in `ActivityContext` for unit tests of activities: records log lines and heartbeats,
 * and exposes an AbortController to simulate cancellation.
 */
import assert from 'node:assert/strict';
import { ActivityFailure, type ActivityContext } from '../runtime/activity.js';

export interface FakeContext extends ActivityContext {
  logs: Array<{ message: string; fields?: Record<string, unknown> }>;
  heartbeats: unknown[];
  controller: AbortController;
}

export function fakeContext(overrides: Partial<ActivityContext> = {}): FakeContext {
  const controller = new AbortController();
  const logs: FakeContext['logs'] = [];
  const heartbeats: unknown[] = [];
  return {
    instanceId: 'test-instance',
    stepId: 'test-step',
    runId: 'test-step#1',
    taskId: 'test-step#1',
    attempt: 1,
    activity: 'test',
    signal: controller.signal,
    heartbeat: (details?: unknown) => void heartbeats.push(details),
    log: (message, fields) => void logs.push(fields === undefined ? { message } : { message, fields }),
    ...overrides,
    logs,
    heartbeats,
    controller,
  };
}

/** Awaits `p` and returns the ActivityFailure it rejects with (fails the test otherwise). */
export async function failure(p: unknown): Promise<ActivityFailure> {
  try {
    await p;
  } catch (err) {
    assert.ok(err instanceof ActivityFailure, `expected an ActivityFailure, got ${String(err)}`);
    return err;
  }
  assert.fail('expected a failure');
}
