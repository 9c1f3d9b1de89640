// The editor's DOM-free modules under Node: designer edits as YAML edits (comments and order
// survive; the result reads back as the same graph and passes the engine's loader), completion
// contexts, diagnostics ranges, the property form's fields, and traces as graph paths.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import {
  addStep, bumpVersion, connect, definitionToYaml, deleteStep, DesignError, disconnect, freshId, NEW_DEFINITION, readGraph, setStepField, updateEdge,
} from '../web/src/editor/yaml-model.js';
import { completionsAt, contextAt, stepIdsIn } from '../web/src/editor/completion-model.js';
import { checkText, rangeOf } from '../web/src/editor/diagnostics.js';
import { fieldSpecs, fromFormValue, toFormValue } from '../web/src/editor/step-fields.js';
import { traceFrames, visitedUpTo, withInstantSteps } from '../web/src/editor/trace.js';
import { readdirSync, readFileSync } from 'node:fs';
import { parseDefinition } from '../src/model/load.js';
import { verifyDefinition } from '../src/verify/verify.js';
import { STEP_TYPES, type Definition } from '../src/model/schema.js';

const COMMENTED = `# Order handling
id: orders   # the id
version: 1.2.3
steps:
  # first
  - {id: start, type: start, next: charge}
  - {id: charge, type: task, activity: noop, next: done}  # pays
  - {id: done, type: end}
`;

const edges = (text: string) => readGraph(text).edges.map((e) => `${e.from}->${e.to}${e.on ? `(${e.on})` : ''}`).sort();
const ids = (text: string) => readGraph(text).steps.map((s) => s.id);
const valid = (text: string) => {
  const r = parseDefinition(text);
  assert.deepEqual(r.issues.filter((i) => i.severity === 'error').map((i) => i.message), []);
  return r.definition!;
};

/** Routing reads each step's arrows in order; the order across steps means nothing. */
function sameMeaning(def: Definition): unknown {
  const byStep = Object.fromEntries(def.steps.map((st) => [st.id, (def.transitions ?? []).filter((t) => t.from === st.id)]));
  return { ...def, transitions: byStep };
}

