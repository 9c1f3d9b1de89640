// The instance view's step states, derived from real core runs (the simulator drives the engine's
// own `execute`), at the head and at earlier points of the log (time travel).
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { Simulator, SimFailure } from '../src/core/simulator.js';
import { fold } from '../src/core/engine.js';
import type { Definition } from '../src/model/schema.js';
import type { InstanceState } from '../src/core/types.js';
import { badgeText, deriveInstanceView, isActive, stepView } from '../web/src/step-state.js';
import { layoutDefinition, type GraphLayout } from '../web/src/graph/layout.js';

const flow: Definition = {
  id: 'ui-flow', version: '1.0.0',
  steps: [
    { id: 'start', type: 'start', next: 'fetch' },
    { id: 'fetch', type: 'task', activity: 'fetch', retry: { maxAttempts: 3, initialInterval: '1s' }, next: 'split' },
    { id: 'split', type: 'parallel', next: ['left', 'right'] },
    { id: 'left', type: 'task', activity: 'work', next: 'join' },
    { id: 'right', type: 'task', activity: 'work', skippable: true, next: 'join' },
    { id: 'join', type: 'join' },
    { id: 'approve', type: 'human', title: 'Approve', assignees: { users: ['ann'] } },
    { id: 'end', type: 'end' },
  ],
  transitions: [{ from: 'join', to: 'approve' }, { from: 'approve', to: 'end' }],
};

const view = (sim: Simulator) => deriveInstanceView(sim.s, sim.log);
/** The open task of a step (task ids are run ids, numbered by the core). */
const task = (sim: Simulator, stepId: string) => {
  const run = Object.values(sim.s.active).find((r) => r.stepId === stepId);
  assert.ok(run, `no active run of ${stepId}`);
  return run.id;
};

