/** One behaviour per test, per step type (SPEC C1/C2). Every scenario is checked by the harness. */
import assert from 'node:assert/strict';
import { afterEach, describe, test } from 'node:test';
import { Harness, T0, err, verifyAndReplayHarnesses, wf } from './testing/harness.js';

afterEach(verifyAndReplayHarnesses);

const seq = (...ids: string[]) => ids.slice(0, -1).map((id, i) => ({ from: id, to: ids[i + 1] }));

describe('start and end', () => {
  test('start passes the input on; end completes with the last output', async () => {
    const h = new Harness(wf([{ id: 's', type: 'start', next: 'e' }, { id: 'e', type: 'end' }]));
    await h.start({ a: 1 });
    assert.equal(h.s.status, 'completed');
    assert.deepEqual(h.s.output, { a: 1 });
    assert.deepEqual(h.types(), ['WorkflowStarted', 'StepStarted', 'StepCompleted', 'StepStarted', 'StepCompleted', 'WorkflowCompleted']);
    assert.deepEqual(h.s.active, {});
    assert.equal(h.s.endedAt, T0);
  });

  test('end output mapping overrides the workflow result mapping', async () => {
    const h = new Harness(wf([
      { id: 's', type: 'start', next: 'e' },
      { id: 'e', type: 'end', output: { total: '${input.a + 1}' } },
    ], { result: { never: true } }));
    await h.start({ a: 1 });
    assert.deepEqual(h.s.output, { total: 2 });
  });

  test('workflow result mapping applies when the end has none', async () => {
    const h = new Harness(wf([{ id: 's', type: 'start', next: 'e' }, { id: 'e', type: 'end' }], { result: { v: '${output.a}', x: '${input.a * 10}' } }));
    await h.start({ a: 3 });
    assert.deepEqual(h.s.output, { v: 3, x: 30 });
  });

  test('the instance completes only when the last branch reaches an end', async () => {
    const h = new Harness(wf([
      { id: 's', type: 'start', next: 'p' },
      { id: 'p', type: 'parallel', next: ['a', 'b'] },
      { id: 'a', type: 'task', activity: 'x', next: 'e1' },
      { id: 'b', type: 'task', activity: 'x', next: 'e2' },
      { id: 'e1', type: 'end' },
      { id: 'e2', type: 'end' },
    ]));
    await h.start();
    await h.complete('a', 1);
    assert.equal(h.s.status, 'running');
    await h.complete('b', 2);
    assert.equal(h.s.status, 'completed');
    assert.equal(h.s.output, 2);
  });

  test('terminate: true ends the instance and cancels the other branches', async () => {
    const h = new Harness(wf([
      { id: 's', type: 'start', next: 'p' },
      { id: 'p', type: 'parallel', next: ['a', 'b', 'w'] },
      { id: 'a', type: 'task', activity: 'x', next: 'stop' },
      { id: 'b', type: 'task', activity: 'x', next: 'e' },
      { id: 'w', type: 'wait', event: 'go', timeout: '1h', next: 'e' },
      { id: 'stop', type: 'end', terminate: true },
      { id: 'e', type: 'end' },
    ]));
    await h.start();
    const bTask = h.task('b');
    await h.complete('a', 'done');
    assert.equal(h.s.status, 'completed');
    assert.equal(h.s.output, 'done');
    const cancelled = h.events('StepCancelled', h.last).map((e) => [e.stepId, e.reason]);
    assert.deepEqual(cancelled.sort(), [['b', 'terminate_end'], ['w', 'terminate_end']]);
    assert.deepEqual(h.events('ActivityCancelled', h.last).map((e) => e.taskId), [bTask.taskId]);
    assert.deepEqual(h.s.tasks, {});
    assert.deepEqual(h.s.timers, {});
    await h.rejects({ type: 'CompleteActivity', taskId: bTask.taskId, attempt: 1, output: 1 }, 'stale');
  });

  test('terminate end reached by an instant branch does not start the other branches', async () => {
    // p → stop (instantly) and p → a: the terminating branch ends the instance before `a` would start.
    const h = new Harness(wf([
      { id: 's', type: 'start', next: 'p' },
      { id: 'p', type: 'parallel', next: ['stop', 'a'] },
      { id: 'a', type: 'task', activity: 'x', next: 'e' },
      { id: 'stop', type: 'end', terminate: true },
      { id: 'e', type: 'end' },
    ]));
    await h.start();
    assert.equal(h.s.status, 'completed');
    assert.deepEqual(h.s.tasks, {});
    assert.deepEqual(h.s.active, {});
    assert.equal(h.events('StepStarted').filter((e) => e.stepId === 'a').length, 0);
  });
});

