import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { Definition } from '../src/model/schema.js';
import { validateDefinition } from '../src/model/validate.js';
import { verifyDefinition } from '../src/verify/verify.js';
import { formatReport } from '../src/verify/report.js';

const def = (steps: unknown[], extra: Record<string, unknown> = {}) => ({ id: 'wf', version: '1.0.0', steps, ...extra }) as Definition;
const valid = (d: Definition) => assert.deepEqual(validateDefinition(d).filter((i) => i.severity === 'error'), []);

/** start → check (task) → big? → approve (human) | auto → ship → done. */
const order = (extra: Record<string, unknown> = {}) => def([
  { id: 'start', type: 'start', next: 'check' },
  { id: 'check', type: 'task', activity: 'noop', next: 'big' },
  { id: 'big', type: 'decision' },
  { id: 'approve', type: 'human', next: 'ship' },
  { id: 'auto', type: 'task', activity: 'noop', next: 'ship' },
  { id: 'ship', type: 'task', activity: 'noop', next: 'done' },
  { id: 'done', type: 'end' },
], { transitions: [{ from: 'big', to: 'approve', when: 'input.total > 100' }, { from: 'big', to: 'auto', default: true }], ...extra });

describe('CTL properties', () => {
  it('a property that holds gets a witness, one that fails a shortest counterexample in step terms', async () => {
    const d = order({ properties: [
      { name: 'can-ship', formula: 'EF completed(ship)' },
      { name: 'always-approved', formula: 'AG (active(ship) -> completed(approve))' },
      'AG (active(approve) -> AF ended)',
      'A [ !active(ship) U (completed(check) | ended) ]',
    ] });
    valid(d);
    const r = await verifyDefinition(d);
    const byName = new Map(r.properties!.map((p) => [p.name, p]));
    const can = byName.get('can-ship')!;
    assert.equal(can.status, 'holds');
    assert.equal(can.traceKind, 'witness');
    assert.deepEqual(can.trace!.map((t) => t.text), ['the instance starts', '`check` completes', '`auto` completes', '`ship` completes']);
    const approved = byName.get('always-approved')!;
    assert.equal(approved.status, 'fails');
    assert.equal(approved.traceKind, 'counterexample');
    assert.deepEqual(approved.trace!.map((t) => t.text), ['the instance starts', '`check` completes', '`auto` completes']);
    assert.match(approved.trace![1].choices.join(), /decision `big` → `auto`/);
    assert.equal(byName.get('#3')!.status, 'holds');
    assert.equal(byName.get('#4')!.status, 'holds');
    // The built-ins are always there.
    assert.deepEqual(r.properties!.filter((p) => p.builtin).map((p) => [p.formula, p.status]), [['AG EF ended', 'holds'], ['AF ended', 'holds']]);
    // A failing property makes the definition unsound, with its counterexample as the trace.
    assert.equal(r.verdict, 'unsound');
    const problem = r.problems.find((p) => p.kind === 'property')!;
    assert.match(problem.message, /always-approved does not hold/);
    assert.equal(problem.trace!.length, 3);
    const text = formatReport(r);
    assert.match(text, /✓ property can-ship: EF completed\(ship\) holds/);
    assert.match(text, /✗ property always-approved/);
  });

  it('AF under fairness: a while loop that may always repeat still ends on every fair run; EG shows the cycle', async () => {
    const d = def([
      { id: 'start', type: 'start', next: 'poll' },
      { id: 'poll', type: 'loop', while: 'vars.more', maxIterations: 50, body: 'fetch' },
      { id: 'fetch', type: 'task', activity: 'noop', next: 'poll' },
      { id: 'done', type: 'end' },
    ], { transitions: [{ from: 'poll', to: 'fetch' }, { from: 'poll', to: 'done' }], properties: ['AF ended', 'EG !ended', 'AF completed', 'EF failed'] });
    valid(d);
    const r = await verifyDefinition(d);
    const [afEnded, egNotEnded, afCompleted, efFailed] = r.properties!.filter((p) => !p.builtin);
    assert.equal(afEnded.status, 'holds');
    // EG !ended holds only through the failure path? No: fairness excludes the loop; a run that
    // never ends would need to stay in the loop forever.
    assert.equal(egNotEnded.status, 'fails');
    assert.equal(afCompleted.status, 'fails'); // `fetch` can fail
    assert.equal(afCompleted.traceKind, 'counterexample');
    assert.match(afCompleted.traceNote!, /ends failed/);
    assert.equal(efFailed.status, 'holds');
  });

  it('the built-ins fail with the trace into the trap when a run can get stuck', async () => {
    const d = def([
      { id: 'start', type: 'start', next: 'w' },
      { id: 'w', type: 'wait', event: 'never' },
      { id: 'x', type: 'task', activity: 'noop', next: 'done' },
      { id: 'done', type: 'end' },
    ], { transitions: [{ from: 'w', to: 'x' }], properties: ['AG EF ended'] });
    const r = await verifyDefinition({ ...d, steps: d.steps.map((s) => (s.id === 'w' ? { ...s, type: 'task', activity: 'noop' } : s)) } as Definition);
    assert.equal(r.properties!.find((p) => !p.builtin)!.status, 'holds');
  });

  it('a formula that does not parse is an error naming the property, the formula and the position', async () => {
    const r = await verifyDefinition(order({ properties: [{ name: 'typo', formula: 'AG (active(shipp) -> ended)' }] }));
    assert.equal(r.verdict, 'unsound');
    const p = r.problems.find((x) => x.kind === 'property')!;
    assert.match(p.message, /property typo is not a valid CTL formula: unknown step "shipp" at position 12 of "AG \(active\(shipp\) -> ended\)"/);
  });
});

