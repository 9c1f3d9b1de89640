/** Control commands, their preconditions, and the rejections when they do not hold (SPEC C2). */
import assert from 'node:assert/strict';
import { afterEach, describe, test } from 'node:test';
import { execute } from './engine.js';
import { CommandRejected } from './errors.js';
import { Harness, T0, err, verifyAndReplayHarnesses, wf } from './testing/harness.js';

afterEach(verifyAndReplayHarnesses);

const chain = (extra: Record<string, unknown> = {}) => wf([
  { id: 's', type: 'start', next: 'a' },
  { id: 'a', type: 'task', activity: 'x', next: 'b' },
  { id: 'b', type: 'task', activity: 'y', skippable: true, next: 'e' },
  { id: 'e', type: 'end' },
], extra);

describe('start', () => {
  test('input validated against the input schema → invalid_input', async () => {
    const h = new Harness(chain({ input: { type: 'object', properties: { n: { type: 'integer' } }, required: ['n'] } }));
    const r = await h.rejects({ type: 'StartWorkflow', input: { n: 'x' } }, 'invalid_input');
    assert.match(r.message, /\/n must be integer/);
    assert.equal(h.state, null);
    await h.start({ n: 1 });
    await h.rejects({ type: 'StartWorkflow', input: { n: 1 } }, 'invalid_state');
  });

  test('too-large start input → payload_too_large', async () => {
    const h = new Harness(chain(), { limits: { maxPayloadBytes: 100 } });
    await h.rejects({ type: 'StartWorkflow', input: { s: 'x'.repeat(200) } }, 'payload_too_large');
    await h.start({ s: 'small' });
  });

  test('variables: defaults, overrides, declared types checked', async () => {
    const def = chain({ variables: { n: { type: 'integer', default: 1 }, tags: { type: 'array', default: [] }, any: {} } });
    const h = new Harness(def);
    await h.rejects({ type: 'StartWorkflow', input: {}, vars: { n: 1.5 } }, 'invalid_input');
    await h.rejects({ type: 'StartWorkflow', input: {}, vars: { tags: {} } }, 'invalid_input');
    await h.send({ type: 'StartWorkflow', input: {}, vars: { n: 2, any: { x: 1 } }, env: { region: 'eu' }, correlationId: 'c-1', labels: { team: 'a' } });
    assert.deepEqual(h.s.vars, { n: 2, tags: [], any: { x: 1 } });
    assert.deepEqual(h.s.env, { region: 'eu' });
    assert.equal(h.s.correlationId, 'c-1');
    assert.deepEqual(h.s.labels, { team: 'a' });
  });

  test('commands for an instance that does not exist, or sent to the wrong one', async () => {
    const h = new Harness(chain());
    await h.rejects({ type: 'Pause' }, 'not_found');
    await h.start();
    await h.rejects({ type: 'Pause', instanceId: 'other' }, 'invalid_input');
  });

  test('an output that does not match the output schema fails the instance', async () => {
    const h = new Harness(chain({ output: { type: 'object', required: ['ok'] } }));
    await h.start();
    await h.complete('a');
    await h.complete('b', { nope: 1 });
    assert.equal(h.s.status, 'failed');
    assert.equal(h.s.error?.code, 'output_invalid');
  });
});