describe('step state', () => {
  test('steps never reached are pending; a scheduled task is running, attempt 1', async () => {
    const sim = new Simulator(flow);
    await sim.start({ n: 1 });
    const v = view(sim);
    assert.equal(stepView(v, 'start').state, 'completed');
    const fetch = stepView(v, 'fetch');
    assert.equal(fetch.state, 'running');
    assert.equal(fetch.attempt, 1);
    assert.deepEqual(fetch.latest?.input, { n: 1 });
    assert.equal(fetch.latest?.startedAt, sim.now);
    assert.equal(fetch.latest?.endedAt, undefined);
    assert.ok(isActive(fetch.state));
    for (const id of ['split', 'left', 'join', 'approve', 'end']) assert.equal(stepView(v, id).state, 'pending', id);
    assert.deepEqual([...v.taken.keys()], ['start->fetch']);
    assert.equal(v.status, 'running');
  });

  test('a failed attempt that will be retried shows retrying with its attempt and error, then the next attempt', async () => {
    const sim = new Simulator(flow);
    await sim.start();
    await sim.fail(task(sim, 'fetch'), { code: 'flaky', message: 'try again' });
    let fetch = stepView(view(sim), 'fetch');
    assert.equal(fetch.state, 'retrying');
    assert.equal(fetch.attempt, 1);
    assert.equal(badgeText(fetch), 'retrying · attempt 1');
    assert.equal(fetch.latest?.attempts[0]?.outcome, 'failed');
    assert.equal(fetch.latest?.attempts[0]?.error?.code, 'flaky');
    assert.equal(fetch.latest?.attempts[0]?.retryAt, sim.now + 1000);
    assert.deepEqual(fetch.latest?.timers, [{ kind: 'retry', dueAt: sim.now + 1000 }]);

    sim.now += 1000;
    assert.ok(await sim.fireNextTimer());
    fetch = stepView(view(sim), 'fetch');
    assert.equal(fetch.state, 'running');
    assert.equal(fetch.attempt, 2);
    assert.equal(badgeText(fetch), 'attempt 2');

    sim.now += 250;
    await sim.complete(task(sim, 'fetch'), { rows: 3 });
    fetch = stepView(view(sim), 'fetch');
    assert.equal(fetch.state, 'completed');
    assert.deepEqual(fetch.latest?.attempts.map((a) => a.outcome), ['failed', 'completed']);
    assert.deepEqual(fetch.latest?.output, { rows: 3 });
    assert.equal(fetch.latest?.error, undefined);
    assert.equal(fetch.latest!.endedAt! - fetch.latest!.startedAt, 1250);
  });

  test('a join shows how many branches arrived; the edges taken are counted', async () => {
    const sim = new Simulator(flow);
    await sim.start();
    await sim.complete(task(sim, 'fetch'), {});
    await sim.complete(task(sim, 'left'), 'L');
    let v = view(sim);
    const join = stepView(v, 'join');
    assert.equal(join.state, 'waiting');
    assert.equal(join.waitingFor, 'branches');
    assert.deepEqual(join.join, { arrived: 1, expected: 2, needed: 2 });
    assert.equal(badgeText(join), '1 of 2 arrived');
    assert.equal(stepView(v, 'right').state, 'running');
    assert.equal(v.taken.get('split->left'), 1);
    assert.equal(v.taken.get('split->right'), 1);
    assert.equal(v.taken.get('right->join'), undefined);

    await sim.complete(task(sim, 'right'), 'R');
    v = view(sim);
    assert.equal(stepView(v, 'join').state, 'completed');
    assert.equal(badgeText(stepView(v, 'join')), '2 of 2 arrived');
    const approve = stepView(v, 'approve');
    assert.equal(approve.state, 'waiting');
    assert.equal(approve.waitingFor, 'human');
    assert.equal(approve.latest?.humanTaskId, approve.latest?.runId);
    assert.equal(badgeText(approve), 'waiting for a person');
    assert.deepEqual(approve.latest?.human, { title: 'Approve', users: ['ann'], groups: [], actions: ['approve', 'reject'] });
    assert.equal(v.status, 'waiting');

    await sim.send({ type: 'CompleteHumanTask', taskId: approve.latest!.humanTaskId!, action: 'approve', by: 'ann' });
    v = view(sim);
    assert.equal(stepView(v, 'approve').state, 'completed');
    assert.deepEqual(stepView(v, 'approve').latest?.answer, { action: 'approve', by: 'ann' });
    assert.equal(stepView(v, 'end').state, 'completed');
    assert.equal(v.status, 'completed');
  });

  test('an earlier state with the whole log shows the past (time travel)', async () => {
    const sim = new Simulator(flow);
    await sim.start();
    const atStart = sim.log.length;
    await sim.complete(task(sim, 'fetch'), {});
    await sim.run({}); // the branches complete, the human step waits
    const past = fold(sim.log.slice(0, atStart)) as InstanceState;
    const then = deriveInstanceView(past, sim.log);
    assert.equal(stepView(then, 'fetch').state, 'running');
    assert.equal(stepView(then, 'left').state, 'pending');
    assert.equal(then.seq, atStart);
    assert.equal(stepView(view(sim), 'left').state, 'completed');
  });

  test('without the log (still loading) the state alone gives every step its state', async () => {
    const sim = new Simulator(flow);
    await sim.start();
    await sim.complete(task(sim, 'fetch'), {});
    await sim.complete(task(sim, 'left'), 'L');
    const v = deriveInstanceView(sim.s, []);
    assert.equal(stepView(v, 'fetch').state, 'completed');
    assert.equal(stepView(v, 'right').state, 'running');
    assert.equal(stepView(v, 'right').attempt, 1);
    assert.equal(stepView(v, 'join').state, 'waiting');
    assert.equal(badgeText(stepView(v, 'join')), '1 of 2 arrived');
    assert.equal(stepView(v, 'approve').state, 'pending');
    assert.equal(v.taken.size, 0, 'which edges were taken only the log says');
  });

  test('an unhandled failure fails the step and cancels the other branch', async () => {
    const sim = new Simulator(flow);
    await sim.start();
    await sim.complete(task(sim, 'fetch'), {});
    await sim.fail(task(sim, 'left'), { code: 'boom', message: 'broken', nonRetryable: true });
    const v = view(sim);
    assert.equal(v.status, 'failed');
    const left = stepView(v, 'left');
    assert.equal(left.state, 'failed');
    assert.equal(left.latest?.error?.code, 'boom');
    const right = stepView(v, 'right');
    assert.equal(right.state, 'cancelled');
    assert.equal(right.latest?.reason, 'workflow_failed');
  });

  test('a skipped step and a step retried after the instance failed keep every run', async () => {
    const sim = new Simulator(flow);
    await sim.start();
    await sim.complete(task(sim, 'fetch'), {});
    await sim.send({ type: 'SkipStep', stepId: 'right', output: 'skipped' });
    assert.equal(stepView(view(sim), 'right').state, 'skipped');
    await sim.fail(task(sim, 'left'), { code: 'boom', message: 'broken', nonRetryable: true });
    await sim.send({ type: 'RetryStep', stepId: 'left' });
    const left = stepView(view(sim), 'left');
    assert.equal(left.state, 'running');
    assert.deepEqual(left.runs.map((r) => r.status), ['failed', 'scheduled']);
  });

  test('a wait shows the event it awaits and when it times out; a timer step when it fires', async () => {
    const sim = new Simulator({
      id: 'waits', version: '1.0.0',
      steps: [
        { id: 'start', type: 'start', next: 'paid' },
        { id: 'paid', type: 'wait', event: 'order.paid', correlation: '${input.order}', timeout: '1h', next: 'pause' },
        { id: 'pause', type: 'timer', delay: '5m', next: 'end' },
        { id: 'end', type: 'end' },
      ],
    });
    await sim.start({ order: 'A-1' });
    const paid = stepView(view(sim), 'paid');
    assert.equal(paid.state, 'waiting');
    assert.equal(paid.waitingFor, 'event');
    assert.deepEqual(paid.latest?.wait, { event: 'order.paid', key: 'A-1' });
    assert.deepEqual(paid.latest?.timers, [{ kind: 'wait-timeout', dueAt: sim.now + 3_600_000 }]);
    await sim.send({ type: 'DeliverEvent', name: 'order.paid', key: 'A-1', payload: {} });
    const pause = stepView(view(sim), 'pause');
    assert.equal(pause.waitingFor, 'timer');
    assert.deepEqual(pause.latest?.timers, [{ kind: 'timer', dueAt: sim.now + 300_000 }]);
    assert.equal(stepView(view(sim), 'paid').latest?.timers, undefined, 'the timeout went with the wait');
  });

  test('a task failing with the manual policy needs an operator', async () => {
    const sim = new Simulator({ ...flow, errorPolicy: 'manual' });
    await sim.start();
    await sim.fail(task(sim, 'fetch'), { code: 'fatal', message: 'no', nonRetryable: true });
    const fetch = stepView(view(sim), 'fetch');
    assert.equal(fetch.state, 'failed');
    assert.equal(fetch.waitingFor, 'manual');
    assert.ok(fetch.latest?.humanTaskId);
    assert.equal(badgeText(fetch), 'needs an operator');
  });

  test('handler failures through the simulator count attempts up to the policy', async () => {
    const sim = new Simulator(flow);
    await sim.start();
    await sim.run({ fetch: () => { throw new SimFailure({ code: 'down', message: 'down' }); } });
    const fetch = stepView(view(sim), 'fetch');
    assert.equal(fetch.state, 'failed');
    assert.equal(fetch.attempt, 3);
    assert.deepEqual(fetch.latest?.attempts.map((a) => [a.attempt, a.outcome]), [[1, 'failed'], [2, 'failed'], [3, 'failed']]);
  });
});

