import assert from 'node:assert/strict';
import { readdirSync } from 'node:fs';
import { describe, it } from 'node:test';
import { loadDefinitionOrThrow } from '../src/model/load-file.js';
import { validateDefinition } from '../src/model/validate.js';
import type { Definition } from '../src/model/schema.js';
import { verifyDefinition } from '../src/verify/verify.js';
import { wideDefinition } from '../src/verify/samples.js';
import { runVerify } from '../src/cli/verify.js';

const def = (steps: unknown[], extra: Record<string, unknown> = {}) => ({ id: 'wf', version: '1.0.0', steps, ...extra }) as Definition;
const valid = (d: Definition) => assert.deepEqual(validateDefinition(d).filter((i) => i.severity === 'error'), []);

function capture() {
  const out: string[] = [];
  const err: string[] = [];
  return { io: { stdout: (s: string) => out.push(s), stderr: (s: string) => err.push(s) }, out, err };
}

describe('verifier on definitions', () => {
  it('a sound order process', async () => {
    const d = def([
      { id: 'start', type: 'start', next: 'check' },
      { id: 'check', type: 'task', activity: 'noop', next: 'big' },
      { id: 'big', type: 'decision' },
      { id: 'split', type: 'parallel', next: ['pay', 'pack'] },
      { id: 'pay', type: 'task', activity: 'noop', next: 'j' },
      { id: 'pack', type: 'task', activity: 'noop', next: 'j' },
      { id: 'j', type: 'join', next: 'ship' },
      { id: 'approve', type: 'human', next: 'split' },
      { id: 'ship', type: 'task', activity: 'noop', next: 'done' },
      { id: 'done', type: 'end' },
    ], { transitions: [{ from: 'big', to: 'approve', when: 'input.total > 100' }, { from: 'big', to: 'split', default: true }] });
    valid(d);
    const r = await verifyDefinition(d);
    assert.equal(r.verdict, 'sound', JSON.stringify(r.problems));
    assert.ok(r.ends.some((e) => e.outcome === 'completed'));
  });

  it('a deadlocking join: names the join, the branch and the decision that skipped it, with a shortest trace', async () => {
    const d = wideDefinition(2, 2, { deadlock: true });
    const r = await verifyDefinition(d);
    assert.equal(r.verdict, 'unsound');
    const dl = r.problems.find((p) => p.kind === 'deadlock')!;
    assert.match(dl.message, /join `join` waits forever: 1 of 2 branches arrived \(from `b0_t1`\); the missing branch was skipped by decision `skip_join` → `early_end`/);
    // start, then the four tasks: nothing shorter leads into the deadlock.
    assert.equal(dl.trace?.length, 5);
    assert.equal(dl.trace?.[0].text, 'the instance starts');
  });

  it('dead steps: a timeout path on a wait without a timeout never runs', async () => {
    const d = def([
      { id: 'start', type: 'start', next: 'w' },
      { id: 'w', type: 'wait', event: 'go', next: 'done' },
      { id: 'late', type: 'task', activity: 'noop', next: 'done' },
      { id: 'done', type: 'end' },
    ], { transitions: [{ from: 'w', to: 'late', on: 'timeout' }] });
    valid(d);
    const r = await verifyDefinition(d);
    assert.equal(r.verdict, 'unsound');
    const dead = r.problems.find((p) => p.kind === 'dead-step')!;
    assert.deepEqual(dead.steps, ['late']);
    assert.match(dead.message, /on timeout/);
  });

  it('bounded loops and operator retries are not livelocks', async () => {
    const d = def([
      { id: 'start', type: 'start', next: 'l' },
      { id: 'l', type: 'loop', body: 'poll', maxIterations: 3, next: ['poll', 'done'] },
      { id: 'poll', type: 'task', activity: 'noop', onError: 'manual', next: 'l' },
      { id: 'done', type: 'end' },
    ]);
    valid(d);
    const r = await verifyDefinition(d);
    assert.equal(r.verdict, 'sound', JSON.stringify(r.problems));
  });

  it('a branch ending at its own end while others run is information, not a fault', async () => {
    const d = def([
      { id: 'start', type: 'start', next: 'fork' },
      { id: 'fork', type: 'parallel', next: ['a', 'b'] },
      { id: 'a', type: 'task', activity: 'noop', next: 'ea' },
      { id: 'b', type: 'task', activity: 'noop', next: 'eb' },
      { id: 'ea', type: 'end' },
      { id: 'eb', type: 'end' },
    ]);
    const r = await verifyDefinition(d);
    assert.equal(r.verdict, 'sound');
    assert.ok(r.problems.some((p) => p.kind === 'implicit-end' && p.severity === 'info'));
  });

  it('the 200-step definition (10 branches × 20 steps) is verified in under 1 s', async () => {
    const t0 = performance.now();
    const r = await verifyDefinition(wideDefinition(10, 20), { soundnessOnly: true });
    const ms = performance.now() - t0;
    assert.equal(r.verdict, 'sound');
    assert.ok(r.stats.reduced);
    assert.ok(ms < 1000, `took ${ms} ms`);
    const bad = await verifyDefinition(wideDefinition(10, 20, { deadlock: true }), { soundnessOnly: true });
    assert.equal(bad.verdict, 'unsound');
  });

  it('without reduction the same definition runs into the state limit with a clear message, never a hang', async () => {
    const r = await verifyDefinition(wideDefinition(10, 20), { reduce: false, maxStates: 2000, soundnessOnly: true });
    assert.equal(r.verdict, 'unknown');
    assert.match(r.problems[0].message, /state space exceeds 2000 states/);
  });

  it('reduction changes no verdict and no final outcome on the examples', async () => {
    for (const file of ['examples/order-fulfilment.yaml', 'examples/deployment.yaml', 'examples/ml-training.yaml']) {
      const d = await loadDefinitionOrThrow(file);
      const a = await verifyDefinition(d, { soundnessOnly: true });
      const b = await verifyDefinition(d, { reduce: false, soundnessOnly: true });
      assert.equal(a.verdict, b.verdict, file);
      assert.deepEqual(a.ends.map((e) => e.outcome).sort(), b.ends.map((e) => e.outcome).sort(), file);
    }
  });
});