describe('resource analysis', () => {
  const pool = (capacity: number) => def([
    { id: 'start', type: 'start', next: 'fan' },
    { id: 'fan', type: 'parallel', next: ['a', 'b', 'c'] },
    { id: 'a', type: 'task', activity: 'noop', uses: { db: 1 }, next: 'j' },
    { id: 'b', type: 'task', activity: 'noop', uses: { db: 1 }, next: 'j' },
    { id: 'c', type: 'task', activity: 'noop', next: 'report' },
    { id: 'report', type: 'task', activity: 'noop', uses: { db: 2 }, next: 'j' },
    { id: 'j', type: 'join' },
    { id: 'done', type: 'end' },
  ], { metadata: { 'resource.db': capacity }, transitions: [{ from: 'j', to: 'done' }] });

  it('over-allocation in parallel branches: an error with the shortest run into it', async () => {
    const d = pool(2);
    valid(d);
    const r = await verifyDefinition(d);
    assert.equal(r.verdict, 'unsound');
    const db = r.resources!.resources.find((x) => x.name === 'db')!;
    assert.equal(db.peak, 4);
    assert.equal(db.capacity, 2);
    assert.deepEqual(db.peakSteps.sort(), ['a', 'b', 'report']);
    const p = r.problems.find((x) => x.kind === 'resource')!;
    assert.match(p.message, /resource "db" is over-allocated: 4 units held at once by .*capacity 2/);
    assert.deepEqual(p.trace!.map((t) => t.text), ['the instance starts', '`c` completes']);
    assert.match(formatReport(r), /✗ resource db: peak 4 of 2/);
  });

  it('within capacity: peak reported, no problem; undeclared resources are warned about', async () => {
    const r = await verifyDefinition(pool(4));
    assert.equal(r.verdict, 'sound', JSON.stringify(r.problems));
    assert.equal(r.resources!.resources[0].peak, 4);
    const d = pool(4);
    d.steps[2] = { ...d.steps[2], uses: { gpu: 1 } } as Definition['steps'][number];
    const r2 = await verifyDefinition(d);
    assert.ok(r2.problems.some((p) => p.severity === 'warning' && /uses resource "gpu", which the workflow does not declare/.test(p.message)));
  });

  it('leaks: the core releases every token when an instance ends, so ended states hold nothing', async () => {
    const d = pool(4);
    d.steps[4] = { id: 'c', type: 'task', activity: 'noop', next: 'stop' } as Definition['steps'][number];
    d.steps.push({ id: 'stop', type: 'end', terminate: true } as Definition['steps'][number]);
    const r = await verifyDefinition(d);
    assert.ok(!r.problems.some((p) => /leak/.test(p.message)), JSON.stringify(r.problems));
  });
});