describe('pause and resume', () => {
  test('an in-flight activity completes while paused; the next step is parked until resume', async () => {
    const h = new Harness(chain());
    await h.start();
    await h.send({ type: 'Pause', reason: 'maintenance', by: 'op' });
    assert.equal(h.s.status, 'paused');
    await h.rejects({ type: 'Pause' }, 'invalid_state');
    await h.complete('a', 'A');
    assert.deepEqual(h.types(), ['StepCompleted', 'TokenParked']);
    assert.deepEqual(h.s.parked, [{ stepId: 'b', via: 'a->b' }]);
    assert.deepEqual(h.s.tasks, {});
    assert.equal(h.s.status, 'paused');
    await h.send({ type: 'Resume', by: 'op' });
    assert.equal(h.s.status, 'running');
    assert.deepEqual(h.s.parked, []);
    assert.equal(h.task('b').input, 'A');
    await h.rejects({ type: 'Resume' }, 'invalid_state');
  });

  test('timers due while paused are deferred and fire on resume', async () => {
    const h = new Harness(wf([
      { id: 's', type: 'start', next: 't' },
      { id: 't', type: 'timer', delay: '5m', next: 'a' },
      { id: 'a', type: 'task', activity: 'x', next: 'e' },
      { id: 'e', type: 'end' },
    ]));
    await h.start();
    await h.send({ type: 'Pause' });
    const id = h.timerId('timer');
    await h.fire(id);
    assert.deepEqual(h.types(), ['TimerDeferred']);
    assert.equal(h.s.timers[id].deferred, true);
    assert.equal(h.run('t').status, 'waiting_timer');
    // A second delivery of the same due timer changes nothing.
    const again = await h.send({ type: 'FireTimer', timerId: id });
    assert.deepEqual(again, []);
    await h.send({ type: 'Resume' });
    assert.deepEqual(h.types(), ['WorkflowResumed', 'TimerFired', 'StepCompleted', 'StepStarted']);
    assert.equal(h.tasksOf('a').length, 1);
  });

  test('a retry timer due while paused reschedules the attempt on resume', async () => {
    const h = new Harness(chain());
    await h.start();
    await h.fail('a', err('e'));
    await h.send({ type: 'Pause' });
    await h.fire(h.timerId('retry'));
    assert.equal(h.task('a').status, 'retrying');
    await h.send({ type: 'Resume' });
    assert.equal(h.task('a').status, 'scheduled');
    assert.equal(h.task('a').attempt, 2);
  });

  test('events and human answers are accepted while paused; what follows is parked', async () => {
    const h = new Harness(wf([
      { id: 's', type: 'start', next: 'p' },
      { id: 'p', type: 'parallel', next: ['w', 'h'] },
      { id: 'w', type: 'wait', event: 'go', next: 'j' },
      { id: 'h', type: 'human', next: 'j' },
      { id: 'j', type: 'join', next: 'a' },
      { id: 'a', type: 'task', activity: 'x', next: 'e' },
      { id: 'e', type: 'end' },
    ]));
    await h.start();
    assert.equal(h.s.status, 'waiting');
    await h.send({ type: 'Pause' });
    await h.send({ type: 'Signal', name: 'go', payload: 1 });
    await h.send({ type: 'CompleteHumanTask', taskId: h.run('h').id, action: 'approve' });
    assert.deepEqual(h.s.parked.map((p) => p.stepId), ['j', 'j']);
    assert.deepEqual(h.s.active, {});
    await h.send({ type: 'Resume' });
    assert.equal(h.tasksOf('a').length, 1);
    assert.equal(h.s.steps.j.status, 'completed');
  });

  test('a foreach starts no new items while paused and fills up on resume', async () => {
    const h = new Harness(wf([
      { id: 's', type: 'start', next: 'f' },
      { id: 'f', type: 'foreach', items: 'input', activity: 'x', concurrency: 2, next: 'e' },
      { id: 'e', type: 'end' },
    ]));
    await h.start([1, 2, 3, 4]);
    await h.send({ type: 'Pause' });
    await h.complete('f#2[0]', 1);
    await h.complete('f#2[1]', 2);
    assert.deepEqual(h.s.tasks, {});
    await h.send({ type: 'Resume' });
    assert.deepEqual(Object.keys(h.s.tasks).sort(), ['f#2[2]', 'f#2[3]']);
    await h.complete('f#2[2]', 3);
    await h.complete('f#2[3]', 4);
    assert.deepEqual(h.s.output, [1, 2, 3, 4]);
  });

  test('pause is refused on a finished instance', async () => {
    const h = new Harness(wf([{ id: 's', type: 'start', next: 'e' }, { id: 'e', type: 'end' }]));
    await h.start();
    await h.rejects({ type: 'Pause' }, 'invalid_state');
    await h.rejects({ type: 'Resume' }, 'invalid_state');
  });
});

