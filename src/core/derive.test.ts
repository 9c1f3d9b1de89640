/** deriveEffects: the rows and actions a batch of events implies (what the store writes with it). */
import assert from 'node:assert/strict';
import { afterEach, describe, test } from 'node:test';
import { deriveEffects } from './derive.js';
import { Harness, T0, err, verifyAndReplayHarnesses, wf } from './testing/harness.js';

afterEach(verifyAndReplayHarnesses);

const fx = (h: Harness) => deriveEffects(h.def, h.last, h.s);

describe('deriveEffects', () => {
  test('a task step: scheduled with its settings, removed when done', async () => {
    const h = new Harness(wf([
      { id: 's', type: 'start', next: 'a' },
      { id: 'a', type: 'task', activity: 'x', priority: 5, queue: 'gpu', timeout: '30s', heartbeatTimeout: '5s', scheduleToStartTimeout: '1m', next: 'e' },
      { id: 'e', type: 'end' },
    ]));
    await h.start({ v: 1 });
    const f = fx(h);
    assert.equal(f.status, 'running');
    assert.deepEqual(f.tasksToSchedule, [{
      taskId: 'a#2', runId: 'a#2', activity: 'x', input: { v: 1 }, attempt: 1, status: 'scheduled', purpose: 'step',
      instanceId: 'i-1', stepId: 'a', priority: 5, queue: 'gpu', timeoutMs: 30_000, heartbeatTimeoutMs: 5000, scheduleToStartMs: 60_000,
    }]);
    await h.fail('a', err('e'));
    const f2 = fx(h);
    assert.deepEqual(f2.tasksToRemove, [{ taskId: 'a#2', cancelled: false }]);
    assert.deepEqual(f2.timersToSet.map((t) => t.timer.kind), ['retry']);
    await h.fire(h.timerId('retry'));
    const f3 = fx(h);
    assert.deepEqual(f3.timersToRemove, ['a#2/retry']);
    assert.equal(f3.tasksToSchedule[0].attempt, 2);
    assert.equal(f3.tasksToSchedule[0].stepId, 'a');
    await h.complete('a');
    const f4 = fx(h);
    assert.deepEqual(f4.tasksToRemove, [{ taskId: 'a#2', cancelled: false }]);
    assert.equal(f4.status, 'completed');
  });

  test('waits, humans and timers are added and removed', async () => {
    const h = new Harness(wf([
      { id: 's', type: 'start', next: 'p' },
      { id: 'p', type: 'parallel', next: ['w', 'h'] },
      { id: 'w', type: 'wait', event: 'paid', correlation: 'input.id', timeout: '1h', next: 'j' },
      { id: 'h', type: 'human', input: { x: 1 }, deadline: '1d', onTimeout: { action: 'escalate', groups: ['boss'], deadline: '1h' }, next: 'j' },
      { id: 'j', type: 'join', next: 'e' },
      { id: 'e', type: 'end' },
    ]));
    await h.start({ id: 'o-9' });
    const f = fx(h);
    assert.equal(f.status, 'waiting');
    assert.deepEqual(f.waitsToAdd, [{ runId: 'w#3', event: 'paid', key: 'o-9' }]);
    assert.equal(f.humanTasksToOpen.length, 1);
    assert.deepEqual(f.humanTasksToOpen[0].input, { x: 1 });
    assert.deepEqual(f.timersToSet.map((t) => t.timerId).sort(), ['h#4/deadline', 'w#3/timeout']);
    await h.fire('h#4/deadline');
    const esc = fx(h);
    assert.equal(esc.humanTasksToOpen.length, 1, 'an escalation replaces the open task row');
    assert.deepEqual(esc.humanTasksToOpen[0].task.groups, ['boss']);
    assert.equal(esc.humanTasksToOpen[0].task.deadline, T0 + 86_400_000 + 3_600_000);
    await h.send({ type: 'DeliverEvent', name: 'paid', key: 'o-9', payload: {} });
    assert.deepEqual(fx(h).waitsToRemove, ['w#3']);
    assert.deepEqual(fx(h).timersToRemove, ['w#3/timeout']);
    await h.send({ type: 'CompleteHumanTask', taskId: 'h#4', action: 'approve' });
    const done = fx(h);
    assert.ok(done.humanTasksToClose.includes('h#4'), 'done.humanTasksToClose.includes(\'h#4\')');
    assert.ok(done.timersToRemove.includes('h#4/deadline'), 'done.timersToRemove.includes(\'h#4/deadline\')');
    assert.equal(done.status, 'completed');
  });

  test('children: started, cancelled on cancel (propagate), terminated on terminate', async () => {
    const def = wf([
      { id: 's', type: 'start', next: 'c' },
      { id: 'c', type: 'subworkflow', workflow: 'child', version: '2.x', next: 'e' },
      { id: 'e', type: 'end' },
    ]);
    const h = new Harness(def);
    await h.start({ q: 1 });
    assert.deepEqual(fx(h).childrenToStart, [{ childId: 'i-1/c#2', runId: 'c#2', workflow: 'child', version: '2.x', input: { q: 1 } }]);
    await h.send({ type: 'Cancel' });
    assert.deepEqual(fx(h).childrenToCancel, [{ childId: 'i-1/c#2', terminate: false }]);
    const h2 = new Harness(def);
    await h2.start();
    await h2.send({ type: 'Terminate' });
    assert.deepEqual(fx(h2).childrenToCancel, [{ childId: 'i-1/c#2', terminate: true }]);
  });

  test('a child instance tells its parent when it ends', async () => {
    const h = new Harness(wf([{ id: 's', type: 'start', next: 'a' }, { id: 'a', type: 'task', activity: 'x', next: 'e' }, { id: 'e', type: 'end' }]), { instanceId: 'p/c#2' });
    await h.send({ type: 'StartWorkflow', input: {}, parent: { instanceId: 'p', runId: 'c#2' } });
    assert.equal(fx(h).notifyParent, undefined);
    await h.complete('a', { r: 1 });
    assert.deepEqual(fx(h).notifyParent, { parentId: 'p', childId: 'p/c#2', status: 'completed', output: { r: 1 } });
  });

  test('manual intervention tasks are opened and closed', async () => {
    const h = new Harness(wf([
      { id: 's', type: 'start', next: 'a' },
      { id: 'a', type: 'task', activity: 'x', retry: { maxAttempts: 1 }, onError: 'manual', next: 'e' },
      { id: 'e', type: 'end' },
    ]));
    await h.start();
    await h.fail('a', err('x'));
    const f = fx(h);
    assert.equal(f.humanTasksToOpen[0].task.kind, 'manual');
    assert.equal(f.status, 'waiting');
    await h.send({ type: 'CompleteHumanTask', taskId: f.humanTasksToOpen[0].task.taskId, action: 'skip' });
    assert.ok(fx(h).humanTasksToClose.includes('a#2'), 'fx(h).humanTasksToClose.includes(\'a#2\')');
  });
});

// Children go with the run that started them, however it ends (ChildCancelRequested).
describe('children of runs that end other than by completion', () => {
  test('a subworkflow that times out has its child cancelled', async () => {
    const h = new Harness(wf([
      { id: 's', type: 'start', next: 'c' },
      { id: 'c', type: 'subworkflow', workflow: 'child', timeout: '1m', next: 'e' },
      { id: 'e', type: 'end' },
    ]));
    await h.start();
    await h.fire(h.timerId('wait-timeout'));
    assert.deepEqual(fx(h).childrenToCancel, [{ childId: 'i-1/c#2', terminate: false }]);
  });

  test('cancelling a foreach with two children running cancels both', async () => {
    const h = new Harness(wf([
      { id: 's', type: 'start', next: 'f' },
      { id: 'f', type: 'foreach', items: 'input', workflow: 'child', concurrency: 2, next: 'e' },
      { id: 'e', type: 'end' },
    ]));
    await h.start([1, 2, 3]);
    await h.send({ type: 'Cancel' });
    assert.deepEqual(fx(h).childrenToCancel.map((c) => c.childId), ['i-1/f#2[0]', 'i-1/f#2[1]']);
  });
});