describe('time analysis', () => {
  it('min, max and the critical path over parallel branches and a decision', async () => {
    const d = def([
      { id: 'start', type: 'start', next: 'fan' },
      { id: 'fan', type: 'parallel', next: ['quick', 'slow1'] },
      { id: 'quick', type: 'task', activity: 'noop', duration: '2s', next: 'j' },
      { id: 'slow1', type: 'task', activity: 'noop', duration: '3s', next: 'slow2' },
      { id: 'slow2', type: 'timer', delay: '4s', next: 'j' },
      { id: 'j', type: 'join', next: 'route' },
      { id: 'route', type: 'decision' },
      { id: 'review', type: 'human', duration: '1h', next: 'done' },
      { id: 'done', type: 'end' },
    ], { transitions: [{ from: 'route', to: 'review', when: 'input.big' }, { from: 'route', to: 'done', default: true }], timeout: '30m' });
    valid(d);
    const r = await verifyDefinition(d);
    assert.equal(r.time!.minMs, 7000);
    assert.equal(r.time!.maxMs, 3_607_000);
    assert.deepEqual(r.time!.criticalPath, ['start', 'fan', 'slow1', 'slow2', 'j', 'route', 'review', 'done']);
    const w = r.problems.find((p) => p.kind === 'deadline')!;
    assert.equal(w.severity, 'warning');
    assert.match(w.message, /the longest run takes 1 h, more than the workflow timeout 30 min/);
    assert.match(formatReport(r), /time: 7 s … 1 h \(timeout 30 min\); critical path `start` → `fan` → `slow1`/);
  });

  it('loops: body × maxIterations without while, 0…maxIterations with; human deadlines', async () => {
    const loop = (w?: string) => def([
      { id: 'start', type: 'start', next: 'l' },
      { id: 'l', type: 'loop', maxIterations: 5, body: 'work', ...(w && { while: w }) },
      { id: 'work', type: 'task', activity: 'noop', duration: '10s', next: 'l' },
      { id: 'ok', type: 'human', duration: '2d', deadline: { businessDays: 1 }, next: 'done' },
      { id: 'done', type: 'end' },
    ], { transitions: [{ from: 'l', to: 'work' }, { from: 'l', to: 'ok' }], timeout: '1h' });
    const fixed = await verifyDefinition(loop());
    assert.equal(fixed.time!.minMs, 50_000 + 2 * 86_400_000);
    assert.deepEqual(fixed.time!.loops, [{ loop: 'l', iterations: [5, 5], bodyMs: [10_000, 10_000] }]);
    assert.deepEqual(fixed.time!.criticalPath, ['start', 'l', 'work', 'l', 'ok', 'done']);
    assert.ok(fixed.problems.some((p) => p.severity === 'error' && /even the shortest run takes 2 d, more than the workflow timeout 1 h/.test(p.message)));
    assert.ok(fixed.problems.some((p) => /human task `ok` is expected to take 2 d, past its deadline 1 d/.test(p.message)));
    const guarded = await verifyDefinition(loop('vars.again'));
    assert.equal(guarded.time!.minMs, 2 * 86_400_000);
    assert.equal(guarded.time!.maxMs, 50_000 + 2 * 86_400_000);
  });

  it('defaults per step type when there is no hint', async () => {
    const r = await verifyDefinition(order());
    assert.equal(r.time!.steps.check.maxMs, 1000);
    assert.equal(r.time!.steps.approve.maxMs, 3_600_000);
    assert.equal(r.time!.minMs, 3000);
    assert.equal(r.time!.maxMs, 3_602_000);
  });
});