describe('task', () => {
  test('default input is the previous step output; input mapping overrides it', async () => {
    const h = new Harness(wf([
      { id: 's', type: 'start', next: 'a' },
      { id: 'a', type: 'task', activity: 'x', next: 'b' },
      { id: 'b', type: 'task', activity: 'y', input: { n: '${steps.a.output.v * 2}', from: '${input.name}', lit: 'plain', text: 'n=${steps.a.output.v}' }, next: 'e' },
      { id: 'e', type: 'end' },
    ]));
    await h.start({ name: 'z' });
    assert.deepEqual(h.task('a').input, { name: 'z' });
    assert.equal(h.task('a').activity, 'x');
    assert.equal(h.run('a').status, 'scheduled');
    await h.complete('a', { v: 21 });
    assert.deepEqual(h.task('b').input, { n: 42, from: 'z', lit: 'plain', text: 'n=21' });
    assert.deepEqual(h.run('b').input, h.task('b').input);
    await h.complete('b', 'ok');
    assert.equal(h.s.status, 'completed');
    assert.equal(h.s.steps.a.status, 'completed');
    assert.deepEqual(h.s.steps.a.output, { v: 21 });
  });

  test('output mapping sees the activity result as `result`; `set` assigns variables from `output`', async () => {
    const h = new Harness(wf([
      { id: 's', type: 'start', next: 'a' },
      { id: 'a', type: 'task', activity: 'x', output: { total: '${result.price * result.qty}' }, set: { total: 'output.total', seen: '"yes"' }, next: 'd' },
      { id: 'd', type: 'decision' },
      { id: 'big', type: 'end', output: 'big' },
      { id: 'small', type: 'end', output: 'small' },
    ], {
      variables: { total: { type: 'number', default: 0 }, seen: { type: 'string' } },
      transitions: [{ from: 'd', to: 'big', when: 'vars.total > 10' }, { from: 'd', to: 'small', default: true }],
    }));
    await h.start();
    assert.deepEqual(h.s.vars, { total: 0 });
    await h.complete('a', { price: 4, qty: 3 });
    const done = h.events('StepCompleted', h.last).find((e) => e.stepId === 'a')!;
    assert.deepEqual(done.output, { total: 12 });
    assert.deepEqual(done.vars, { total: 12, seen: 'yes' });
    assert.deepEqual(h.s.vars, { total: 12, seen: 'yes' });
    assert.equal(h.s.output, 'big');
  });

  test('a failing output mapping fails the step with expression_error', async () => {
    const h = new Harness(wf([
      { id: 's', type: 'start', next: 'a' },
      { id: 'a', type: 'task', activity: 'x', output: '${$number("abc")}', next: 'e' },
      { id: 'e', type: 'end' },
    ]));
    await h.start();
    await h.complete('a', 1);
    assert.equal(h.s.status, 'failed');
    assert.equal(h.s.error?.code, 'expression_error');
  });

  test('a failing `set` expression fails the step instead of crashing the command', async () => {
    const h = new Harness(wf([
      { id: 's', type: 'start', next: 'a' },
      { id: 'a', type: 'task', activity: 'x', set: { n: '$number("abc")' }, next: 'e' },
      { id: 'e', type: 'end' },
      { id: 'h', type: 'end', output: 'handled' },
    ], { transitions: [{ from: 'a', to: 'h', on: 'error', error: 'expression_error' }] }));
    await h.start();
    await h.complete('a', 1);
    assert.equal(h.s.status, 'completed');
    assert.equal(h.s.output, 'handled');
    assert.equal(h.events('StepFailed')[0].error.code, 'expression_error');
  });

  test('an input mapping that fails fails the step at activation', async () => {
    const h = new Harness(wf([
      { id: 's', type: 'start', next: 'a' },
      { id: 'a', type: 'task', activity: 'x', input: '${$number("abc")}', next: 'e' },
      { id: 'e', type: 'end' },
    ]));
    await h.start();
    assert.equal(h.s.status, 'failed');
    assert.equal(h.s.error?.code, 'expression_error');
    assert.deepEqual(h.s.tasks, {});
  });
});

describe('decision', () => {
  const def = wf([
    { id: 's', type: 'start', next: 'd' },
    { id: 'd', type: 'decision' },
    { id: 'low', type: 'end', output: 'low' },
    { id: 'high', type: 'end', output: 'high' },
    { id: 'mid', type: 'end', output: 'mid' },
    { id: 'other', type: 'end', output: 'other' },
  ], {
    transitions: [
      { from: 'd', to: 'low', when: 'input.n < 10' },
      { from: 'd', to: 'other', default: true },
      { from: 'd', to: 'high', when: 'input.n > 100', priority: 5 },
      { from: 'd', to: 'mid', when: 'input.n > 50', priority: 1 },
    ],
  });

  for (const [n, expected] of [[5, 'low'], [500, 'high'], [60, 'mid'], [20, 'other']] as const) {
    test(`n=${n} → ${expected} (priority order, then default)`, async () => {
      const h = new Harness(def);
      await h.start({ n });
      assert.equal(h.s.output, expected);
      const d = h.events('StepCompleted').find((e) => e.stepId === 'd')!;
      assert.equal(d.taken.length, 1);
    });
  }

  test('higher priority wins even when a lower one also holds; ties keep declaration order', async () => {
    const h = new Harness(wf([
      { id: 's', type: 'start', next: 'd' },
      { id: 'd', type: 'decision' },
      { id: 'a', type: 'end', output: 'a' },
      { id: 'b', type: 'end', output: 'b' },
      { id: 'c', type: 'end', output: 'c' },
    ], {
      transitions: [
        { from: 'd', to: 'a', when: 'true' },
        { from: 'd', to: 'b', when: 'true', priority: 2 },
        { from: 'd', to: 'c', when: 'true', priority: 2 },
      ],
    }), { validate: false });
    await h.start();
    assert.equal(h.s.output, 'b');
  });

  test('no matching transition and no default → step fails with no_transition', async () => {
    const h = new Harness(wf([
      { id: 's', type: 'start', next: 'd' },
      { id: 'd', type: 'decision' },
      { id: 'a', type: 'end' },
    ], { transitions: [{ from: 'd', to: 'a', when: 'input.go = true' }] }), { validate: false });
    await h.start({ go: false });
    assert.equal(h.s.status, 'failed');
    assert.equal(h.s.error?.code, 'no_transition');
    const f = h.events('StepFailed')[0];
    assert.equal(f.stepId, 'd');
    assert.equal(f.handling, 'unhandled');
    assert.deepEqual(h.s.failedRun, { runId: f.runId, stepId: 'd', via: 's->d' });
  });

  test('decisions see vars and step outputs', async () => {
    const h = new Harness(wf([
      { id: 's', type: 'start', next: 'a' },
      { id: 'a', type: 'task', activity: 'x', next: 'd' },
      { id: 'd', type: 'decision' },
      { id: 'yes', type: 'end', output: 'yes' },
      { id: 'no', type: 'end', output: 'no' },
    ], {
      variables: { limit: { type: 'number', default: 3 } },
      transitions: [{ from: 'd', to: 'yes', when: 'steps.a.output.count > vars.limit' }, { from: 'd', to: 'no', default: true }],
    }));
    await h.start();
    await h.complete('a', { count: 4 });
    assert.equal(h.s.output, 'yes');
  });
});