describe('every example gets a verdict', () => {
  const files = readdirSync('examples').filter((f) => f.endsWith('.yaml') && !f.includes('answers'));
  for (const f of files) {
    it(`examples/${f} is sound (verdict in < 100 ms once warm)`, async () => {
      const d = await loadDefinitionOrThrow(`examples/${f}`);
      await verifyDefinition(d);
      const r = await verifyDefinition(d);
      assert.equal(r.verdict, 'sound', JSON.stringify(r.problems, null, 1));
      assert.ok(r.stats.ms < 100 * 3, `${f}: ${r.stats.ms} ms`); // generous on a loaded CI machine; the bench measures it
    });
  }
});

describe('weft verify', () => {
  it('prints a plain-words report and exits 0 for a sound file', async () => {
    const c = capture();
    const code = await runVerify(['examples/order-fulfilment.yaml'], {}, c.io);
    assert.equal(code, 0);
    assert.match(c.out.join('\n'), /order-fulfilment\.yaml \(order-fulfilment\): SOUND/);
  });

  it('--json gives the report as data; PNML files are verified as nets', async () => {
    const c = capture();
    const code = await runVerify(['test/fixtures/nets/deadlock-join.pnml'], { json: true }, c.io);
    assert.equal(code, 1);
    const doc = JSON.parse(c.out.join(''));
    assert.equal(doc.files[0].report.verdict, 'unsound');
    assert.equal(doc.files[0].report.problems[0].kind, 'deadlock');
  });

  it('--dot prints Graphviz', async () => {
    const c = capture();
    assert.equal(await runVerify(['examples/etl-pipeline.yaml'], { dot: true }, c.io), 0);
    assert.match(c.out.join(''), /^digraph "etl-pipeline"/);
  });

  it('bad input: a missing file, malformed PNML, an invalid definition, a bad --max-states', async () => {
    let c = capture();
    assert.equal(await runVerify(['nope.yaml'], {}, c.io), 1);
    assert.match(c.err.join('\n'), /file not found: nope\.yaml/);
    c = capture();
    assert.equal(await runVerify(['test/fixtures/nets/malformed.pnml'], {}, c.io), 1);
    assert.match(c.err.join('\n'), /malformed\.pnml: line 6: closing tag/);
    c = capture();
    assert.equal(await runVerify(['examples/order-fulfilment.answers.yaml'], {}, c.io), 1);
    assert.match(c.err.join('\n'), /invalid \(run weft validate\)/);
    c = capture();
    assert.equal(await runVerify(['examples/etl-pipeline.yaml'], { maxStates: 'lots' }, c.io), 1);
    assert.match(c.err.join('\n'), /--max-states must be a positive integer/);
  });
});