describe('PNML export of a definition', () => {
  it('the verifier state graph as a workflow net: round-trips, and its soundness agrees with the verdict', async () => {
    const { definitionToNet } = await import('../src/verify/net-export.js');
    const { parsePnml, toPnml } = await import('../src/verify/pnml.js');
    const { verifyNet } = await import('../src/verify/petri.js');
    const { loadDefinitionOrThrow } = await import('../src/model/load-file.js');
    const sound = order();
    const net = await definitionToNet(sound);
    assert.deepEqual(parsePnml(toPnml(net)), net);
    const r = await verifyDefinition(sound, { soundnessOnly: true });
    assert.equal(net.places.length, r.stats.states + 1);
    assert.ok(net.transitions.some((t) => /decision `big` → `approve`/.test(t.name ?? '')));
    const nr = await verifyNet(parsePnml(toPnml(net)));
    assert.equal(nr.net!.workflowNet, true);
    assert.equal(nr.sound, true, JSON.stringify(nr.problems));
    const unsound = await loadDefinitionOrThrow(new URL('./fixtures/definitions/unsound-join.yaml', import.meta.url).pathname);
    const ur = await verifyNet(await definitionToNet(unsound));
    assert.equal(ur.sound, false);
    assert.ok(ur.problems.some((p) => p.kind === 'deadlock' || p.kind === 'livelock'), JSON.stringify(ur.problems));
  });

  it('weft verify --pnml prints it (and PNML input normalised)', async () => {
    const { runVerify } = await import('../src/cli/verify.js');
    const out: string[] = [];
    const err: string[] = [];
    const io = { stdout: (s: string) => out.push(s), stderr: (s: string) => err.push(s) };
    const file = new URL('./fixtures/definitions/unsound-join.yaml', import.meta.url).pathname;
    assert.equal(await runVerify([file], { pnml: true }, io), 0);
    assert.match(out.join('\n'), /<pnml xmlns="http:\/\/www.pnml.org\/version-2009\/grammar\/pnml">/);
    assert.match(out.join('\n'), /ends completed/);
    assert.equal(await runVerify(['/nonexistent.yaml'], { pnml: true }, io), 1);
    assert.match(err.join('\n'), /file not found/);
  });
});

describe('subworkflows by their verified summary', () => {
  const parent = def([
    { id: 'start', type: 'start', next: 'sub' },
    { id: 'sub', type: 'subworkflow', workflow: 'child', next: 'done' },
    { id: 'recover', type: 'task', activity: 'noop', next: 'done' },
    { id: 'done', type: 'end' },
  ], { transitions: [{ from: 'sub', to: 'recover', on: 'error' }] });
  const child = def([
    { id: 'start', type: 'start', next: 'wait' },
    { id: 'wait', type: 'timer', delay: '1m', duration: '5m', next: 'end' },
    { id: 'end', type: 'end' },
  ], { id: 'child' });

  it('a child that cannot fail makes the parent\'s error path dead; time takes the child\'s', async () => {
    valid(parent);
    const without = await verifyDefinition(parent);
    assert.equal(without.verdict, 'sound', JSON.stringify(without.problems));
    const withChild = await verifyDefinition(parent, { children: { child } });
    assert.equal(withChild.verdict, 'unsound');
    assert.ok(withChild.problems.some((p) => p.kind === 'dead-step' && p.steps?.[0] === 'recover'), JSON.stringify(withChild.problems));
    assert.equal(withChild.time!.steps.sub.maxMs, 300_000);
    assert.equal(withChild.time!.steps.sub.source, 'child');
  });

  it('a recursive subworkflow is cut, not looped', async () => {
    const self = def([
      { id: 'start', type: 'start', next: 'again' },
      { id: 'again', type: 'subworkflow', workflow: 'wf', next: 'done' },
      { id: 'done', type: 'end' },
    ]);
    const r = await verifyDefinition(self, { children: { wf: self } });
    assert.equal(r.verdict, 'sound', JSON.stringify(r.problems));
  });
});