describe('inclusive', () => {
  const def = wf([
    { id: 's', type: 'start', next: 'i' },
    { id: 'i', type: 'inclusive' },
    { id: 'a', type: 'task', activity: 'a', next: 'j' },
    { id: 'b', type: 'task', activity: 'b', next: 'j' },
    { id: 'c', type: 'task', activity: 'c', next: 'j' },
    { id: 'n', type: 'task', activity: 'n', next: 'j' },
    { id: 'j', type: 'join' },
    { id: 'e', type: 'end' },
  ], {
    transitions: [
      { from: 'i', to: 'a', when: 'input.a' },
      { from: 'i', to: 'b', when: 'input.b' },
      { from: 'i', to: 'c', when: 'input.c' },
      { from: 'i', to: 'n', default: true },
      { from: 'j', to: 'e' },
    ],
  });

  test('only matching branches run; the join waits for exactly those', async () => {
    const h = new Harness(def);
    await h.start({ a: true, b: false, c: true });
    assert.deepEqual(Object.values(h.s.tasks).map((t) => t.activity).sort(), ['a', 'c']);
    const split = h.events('StepCompleted').find((e) => e.stepId === 'i')!;
    assert.deepEqual(split.split, { join: 'j', expected: 2 });
    await h.complete('c', 'C');
    assert.equal(h.run('j').join?.arrived, 1);
    assert.equal(h.run('j').join?.expected, 2);
    assert.equal(h.s.status, 'running');
    await h.complete('a', 'A');
    assert.equal(h.s.status, 'completed');
    assert.deepEqual(h.s.output, { arrived: 2, from: ['c->j', 'a->j'] });
  });

  test('no condition holds → the default branch alone', async () => {
    const h = new Harness(def);
    await h.start({});
    assert.deepEqual(Object.values(h.s.tasks).map((t) => t.activity), ['n']);
    await h.complete('n');
    assert.equal(h.s.status, 'completed');
  });

  test('all three branches → the join fires after the third', async () => {
    const h = new Harness(def);
    await h.start({ a: true, b: true, c: true });
    await h.complete('b');
    await h.complete('a');
    assert.equal(h.s.status, 'running');
    await h.complete('c');
    assert.equal(h.s.status, 'completed');
  });
});

describe('parallel and joins', () => {
  const block = (mode: string, extra: Record<string, unknown> = {}) => wf([
    { id: 's', type: 'start', next: 'p' },
    { id: 'p', type: 'parallel', next: ['a', 'b', 'c'] },
    { id: 'a', type: 'task', activity: 'x', next: 'j' },
    { id: 'b', type: 'task', activity: 'x', next: 'j' },
    { id: 'c', type: 'task', activity: 'x', next: 'j' },
    { id: 'j', type: 'join', mode, ...extra, next: 'after' },
    { id: 'after', type: 'task', activity: 'after', next: 'e' },
    { id: 'e', type: 'end' },
  ]);

  test('all: fires after every branch', async () => {
    const h = new Harness(block('all'));
    await h.start();
    assert.equal(Object.keys(h.s.tasks).length, 3);
    await h.complete('a');
    await h.complete('c');
    assert.equal(h.tasksOf('after').length, 0);
    assert.equal(h.run('j').status, 'pending');
    await h.complete('b');
    assert.equal(h.tasksOf('after').length, 1);
    assert.deepEqual(h.s.steps.j.output, { arrived: 3, from: ['a->j', 'c->j', 'b->j'] });
  });

  test('any: first arrival fires the join; the others are cancelled and late completions are stale', async () => {
    const h = new Harness(block('any'));
    await h.start();
    const [ta, , tc] = [h.task('a'), h.task('b'), h.task('c')];
    await h.complete('b', 'B');
    const cancelledTasks = h.events('ActivityCancelled', h.last).map((e) => e.taskId).sort();
    assert.deepEqual(cancelledTasks, [ta.taskId, tc.taskId].sort());
    assert.deepEqual(h.events('StepCancelled', h.last).map((e) => [e.stepId, e.reason]).sort(), [['a', 'join'], ['c', 'join']]);
    assert.equal(h.s.steps.a.status, 'cancelled');
    assert.equal(h.tasksOf('after').length, 1);
    await h.rejects({ type: 'CompleteActivity', taskId: ta.taskId, attempt: 1, output: 'late' }, 'stale');
    await h.rejects({ type: 'FailActivity', taskId: tc.taskId, attempt: 1, error: err('x') }, 'stale');
    await h.complete('after');
    assert.equal(h.s.status, 'completed');
    assert.equal(h.events('StepStarted').filter((e) => e.stepId === 'after').length, 1);
  });

  test('n of m: fires on the n-th arrival and cancels the rest', async () => {
    const h = new Harness(block('n', { n: 2 }));
    await h.start();
    await h.complete('c');
    assert.equal(h.tasksOf('after').length, 0);
    const ta = h.task('a');
    await h.complete('b');
    assert.equal(h.tasksOf('after').length, 1);
    assert.deepEqual(h.events('ActivityCancelled', h.last).map((e) => e.taskId), [ta.taskId]);
    assert.deepEqual(h.s.steps.j.output, { arrived: 2, from: ['c->j', 'b->j'] });
    await h.rejects({ type: 'CompleteActivity', taskId: ta.taskId, attempt: 1 }, 'stale');
  });

  test('any: an instant branch that wins does not let the other branches run afterwards', async () => {
    const h = new Harness(wf([
      { id: 's', type: 'start', next: 'p' },
      { id: 'p', type: 'parallel', next: ['d', 'a'] },
      { id: 'd', type: 'decision', next: 'j' },
      { id: 'a', type: 'task', activity: 'x', next: 'j' },
      { id: 'j', type: 'join', mode: 'any', next: 'after' },
      { id: 'after', type: 'task', activity: 'after', next: 'e' },
      { id: 'e', type: 'end' },
    ]));
    await h.start();
    // The decision branch reaches the join at once: `a` must not start (or must be cancelled).
    assert.deepEqual(Object.values(h.s.tasks).map((t) => t.activity), ['after']);
    await h.complete('after');
    assert.equal(h.s.status, 'completed');
    assert.equal(h.events('StepStarted').filter((e) => e.stepId === 'after').length, 1);
  });

  test('a retrying branch loses: its retry timer is cancelled with it', async () => {
    const h = new Harness(block('any'));
    await h.start();
    await h.fail('a', err('flaky'));
    assert.equal(h.s.tasks[h.task('a').taskId].status, 'retrying');
    const retryTimer = h.timerId('retry', 'a');
    await h.complete('b');
    assert.equal(h.s.timers[retryTimer], undefined);
    assert.ok(h.events('TimerCancelled', h.last).some((e) => e.timerId === retryTimer), 'h.events(\'TimerCancelled\', h.last).some((e) => e.timerId === retryTimer)');
    await h.rejects({ type: 'FireTimer', timerId: retryTimer }, 'stale');
  });

  test('nested parallel blocks: the inner join feeds the outer one', async () => {
    const h = new Harness(wf([
      { id: 's', type: 'start', next: 'p1' },
      { id: 'p1', type: 'parallel', next: ['p2', 'c'] },
      { id: 'p2', type: 'parallel', next: ['a', 'b'] },
      { id: 'a', type: 'task', activity: 'x', next: 'j2' },
      { id: 'b', type: 'task', activity: 'x', next: 'j2' },
      { id: 'j2', type: 'join', next: 'd' },
      { id: 'd', type: 'task', activity: 'x', next: 'j1' },
      { id: 'c', type: 'task', activity: 'x', next: 'j1' },
      { id: 'j1', type: 'join', next: 'e' },
      { id: 'e', type: 'end' },
    ]));
    await h.start();
    assert.deepEqual(h.s.expecting, { j1: 2, j2: 2 });
    await h.complete('c');
    await h.complete('a');
    assert.equal(h.tasksOf('d').length, 0);
    await h.complete('b');
    assert.equal(h.tasksOf('d').length, 1);
    assert.equal(h.run('j1').join?.arrived, 1);
    await h.complete('d');
    assert.equal(h.s.status, 'completed');
  });

  test('nested: an outer any join cancels the whole inner block', async () => {
    const h = new Harness(wf([
      { id: 's', type: 'start', next: 'p1' },
      { id: 'p1', type: 'parallel', next: ['p2', 'c'] },
      { id: 'p2', type: 'parallel', next: ['a', 'b'] },
      { id: 'a', type: 'task', activity: 'x', next: 'j2' },
      { id: 'b', type: 'task', activity: 'x', next: 'j2' },
      { id: 'j2', type: 'join', next: 'j1' },
      { id: 'c', type: 'task', activity: 'x', next: 'j1' },
      { id: 'j1', type: 'join', mode: 'any', next: 'e' },
      { id: 'e', type: 'end' },
    ]));
    await h.start();
    await h.complete('a');
    assert.equal(h.run('j2').status, 'pending');
    await h.complete('c');
    assert.equal(h.s.status, 'completed');
    assert.deepEqual(h.s.active, {});
    assert.deepEqual(h.s.tasks, {});
  });

  test('a split inside a loop reopens its join on every iteration', async () => {
    const h = new Harness(wf([
      { id: 's', type: 'start', next: 'l' },
      { id: 'l', type: 'loop', body: 'p', maxIterations: 2 },
      { id: 'p', type: 'parallel', next: ['a', 'b'] },
      { id: 'a', type: 'task', activity: 'x', next: 'j' },
      { id: 'b', type: 'task', activity: 'x', next: 'j' },
      { id: 'j', type: 'join', next: 'l' },
      { id: 'e', type: 'end' },
    ], { transitions: [{ from: 'l', to: 'p' }, { from: 'l', to: 'e' }] }));
    await h.start();
    const s = await h.settle();
    assert.equal(s.status, 'completed');
    assert.equal(h.events('StepCompleted').filter((e) => e.stepId === 'j').length, 2);
    assert.equal(s.steps.l.iteration, 2);
  });
});