describe('cancel', () => {
  test('running activities and timers are cancelled; the instance ends cancelled', async () => {
    const h = new Harness(wf([
      { id: 's', type: 'start', next: 'p' },
      { id: 'p', type: 'parallel', next: ['a', 't'] },
      { id: 'a', type: 'task', activity: 'x', next: 'j' },
      { id: 't', type: 'timer', delay: '1h', next: 'j' },
      { id: 'j', type: 'join', next: 'e' },
      { id: 'e', type: 'end' },
    ], { timeout: '1d' }));
    await h.start();
    const ta = h.task('a');
    await h.send({ type: 'Cancel', reason: 'user asked', by: 'ann' });
    assert.equal(h.s.status, 'cancelled');
    assert.deepEqual(h.events('ActivityCancelled', h.last).map((e) => e.taskId), [ta.taskId]);
    assert.deepEqual(h.s.tasks, {});
    assert.deepEqual(h.s.timers, {});
    assert.deepEqual(h.s.active, {});
    assert.equal(h.events('WorkflowCancelled')[0].by, 'ann');
    await h.rejects({ type: 'CompleteActivity', taskId: ta.taskId, attempt: 1 }, 'stale');
    await h.rejects({ type: 'Cancel' }, 'invalid_state');
  });

  test('on: cancel runs a cleanup path, then the instance ends cancelled', async () => {
    const h = new Harness(wf([
      { id: 's', type: 'start', next: 'a' },
      { id: 'a', type: 'task', activity: 'x', next: 'e' },
      { id: 'cleanup', type: 'task', activity: 'cleanup', next: 'e2' },
      { id: 'e', type: 'end' },
      { id: 'e2', type: 'end' },
    ], { timeout: '1d', transitions: [{ from: 'a', to: 'cleanup', on: 'cancel' }] }));
    await h.start();
    const ta = h.task('a');
    await h.send({ type: 'Cancel' });
    assert.equal(h.s.status, 'running');
    assert.equal(h.s.cancelRequested, true);
    assert.deepEqual(h.events('ActivityCancelled', h.last).map((e) => e.taskId), [ta.taskId]);
    assert.deepEqual(h.events('StepCancelled', h.last)[0].taken, ['a->cleanup']);
    await h.rejects({ type: 'Cancel' }, 'invalid_state');
    await h.complete('cleanup');
    assert.equal(h.s.status, 'cancelled');
    assert.deepEqual(h.s.timers, {}, 'the workflow timeout is cancelled too');
  });

  test('a cleanup path that stops at a join whose other branch was cancelled ends cancelled', async () => {
    const h = new Harness(wf([
      { id: 's', type: 'start', next: 'p' },
      { id: 'p', type: 'parallel', next: ['a', 'b'] },
      { id: 'a', type: 'task', activity: 'x', next: 'j' },
      { id: 'b', type: 'task', activity: 'x', next: 'j' },
      { id: 'j', type: 'join', next: 'e' },
      { id: 'e', type: 'end' },
    ], { transitions: [{ from: 'a', to: 'j', on: 'cancel' }] }));
    await h.start();
    await h.send({ type: 'Cancel' });
    assert.equal(h.s.status, 'cancelled');
    assert.deepEqual(h.s.active, {});
  });

  test('cancel while paused', async () => {
    const h = new Harness(chain());
    await h.start();
    await h.send({ type: 'Pause' });
    await h.send({ type: 'Cancel' });
    assert.equal(h.s.status, 'cancelled');
  });

  test('cancel of a completed instance → invalid_state', async () => {
    const h = new Harness(wf([{ id: 's', type: 'start', next: 'e' }, { id: 'e', type: 'end' }]));
    await h.start();
    await h.rejects({ type: 'Cancel' }, 'invalid_state');
  });
});

