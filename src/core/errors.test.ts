/** Retries, backoff, error policies, compensation, workflow timeout (SPEC C2). */
import assert from 'node:assert/strict';
import { afterEach, describe, test } from 'node:test';
import { backoffDelay } from './backoff.js';
import { DEFAULT_RETRY } from './compiled.js';
import { Harness, T0, err, verifyAndReplayHarnesses, wf } from './testing/harness.js';

afterEach(verifyAndReplayHarnesses);

const one = (task: Record<string, unknown> = {}, extra: Record<string, unknown> = {}) => wf([
  { id: 's', type: 'start', next: 'a' },
  { id: 'a', type: 'task', activity: 'x', ...task, next: 'e' },
  { id: 'e', type: 'end' },
], extra);

describe('backoff', () => {
  const policy = { ...DEFAULT_RETRY, initialIntervalMs: 1000, backoffCoefficient: 2, maxIntervalMs: 5000, jitter: 0.2 };

  test('exponential, capped at the max interval', () => {
    const noJitter = { ...policy, jitter: 0 };
    assert.deepEqual([1, 2, 3, 4, 5].map((a) => backoffDelay(noJitter, a, 0.9)), [1000, 2000, 4000, 5000, 5000]);
  });

  test('jitter spreads ±jitter around the base from the random value', () => {
    assert.equal(backoffDelay(policy, 1, 0), 800);
    assert.equal(backoffDelay(policy, 1, 0.5), 1000);
    assert.equal(backoffDelay(policy, 1, 0.75), 1100);
    assert.equal(backoffDelay(policy, 4, 0.999), 5998);
  });
});

