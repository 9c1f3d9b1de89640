/**
 * The verifier's two refinements of its abstraction (docs/verification.md):
 * - `conditions: 'simple'`: comparisons of `input.<path>` with literals are decided per input
 *   class, so two decisions on the same input field cannot disagree;
 * - `signals: 'early'`: signals sent before their wait starts (buffered by the core) are moves of
 *   the world too.
 */
import assert from 'node:assert/strict';
import { readdirSync } from 'node:fs';
import { describe, it } from 'node:test';
import { compileDefinition } from '../src/core/compiled.js';
import { execute } from '../src/core/engine.js';
import { CommandRejected } from '../src/core/errors.js';
import type { InstanceState } from '../src/core/types.js';
import { loadDefinitionOrThrow } from '../src/model/load-file.js';
import { evaluateCondition } from '../src/model/expressions.js';
import { validateDefinition } from '../src/model/validate.js';
import type { Definition } from '../src/model/schema.js';
import { inputClasses, simpleCondition } from '../src/verify/conditions.js';
import { DefinitionSystem, VERIFY_T0 } from '../src/verify/definition-system.js';
import { explore } from '../src/verify/graph.js';
import { verifyDefinition } from '../src/verify/verify.js';
import { formatReport } from '../src/verify/report.js';
import { runVerify } from '../src/cli/verify.js';

const FIXTURE = 'test/fixtures/definitions/verify-same-condition.yaml';
const def = (steps: unknown[], extra: Record<string, unknown> = {}) => ({ id: 'wf', version: '1.0.0', steps, ...extra }) as Definition;
const valid = (d: Definition) => assert.deepEqual(validateDefinition(d).filter((i) => i.severity === 'error'), []);

function capture() {
  const out: string[] = [];
  const err: string[] = [];
  return { io: { stdout: (s: string) => out.push(s), stderr: (s: string) => err.push(s) }, out, err };
}