describe('terminate', () => {
  test('ends at once, cancelling everything; not twice', async () => {
    const h = new Harness(wf([
      { id: 's', type: 'start', next: 'a' },
      { id: 'a', type: 'task', activity: 'x', next: 'e' },
      { id: 'cleanup', type: 'task', activity: 'cleanup', next: 'e' },
      { id: 'e', type: 'end' },
    ], { timeout: '1h', transitions: [{ from: 'a', to: 'cleanup', on: 'cancel' }] }));
    await h.start();
    await h.send({ type: 'Terminate', reason: 'stop' });
    assert.equal(h.s.status, 'terminated');
    assert.deepEqual(h.events('StepCancelled', h.last)[0].taken, [], 'no on: cancel path when terminating');
    assert.deepEqual(h.s.tasks, {});
    assert.deepEqual(h.s.timers, {});
    await h.rejects({ type: 'Terminate' }, 'invalid_state');
    await h.rejects({ type: 'Signal', name: 'x' }, 'invalid_state');
    await h.rejects({ type: 'UpdateVariables', vars: { a: 1 } }, 'invalid_state');
  });

  test('a failed instance cannot be terminated', async () => {
    const h = new Harness(chain());
    await h.start();
    await h.fail('a', err('x', { nonRetryable: true }));
    await h.rejects({ type: 'Terminate' }, 'invalid_state');
  });

  test('subworkflow children are terminated with the parent', async () => {
    const h = new Harness(wf([
      { id: 's', type: 'start', next: 'c' },
      { id: 'c', type: 'subworkflow', workflow: 'child', next: 'e' },
      { id: 'e', type: 'end' },
    ]));
    await h.start();
    await h.send({ type: 'Terminate' });
    const e = h.events('StepCancelled', h.last)[0];
    assert.equal(e.reason, 'terminated');
    const child = h.events('ChildCancelRequested', h.last)[0];
    assert.equal(child.childId, 'i-1/c#2');
    assert.equal(child.terminate, true);
  });
});

describe('skip', () => {
  test('only skippable steps; output given becomes the step output', async () => {
    const h = new Harness(chain());
    await h.start();
    await h.rejects({ type: 'SkipStep', stepId: 'a' }, 'not_allowed');
    await h.rejects({ type: 'SkipStep', stepId: 'b' }, 'invalid_state');
    await h.rejects({ type: 'SkipStep', stepId: 'zz' }, 'not_found');
    await h.complete('a');
    const tb = h.task('b');
    await h.send({ type: 'SkipStep', stepId: 'b', output: { skipped: 1 }, by: 'op' });
    assert.equal(h.s.status, 'completed');
    assert.deepEqual(h.s.output, { skipped: 1 });
    assert.equal(h.s.steps.b.status, 'skipped');
    assert.deepEqual(h.events('ActivityCancelled', h.last).map((e) => e.taskId), [tb.taskId]);
    await h.rejects({ type: 'CompleteActivity', taskId: tb.taskId, attempt: 1 }, 'stale');
  });

  test('skipping a waiting step removes its timeout; routing sees the skip output', async () => {
    const h = new Harness(wf([
      { id: 's', type: 'start', next: 'w' },
      { id: 'w', type: 'wait', event: 'go', timeout: '1h', skippable: true, next: 'd' },
      { id: 'd', type: 'decision' },
      { id: 'y', type: 'end', output: 'yes' },
      { id: 'n', type: 'end', output: 'no' },
    ], { transitions: [{ from: 'd', to: 'y', when: 'steps.w.output.ok' }, { from: 'd', to: 'n', default: true }] }));
    await h.start();
    await h.send({ type: 'SkipStep', stepId: 'w', output: { ok: true } });
    assert.equal(h.s.output, 'yes');
    assert.deepEqual(h.s.timers, {});
  });

  test('a skippable step that failed the instance can be skipped: the instance reopens', async () => {
    const h = new Harness(chain());
    await h.start();
    await h.complete('a');
    await h.fail('b', err('x', { nonRetryable: true }));
    assert.equal(h.s.status, 'failed');
    await h.send({ type: 'SkipStep', stepId: 'b', output: 'manual' });
    assert.equal(h.s.status, 'completed');
    assert.equal(h.s.output, 'manual');
  });
});