describe('retries', () => {
  const retry = { maxAttempts: 5, initialInterval: '1s', backoffCoefficient: 2, maxInterval: '5s', jitter: 0.2, nonRetryableErrors: ['fatal'] };

  test('exact retryAt from the random value; the retry timer schedules the next attempt', async () => {
    const h = new Harness(one({ retry }), { random: 0.75 });
    await h.start();
    const expected = [1100, 2200, 4400, 5500];
    for (let attempt = 1; attempt <= 4; attempt++) {
      const t = h.task('a');
      assert.equal(t.attempt, attempt);
      await h.fail('a', err('flaky'));
      const failed = h.events('ActivityFailed', h.last)[0];
      assert.equal(failed.retryAt, h.now + expected[attempt - 1]);
      assert.equal(h.s.tasks[t.taskId].status, 'retrying');
      assert.equal(h.run('a').status, 'retrying');
      assert.equal(h.s.steps.a.status, 'retrying');
      assert.equal(h.s.status, 'waiting');
      assert.deepEqual(h.run('a').error, err('flaky'));
      const id = h.timerId('retry');
      assert.equal(h.s.timers[id].dueAt, failed.retryAt);
      await h.fire(id);
      assert.deepEqual(h.types(), ['TimerFired', 'ActivityScheduled']);
      assert.equal(h.run('a').status, 'scheduled');
      assert.equal(h.run('a').attempt, attempt + 1);
    }
    await h.fail('a', err('flaky'));
    assert.equal(h.events('ActivityFailed', h.last)[0].retryAt, undefined);
    assert.equal(h.s.status, 'failed');
    assert.equal(h.s.error?.code, 'flaky');
  });

  test('default policy: three attempts', async () => {
    const h = new Harness(one());
    await h.start();
    await h.fail('a', err('e'));
    assert.equal(h.events('ActivityFailed', h.last)[0].retryAt, T0 + 1000);
    await h.fire(h.timerId('retry'));
    await h.fail('a', err('e'));
    assert.equal(h.events('ActivityFailed', h.last)[0].retryAt, h.now + 2000);
    await h.fire(h.timerId('retry'));
    await h.fail('a', err('e'));
    assert.equal(h.s.status, 'failed');
  });

  test('the workflow retry policy is the default; the step overrides fields of it', async () => {
    const h = new Harness(one({ retry: { initialInterval: '10s' } }, { retry: { maxAttempts: 2, jitter: 0 } }));
    await h.start();
    await h.fail('a', err('e'));
    assert.equal(h.events('ActivityFailed', h.last)[0].retryAt, T0 + 10_000);
    await h.fire(h.timerId('retry'));
    await h.fail('a', err('e'));
    assert.equal(h.s.status, 'failed');
  });

  test('maxAttempts: 1 means no retry', async () => {
    const h = new Harness(one({ retry: { maxAttempts: 1 } }));
    await h.start();
    await h.fail('a', err('e'));
    assert.equal(h.s.status, 'failed');
    assert.deepEqual(h.s.timers, {});
  });

  test('nonRetryableErrors and the nonRetryable flag skip the retry', async () => {
    const h = new Harness(one({ retry }));
    await h.start();
    await h.fail('a', err('fatal'));
    assert.equal(h.s.status, 'failed');
    const h2 = new Harness(one({ retry }));
    await h2.start();
    await h2.fail('a', err('other', { nonRetryable: true }));
    assert.equal(h2.s.status, 'failed');
    assert.equal(h2.s.error?.nonRetryable, true);
  });

  test('a stale attempt is rejected: old attempt, or the task while it waits to retry', async () => {
    const h = new Harness(one({ retry }));
    await h.start();
    const t = h.task('a');
    await h.fail('a', err('e'));
    await h.rejects({ type: 'CompleteActivity', taskId: t.taskId, attempt: 1, output: 1 }, 'stale');
    await h.rejects({ type: 'FailActivity', taskId: t.taskId, attempt: 1, error: err('e') }, 'stale');
    await h.fire(h.timerId('retry'));
    await h.rejects({ type: 'CompleteActivity', taskId: t.taskId, attempt: 1, output: 1 }, 'stale');
    await h.rejects({ type: 'CompleteActivity', taskId: t.taskId, attempt: 3, output: 1 }, 'stale');
    await h.rejects({ type: 'CompleteActivity', taskId: 'nope', attempt: 1, output: 1 }, 'stale');
    await h.send({ type: 'CompleteActivity', taskId: t.taskId, attempt: 2, output: 'ok' });
    assert.equal(h.s.status, 'completed');
    const done = h.events('StepCompleted').find((e) => e.stepId === 'a')!;
    assert.equal(done.attempt, 2);
    assert.equal(done.taskId, t.taskId);
  });

  test('a heartbeat timeout also takes on: timeout', async () => {
    const h = new Harness(wf([
      { id: 's', type: 'start', next: 'a' },
      { id: 'a', type: 'task', activity: 'x', heartbeatTimeout: '10s', retry: { maxAttempts: 1 }, next: 'e' },
      { id: 'e', type: 'end' },
      { id: 'slow', type: 'end', output: 'slow' },
    ], { transitions: [{ from: 'a', to: 'slow', on: 'timeout' }] }));
    await h.start();
    await h.fail('a', err('heartbeat_timeout'));
    assert.equal(h.s.output, 'slow');
  });

  test('a timeout reported by the runtime is retried, then takes on: timeout', async () => {
    const h = new Harness(wf([
      { id: 's', type: 'start', next: 'a' },
      { id: 'a', type: 'task', activity: 'x', timeout: '30s', retry: { maxAttempts: 2, jitter: 0 }, next: 'e' },
      { id: 'e', type: 'end' },
      { id: 'slow', type: 'end', output: 'slow' },
    ], { transitions: [{ from: 'a', to: 'slow', on: 'timeout' }] }));
    await h.start();
    await h.fail('a', err('timeout'));
    assert.equal(h.s.status, 'waiting');
    await h.fire(h.timerId('retry'));
    await h.fail('a', err('timeout'));
    assert.equal(h.s.output, 'slow');
  });
});