describe('wait', () => {
  const def = (extra: Record<string, unknown> = {}) => wf([
    { id: 's', type: 'start', next: 'w' },
    { id: 'w', type: 'wait', event: 'paid', correlation: 'input.order', timeout: '1h', output: { amount: '${event.amount}' }, ...extra, next: 'e' },
    { id: 'e', type: 'end' },
    { id: 'late', type: 'end', output: 'timed out' },
  ], { transitions: [{ from: 'w', to: 'late', on: 'timeout' }] });

  test('an event with the matching key completes it (output mapping over `event`)', async () => {
    const h = new Harness(def());
    await h.start({ order: 'o-1' });
    assert.deepEqual(h.run('w').wait, { event: 'paid', key: 'o-1' });
    assert.equal(h.s.status, 'waiting');
    await h.send({ type: 'DeliverEvent', name: 'paid', key: 'o-1', payload: { amount: 5 } });
    assert.equal(h.s.status, 'completed');
    assert.deepEqual(h.s.output, { amount: 5 });
    assert.deepEqual(h.s.timers, {});
  });

  test('a wrong key (or wrong name) is rejected not_found', async () => {
    const h = new Harness(def());
    await h.start({ order: 'o-1' });
    await h.rejects({ type: 'DeliverEvent', name: 'paid', key: 'o-2', payload: {} }, 'not_found');
    await h.rejects({ type: 'DeliverEvent', name: 'shipped', key: 'o-1', payload: {} }, 'not_found');
  });

  test('`match` must also hold', async () => {
    const h = new Harness(def({ match: 'event.amount > 0' }));
    await h.start({ order: 'o-1' });
    await h.rejects({ type: 'DeliverEvent', name: 'paid', key: 'o-1', payload: { amount: 0 } }, 'not_found');
    await h.send({ type: 'DeliverEvent', name: 'paid', key: 'o-1', payload: { amount: 1 } });
    assert.equal(h.s.status, 'completed');
  });

  test('timeout takes the on: timeout transition', async () => {
    const h = new Harness(def());
    await h.start({ order: 'o-1' });
    const id = h.timerId('wait-timeout');
    assert.equal(h.s.timers[id].dueAt, T0 + 3_600_000);
    await h.fire(id);
    assert.equal(h.s.status, 'completed');
    assert.equal(h.s.output, 'timed out');
    const f = h.events('StepFailed')[0];
    assert.equal(f.error.code, 'timeout');
    assert.equal(f.handling, 'transition');
    await h.rejects({ type: 'DeliverEvent', name: 'paid', key: 'o-1', payload: {} }, 'invalid_state');
  });

  test('a signal sent before the wait is buffered, then consumed when the wait begins', async () => {
    const h = new Harness(wf([
      { id: 's', type: 'start', next: 'a' },
      { id: 'a', type: 'task', activity: 'x', next: 'w' },
      { id: 'w', type: 'wait', event: 'go', next: 'e' },
      { id: 'e', type: 'end' },
    ]));
    await h.start();
    await h.send({ type: 'Signal', name: 'other', payload: 0 });
    await h.send({ type: 'Signal', name: 'go', payload: { n: 1 } });
    assert.deepEqual(h.s.signals, [{ name: 'other', payload: 0 }, { name: 'go', payload: { n: 1 } }]);
    await h.complete('a');
    assert.ok(h.types().includes('SignalConsumed'), 'h.types().includes(\'SignalConsumed\')');
    assert.deepEqual(h.s.signals, [{ name: 'other', payload: 0 }]);
    assert.equal(h.s.status, 'completed');
    assert.deepEqual(h.s.output, { n: 1 });
  });

  test('the signal buffer is bounded', async () => {
    const h = new Harness(wf([{ id: 's', type: 'start', next: 'a' }, { id: 'a', type: 'task', activity: 'x', next: 'e' }, { id: 'e', type: 'end' }]), { limits: { maxSignalsBuffered: 2 } });
    await h.start();
    await h.send({ type: 'Signal', name: 'x' });
    await h.send({ type: 'Signal', name: 'x' });
    await h.rejects({ type: 'Signal', name: 'x' }, 'invalid_state');
  });

  test('a keyless DeliverEvent with nobody waiting is buffered like a signal', async () => {
    const h = new Harness(def());
    await h.start({ order: 'o-1' });
    await h.send({ type: 'DeliverEvent', name: 'other', payload: 1 });
    assert.equal(h.s.signals.length, 1);
  });
});