describe('graph layout (dagre, layered)', () => {
  const withHandlers: Definition = {
    id: 'layout', version: '1.0.0',
    steps: [
      { id: 'start', type: 'start', next: 'work' },
      { id: 'work', type: 'task', name: 'Do the work', activity: 'w' },
      { id: 'route', type: 'decision' },
      { id: 'big', type: 'task', activity: 'b', next: 'end' },
      { id: 'small', type: 'task', activity: 's', next: 'end' },
      { id: 'oops', type: 'task', activity: 'o', next: 'end' },
      { id: 'end', type: 'end' },
    ],
    transitions: [
      { from: 'work', to: 'route' },
      { from: 'work', to: 'oops', on: 'error', error: ['boom', 'bang'] },
      { from: 'route', to: 'big', when: '${output.n > 10}', name: 'large' },
      { from: 'route', to: 'small', default: true },
    ],
  };
  const overlap = (l: GraphLayout) => l.nodes.some((a, i) => l.nodes.some((b, j) => i < j
    && Math.abs(a.x - b.x) * 2 < a.width + b.width && Math.abs(a.y - b.y) * 2 < a.height + b.height));

  test('steps are ranked along the flow, left to right (or top to bottom), without overlapping', () => {
    for (const direction of ['LR', 'TB'] as const) {
      const l = layoutDefinition(withHandlers, { direction });
      const at = new Map(l.nodes.map((n) => [n.id, direction === 'LR' ? n.x : n.y]));
      for (const e of l.edges) assert.ok(at.get(e.to)! > at.get(e.from)!, `${direction}: ${e.id} points forward`);
      assert.equal(overlap(l), false, direction);
      for (const n of l.nodes) {
        assert.ok(n.x - n.width / 2 >= 0 && n.x + n.width / 2 <= l.width, `${n.id} inside the width`);
        assert.ok(n.y - n.height / 2 >= 0 && n.y + n.height / 2 <= l.height, `${n.id} inside the height`);
      }
    }
  });

  test('every transition is an edge with its kind, label and route; nodes carry type and label', () => {
    const l = layoutDefinition(withHandlers);
    const byId = new Map(l.edges.map((e) => [e.id, e]));
    assert.equal(l.edges.length, 8);
    assert.equal(byId.get('work->oops')?.kind, 'error');
    assert.equal(byId.get('work->oops')?.label, 'boom, bang');
    assert.equal(byId.get('route->big')?.label, 'large');
    assert.equal(byId.get('route->small')?.kind, 'default');
    assert.equal(byId.get('start->work')?.kind, 'normal');
    assert.equal(byId.get('start->work')?.label, undefined);
    for (const e of l.edges) assert.ok(e.points.length >= 2, `${e.id} has a route`);
    const work = l.nodes.find((n) => n.id === 'work')!;
    assert.equal(work.type, 'task');
    assert.equal(work.label, 'Do the work');
  });

  test('a loop keeps its back edge; transitions to unknown steps are left to the validator', () => {
    const l = layoutDefinition({
      id: 'loop', version: '1.0.0',
      steps: [
        { id: 'start', type: 'start', next: 'again' },
        { id: 'again', type: 'loop', maxIterations: 3, body: 'step', next: 'end' },
        { id: 'step', type: 'task', activity: 'x', next: ['again', 'ghost'] },
        { id: 'end', type: 'end' },
      ],
      transitions: [{ from: 'again', to: 'step' }],
    });
    assert.deepEqual(l.edges.map((e) => e.id).sort(), ['again->end', 'again->step', 'start->again', 'step->again']);
    assert.ok(l.edges.find((e) => e.id === 'step->again')!.points.length >= 2);
    assert.equal(overlap(l), false);
  });
});
