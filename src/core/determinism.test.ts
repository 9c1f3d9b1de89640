/** Purity and determinism of the core (SPEC principle 2): decide/evolve/fold, replay, time travel. */
import assert from 'node:assert/strict';
import { afterEach, describe, test } from 'node:test';
import { compileDefinition } from './compiled.js';
import { decide, evolve, execute, fold } from './engine.js';
import { Simulator, SimFailure } from './simulator.js';
import { Harness, T0, err, verifyAndReplayHarnesses, wf } from './testing/harness.js';
import type { Command, EngineEvent, InstanceState } from './types.js';

afterEach(verifyAndReplayHarnesses);

const def = wf([
  { id: 's', type: 'start', next: 'p' },
  { id: 'p', type: 'parallel', next: ['a', 'w', 't'] },
  { id: 'a', type: 'task', activity: 'x', retry: { maxAttempts: 3, jitter: 0.5 }, set: { got: 'output' }, next: 'j' },
  { id: 'w', type: 'wait', event: 'go', timeout: '1h', next: 'j' },
  { id: 't', type: 'timer', delay: '10m', next: 'j' },
  { id: 'j', type: 'join', next: 'h' },
  { id: 'h', type: 'human', next: 'e' },
  { id: 'e', type: 'end' },
], { variables: { got: {} } });

async function scenario(h: Harness): Promise<void> {
  await h.start({ n: 1 });
  await h.fail('a', err('flaky'));
  h.now += 500;
  await h.fire(h.timerId('retry'));
  await h.complete('a', { r: 1 });
  await h.send({ type: 'Signal', name: 'go', payload: 'p' });
  await h.fire(h.timerId('timer'));
  await h.send({ type: 'CompleteHumanTask', taskId: h.run('h').id, action: 'approve', data: { ok: true } });
}

describe('determinism', () => {
  test('the same commands with the same now/random give identical events', async () => {
    const rnd = () => { let x = 0.1; return () => (x = (x * 9301 + 49297) % 1) ; };
    const h1 = new Harness(def, { random: rnd() });
    const h2 = new Harness(def, { random: rnd() });
    await scenario(h1);
    await scenario(h2);
    assert.equal(h1.s.status, 'completed');
    assert.deepStrictEqual(h1.log, h2.log);
    assert.deepStrictEqual(h1.s, h2.s);
  });

  test('random only enters through the context (jitter differs, nothing else)', async () => {
    const h1 = new Harness(def, { random: 0 });
    const h2 = new Harness(def, { random: 0.99 });
    await h1.start();
    await h2.start();
    await h1.fail('a', err('x'));
    await h2.fail('a', err('x'));
    const r1 = h1.events('ActivityFailed')[0].retryAt!;
    const r2 = h2.events('ActivityFailed')[0].retryAt!;
    assert.equal(r1, T0 + 500);
    assert.equal(r2, T0 + 1490);
  });

  test('decide does not mutate the state it is given, and agrees with execute', async () => {
    const h = new Harness(def);
    await h.start();
    const compiled = compileDefinition(def);
    const before = structuredClone(h.s);
    const cmd = { type: 'CompleteActivity', instanceId: 'i-1', taskId: h.task('a').taskId, attempt: 1, output: 1 } as Command;
    const events = await decide(compiled, h.s, cmd, { now: T0, random: 0.5 });
    assert.deepStrictEqual(h.s, before);
    const copy = structuredClone(h.s);
    const r = await execute(compiled, copy, cmd, { now: T0, random: 0.5 });
    assert.deepStrictEqual(r.events, events);
    assert.deepStrictEqual(fold(events, before), r.state);
  });

  test('evolve is pure: neither the state nor the event changes', async () => {
    const h = new Harness(def);
    await scenario(h);
    let state: InstanceState | null = null;
    for (const e of h.log) {
      const stateBefore: InstanceState | null = structuredClone(state);
      const eventBefore = structuredClone(e);
      const next: InstanceState = evolve(state, e);
      assert.deepStrictEqual(state, stateBefore);
      assert.deepStrictEqual(e, eventBefore);
      assert.notEqual(next, state);
      state = next;
    }
    assert.deepStrictEqual(state, h.s);
  });

  test('fold from a snapshot equals the full fold, and leaves the snapshot alone', async () => {
    const h = new Harness(def);
    await scenario(h);
    for (const cut of [1, 5, 10, h.log.length - 1]) {
      const snapshot = fold(h.log.slice(0, cut))!;
      const copy = structuredClone(snapshot);
      assert.deepStrictEqual(fold(h.log.slice(cut), snapshot), h.s);
      assert.deepStrictEqual(snapshot, copy);
    }
  });

  test('time travel: the state at every past event is the state the instance had then', async () => {
    const h = new Harness(def);
    const states: Array<{ seq: number; state: InstanceState }> = [];
    const orig = h.send.bind(h);
    h.send = async (c) => {
      const r = await orig(c);
      states.push({ seq: h.s.seq, state: structuredClone(h.s) });
      return r;
    };
    await scenario(h);
    for (const { seq, state } of states) assert.deepStrictEqual(fold(h.log.filter((e) => e.seq <= seq)), state);
    // Events are never modified by later commands (e.g. a retry or escalation changing a task).
    const started = h.log.find((e): e is Extract<EngineEvent, { type: 'StepStarted' }> => e.type === 'StepStarted' && e.stepId === 'a')!;
    assert.equal(started.task?.status, 'scheduled');
  });

  test('events survive a JSON round trip', async () => {
    const h = new Harness(def);
    await scenario(h);
    const stored = JSON.parse(JSON.stringify(h.log)) as EngineEvent[];
    assert.equal(JSON.stringify(fold(stored)), JSON.stringify(h.s));
  });
});

describe('simulator', () => {
  test('runs a definition with handlers and its log folds to its state', async () => {
    const sim = new Simulator(def);
    await sim.start({});
    await sim.send({ type: 'Signal', name: 'go' } as Command);
    let calls = 0;
    await sim.run({ x: () => { if (calls++ === 0) throw new SimFailure(err('flaky')); return 'ok'; } });
    assert.equal(sim.s.status, 'waiting');
    assert.equal(calls, 2);
    await sim.send({ type: 'CompleteHumanTask', taskId: Object.values(sim.s.active)[0].id, action: 'approve' } as Command);
    assert.equal(sim.s.status, 'completed');
    assert.deepEqual(sim.s.vars, { got: 'ok' });
    assert.deepStrictEqual(sim.replay(), sim.s);
  });
});