describe('timer', () => {
  test('delay', async () => {
    const h = new Harness(wf([{ id: 's', type: 'start', next: 't' }, { id: 't', type: 'timer', delay: '1h30m', next: 'e' }, { id: 'e', type: 'end' }]));
    await h.start();
    assert.equal(h.run('t').status, 'waiting_timer');
    assert.equal(h.s.status, 'waiting');
    const id = h.timerId('timer');
    assert.equal(h.s.timers[id].dueAt, T0 + 90 * 60_000);
    await h.fire(id);
    assert.equal(h.s.status, 'completed');
    assert.deepEqual(h.s.output, { firedAt: T0 + 90 * 60_000 });
    await h.rejects({ type: 'FireTimer', timerId: id }, 'stale');
  });

  test('delay from an expression', async () => {
    const h = new Harness(wf([{ id: 's', type: 'start', next: 't' }, { id: 't', type: 'timer', delay: '${input.wait}', next: 'e' }, { id: 'e', type: 'end' }]));
    await h.start({ wait: '5m' });
    assert.equal(h.s.timers[h.timerId('timer')].dueAt, T0 + 300_000);
  });

  test('at: an absolute time (ISO or expression)', async () => {
    const h = new Harness(wf([{ id: 's', type: 'start', next: 't' }, { id: 't', type: 'timer', at: '2026-02-01T00:00:00Z', next: 'e' }, { id: 'e', type: 'end' }]));
    await h.start();
    assert.equal(h.s.timers[h.timerId('timer')].dueAt, Date.parse('2026-02-01T00:00:00Z'));
    const h2 = new Harness(wf([{ id: 's', type: 'start', next: 't' }, { id: 't', type: 'timer', at: '${input.when}', next: 'e' }, { id: 'e', type: 'end' }]));
    await h2.start({ when: '2026-03-01T12:00:00Z' });
    assert.equal(h2.s.timers[h2.timerId('timer')].dueAt, Date.parse('2026-03-01T12:00:00Z'));
  });

  test('cron: waits for the next occurrence', async () => {
    const h = new Harness(wf([{ id: 's', type: 'start', next: 't' }, { id: 't', type: 'timer', cron: '0 0 * * *', timezone: 'UTC', next: 'e' }, { id: 'e', type: 'end' }]));
    await h.start();
    assert.equal(h.s.timers[h.timerId('timer')].dueAt, Date.UTC(2026, 0, 6, 0, 0, 0));
  });

  test('an invalid `at` fails the step (expression_error), never the command', async () => {
    const h = new Harness(wf([{ id: 's', type: 'start', next: 't' }, { id: 't', type: 'timer', at: '${input.when}', next: 'e' }, { id: 'e', type: 'end' }]));
    await h.start({ when: 'not a date' });
    assert.equal(h.s.status, 'failed');
    assert.equal(h.s.error?.code, 'expression_error');
  });
});