describe('retry a failed step', () => {
  test('after the workflow failed: the step runs again and the other branches are restored', async () => {
    const h = new Harness(wf([
      { id: 's', type: 'start', next: 'p' },
      { id: 'p', type: 'parallel', next: ['a', 'b'] },
      { id: 'a', type: 'task', activity: 'x', retry: { maxAttempts: 1 }, next: 'j' },
      { id: 'b', type: 'task', activity: 'y', next: 'j' },
      { id: 'j', type: 'join', next: 'e' },
      { id: 'e', type: 'end' },
    ]));
    await h.start({ v: 1 });
    await h.fail('a', err('boom'));
    assert.equal(h.s.status, 'failed');
    await h.rejects({ type: 'RetryStep', stepId: 'b' }, 'invalid_state');
    await h.rejects({ type: 'RetryStep', stepId: 'nope' }, 'not_found');
    await h.send({ type: 'RetryStep', stepId: 'a', by: 'op' });
    assert.equal(h.s.status, 'running');
    assert.equal(h.s.error, undefined);
    assert.deepEqual(h.task('a').input, { v: 1 });
    assert.equal(h.tasksOf('b').length, 1, 'the cancelled branch b is restored');
    assert.deepEqual(h.task('b').input, { v: 1 }, 'with the input it had');
    await h.complete('a');
    await h.complete('b');
    assert.equal(h.s.status, 'completed');
    await h.rejects({ type: 'RetryStep', stepId: 'a' }, 'invalid_state');
  });

  test('branches that already reached the join are not lost', async () => {
    const h = new Harness(wf([
      { id: 's', type: 'start', next: 'p' },
      { id: 'p', type: 'parallel', next: ['a', 'b', 'c'] },
      { id: 'a', type: 'task', activity: 'x', next: 'j' },
      { id: 'b', type: 'task', activity: 'x', next: 'j' },
      { id: 'c', type: 'task', activity: 'x', retry: { maxAttempts: 1 }, next: 'j' },
      { id: 'j', type: 'join', next: 'e' },
      { id: 'e', type: 'end' },
    ]));
    await h.start();
    await h.complete('a');
    await h.complete('b');
    await h.fail('c', err('boom'));
    await h.send({ type: 'RetryStep', stepId: 'c' });
    await h.complete('c');
    assert.equal(h.s.status, 'completed');
  });

  test('inclusive: the join still waits for the branches taken, not all of them', async () => {
    const h = new Harness(wf([
      { id: 's', type: 'start', next: 'i' },
      { id: 'i', type: 'inclusive' },
      { id: 'a', type: 'task', activity: 'x', next: 'j' },
      { id: 'b', type: 'task', activity: 'x', retry: { maxAttempts: 1 }, next: 'j' },
      { id: 'c', type: 'task', activity: 'x', next: 'j' },
      { id: 'j', type: 'join', next: 'e' },
      { id: 'e', type: 'end' },
    ], { transitions: [{ from: 'i', to: 'a', when: 'true' }, { from: 'i', to: 'b', when: 'true' }, { from: 'i', to: 'c', default: true }] }));
    await h.start();
    await h.complete('a');
    await h.fail('b', err('boom'));
    await h.send({ type: 'RetryStep', stepId: 'b' });
    await h.complete('b');
    assert.equal(h.s.status, 'completed');
  });
});