describe('error policies', () => {
  const withHandlers = (transitions: unknown[], task: Record<string, unknown> = {}) => wf([
    { id: 's', type: 'start', next: 'a' },
    { id: 'a', type: 'task', activity: 'x', retry: { maxAttempts: 1 }, ...task, next: 'e' },
    { id: 'e', type: 'end', output: 'normal' },
    { id: 'h1', type: 'end', output: '${"handled " & output.error.code}' },
    { id: 'h2', type: 'end', output: 'any error' },
  ], { transitions });

  test('on: error with a code filter takes the matching handler; the unfiltered one catches the rest', async () => {
    const def = withHandlers([
      { from: 'a', to: 'h1', on: 'error', error: ['card_declined', 'expired'] },
      { from: 'a', to: 'h2', on: 'error' },
    ]);
    const h = new Harness(def);
    await h.start();
    await h.fail('a', err('expired'));
    assert.equal(h.s.output, 'handled expired');
    const f = h.events('StepFailed')[0];
    assert.equal(f.handling, 'transition');
    assert.deepEqual(f.taken, ['a->h1']);
    const h2 = new Harness(def);
    await h2.start();
    await h2.fail('a', err('other'));
    assert.equal(h2.s.output, 'any error');
  });

  test('a filtered handler that does not match leaves the failure to the error action', async () => {
    const h = new Harness(withHandlers([{ from: 'a', to: 'h1', on: 'error', error: 'expired' }]), { validate: false });
    await h.start();
    await h.fail('a', err('other'));
    assert.equal(h.s.status, 'failed');
    assert.equal(h.s.error?.code, 'other');
  });

  test('on: error is taken only after the retries are used up', async () => {
    const h = new Harness(withHandlers([{ from: 'a', to: 'h2', on: 'error' }], { retry: { maxAttempts: 2 } }), { validate: false });
    await h.start();
    await h.fail('a', err('x'));
    assert.equal(h.s.status, 'waiting');
    await h.fire(h.timerId('retry'));
    await h.fail('a', err('x'));
    assert.equal(h.s.output, 'any error');
  });

  test('onError: continue moves on with {error} as output', async () => {
    const h = new Harness(wf([
      { id: 's', type: 'start', next: 'a' },
      { id: 'a', type: 'task', activity: 'x', retry: { maxAttempts: 1 }, onError: 'continue', next: 'b' },
      { id: 'b', type: 'task', activity: 'y', next: 'e' },
      { id: 'e', type: 'end' },
    ]));
    await h.start();
    await h.fail('a', err('oops'));
    const f = h.events('StepFailed')[0];
    assert.equal(f.handling, 'continue');
    assert.deepEqual(f.taken, ['a->b']);
    assert.deepEqual(h.task('b').input, { error: err('oops') });
    assert.equal(h.s.steps.a.status, 'failed');
    await h.complete('b');
    assert.equal(h.s.status, 'completed');
  });

  test('fail: the workflow fails and the other branches are cancelled (and remembered)', async () => {
    const h = new Harness(wf([
      { id: 's', type: 'start', next: 'p' },
      { id: 'p', type: 'parallel', next: ['a', 'b', 'w'] },
      { id: 'a', type: 'task', activity: 'x', retry: { maxAttempts: 1 }, next: 'j' },
      { id: 'b', type: 'task', activity: 'x', next: 'j' },
      { id: 'w', type: 'wait', event: 'go', timeout: '1h', next: 'j' },
      { id: 'j', type: 'join', next: 'e' },
      { id: 'e', type: 'end' },
    ], { timeout: '1d' }));
    await h.start();
    const tb = h.task('b');
    await h.fail('a', err('boom'));
    assert.equal(h.s.status, 'failed');
    assert.deepEqual(h.s.error, err('boom'));
    assert.deepEqual(h.events('StepCancelled', h.last).map((e) => [e.stepId, e.reason]).sort(), [['b', 'workflow_failed'], ['w', 'workflow_failed']]);
    assert.deepEqual(h.events('ActivityCancelled', h.last).map((e) => e.taskId), [tb.taskId]);
    assert.deepEqual(h.s.active, {});
    assert.deepEqual(h.s.tasks, {});
    assert.deepEqual(h.s.timers, {});
    assert.deepEqual(h.s.suspended?.map((p) => p.stepId).sort(), ['b', 'w']);
    assert.equal(h.s.failedRun?.stepId, 'a');
    await h.rejects({ type: 'CompleteActivity', taskId: tb.taskId, attempt: 1 }, 'stale');
  });

  test('errorPolicy at workflow level applies to steps without onError', async () => {
    const h = new Harness(one({ retry: { maxAttempts: 1 } }, { errorPolicy: 'continue' }));
    await h.start();
    await h.fail('a', err('x'));
    assert.equal(h.s.status, 'completed');
    assert.deepEqual(h.s.output, { error: err('x') });
  });
});