describe('human', () => {
  const def = (extra: Record<string, unknown> = {}, more: Record<string, unknown> = {}) => wf([
    { id: 's', type: 'start', next: 'h' },
    {
      id: 'h', type: 'human', title: 'Approve', assignees: { users: ['ann'], groups: ['mgr'] },
      form: { type: 'object', properties: { amount: { type: 'number', minimum: 1 } }, required: ['amount'], additionalProperties: false },
      input: { order: '${input.order}' }, ...extra, next: 'e',
    },
    { id: 'e', type: 'end' },
    { id: 'no', type: 'end', output: 'rejected' },
    { id: 'slow', type: 'end', output: 'slow' },
  ], { transitions: [{ from: 'h', to: 'no', on: 'error', error: 'rejected' }, { from: 'h', to: 'slow', on: 'timeout' }], ...more });

  test('opens a task; approve with valid form data completes it', async () => {
    const h = new Harness(def());
    await h.start({ order: 7 });
    const run = h.run('h');
    assert.equal(run.status, 'waiting_human');
    assert.deepEqual(run.input, { order: 7 });
    assert.deepEqual(run.human, { taskId: run.id, title: 'Approve', users: ['ann'], groups: ['mgr'], actions: ['approve', 'reject'], kind: 'human', form: (h.def.steps.get('h')!.step as { form: unknown }).form });
    assert.equal(h.s.status, 'waiting');
    await h.send({ type: 'CompleteHumanTask', taskId: run.id, action: 'approve', data: { amount: 3 }, by: 'ann' });
    assert.equal(h.s.status, 'completed');
    assert.deepEqual(h.s.output, { action: 'approve', data: { amount: 3 }, by: 'ann' });
    assert.equal(h.events('HumanTaskCompleted')[0].by, 'ann');
  });

  test('invalid form data is rejected invalid_input and nothing changes', async () => {
    const h = new Harness(def());
    await h.start({ order: 7 });
    const taskId = h.run('h').id;
    await h.rejects({ type: 'CompleteHumanTask', taskId, action: 'approve', data: { amount: 0 } }, 'invalid_input');
    await h.rejects({ type: 'CompleteHumanTask', taskId, action: 'approve', data: { amount: 2, extra: true } }, 'invalid_input');
    await h.rejects({ type: 'CompleteHumanTask', taskId, action: 'approve' }, 'invalid_input');
    assert.equal(h.run('h').status, 'waiting_human');
  });

  test('an action that is not allowed is rejected; an unknown task is not_found', async () => {
    const h = new Harness(def({ actions: ['approve'] }));
    await h.start({ order: 7 });
    const taskId = h.run('h').id;
    await h.rejects({ type: 'CompleteHumanTask', taskId, action: 'escalate', data: { amount: 2 } }, 'invalid_input');
    await h.rejects({ type: 'RejectHumanTask', taskId, reason: 'no' }, 'invalid_input');
    await h.rejects({ type: 'CompleteHumanTask', taskId: 'nope', action: 'approve', data: { amount: 2 } }, 'not_found');
    await h.rejects({ type: 'RejectHumanTask', taskId: 'nope' }, 'not_found');
  });

  test('reject fails the step with code rejected → on: error (error: rejected)', async () => {
    const h = new Harness(def());
    await h.start({ order: 7 });
    await h.send({ type: 'RejectHumanTask', taskId: h.run('h').id, reason: 'too expensive', by: 'ann' });
    const f = h.events('StepFailed')[0];
    assert.equal(f.error.code, 'rejected');
    assert.match(f.error.message, /too expensive/);
    assert.equal(h.s.output, 'rejected');
    assert.equal(h.s.status, 'completed');
  });

  test('reject through CompleteHumanTask action reject skips form validation', async () => {
    const h = new Harness(def());
    await h.start({ order: 7 });
    await h.send({ type: 'CompleteHumanTask', taskId: h.run('h').id, action: 'reject', data: { why: 1 } });
    assert.equal(h.s.output, 'rejected');
  });

  test('a second answer to the same task is not_found', async () => {
    const h = new Harness(def());
    await h.start({ order: 7 });
    const taskId = h.run('h').id;
    await h.send({ type: 'CompleteHumanTask', taskId, action: 'approve', data: { amount: 1 } });
    await h.rejects({ type: 'CompleteHumanTask', taskId, action: 'approve', data: { amount: 1 } }, 'not_found');
  });

  const deadline = async (onTimeout: Record<string, unknown>, extra: Record<string, unknown> = {}) => {
    const h = new Harness(def({ deadline: '2h', onTimeout, ...extra }));
    await h.start({ order: 7 });
    assert.equal(h.run('h').human?.deadline, T0 + 7_200_000);
    await h.fire(h.timerId('human-deadline'));
    return h;
  };

  test('deadline → auto-approve', async () => {
    const h = await deadline({ action: 'approve' });
    assert.equal(h.s.status, 'completed');
    assert.deepEqual(h.s.output, { action: 'approve', data: {}, by: 'system:deadline' });
  });

  test('deadline → auto-reject takes on: error', async () => {
    const h = await deadline({ action: 'reject' });
    assert.equal(h.s.output, 'rejected');
  });

  test('deadline → escalate reassigns with a new deadline', async () => {
    const h = await deadline({ action: 'escalate', groups: ['directors'], deadline: '1d' });
    const run = h.run('h');
    assert.deepEqual(run.human?.groups, ['directors']);
    assert.equal(run.human?.deadline, T0 + 7_200_000 + 86_400_000);
    assert.equal(h.s.timers[h.timerId('human-deadline')].dueAt, T0 + 7_200_000 + 86_400_000);
    await h.send({ type: 'CompleteHumanTask', taskId: run.id, action: 'approve', data: { amount: 5 } });
    assert.equal(h.s.status, 'completed');
    assert.deepEqual(h.s.timers, {});
  });

  test('deadline → transition takes on: timeout', async () => {
    const h = await deadline({ action: 'transition' });
    assert.equal(h.s.output, 'slow');
  });

  test('deadline in business days skips the weekend', async () => {
    const h = new Harness(def({ deadline: { businessDays: 5 } }));
    await h.start({ order: 1 });
    // Monday 9:00 + 5 working days = next Monday 9:00.
    assert.equal(h.run('h').human?.deadline, T0 + 7 * 86_400_000);
  });
});