describe('designer edits are YAML edits', () => {
  test('adding a step after another keeps comments, order and the flow style, and the result is valid', () => {
    const { text, id } = addStep(COMMENTED, 'task', { after: 'charge' });
    assert.equal(id, 'task');
    assert.match(text, /^# Order handling\nid: orders +# the id\n/);
    assert.match(text, /# first\n/);
    assert.match(text, /- \{id: charge, type: task, activity: noop, next: \[done, task\]\} +# pays\n/);
    assert.match(text, /- \{id: start, type: start, next: charge\}\n/, 'untouched lines keep their spacing');
    assert.match(text, /- \{id: task, type: task, activity: noop\}/);
    assert.deepEqual(ids(text), ['start', 'charge', 'task', 'done'], 'before the end');
    assert.deepEqual(edges(text), ['charge->done', 'charge->task', 'start->charge']);
  });

  test('block-style definitions get block-style steps; a fresh id never collides', () => {
    const a = addStep(NEW_DEFINITION, 'task');
    assert.equal(a.id, 'task');
    assert.match(a.text, /\n {2}- id: task\n {4}type: task\n {4}activity: noop\n/);
    const b = addStep(a.text, 'task');
    assert.equal(b.id, 'task_2');
    assert.equal(freshId('end', ['end', 'end_2']), 'end_3');
  });

  test('inserting after a step with one plain next puts the new step in between', () => {
    const { text } = addStep(COMMENTED, 'timer', { after: 'charge', insert: true });
    assert.deepEqual(edges(text), ['charge->timer', 'start->charge', 'timer->done']);
    valid(text);
    // After a step with a list of arrows there is no single place to insert: a new branch.
    const list = connect(COMMENTED, 'start', 'done');
    assert.deepEqual(edges(addStep(list, 'end', { after: 'start', insert: true }).text), ['charge->done', 'start->charge', 'start->done', 'start->end']);
  });

  test('every step type can be added and its template passes the schema', () => {
    let text = NEW_DEFINITION;
    for (const type of STEP_TYPES) text = addStep(text, type).text;
    const r = parseDefinition(text);
    const shape = r.issues.filter((i) => ['unknown-field', 'missing-field', 'invalid-type', 'invalid-value', 'unknown-step-type'].includes(i.rule));
    assert.deepEqual(shape, [], JSON.stringify(shape));
  });

  test('connect and disconnect, through next (string ↔ list) and transitions', () => {
    let text = connect(COMMENTED, 'start', 'done');
    assert.deepEqual(edges(text), ['charge->done', 'start->charge', 'start->done']);
    assert.equal(connect(text, 'start', 'done'), text, 'connecting twice adds nothing');
    const e = readGraph(text).edges.find((x) => x.from === 'start' && x.to === 'charge')!;
    text = disconnect(text, e.ref);
    assert.match(text, /\{id: start, type: start, next: done\}/);
    assert.throws(() => connect(text, 'start', 'nowhere'), DesignError);
  });

  test('a condition or on: error moves an arrow from next into transitions; removing it there works too', () => {
    const e = readGraph(COMMENTED).edges.find((x) => x.from === 'charge')!;
    const text = updateEdge(COMMENTED, e.ref, { on: 'error' });
    const g = readGraph(text);
    assert.deepEqual(edges(text), ['charge->done(error)', 'start->charge']);
    assert.equal(g.edges.find((x) => x.from === 'charge')!.ref.kind, 'transition');
    assert.match(text, /transitions:\n {2}- \{from: charge, to: done, on: error\}/);
    const t = g.edges.find((x) => x.from === 'charge')!;
    const cond = updateEdge(text, t.ref, { when: 'input.ok = true', on: undefined });
    assert.deepEqual(readGraph(cond).edges.find((x) => x.from === 'charge')!.when, 'input.ok = true');
    assert.equal(readGraph(cond).edges.find((x) => x.from === 'charge')!.on, undefined);
    const gone = disconnect(cond, readGraph(cond).edges.find((x) => x.from === 'charge')!.ref);
    assert.doesNotMatch(gone, /transitions/);
  });

  test('deleting a step removes every arrow into or out of it', () => {
    const text = deleteStep(COMMENTED, 'charge');
    assert.deepEqual(ids(text), ['start', 'done']);
    assert.deepEqual(edges(text), []);
    assert.match(text, /# Order handling/);
  });

  test('renaming a step renames every reference; changing the type drops foreign fields and adds required ones', () => {
    let text = setStepField(COMMENTED, 'charge', 'id', 'pay');
    assert.deepEqual(edges(text), ['pay->done', 'start->pay']);
    valid(text);
    assert.throws(() => setStepField(text, 'pay', 'id', 'done'), /already exists/);
    text = setStepField(text, 'pay', 'type', 'wait');
    assert.match(text, /\{id: pay, type: wait, next: done, event: event.name\}/);
    valid(text);
    text = setStepField(text, 'pay', 'timeout', '30s');
    assert.match(text, /timeout: 30s/);
    text = setStepField(text, 'pay', 'timeout', undefined);
    assert.doesNotMatch(text, /timeout/);
  });

  test('edits on broken YAML are refused with a clear error', () => {
    assert.throws(() => addStep('id: x\nsteps: [\n', 'task'), /fix the YAML first/);
    assert.throws(() => addStep('- a\n- b\n', 'task'), /must be a mapping/);
  });

  test('round trip: the designer graph of a real example reads back unchanged after a no-op rename', () => {
    const before = readGraph(COMMENTED);
    const after = readGraph(setStepField(setStepField(COMMENTED, 'charge', 'id', 'x'), 'x', 'id', 'charge'));
    assert.deepEqual(after.edges.map((e) => [e.from, e.to]), before.edges.map((e) => [e.from, e.to]));
    assert.deepEqual(after.steps.map((s) => s.data), before.steps.map((s) => s.data));
  });

  test('a deployed (normalised) definition opens as YAML with next: arrows, and means the same', () => {
    const files = readdirSync('examples').filter((f) => f.endsWith('.yaml') && !f.includes('answers'));
    assert.ok(files.length >= 5);
    for (const f of [...files.map((x) => `examples/${x}`), 'test/fixtures/definitions/unsound-join.yaml']) {
      const deployed = valid(readFileSync(f, 'utf8'));
      assert.deepEqual(sameMeaning(parseDefinition(definitionToYaml(deployed)).definition!), sameMeaning(deployed), f);
    }
    const tiny = definitionToYaml(valid('id: t\nsteps:\n  - {id: s, type: start, next: p}\n  - {id: p, type: parallel, next: [a, b]}\n  - {id: a, type: end}\n  - {id: b, type: end}\n'));
    assert.match(tiny, /next: \[a, b\]/);
    assert.doesNotMatch(tiny, /transitions/);
    // A plain arrow listed before a conditional one stays where it is (order decides routing).
    const ordered = valid('id: t\nsteps:\n  - {id: s, type: start, next: d}\n  - {id: d, type: decision}\n  - {id: a, type: end}\n  - {id: b, type: end}\ntransitions:\n  - {from: d, to: a}\n  - {from: d, to: b, default: true}\n');
    assert.deepEqual(sameMeaning(parseDefinition(definitionToYaml(ordered)).definition!), sameMeaning(ordered));
    assert.match(definitionToYaml(ordered), /transitions:\n {2}- id: d->a/);
  });

  test('bumpVersion raises the patch', () => {
    assert.equal(bumpVersion(COMMENTED).version, '1.2.4');
    assert.match(bumpVersion(COMMENTED).text, /version: 1.2.4\n/);
    assert.equal(bumpVersion('id: a\nsteps: []\n').version, '1.0.0');
  });
});

describe('designer-built deadlock is found by the verifier', () => {
  test('parallel split, two branches, one fails over to its own end: the join waits forever', async () => {
    let text = deleteStep(NEW_DEFINITION, 'work');
    text = addStep(text, 'parallel', { after: 'start' }).text;
    text = addStep(text, 'task', { after: 'parallel' }).text;
    text = addStep(text, 'task', { after: 'parallel' }).text;
    text = addStep(text, 'join', { after: 'task' }).text;
    text = connect(text, 'task_2', 'join');
    text = connect(text, 'join', 'end');
    const sound = await verifyDefinition(valid(text), { soundnessOnly: true });
    assert.equal(sound.verdict, 'sound', JSON.stringify(sound.problems));
    text = addStep(text, 'end', { after: 'task_2' }).text;
    const e = readGraph(text).edges.find((x) => x.from === 'task_2' && x.to === 'end_2')!;
    text = updateEdge(text, e.ref, { on: 'error' });
    const r = await verifyDefinition(valid(text), { soundnessOnly: true });
    assert.equal(r.verdict, 'unsound');
    const dl = r.problems.find((p) => p.kind === 'deadlock')!;
    assert.deepEqual(dl.steps, ['join']);
    const frames = traceFrames(dl.trace!, ids(text), ['start']);
    const { steps, edges: taken } = visitedUpTo(frames, frames.length - 1);
    assert.ok(steps.has('start') && steps.has('task_2') && steps.has('end_2'), [...steps].join());
    assert.ok(taken.has('task_2->end_2'), [...taken].join());
    assert.deepEqual(visitedUpTo(frames, 0).steps, new Set(['start']));
    // The split the token passed through is on the path; the join that never fired is not.
    const path = withInstantSteps(steps, readGraph(text));
    assert.ok(path.has('parallel'), [...path].join());
    assert.ok(!path.has('join') && !path.has('end'), [...path].join());
  });
});

describe('completion', () => {
  const at = (t: string) => {
    const pos = t.indexOf('|');
    return { text: t.replace('|', ''), pos };
  };
  const labels = (t: string) => {
    const { text, pos } = at(t);
    return completionsAt(text, pos)?.options.map((o) => o.label) ?? [];
  };

  test('step types after `type:` in a step, block or flow style', () => {
    assert.deepEqual(labels('id: x\nsteps:\n  - id: a\n    type: |\n'), [...STEP_TYPES]);
    assert.deepEqual(labels('id: x\nsteps:\n  - {id: a, type: pa|}\n'), ['parallel']);
  });

  test('keys of the step type being edited, without the ones already there', () => {
    const keys = labels('id: x\nsteps:\n  - id: a\n    type: join\n    |\n');
    assert.ok(keys.includes('mode') && keys.includes('split') && !keys.includes('type') && !keys.includes('id') && !keys.includes('activity'), keys.join());
    assert.deepEqual(labels('id: x\nsteps:\n  - id: a\n    type: task\n    act|\n'), ['activity']);
    assert.deepEqual(labels('id: x\nsteps:\n- id: a\n  type: task\n  retry:\n    maxA|\n'), ['maxAttempts']);
    assert.deepEqual(labels('id: x\nver|'), ['version']);
  });

  test('enum values and step ids where a step is named', () => {
    assert.deepEqual(labels('id: x\nsteps:\n  - id: j\n    type: join\n    mode: |\n'), ['all', 'any', 'n']);
    const text = 'id: x\nsteps:\n  - {id: a, type: start, next: [b, |]}\n  - {id: b, type: end}\ntransitions:\n  - {from: a, to: b, id: t1}\n';
    assert.deepEqual(labels(text), ['a', 'b']);
    assert.deepEqual(stepIdsIn(text.replace('|', '')), ['a', 'b'], 'a transition id is not a step');
    assert.deepEqual(labels('id: x\nsteps:\n  - {id: a, type: start}\ntransitions:\n  - from: a\n    to: |\n'), ['a']);
  });

  test('the context is found from indentation, dashes and brackets', () => {
    const { text, pos } = at('id: x\nsteps:\n  - id: a\n    type: task\n  - |\n');
    assert.deepEqual(contextAt(text, pos), { path: ['steps', '[]'], mode: 'key', prefix: '', from: pos, siblings: {} });
  });
});

describe('diagnostics and form fields', () => {
  test('issues carry the engine rule and a range on the right line', () => {
    const text = 'id: x\nsteps:\n  - {id: start, type: start, next: end}\n  - {id: end, type: finish}\n';
    const r = checkText(text);
    assert.equal(r.definition, undefined);
    const issue = r.issues.find((i) => i.rule === 'unknown-step-type')!;
    assert.equal(issue.line, 4);
    const lineStart = text.split('\n').slice(0, 3).join('\n').length + 1;
    assert.ok(issue.from >= lineStart && issue.to <= text.indexOf('\n', lineStart), `${issue.from}..${issue.to}`);
    assert.equal(checkText(NEW_DEFINITION).issues.length, 0);
    assert.ok(checkText(NEW_DEFINITION).definition);
    assert.deepEqual(rangeOf('ab\ncd', 2, 1), { from: 3, to: 5 });
  });

  test('the form of a task: required activity, durations, enums, YAML for objects', () => {
    const specs = fieldSpecs('task');
    const by = Object.fromEntries(specs.map((s) => [s.name, s]));
    assert.equal(by.activity!.required, true);
    assert.equal(by.timeout!.kind, 'duration');
    assert.equal(by.onError!.kind, 'enum');
    assert.equal(by.retry!.kind, 'yaml');
    assert.ok(!('id' in by) && !('type' in by) && !('next' in by));
    assert.equal(fromFormValue(by.timeout!, '5000'), 5000);
    assert.equal(fromFormValue(by.timeout!, '5s'), '5s');
    assert.deepEqual(fromFormValue(by.retry!, '{maxAttempts: 3}'), { maxAttempts: 3 });
    assert.throws(() => fromFormValue(by.retry!, '{maxAttempts: '), /retry/);
    assert.throws(() => fromFormValue(by.priority!, 'high'), /must be a number/);
    assert.equal(fromFormValue(by.timeout!, ''), undefined);
    assert.equal(toFormValue(by.retry!, { maxAttempts: 3 }), 'maxAttempts: 3');
  });
});
