/**
 * Regression tests for core fixes made after the first test round (each failed before its fix).
 */
import { afterEach, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { Harness, verifyAndReplayHarnesses, wf } from './testing/harness.js';

afterEach(verifyAndReplayHarnesses);

describe('correlation keys', () => {
  test('an event key with the same fields in another order matches the wait (canonical JSON, as the stores index it)', async () => {
    const h = new Harness(wf([
      { id: 's', type: 'start', next: 'w' },
      { id: 'w', type: 'wait', event: 'paid', correlation: '{"order": input.id, "shop": input.shop}', next: 'e' },
      { id: 'e', type: 'end' },
    ]));
    await h.start({ id: 'A-1', shop: 'north' });
    await h.send({ type: 'DeliverEvent', name: 'paid', key: { shop: 'north', order: 'A-1' }, payload: { ok: true } });
    assert.equal(h.s.status, 'completed');
  });
});

describe('workflow timeout after reopening', () => {
  const def = () => wf([
    { id: 's', type: 'start', next: 'a' },
    { id: 'a', type: 'task', activity: 'x', retry: { maxAttempts: 1 }, next: 'e' },
    { id: 'e', type: 'end' },
  ], { timeout: '1h' });

  test('RetryStep on a failed instance schedules the workflow timeout again', async () => {
    const h = new Harness(def());
    await h.start();
    await h.fail('a', 'boom');
    assert.equal(h.s.status, 'failed');
    assert.equal('workflow/timeout' in h.s.timers, false);
    await h.send({ type: 'RetryStep', stepId: 'a' });
    const timer = h.s.timers['workflow/timeout'];
    assert.equal(timer?.dueAt, h.now + 3_600_000);
  });

  test('RetryFrom schedules it again too', async () => {
    const h = new Harness(def());
    await h.start();
    await h.fail('a', 'boom');
    await h.send({ type: 'RetryFrom', stepId: 'a' });
    assert.ok(h.s.timers['workflow/timeout'], 'the reset instance has a workflow timeout');
  });
});

describe('manual intervention', () => {
  test('after an operator chose "fail", RetryStep revives the step', async () => {
    const h = new Harness(wf([
      { id: 's', type: 'start', next: 'a' },
      { id: 'a', type: 'task', activity: 'x', retry: { maxAttempts: 1 }, onError: 'manual', next: 'e' },
      { id: 'e', type: 'end' },
    ]));
    await h.start();
    await h.fail('a', 'boom');
    const taskId = h.run('a').manualTaskId!;
    await h.send({ type: 'CompleteHumanTask', taskId, action: 'fail' });
    assert.equal(h.s.status, 'failed');
    await h.send({ type: 'RetryStep', stepId: 'a' });
    assert.equal(h.s.status, 'running');
    await h.complete('a');
    assert.equal(h.s.status, 'completed');
  });
});

describe('routing errors are never half-applied', () => {
  test('skipping with an output its step cannot route on is rejected and changes nothing', async () => {
    const h = new Harness(wf([
      { id: 's', type: 'start', next: 'a' },
      { id: 'a', type: 'task', activity: 'x', skippable: true },
      { id: 'b', type: 'end' },
      { id: 'c', type: 'end' },
    ], {
      transitions: [
        { from: 'a', to: 'b', when: '$number(output.n) > 1' },
        { from: 'a', to: 'c', default: true },
      ],
    }));
    await h.start();
    await h.rejects({ type: 'SkipStep', stepId: 'a', output: { n: 'not a number' } }, 'invalid_input');
    await h.send({ type: 'SkipStep', stepId: 'a', output: { n: 5 } });
    assert.equal(h.s.status, 'completed');
  });

  test('onError: continue whose routing fails fails the workflow with expression_error', async () => {
    const h = new Harness(wf([
      { id: 's', type: 'start', next: 'a' },
      { id: 'a', type: 'task', activity: 'x', onError: 'continue', retry: { maxAttempts: 1 } },
      { id: 'b', type: 'end' },
      { id: 'c', type: 'end' },
    ], {
      transitions: [
        { from: 'a', to: 'b', when: '$number(output.error.message) > 1' },
        { from: 'a', to: 'c', default: true },
      ],
    }));
    await h.start();
    await h.fail('a', 'boom');
    assert.equal(h.s.status, 'failed');
    assert.equal(h.s.error?.code, 'expression_error');
  });
});

describe('payload size', () => {
  test('jsonBytesExceed agrees with the exact UTF-8 size around the limit', async () => {
    const { jsonBytesExceed } = await import('./machine.js');
    const values: unknown[] = [{}, 'é'.repeat(50), { a: [1, 2, 3], b: 'x'.repeat(90) }, ['€€€', null, true, 1.5e300]];
    for (const v of values) {
      const exact = new TextEncoder().encode(JSON.stringify(v)).length;
      for (const limit of [exact - 1, exact, exact + 1]) {
        assert.equal(jsonBytesExceed(v, limit), exact > limit, `${JSON.stringify(v)} at limit ${limit}`);
      }
    }
  });
});

describe('cancel with cleanup paths into an any/n join', () => {
  test('two on: cancel tokens reaching a join with n = 1 pass it once (found by the property test)', async () => {
    const h = new Harness(wf([
      { id: 's', type: 'start', next: 'fan' },
      { id: 'fan', type: 'parallel', next: ['a', 'b'] },
      { id: 'a', type: 'task', activity: 'x' },
      { id: 'b', type: 'task', activity: 'x' },
      { id: 'j', type: 'join', mode: 'n', n: 1, split: 'fan', next: 'after' },
      { id: 'after', type: 'timer', delay: '1m', next: 'e' },
      { id: 'e', type: 'end' },
    ], {
      transitions: [
        { from: 'a', to: 'j' }, { from: 'b', to: 'j' },
        { from: 'a', to: 'j', on: 'cancel' }, { from: 'b', to: 'j', on: 'cancel' },
      ],
    }));
    await h.start();
    await h.send({ type: 'Cancel' });
    assert.equal(h.runsOf('after').length, 1, 'the step after the join holds one token');
    await h.fire(h.timerId('timer'));
    assert.equal(h.s.status, 'cancelled');
  });
});