describe('subworkflow', () => {
  const def = (extra: Record<string, unknown> = {}) => wf([
    { id: 's', type: 'start', next: 'c' },
    { id: 'c', type: 'subworkflow', workflow: 'child', version: '^1', input: { x: '${input.x}' }, output: { doubled: '${result.y * 2}' }, ...extra, next: 'e' },
    { id: 'e', type: 'end' },
  ]);

  test('StepStarted carries childId and what to start; completion maps the output', async () => {
    const h = new Harness(def());
    await h.start({ x: 1 });
    const started = h.events('StepStarted').find((e) => e.stepId === 'c')!;
    assert.equal(started.childId, `i-1/${started.runId}`);
    assert.deepEqual(started.child, { workflow: 'child', version: '^1', input: { x: 1 } });
    await h.rejects({ type: 'ChildFinished', childId: 'other', status: 'completed' }, 'stale');
    await h.send({ type: 'ChildFinished', childId: started.childId!, status: 'completed', output: { y: 4 } });
    assert.deepEqual(h.s.output, { doubled: 8 });
    await h.rejects({ type: 'ChildFinished', childId: started.childId!, status: 'completed', output: { y: 4 } }, 'stale');
  });

  test('a failed child fails the step with its error', async () => {
    const h = new Harness(def());
    await h.start({ x: 1 });
    await h.send({ type: 'ChildFinished', childId: h.run('c').childId!, status: 'failed', error: err('boom') });
    assert.equal(h.s.status, 'failed');
    assert.equal(h.s.error?.code, 'boom');
  });

  test('a cancelled child fails the step with child_cancelled', async () => {
    const h = new Harness(def());
    await h.start({ x: 1 });
    await h.send({ type: 'ChildFinished', childId: h.run('c').childId!, status: 'cancelled' });
    assert.equal(h.s.error?.code, 'child_cancelled');
  });

  test('timeout fails the step with timeout', async () => {
    const h = new Harness(def({ timeout: '10m' }));
    await h.start({ x: 1 });
    await h.fire(h.timerId('wait-timeout'));
    assert.equal(h.s.status, 'failed');
    assert.equal(h.s.error?.code, 'timeout');
  });

  test('a failing output mapping fails the step (no crash)', async () => {
    const h = new Harness(def({ output: '${$number("x")}' }));
    await h.start({ x: 1 });
    await h.send({ type: 'ChildFinished', childId: h.run('c').childId!, status: 'completed', output: {} });
    assert.equal(h.s.status, 'failed');
    assert.equal(h.s.error?.code, 'expression_error');
  });

  test('cancelling the parent asks to cancel the child (propagate), not with abandon', async () => {
    for (const [policy, cancelChild] of [['propagate', true], ['abandon', false]] as const) {
      const h = new Harness(def({ cancel: policy }));
      await h.start({ x: 1 });
      const childId = h.run('c').childId;
      await h.send({ type: 'Cancel' });
      assert.equal(h.events('StepCancelled', h.last).length, 1);
      const asked = h.events('ChildCancelRequested', h.last);
      assert.deepEqual(asked.map((e) => e.childId), cancelChild ? [childId] : []);
    }
  });
});

describe('loop', () => {
  const def = (loop: Record<string, unknown>) => wf([
    { id: 's', type: 'start', next: 'l' },
    { id: 'l', type: 'loop', body: 'b', ...loop },
    { id: 'b', type: 'task', activity: 'x', input: { i: '${loop.iteration}', seen: '${steps.l.iteration}' }, set: { count: 'vars.count + 1' }, next: 'l' },
    { id: 'e', type: 'end', output: { count: '${vars.count}', it: '${steps.l.iteration}' } },
  ], { variables: { count: { type: 'integer', default: 0 } }, transitions: [{ from: 'l', to: 'b' }, { from: 'l', to: 'e' }] });

  test('maxIterations bounds the loop; iteration advances and is visible', async () => {
    const h = new Harness(def({ maxIterations: 3 }));
    await h.start();
    const inputs: unknown[] = [];
    while (h.s.status === 'running') {
      inputs.push(h.task('b').input);
      await h.complete('b');
    }
    assert.deepEqual(inputs, [{ seen: 0 }, { seen: 1 }, { seen: 2 }]); // `loop.iteration` is only in scope of `while`
    assert.deepEqual(h.s.output, { count: 3, it: 3 });
    assert.deepEqual(h.events('StepCompleted').filter((e) => e.stepId === 'l').map((e) => e.iteration), [0, 1, 2, 3]);
  });

  test('`while` stops it', async () => {
    const h = new Harness(def({ maxIterations: 10, while: 'vars.count < 2' }));
    await h.start();
    await h.settle();
    assert.deepEqual(h.s.output, { count: 2, it: 2 });
  });

  test('`while` false at once skips the body', async () => {
    const h = new Harness(def({ maxIterations: 10, while: 'false' }));
    await h.start();
    assert.deepEqual(h.s.output, { count: 0, it: 0 });
  });

  test('`loop.iteration` in while', async () => {
    const h = new Harness(def({ maxIterations: 10, while: 'loop.iteration < 4' }));
    await h.start();
    await h.settle();
    assert.deepEqual(h.s.output, { count: 4, it: 4 });
  });

  test('a loop entered again starts counting from zero', async () => {
    const h = new Harness(wf([
      { id: 's', type: 'start', next: 'outer' },
      { id: 'outer', type: 'loop', body: 'inner', maxIterations: 2 },
      { id: 'inner', type: 'loop', body: 'b', maxIterations: 2 },
      { id: 'b', type: 'task', activity: 'x', next: 'inner' },
      { id: 'e', type: 'end' },
    ], { transitions: [{ from: 'outer', to: 'inner' }, { from: 'outer', to: 'e' }, { from: 'inner', to: 'b' }, { from: 'inner', to: 'outer' }] }));
    await h.start();
    await h.settle();
    assert.equal(h.s.status, 'completed');
    assert.equal(h.events('StepCompleted').filter((e) => e.stepId === 'b').length, 4);
  });
});