describe('verifier: simple conditions per input class', () => {
  it('two decisions on the same input field: free choice reports the impossible mix, simple proves it sound', async () => {
    const d = await loadDefinitionOrThrow(FIXTURE);
    valid(d);
    const free = await verifyDefinition(d);
    assert.equal(free.verdict, 'unsound');
    const deadlock = free.problems.find((p) => p.kind === 'deadlock');
    assert.ok(deadlock, JSON.stringify(free.problems));
    assert.match(deadlock.message, /join `j` waits forever/);
    assert.match(deadlock.message, /decision `needs_approval` → `no_approval`/);

    const simple = await verifyDefinition(d, { conditions: 'simple' });
    assert.equal(simple.verdict, 'sound', JSON.stringify(simple.problems));
    assert.deepEqual(simple.conditions?.decided, ['input.total >= 1000']);
    assert.deepEqual([...simple.conditions!.classes].sort(), ['input.total >= 1000', 'not (input.total >= 1000)']);
    assert.deepEqual(simple.ends.map((e) => e.outcome).sort(), free.ends.map((e) => e.outcome).filter((o) => o !== 'failed (deadlock)').sort());
    // Traces say which input class they belong to.
    const completed = simple.ends.find((e) => e.outcome === 'completed')!;
    assert.match(completed.trace[0].text, /^the instance starts with (not \()?input\.total >= 1000/);
    assert.match(formatReport(simple), /conditions decided per input class \(2\)/);
    // The same with the unreduced graph and with CTL properties (every class's runs are in one graph).
    assert.equal((await verifyDefinition(d, { conditions: 'simple', reduce: false })).verdict, 'sound');
    const props = await verifyDefinition({ ...d, properties: ['EF completed(ship_large)', 'EF completed(ship_small)', 'AG !(completed(ship_small) & completed(approve))'] } as Definition, { conditions: 'simple' });
    assert.equal(props.verdict, 'sound', JSON.stringify(props.problems));
    const freeProps = await verifyDefinition({ ...d, properties: ['AG !(completed(ship_small) & completed(approve))'] } as Definition);
    assert.equal(freeProps.properties!.find((p) => !p.builtin)!.status, 'fails');
  });

  it('a problem in one class is a problem, reported with that class', async () => {
    // Large orders route to a join whose other branch was skipped for every input: deadlock only with total >= 1000.
    const d = def([
      { id: 'start', type: 'start', next: 'fan' },
      { id: 'fan', type: 'parallel', next: ['a', 'b'] },
      { id: 'a', type: 'task', activity: 'x', next: 'j' },
      { id: 'b', type: 'decision' },
      { id: 'j', type: 'join', split: 'fan', next: 'done' },
      { id: 'side', type: 'end' },
      { id: 'done', type: 'end' },
    ], { transitions: [{ from: 'b', to: 'side', when: 'input.total >= 1000' }, { from: 'b', to: 'j', default: true }] });
    valid(d);
    const r = await verifyDefinition(d, { conditions: 'simple' });
    assert.equal(r.verdict, 'unsound');
    const p = r.problems.find((x) => x.kind === 'deadlock')!;
    assert.match(p.message, /\(with input\.total >= 1000\)$/);
    assert.match(p.trace![0].text, /with input\.total >= 1000/);
  });

  it('dead steps and completion are judged over all classes together', async () => {
    const d = def([
      { id: 'start', type: 'start', next: 'd' },
      { id: 'd', type: 'decision' },
      { id: 'big', type: 'task', activity: 'x', next: 'd2' },
      { id: 'small', type: 'task', activity: 'x', next: 'done' },
      { id: 'd2', type: 'decision' },
      { id: 'never', type: 'task', activity: 'x', next: 'done' },
      { id: 'done', type: 'end' },
    ], { transitions: [
      { from: 'd', to: 'big', when: "input.kind = 'big'" }, { from: 'd', to: 'small', default: true },
      { from: 'd2', to: 'never', when: "input.kind = 'small'" }, { from: 'd2', to: 'done', default: true },
    ] });
    valid(d);
    assert.equal((await verifyDefinition(d)).verdict, 'sound');
    const r = await verifyDefinition(d, { conditions: 'simple' });
    assert.equal(r.verdict, 'unsound');
    const dead = r.problems.filter((p) => p.kind === 'dead-step');
    assert.deepEqual(dead.map((p) => p.steps), [['never']]);
    assert.ok(!r.problems.some((p) => p.kind === 'no-completion'));
  });

  it('recognises the simple fragment, and only it', () => {
    const yes = ['input.total >= 1000', '1000 < input.total', "input.a.b = 'x' and $not(input.f)", "input.c in ['a', 'b']", 'input.vip', '${input.n != -5 or input.m <= 2.5}', 'input.x = null', 'true'];
    const no = ['vars.total >= 1000', 'input.total >= vars.limit', 'steps.a.output.ok = true', '$count(input.items) > 2', 'input.items[0] = 1', 'input.a + 1 > 2', 'input.a = input.b', 'not valid ((('];
    for (const e of yes) assert.ok(simpleCondition(e, new Map()), e);
    for (const e of no) assert.ok(!simpleCondition(e, new Map()), e);
    const paths = new Map<string, unknown[]>();
    simpleCondition("input.c in ['a', 'b'] and input.total > 3", paths);
    assert.deepEqual(Object.fromEntries(paths), { 'input.c': ['a', 'b'], 'input.total': [3] });
  });

  it('classes are the satisfiable combinations of condition values; the engine agrees on every representative', async () => {
    const d = def([
      { id: 'start', type: 'start', next: 'd' },
      { id: 'd', type: 'decision' },
      { id: 'e1', type: 'end' }, { id: 'e2', type: 'end' }, { id: 'e3', type: 'end' },
    ], { transitions: [
      { from: 'd', to: 'e1', when: 'input.total >= 1000' },
      { from: 'd', to: 'e2', when: 'input.total > 5000 and $not(input.vip)' },
      { from: 'd', to: 'e3', default: true },
    ] });
    const c = await inputClasses(d);
    assert.equal(c.decided.size, 2);
    // total < 1000 (vip irrelevant to the values: the second is false), 1000 ≤ total ≤ 5000, total > 5000 × vip/not vip.
    assert.equal(c.classes.length, 3);
    for (const k of c.classes) {
      for (const [src, v] of k.truth) assert.equal(await evaluateCondition(src, { input: k.input }), v);
    }
  });

  it('more classes than the bound: free choices, with a note', async () => {
    const transitions = [];
    const steps: unknown[] = [{ id: 'start', type: 'start', next: 'd0' }];
    for (let i = 0; i < 7; i++) {
      steps.push({ id: `d${i}`, type: 'decision' }, { id: `t${i}`, type: 'task', activity: 'x', next: i < 6 ? `d${i + 1}` : 'done' });
      transitions.push({ from: `d${i}`, to: `t${i}`, when: `input.f${i} = true` }, { from: `d${i}`, to: i < 6 ? `d${i + 1}` : 'done', default: true });
    }
    steps.push({ id: 'done', type: 'end' });
    const d = def(steps, { transitions });
    valid(d);
    const r = await verifyDefinition(d, { conditions: 'simple' });
    assert.equal(r.verdict, 'sound');
    assert.match(r.conditions!.note!, /more than 64 input classes/);
    assert.ok(r.problems.some((p) => p.kind === 'conditions' && p.severity === 'info'));
    const r2 = await verifyDefinition(d, { conditions: 'simple', maxInputClasses: 128 });
    assert.equal(r2.conditions!.classes.length, 128);
    assert.equal(r2.verdict, 'sound');
  });

  it('a loop whose `while` is decided by the input runs to its bound: the iteration count stays in the state', async () => {
    const d = def([
      { id: 'start', type: 'start', next: 'l' },
      { id: 'l', type: 'loop', while: 'input.again = true', maxIterations: 3, body: 'work', next: ['work', 'done'] },
      { id: 'work', type: 'task', activity: 'x', next: 'l' },
      { id: 'done', type: 'end' },
    ]);
    valid(d);
    const r = await verifyDefinition(d, { conditions: 'simple' });
    assert.equal(r.verdict, 'sound', JSON.stringify(r.problems));
    const simple = await explore(new DefinitionSystem(d, { reduce: false, inputClasses: await inputClasses(d) }));
    const free = await explore(new DefinitionSystem(d, { reduce: false }));
    // With the input deciding `while`, the body runs exactly 3 times: the count is state.
    assert.ok(simple.keys.some((k) => k.includes('l=2')), simple.keys.join('\n'));
    assert.ok(!free.keys.some((k) => k.includes('l=')));
  });

  it('engine runs with real inputs are paths of the class state space', async () => {
    for (const [file, inputs] of [
      [FIXTURE, [{ total: 0 }, { total: 999.5 }, { total: 1000 }, { total: 12_345 }, {}]],
      ['examples/ml-training.yaml', [{ deploy_below_threshold: true, optimize_model: false, deploy_model: true }, { optimize_model: true }, {}, { deploy_model: 'yes' }]],
    ] as const) {
      const d = await loadDefinitionOrThrow(file);
      const classes = await inputClasses(d);
      const sys = new DefinitionSystem(d, { reduce: false, inputClasses: classes });
      const g = await explore(sys, { maxStates: 20_000 });
      assert.ok(!g.truncated);
      const edges = new Set<string>();
      g.edges.forEach((list, v) => list.forEach((e) => edges.add(`${g.keys[v]}\n${g.keys[e.target]}`)));
      const real = compileDefinition({ ...d, input: undefined } as Definition);
      for (const [n, input] of inputs.entries()) {
        // The class of a real input: the one on which every decided condition has the same value.
        const values = await Promise.all([...classes.decided].map((src) => evaluateCondition(src, { input }).catch(() => 'error')));
        const cls = classes.classes.find((c) => [...classes.decided].every((src, i) => c.truth.get(src) === values[i]));
        assert.ok(cls, `no class for ${JSON.stringify(input)}`);
        const key = (s: InstanceState) => sys.key({ ...s, input: cls.input });
        for (let run = 0; run < 4; run++) {
          let state = (await execute(real, null, { type: 'StartWorkflow', instanceId: 'verify', input }, { now: VERIFY_T0, random: 0.5 })).state;
          assert.ok(edges.has(`init\n${key(state)}`), `${file}: the start with ${JSON.stringify(input)} is not an edge`);
          for (let step = 0; step < 200 && !sys.isFinal(state); step++) {
            const cmds = [...sys.commandsOf(state).values()].flat();
            if (!cmds.length) break;
            const cmd = cmds[(step * 7 + run * 3 + n) % cmds.length];
            const before = key(state);
            try {
              state = (await execute(real, structuredClone(state), cmd, { now: VERIFY_T0 + step * 1000, random: 0.5 })).state;
            } catch (err) {
              if (err instanceof CommandRejected) continue;
              throw err;
            }
            assert.ok(edges.has(`${before}\n${key(state)}`), `${file} with ${JSON.stringify(input)}: ${cmd.type} from\n${before}\nto\n${key(state)}\nis not an edge`);
          }
        }
      }
    }
  });

  it('every example stays sound with simple conditions and early signals', async () => {
    for (const f of readdirSync('examples').filter((x) => x.endsWith('.yaml') && !x.includes('answers'))) {
      const d = await loadDefinitionOrThrow(`examples/${f}`);
      const r = await verifyDefinition(d, { conditions: 'simple', signals: 'early' });
      assert.equal(r.verdict, 'sound', `${f}: ${JSON.stringify(r.problems.filter((p) => p.severity !== 'info'))}`);
    }
    const ml = await verifyDefinition(await loadDefinitionOrThrow('examples/ml-training.yaml'), { conditions: 'simple' });
    assert.equal(ml.conditions!.classes.length, 8);
  });

  it('weft verify --conditions simple', async () => {
    let c = capture();
    assert.equal(await runVerify([FIXTURE], {}, c.io), 1);
    c = capture();
    assert.equal(await runVerify([FIXTURE], { conditions: 'simple' }, c.io), 0, c.err.join('\n'));
    assert.match(c.out.join('\n'), /SOUND[\s\S]*input class/);
    c = capture();
    assert.equal(await runVerify([FIXTURE], { conditions: 'exact' }, c.io), 1);
    assert.match(c.err.join('\n'), /--conditions must be "simple" or "free"/);
    c = capture();
    assert.equal(await runVerify([FIXTURE], { signals: 'soon' }, c.io), 1);
    assert.match(c.err.join('\n'), /--signals must be "early" or "awaited"/);
  });
});

describe('verifier: signals sent before their wait starts', () => {
  const d = def([
    { id: 'start', type: 'start', next: 'prep' },
    { id: 'prep', type: 'task', activity: 'x', next: 'w' },
    { id: 'w', type: 'wait', event: 'go', timeout: '1h', next: 'done' },
    { id: 'late', type: 'end' },
    { id: 'done', type: 'end' },
  ], { transitions: [{ from: 'w', to: 'late', on: 'timeout' }] });

  it('an early signal is buffered by the core and consumed when the wait starts', async () => {
    valid(d);
    const awaited = await explore(new DefinitionSystem(d, { reduce: false }));
    const early = await explore(new DefinitionSystem(d, { reduce: false, signals: 'early' }));
    const labels = (g: typeof early) => g.edges.flat().map((e) => e.label);
    assert.ok(!labels(awaited).some((m) => /buffered/.test(m.text)));
    assert.ok(labels(early).some((m) => m.text === 'signal "go" is sent before anything waits for it and is buffered'));
    // `prep` completes and the wait starts and completes in the same command: the buffered signal.
    assert.ok(labels(early).some((m) => m.text === '`prep` completes' && m.completed.includes('w')));
    assert.ok(!labels(awaited).some((m) => m.text === '`prep` completes' && m.completed.includes('w')));
    assert.ok(early.states.length > awaited.states.length);
    const r = await verifyDefinition(d, { signals: 'early' });
    assert.equal(r.verdict, 'sound');
    assert.equal(r.signals, 'early');
    // At most one buffered signal per event name (the bound), so the space stays finite.
    assert.ok(!early.keys.some((k) => k.includes('go,go')));
    const two = await explore(new DefinitionSystem(d, { reduce: false, signals: 'early', maxEarlySignals: 2 }));
    assert.ok(two.keys.some((k) => k.includes('go,go')));
  });

  it('with early signals a `match` may reject a signal, which stays buffered', async () => {
    const m = def([
      { id: 'start', type: 'start', next: 'w' },
      { id: 'w', type: 'wait', event: 'go', match: 'event.ok = true', next: 'done' },
      { id: 'done', type: 'end' },
    ]);
    valid(m);
    const g = await explore(new DefinitionSystem(m, { reduce: false, signals: 'early' }));
    assert.ok(g.edges.flat().some((e) => /not matching `w`\) and is buffered/.test(e.label.text)));
    assert.equal((await verifyDefinition(m, { signals: 'early' })).verdict, 'sound');
  });

  it('the reduced and the full graph agree on the verdict and the outcomes with early signals', async () => {
    const branch = (n: number) => [
      { id: `a${n}`, type: 'task', activity: 'x', next: `w${n}` },
      { id: `w${n}`, type: 'wait', event: n === 2 ? 'go1' : `go${n}`, next: `b${n}` },
      { id: `b${n}`, type: 'task', activity: 'x', next: 'j' },
    ];
    const x = def([
      { id: 'start', type: 'start', next: 'fan' },
      { id: 'fan', type: 'parallel', next: ['a1', 'a2', 'a3'] },
      ...branch(1), ...branch(2), ...branch(3),
      { id: 'j', type: 'join', next: 'done' },
      { id: 'done', type: 'end' },
    ]);
    valid(x);
    const a = await verifyDefinition(x, { signals: 'early', soundnessOnly: true });
    const b = await verifyDefinition(x, { signals: 'early', soundnessOnly: true, reduce: false });
    assert.ok(a.stats.reduced && a.stats.states < b.stats.states, `${a.stats.states} vs ${b.stats.states}`);
    assert.equal(a.verdict, 'sound');
    assert.equal(a.verdict, b.verdict);
    assert.deepEqual(a.ends.map((e) => e.outcome).sort(), b.ends.map((e) => e.outcome).sort());
    for (const f of ['examples/order-fulfilment.yaml', 'examples/iot-monitoring.yaml']) {
      const y = await loadDefinitionOrThrow(f);
      const c = await verifyDefinition(y, { signals: 'early', soundnessOnly: true });
      const e = await verifyDefinition(y, { signals: 'early', soundnessOnly: true, reduce: false });
      assert.equal(c.verdict, e.verdict);
      assert.deepEqual(c.ends.map((z) => z.outcome).sort(), e.ends.map((z) => z.outcome).sort());
    }
  });
});
