/**
 * Expressions that fail at run time (SPEC principle 4): the step fails with expression_error by
 * its error policy, or the command is rejected with a clear code — never an uncaught exception.
 */
import assert from 'node:assert/strict';
import { afterEach, describe, test } from 'node:test';
import { Harness, verifyAndReplayHarnesses, wf } from './testing/harness.js';

afterEach(verifyAndReplayHarnesses);

describe('run-time expression failures', () => {
  test('an end output mapping that fails fails the instance once, cleanly', async () => {
    const h = new Harness(wf([{ id: 's', type: 'start', next: 'e' }, { id: 'e', type: 'end', output: '${$number("x")}' }]));
    await h.start();
    assert.equal(h.s.status, 'failed');
    assert.equal(h.s.error?.code, 'expression_error');
    const started = h.events('StepStarted').map((e) => e.runId);
    assert.equal(new Set(started).size, started.length, 'no run id is started twice');
    assert.deepEqual(h.s.active, {});
  });

  test('a foreach item mapping that fails for a later item fails the step', async () => {
    const h = new Harness(wf([
      { id: 's', type: 'start', next: 'f' },
      { id: 'f', type: 'foreach', items: 'input', activity: 'x', input: '${$number(item)}', next: 'e' },
      { id: 'e', type: 'end' },
    ]));
    await h.start(['1', 'x']);
    assert.equal(h.task('f').input, 1);
    await h.complete('f', 1);
    assert.equal(h.s.status, 'failed');
    assert.equal(h.s.error?.code, 'expression_error');
    assert.deepEqual(h.s.tasks, {});
  });

  test('a compensation input mapping that fails fails the compensation', async () => {
    const h = new Harness(wf([
      { id: 's', type: 'start', next: 'a' },
      { id: 'a', type: 'task', activity: 'x', compensate: { activity: 'undo', input: '${$number(output)}' }, next: 'b' },
      { id: 'b', type: 'task', activity: 'x', next: 'e' },
      { id: 'e', type: 'end' },
    ], { errorPolicy: 'compensate' }));
    await h.start();
    await h.complete('a', 'not a number');
    await h.fail('b', { code: 'x', message: 'x', nonRetryable: true });
    assert.equal(h.s.status, 'failed');
    assert.equal(h.s.error?.code, 'compensation_failed');
  });

  test('a wait `match` that fails on an event payload rejects the event (invalid_input)', async () => {
    const h = new Harness(wf([
      { id: 's', type: 'start', next: 'w' },
      { id: 'w', type: 'wait', event: 'go', match: '$number(event.n) > 1', next: 'e' },
      { id: 'e', type: 'end' },
    ]));
    await h.start();
    await h.rejects({ type: 'Signal', name: 'go', payload: { n: 'abc' } }, 'invalid_input');
    await h.send({ type: 'Signal', name: 'go', payload: { n: '5' } });
    assert.equal(h.s.status, 'completed');
  });

  test('a `when` that fails fails the step (on: error catches it)', async () => {
    const h = new Harness(wf([
      { id: 's', type: 'start', next: 'a' },
      { id: 'a', type: 'task', activity: 'x' },
      { id: 'b', type: 'end', output: 'b' },
      { id: 'c', type: 'end', output: 'c' },
      { id: 'bad', type: 'end', output: 'bad' },
    ], {
      transitions: [
        { from: 'a', to: 'b', when: '$number(output) > 1' },
        { from: 'a', to: 'c', default: true },
        { from: 'a', to: 'bad', on: 'error', error: 'expression_error' },
      ],
    }));
    await h.start();
    await h.complete('a', 'abc');
    assert.equal(h.s.output, 'bad');
  });

  test('a decision `when` that fails at once fails the decision', async () => {
    const h = new Harness(wf([
      { id: 's', type: 'start', next: 'd' },
      { id: 'd', type: 'decision' },
      { id: 'b', type: 'end' },
      { id: 'c', type: 'end' },
    ], { transitions: [{ from: 'd', to: 'b', when: '$number(input.n) > 1' }, { from: 'd', to: 'c', default: true }] }));
    await h.start({ n: 'abc' });
    assert.equal(h.s.status, 'failed');
    assert.equal(h.s.failedRun?.stepId, 'd');
  });
});