describe('retry from a step (reset)', () => {
  test('re-runs from the step with the input it had; outputs before it are kept', async () => {
    const h = new Harness(chain());
    await h.start({ v: 1 });
    await h.complete('a', { a: 1 });
    await h.fail('b', err('x', { nonRetryable: true }));
    assert.equal(h.s.status, 'failed');
    await h.send({ type: 'RetryFrom', stepId: 'a', by: 'op' });
    assert.equal(h.s.status, 'running');
    assert.deepEqual(h.task('a').input, { v: 1 }, 'the step gets the output of the step before it, not its own old output');
    assert.equal(h.run('a').via, 'reset:a');
    await h.complete('a', { a: 2 });
    assert.deepEqual(h.task('b').input, { a: 2 });
  });

  test('while running: cancels the current work first', async () => {
    const h = new Harness(chain());
    await h.start({ v: 1 });
    await h.complete('a', { a: 1 });
    const tb = h.task('b');
    await h.send({ type: 'RetryFrom', stepId: 'b' });
    assert.ok(h.events('ActivityCancelled', h.last).some((e) => e.taskId === tb.taskId), 'h.events(\'ActivityCancelled\', h.last).some((e) => e.taskId === tb.taskId)');
    assert.deepEqual(h.task('b').input, { a: 1 });
    await h.rejects({ type: 'CompleteActivity', taskId: tb.taskId, attempt: 1 }, 'stale');
  });

  test('not from inside a parallel block or its join (the join could never fire): not_allowed', async () => {
    const h = new Harness(wf([
      { id: 's', type: 'start', next: 'p' },
      { id: 'p', type: 'parallel', next: ['a', 'b'] },
      { id: 'a', type: 'task', activity: 'x', next: 'j' },
      { id: 'b', type: 'task', activity: 'x', next: 'j' },
      { id: 'j', type: 'join', next: 'c' },
      { id: 'c', type: 'task', activity: 'x', next: 'e' },
      { id: 'e', type: 'end' },
    ]));
    await h.start();
    await h.rejects({ type: 'RetryFrom', stepId: 'a' }, 'not_allowed');
    await h.rejects({ type: 'RetryFrom', stepId: 'j' }, 'not_allowed');
    await h.send({ type: 'RetryFrom', stepId: 'p' });
    assert.equal(Object.keys(h.s.tasks).length, 2);
    await h.settle();
    assert.equal(h.s.status, 'completed');
  });

  test('preconditions', async () => {
    const h = new Harness(chain());
    await h.start();
    await h.rejects({ type: 'RetryFrom', stepId: 'zz' }, 'not_found');
    await h.complete('a');
    await h.complete('b');
    await h.rejects({ type: 'RetryFrom', stepId: 'a' }, 'invalid_state');
  });
});