describe('foreach', () => {
  const def = (extra: Record<string, unknown> = {}) => wf([
    { id: 's', type: 'start', next: 'f' },
    { id: 'f', type: 'foreach', items: 'input.items', activity: 'work', input: { v: '${item}', i: '${index}' }, ...extra, next: 'e' },
    { id: 'e', type: 'end' },
  ]);

  test('sequential: one item at a time, results in order', async () => {
    const h = new Harness(def());
    await h.start({ items: ['a', 'b', 'c'] });
    assert.equal(Object.keys(h.s.tasks).length, 1);
    assert.deepEqual(h.task('f').input, { v: 'a', i: 0 });
    while (h.s.status === 'running') {
      assert.equal(Object.keys(h.s.tasks).length, 1);
      const t = h.task('f');
      await h.send({ type: 'CompleteActivity', taskId: t.taskId, attempt: 1, output: (t.input as { v: string }).v.toUpperCase() });
    }
    assert.deepEqual(h.s.output, ['A', 'B', 'C']);
  });

  test('concurrency 2: two at a time, results in item order whatever the completion order', async () => {
    const h = new Harness(def({ concurrency: 2, output: { all: '${results}', n: '${$count(results)}' } }));
    await h.start({ items: [1, 2, 3, 4, 5] });
    const ids = () => Object.keys(h.s.tasks).sort();
    assert.deepEqual(ids(), ['f#2[0]', 'f#2[1]']);
    await h.complete('f#2[1]', 20);
    assert.deepEqual(ids(), ['f#2[0]', 'f#2[2]']);
    await h.complete('f#2[2]', 30);
    await h.complete('f#2[3]', 40);
    assert.deepEqual(ids(), ['f#2[0]', 'f#2[4]']);
    await h.complete('f#2[4]', 50);
    assert.deepEqual(ids(), ['f#2[0]']);
    await h.complete('f#2[0]', 10);
    assert.deepEqual(h.s.output, { all: [10, 20, 30, 40, 50], n: 5 });
  });

  test('items run as activities do not accept ChildFinished', async () => {
    const h = new Harness(def());
    await h.start({ items: ['a'] });
    await h.rejects({ type: 'ChildFinished', childId: 'i-1/f#2[0]', status: 'completed', output: 'x' }, 'stale');
    assert.equal(h.task('f').taskId, 'f#2[0]');
  });

  test('an empty list completes at once with []', async () => {
    const h = new Harness(def());
    await h.start({ items: [] });
    assert.equal(h.s.status, 'completed');
    assert.deepEqual(h.s.output, []);
  });

  test('not an array → invalid_items; over maxItems → too_many_items', async () => {
    const h = new Harness(def());
    await h.start({ items: 'x' });
    assert.equal(h.s.error?.code, 'invalid_items');
    const h2 = new Harness(def({ maxItems: 2 }));
    await h2.start({ items: [1, 2, 3] });
    assert.equal(h2.s.error?.code, 'too_many_items');
  });

  test('an item failing for good fails the step and cancels the other items', async () => {
    const h = new Harness(def({ concurrency: 2, retry: { maxAttempts: 2, initialInterval: '1s', jitter: 0 } }));
    await h.start({ items: [1, 2, 3] });
    await h.fail('f#2[0]', err('bad'));
    assert.equal(h.s.tasks['f#2[0]'].status, 'retrying');
    await h.fire(h.timerId('retry'));
    assert.equal(h.s.tasks['f#2[0]'].attempt, 2);
    await h.fail('f#2[0]', err('bad'));
    assert.equal(h.s.status, 'failed');
    assert.equal(h.s.error?.code, 'bad');
    assert.deepEqual(h.s.tasks, {});
    assert.ok(h.events('ActivityCancelled', h.last).some((e) => e.taskId === 'f#2[1]'), 'h.events(\'ActivityCancelled\', h.last).some((e) => e.taskId === \'f#2[1]\')');
  });

  test('per-item children: results in order; a duplicate ChildFinished is stale', async () => {
    const h = new Harness(wf([
      { id: 's', type: 'start', next: 'f' },
      { id: 'f', type: 'foreach', items: 'input.items', workflow: 'child', concurrency: 2, next: 'e' },
      { id: 'e', type: 'end' },
    ]));
    await h.start({ items: ['x', 'y', 'z'] });
    const started = h.events('ForeachChildStarted');
    assert.deepEqual(started.map((e) => [e.childId, e.child.input]), [['i-1/f#2[0]', 'x'], ['i-1/f#2[1]', 'y']]);
    await h.rejects({ type: 'ChildFinished', childId: 'i-1/f#2[2]', status: 'completed', output: 'Z' }, 'not_found');
    await h.send({ type: 'ChildFinished', childId: 'i-1/f#2[1]', status: 'completed', output: 'Y' });
    await h.rejects({ type: 'ChildFinished', childId: 'i-1/f#2[1]', status: 'completed', output: 'Y' }, 'stale');
    assert.equal(h.events('ForeachChildStarted').length, 3);
    await h.send({ type: 'ChildFinished', childId: 'i-1/f#2[2]', status: 'completed', output: 'Z' });
    await h.send({ type: 'ChildFinished', childId: 'i-1/f#2[0]', status: 'completed', output: 'X' });
    assert.deepEqual(h.s.output, ['X', 'Y', 'Z']);
  });
});

describe('human deadline after an answer', () => {
  test('answering a human task cancels its deadline timer', async () => {
    const h = new Harness(wf([
      { id: 's', type: 'start', next: 'h' },
      { id: 'h', type: 'human', deadline: '1h', onTimeout: { action: 'approve' }, next: 'a' },
      { id: 'a', type: 'task', activity: 'x', next: 'e' },
      { id: 'e', type: 'end' },
    ]));
    await h.start();
    const timerId = h.timerId('human-deadline');
    await h.send({ type: 'CompleteHumanTask', taskId: h.run('h').id, action: 'approve' });
    assert.ok(h.events('TimerCancelled', h.last).some((e) => e.timerId === timerId), 'h.events(\'TimerCancelled\', h.last).some((e) => e.timerId === timerId)');
    assert.deepEqual(h.s.timers, {});
    await h.rejects({ type: 'FireTimer', timerId }, 'stale');
  });
});

describe('any join inside a loop', () => {
  test('a branch that wins instantly does not leave a queued sibling token for the next iteration', async () => {
    // The wait consumes a buffered signal at once, the any-join fires and the loop starts the
    // block again, all while the first iteration's split still had the timer branch queued.
    const h = new Harness(wf([
      { id: 's', type: 'start', next: 'a' },
      { id: 'a', type: 'task', activity: 'x', next: 'l' },
      { id: 'l', type: 'loop', body: 'p', maxIterations: 2 },
      { id: 'p', type: 'parallel', next: ['w', 't'] },
      { id: 'w', type: 'wait', event: 'go', next: 'j' },
      { id: 't', type: 'timer', delay: '1m', next: 'j' },
      { id: 'j', type: 'join', mode: 'any', next: 'l' },
      { id: 'e', type: 'end' },
    ], { transitions: [{ from: 'l', to: 'p' }, { from: 'l', to: 'e' }] }));
    await h.start();
    await h.send({ type: 'Signal', name: 'go' });
    await h.complete('a');
    assert.equal(h.runsOf('t').length, 1, 'one timer token (second iteration)');
    assert.equal(h.runsOf('w').length, 1);
    assert.equal(Object.keys(h.s.timers).length, 1);
    await h.fire(h.timerId('timer'));
    assert.equal(h.s.status, 'completed');
  });
});