describe('compensation', () => {
  const saga = (extra: Record<string, unknown> = {}) => wf([
    { id: 's', type: 'start', next: 'p' },
    { id: 'p', type: 'parallel', next: ['a', 'b'] },
    { id: 'a', type: 'task', activity: 'reserve', compensate: { activity: 'unreserve', input: { id: '${output.id}' } }, next: 'j' },
    { id: 'b', type: 'task', activity: 'charge', compensate: { activity: 'refund' }, next: 'j' },
    { id: 'j', type: 'join', next: 'c' },
    { id: 'c', type: 'task', activity: 'log', next: 'd' },
    { id: 'd', type: 'task', activity: 'ship', retry: { maxAttempts: 1 }, onError: 'compensate', next: 'e' },
    { id: 'e', type: 'end' },
  ], extra);

  test('a failure compensates completed steps in reverse completion order', async () => {
    const h = new Harness(saga());
    await h.start();
    await h.complete('b', { charge: 9 });
    await h.complete('a', { id: 'r1' });
    await h.complete('c');
    assert.deepEqual(h.s.compensable.map((c) => c.stepId), ['b', 'a']);
    await h.fail('d', err('no_stock'));
    assert.equal(h.s.status, 'compensating');
    const started = h.events('CompensationStarted')[0];
    assert.deepEqual(started.runs.map((r) => r.split('#')[0]), ['a', 'b']);
    assert.match(started.reason, /no_stock/);
    // a first (completed last), with its input mapping over its own output.
    const ta = h.task('a');
    assert.equal(ta.purpose, 'compensate');
    assert.equal(ta.activity, 'unreserve');
    assert.deepEqual(ta.input, { id: 'r1' });
    await h.complete('a', 'undone');
    assert.equal(h.s.steps.a.status, 'compensated');
    assert.equal(h.s.status, 'compensating');
    const tb = h.task('b');
    assert.equal(tb.activity, 'refund');
    assert.deepEqual(tb.input, { charge: 9 });
    await h.complete('b');
    assert.equal(h.s.status, 'compensated');
    assert.deepEqual(h.events('StepCompensated').map((e) => e.stepId), ['a', 'b']);
    assert.deepEqual(h.s.compensable, []);
    assert.equal(h.s.compensating, undefined);
    assert.deepEqual(h.s.tasks, {});
  });

  test('a failing compensation fails the workflow with compensation_failed', async () => {
    const h = new Harness(saga());
    await h.start();
    await h.complete('a', { id: 'r1' });
    await h.complete('b');
    await h.complete('c');
    await h.fail('d', err('no_stock'));
    await h.fail('b', { ...err('refund_down'), nonRetryable: true });
    assert.equal(h.s.status, 'failed');
    assert.equal(h.s.error?.code, 'compensation_failed');
    assert.deepEqual(h.s.tasks, {});
  });

  test('a compensation that fails retryably is retried by its step\'s retry policy', async () => {
    const h = new Harness(saga());
    await h.start();
    await h.complete('a', { id: 'r1' });
    await h.complete('b');
    await h.complete('c');
    await h.fail('d', err('no_stock'));
    await h.fail('b', err('refund_down'));
    assert.equal(h.s.status, 'compensating');
    assert.equal(h.task('b').status, 'retrying');
    await h.fire(h.timerId('retry'));
    assert.equal(h.task('b').attempt, 2);
    await h.complete('b');
    assert.equal(h.events('StepCompensated').length, 1);
  });

  test('errorPolicy compensate: a failure while branches run cancels them, then compensates', async () => {
    const h = new Harness(saga({ errorPolicy: 'compensate' }));
    await h.start();
    await h.complete('a', { id: 'r1' });
    await h.fail('b', { code: 'declined', message: 'declined', nonRetryable: true });
    assert.equal(h.s.status, 'compensating');
    assert.deepEqual(h.events('CompensationStarted', h.last)[0].runs, ['a#3']);
    assert.equal(h.task('a').activity, 'unreserve');
    await h.complete('a');
    assert.equal(h.s.status, 'compensated');
  });

  test('the Compensate command on a failed instance; nothing to compensate ends at once', async () => {
    const h = new Harness(saga());
    await h.start();
    await h.complete('a', { id: 'r1' });
    await h.complete('b');
    await h.send({ type: 'Terminate' });
    await h.rejects({ type: 'Compensate' }, 'invalid_state');
    const h2 = new Harness(saga({ errorPolicy: 'fail' }));
    await h2.start();
    await h2.complete('b');
    await h2.fail('a', err('x', { nonRetryable: true }));
    assert.equal(h2.s.status, 'failed');
    await h2.send({ type: 'Compensate', reason: 'operator' });
    assert.equal(h2.s.status, 'compensating');
    await h2.complete('b');
    assert.equal(h2.s.status, 'compensated');
    const h3 = new Harness(saga());
    await h3.start();
    await h3.send({ type: 'Compensate' });
    assert.equal(h3.s.status, 'compensated');
    assert.deepEqual(h3.s.tasks, {});
    assert.deepEqual(h3.s.active, {});
    await h3.rejects({ type: 'Compensate' }, 'invalid_state');
  });

  test('commands that would move tokens are rejected while compensating', async () => {
    const h = new Harness(saga());
    await h.start();
    await h.complete('a', { id: 'r1' });
    await h.send({ type: 'Compensate' });
    await h.rejects({ type: 'Pause' }, 'invalid_state');
    await h.rejects({ type: 'Cancel' }, 'invalid_state');
    await h.rejects({ type: 'RetryFrom', stepId: 'a' }, 'invalid_state');
    await h.send({ type: 'Terminate' });
    assert.equal(h.s.status, 'terminated');
    assert.deepEqual(h.s.tasks, {});
  });
});