describe('signals, variables, duplicates, payloads', () => {
  test('update variables: merged, declared types checked', async () => {
    const h = new Harness(chain({ variables: { n: { type: 'number', default: 0 }, name: { type: 'string' } } }));
    await h.start();
    await h.send({ type: 'UpdateVariables', vars: { n: 5, extra: [1] }, by: 'op' });
    assert.deepEqual(h.s.vars, { n: 5, extra: [1] });
    await h.rejects({ type: 'UpdateVariables', vars: { n: 'five' } }, 'invalid_input');
    await h.rejects({ type: 'UpdateVariables', vars: { name: 1 } }, 'invalid_input');
    await h.rejects({ type: 'UpdateVariables', vars: [1] as unknown as Record<string, unknown> }, 'invalid_input');
    await h.send({ type: 'UpdateVariables', vars: { name: null } });
  });

  test('update variables: too large → payload_too_large', async () => {
    const h = new Harness(chain(), { limits: { maxPayloadBytes: 64 } });
    await h.start();
    await h.rejects({ type: 'UpdateVariables', vars: { s: 'x'.repeat(100) } }, 'payload_too_large');
  });

  test('a duplicate CompleteActivity is stale and changes nothing', async () => {
    const h = new Harness(chain());
    await h.start();
    const t = h.task('a');
    await h.complete('a', 1);
    await h.rejects({ type: 'CompleteActivity', taskId: t.taskId, attempt: 1, output: 1 }, 'stale');
    await h.rejects({ type: 'FailActivity', taskId: t.taskId, attempt: 1, error: err('e') }, 'stale');
  });

  test('a too-large activity output fails the step with payload_too_large (not retried)', async () => {
    const h = new Harness(chain(), { limits: { maxPayloadBytes: 100 } });
    await h.start();
    await h.complete('a', 'x'.repeat(200));
    assert.equal(h.s.status, 'failed');
    assert.equal(h.s.error?.code, 'payload_too_large');
    assert.deepEqual(h.s.timers, {});
  });

  test('a too-large task input fails the step', async () => {
    const h = new Harness(wf([
      { id: 's', type: 'start', next: 'a' },
      { id: 'a', type: 'task', activity: 'x', input: { big: '${$pad("", 500, "x")}' }, next: 'e' },
      { id: 'e', type: 'end' },
    ]), { limits: { maxPayloadBytes: 100 } });
    await h.start();
    assert.equal(h.s.status, 'failed');
    assert.equal(h.s.error?.code, 'payload_too_large');
    assert.deepEqual(h.s.tasks, {});
  });

  test('a too-large event payload or form data is rejected', async () => {
    const h = new Harness(wf([
      { id: 's', type: 'start', next: 'p' },
      { id: 'p', type: 'parallel', next: ['w', 'h'] },
      { id: 'w', type: 'wait', event: 'go', next: 'j' },
      { id: 'h', type: 'human', next: 'j' },
      { id: 'j', type: 'join', next: 'e' },
      { id: 'e', type: 'end' },
    ]), { limits: { maxPayloadBytes: 50 } });
    await h.start();
    await h.rejects({ type: 'Signal', name: 'go', payload: 'x'.repeat(100) }, 'payload_too_large');
    await h.rejects({ type: 'CompleteHumanTask', taskId: h.run('h').id, action: 'approve', data: { s: 'x'.repeat(100) } }, 'payload_too_large');
  });

  test('a rejected command leaves a state it was executed against untouched', async () => {
    const h = new Harness(chain());
    await h.start();
    const state = structuredClone(h.s);
    await assert.rejects(execute(h.def, state, { type: 'SkipStep', instanceId: 'i-1', stepId: 'a' }, { now: T0, random: 0 }), (e: unknown) => e instanceof CommandRejected && e.code === 'not_allowed');
    assert.deepStrictEqual(state, h.s);
  });
});

describe('ending while paused', () => {
  const def = () => chain({ timeout: '1h' });

  test('terminate while a token is parked leaves nothing behind', async () => {
    const h = new Harness(def());
    await h.start();
    await h.send({ type: 'Pause' });
    await h.complete('a');
    assert.equal(h.s.parked.length, 1);
    await h.send({ type: 'Terminate' });
    assert.equal(h.s.status, 'terminated');
    assert.deepEqual(h.s.parked, []);
  });

  test('the workflow timeout while a token is parked fails the instance; the token is kept as suspended', async () => {
    const h = new Harness(def());
    await h.start();
    await h.send({ type: 'Pause' });
    await h.complete('a');
    await h.fire(h.timerId('workflow-timeout'));
    assert.equal(h.s.status, 'failed');
    assert.deepEqual(h.s.parked, []);
    assert.deepEqual(h.s.suspended, [{ stepId: 'b', via: 'a->b' }]);
  });
});

describe('retry after a failure that happened while a split was still starting its branches', () => {
  test('the branches not yet started are restored too', async () => {
    const h = new Harness(wf([
      { id: 's', type: 'start', next: 'p' },
      { id: 'p', type: 'parallel', next: ['t', 'b'] },
      { id: 't', type: 'timer', at: '${vars.when}', skippable: true, next: 'j' },
      { id: 'b', type: 'task', activity: 'x', next: 'j' },
      { id: 'j', type: 'join', next: 'e' },
      { id: 'e', type: 'end' },
    ], { variables: { when: { type: 'string', default: 'not a time' } } }));
    await h.start();
    assert.equal(h.s.status, 'failed');
    assert.equal(h.s.error?.code, 'expression_error');
    assert.deepEqual(h.s.tasks, {}, 'b does not start on a failed instance');
    await h.send({ type: 'SkipStep', stepId: 't', output: 'skipped' });
    assert.equal(h.s.status, 'running');
    assert.equal(h.tasksOf('b').length, 1, 'b is started when the instance reopens');
    await h.complete('b');
    assert.equal(h.s.status, 'completed');
  });
});