describe('manual intervention', () => {
  const def = () => wf([
    { id: 's', type: 'start', next: 'a' },
    { id: 'a', type: 'task', activity: 'x', retry: { maxAttempts: 1 }, onError: 'manual', next: 'b' },
    { id: 'b', type: 'task', activity: 'y', next: 'e' },
    { id: 'e', type: 'end' },
  ]);

  const failed = async () => {
    const h = new Harness(def());
    await h.start({ v: 1 });
    await h.fail('a', err('broken'));
    const f = h.events('StepFailed', h.last)[0];
    assert.equal(f.handling, 'manual');
    assert.deepEqual(f.manualTask?.actions, ['retry', 'skip', 'fail']);
    assert.equal(f.manualTask?.kind, 'manual');
    assert.equal(h.s.status, 'waiting');
    assert.equal(h.run('a').status, 'failed');
    return { h, taskId: f.manualTask!.taskId };
  };

  test('retry runs the step again with the same input', async () => {
    const { h, taskId } = await failed();
    await h.rejects({ type: 'CompleteHumanTask', taskId, action: 'approve' }, 'invalid_input');
    await h.send({ type: 'CompleteHumanTask', taskId, action: 'retry', by: 'op' });
    assert.deepEqual(h.task('a').input, { v: 1 });
    assert.equal(h.s.status, 'running');
    await h.complete('a', 'A');
    await h.complete('b');
    assert.equal(h.s.status, 'completed');
    await h.rejects({ type: 'CompleteHumanTask', taskId, action: 'retry' }, 'not_found');
  });

  test('skip continues with the data as the step output', async () => {
    const { h, taskId } = await failed();
    await h.send({ type: 'CompleteHumanTask', taskId, action: 'skip', data: { manual: true } });
    assert.equal(h.s.steps.a.status, 'skipped');
    assert.deepEqual(h.task('b').input, { manual: true });
  });

  test('fail fails the workflow with the step error', async () => {
    const { h, taskId } = await failed();
    await h.send({ type: 'CompleteHumanTask', taskId, action: 'fail' });
    assert.equal(h.s.status, 'failed');
    assert.equal(h.s.error?.code, 'broken');
    assert.deepEqual(h.s.active, {});
  });

  test('RetryStep also answers a manual intervention', async () => {
    const { h } = await failed();
    await h.send({ type: 'RetryStep', stepId: 'a' });
    assert.equal(h.task('a').attempt, 1);
    assert.equal(h.s.status, 'running');
  });
});

describe('workflow timeout', () => {
  test('fires: the instance fails with workflow_timeout and everything is cancelled', async () => {
    const h = new Harness(one({}, { timeout: '1h' }));
    await h.start();
    const id = h.timerId('workflow-timeout');
    assert.equal(h.s.timers[id].dueAt, T0 + 3_600_000);
    const t = h.task('a');
    await h.fire(id);
    assert.equal(h.s.status, 'failed');
    assert.equal(h.s.error?.code, 'workflow_timeout');
    assert.deepEqual(h.events('ActivityCancelled', h.last).map((e) => e.taskId), [t.taskId]);
    assert.deepEqual(h.s.tasks, {});
  });

  test('an absolute timeout', async () => {
    const h = new Harness(one({}, { timeout: { at: '2026-01-06T00:00:00Z' } }));
    await h.start();
    assert.equal(h.s.timers[h.timerId('workflow-timeout')].dueAt, Date.parse('2026-01-06T00:00:00Z'));
  });

  test('is cancelled when the instance completes', async () => {
    const h = new Harness(one({}, { timeout: '1h' }));
    await h.start();
    await h.complete('a');
    assert.deepEqual(h.s.timers, {});
  });

  test('fires even while paused', async () => {
    const h = new Harness(one({}, { timeout: '1h' }));
    await h.start();
    await h.send({ type: 'Pause' });
    await h.fire(h.timerId('workflow-timeout'));
    assert.equal(h.s.status, 'failed');
  });

  test('with errorPolicy compensate it compensates', async () => {
    const h = new Harness(wf([
      { id: 's', type: 'start', next: 'a' },
      { id: 'a', type: 'task', activity: 'x', compensate: { activity: 'undo' }, next: 'b' },
      { id: 'b', type: 'task', activity: 'x', next: 'e' },
      { id: 'e', type: 'end' },
    ], { timeout: '1h', errorPolicy: 'compensate' }));
    await h.start();
    await h.complete('a');
    await h.fire(h.timerId('workflow-timeout'));
    assert.equal(h.s.status, 'compensating');
    assert.equal(h.task('a').activity, 'undo');
    await h.complete('a');
    assert.equal(h.s.status, 'compensated');
  });
});
