import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { fileURLToPath } from 'node:url';
import { readFileSync } from 'node:fs';
import {
  parseDefinition, parseDefinitionOrThrow, checkDefinitionShape, DEFAULT_MAX_DEFINITION_BYTES,
} from './load.js';
import { loadDefinitionFile, loadDefinitionOrThrow } from './load-file.js';
import fc from 'fast-check';
import { DefinitionError, formatIssue } from './errors.js';

const fixture = (name: string) => fileURLToPath(new URL(`../../test/fixtures/definitions/${name}`, import.meta.url));
const rules = (issues: { rule: string }[]) => issues.map((i) => i.rule);

describe('syntax', () => {
  test('malformed YAML gives a syntax issue with a line and column, and no definition', () => {
    const r = parseDefinition('id: x\nsteps:\n  - id: a\n    type: start\n   bad: [1, 2\n', { file: 'bad.yaml' });
    assert.equal(r.definition, undefined);
    assert.ok(r.issues.length > 0);
    assert.ok(r.issues.every((i) => i.rule === 'syntax' && i.severity === 'error' && i.file === 'bad.yaml'));
    assert.ok(r.issues[0].line! >= 5, `line ${r.issues[0].line}`);
    assert.match(r.issues[0].message, /^invalid YAML: /);
  });
  test('the malformed fixture', async () => {
    const r = await loadDefinitionFile(fixture('invalid/malformed.yaml'));
    assert.equal(r.issues[0].rule, 'syntax');
    assert.equal(r.issues[0].line, 6); // the unclosed `[` on line 5 is noticed on line 6
  });
  test('duplicate keys are a syntax error', () => {
    const r = parseDefinition('id: x\nid: y\nsteps: []\n');
    assert.deepEqual(r.issues.map((i) => [i.rule, i.line]), [['syntax', 2]]);
  });
  test('multiple documents are refused', () => {
    const r = parseDefinition('id: x\n---\nid: y\n');
    assert.equal(r.issues[0].rule, 'syntax');
    assert.equal(r.issues[0].line, 2);
  });
  test('JSON: malformed, and JSON-only strictness (trailing comma)', () => {
    const bad = parseDefinition('{\n  "id": "x",\n  "steps": [\n', { file: 'x.json' });
    assert.equal(bad.issues[0].rule, 'syntax');
    assert.match(bad.issues[0].message, /^invalid JSON/);
    const trailing = parseDefinition('{\n  "id": "x",\n  "steps": [],\n}', { file: 'x.json' });
    assert.deepEqual(trailing.issues.map((i) => [i.rule, i.line]), [['syntax', 4]]);
  });
  test('format comes from the content when there is no file name', () => {
    const r = parseDefinition('{"id": "x", "steps": [{"id": "s", "type": "start"}], }');
    assert.match(r.issues[0].message, /invalid JSON/);
  });
  test('an empty document', () => {
    assert.deepEqual(rules(parseDefinition('# nothing\n').issues), ['empty-definition']);
  });
  test('alias bombs are refused', () => {
    const lines = ['a: &a [x, x, x, x, x, x, x, x, x, x]'];
    for (let i = 0; i < 8; i++) lines.push(`${String.fromCharCode(98 + i)}: &${String.fromCharCode(98 + i)} [${Array(10).fill(`*${String.fromCharCode(97 + i)}`).join(', ')}]`);
    const r = parseDefinition(lines.join('\n'));
    assert.equal(r.issues[0].rule, 'syntax');
  });
});

describe('payload guard', () => {
  test('text over the limit is refused without parsing', () => {
    const text = `id: x\n# ${'x'.repeat(DEFAULT_MAX_DEFINITION_BYTES)}\n`;
    const r = parseDefinition(text, { file: 'huge.yaml' });
    assert.equal(r.definition, undefined);
    assert.deepEqual(r.issues.map((i) => [i.rule, i.line, i.file]), [['too-large', 1, 'huge.yaml']]);
    assert.match(r.issues[0].message, /over the limit of 1048576 bytes/);
  });
  test('the limit is configurable and counts UTF-8 bytes', () => {
    assert.deepEqual(rules(parseDefinition('id: é\n', { maxBytes: 6 }).issues), ['too-large']);
    assert.notDeepEqual(rules(parseDefinition('id: é\n', { maxBytes: 7 }).issues), ['too-large']);
  });
});

describe('shape errors are friendly and positioned', () => {
  test('unknown step type names the choices and suggests', async () => {
    const r = await loadDefinitionFile(fixture('invalid/unknown-step-type.yaml'));
    assert.equal(r.definition, undefined);
    assert.equal(r.issues.length, 1);
    const [i] = r.issues;
    assert.equal(i.rule, 'unknown-step-type');
    assert.equal(i.line, 7);
    assert.equal(i.column, 11);
    assert.deepEqual(i.path, ['steps', 1, 'type']);
    assert.match(i.message, /^unknown step type "taks" \(expected one of start, end, task, decision, inclusive, parallel, join, wait, timer, human, subworkflow, loop, foreach\); did you mean "task"\?$/);
  });
  test('a step without a type', () => {
    const r = parseDefinition('id: x\nsteps:\n  - id: a\n');
    assert.deepEqual(r.issues.map((i) => [i.rule, i.line]), [['unknown-step-type', 3]]);
    assert.match(r.issues[0].message, /step "a" has no "type"/);
  });
  test('unknown field, wrong types, bad values', async () => {
    const r = await loadDefinitionFile(fixture('invalid/schema-errors.yaml'));
    const byRule = r.issues.map((i) => [i.rule, i.line, i.message]);
    assert.deepEqual(byRule, [
      ['invalid-type', 2, 'field "version" in the workflow must be a string, not the number 1 (quote the value)'],
      ['unknown-field', 10, 'unknown field "retires" in step "charge" (did you mean "retry"?)'],
      ['invalid-value', 11, 'field "timeout" in step "charge": expected a duration such as "500ms", "30s", "5m", "1h30m" or "2d", not the string "soon"'],
      ['invalid-type', 12, 'field "priority" in step "charge" must be a number, not the string "high"'],
    ]);
  });
  test('nested unknown field and missing required field', () => {
    const r = parseDefinition([
      'id: x',
      'steps:',
      '  - id: a',
      '    type: task',
      '    retry:',
      '      maxAttemps: 2',
      '  - {id: e, type: end}',
    ].join('\n'));
    assert.deepEqual(r.issues.map((i) => [i.rule, i.line, i.message]), [
      ['missing-field', 3, 'step "a" is missing required field "activity"'],
      ['unknown-field', 6, 'unknown field "maxAttemps" in "retry" of step "a" (did you mean "maxAttempts"?)'],
    ]);
  });
  test('enums, unions and numbers', () => {
    const r = parseDefinition([
      'id: x',
      'errorPolicy: explode',
      'timeout: true',
      'steps:',
      '  - {id: j, type: join, mode: some, n: 0}',
      '  - {id: t, type: timer, delay: 5.5}',
      '  - {id: h, type: human, deadline: {at: 5}}',
    ].join('\n'));
    assert.deepEqual(r.issues.map((i) => [i.rule, i.line, i.message]), [
      ['invalid-value', 2, 'field "errorPolicy" in the workflow must be one of "fail", "continue", "compensate", "manual", not the string "explode"'],
      ['invalid-type', 3, 'field "timeout" in the workflow must be a string, a number or an object, not the boolean true'],
      ['invalid-value', 5, 'field "mode" in step "j" must be one of "all", "any", "n", not the string "some"'],
      ['invalid-value', 5, 'field "n" in step "j" must be at least 1, not the number 0'],
      ['invalid-type', 6, 'field "delay" in step "t" must be a string or an integer, not the number 5.5'],
      ['invalid-type', 7, 'field "deadline.at" in step "h" must be a string, not the number 5 (quote the value)'],
    ]);
  });
  test('the root must be an object; steps must not be empty', () => {
    assert.deepEqual(rules(parseDefinition('- a\n- b\n').issues), ['invalid-type']);
    const r = parseDefinition('id: x\nsteps: []\n');
    assert.deepEqual(r.issues.map((i) => [i.rule, i.line, i.message]), [['invalid-value', 2, 'field "steps" in the workflow: a workflow needs at least a start and an end step']]);
  });
  test('a transition with a bad field names the transition', () => {
    const r = parseDefinition('id: x\nsteps:\n  - {id: s, type: start}\ntransitions:\n  - {from: s, to: 3}\n  - {from: s, to: e, whne: x}\n');
    assert.deepEqual(r.issues.map((i) => [i.line, i.message]), [
      [5, 'field "to" in transitions[0] must be a string, not the number 3 (quote the value)'],
      [6, 'unknown field "whne" in transition s → e (did you mean "when"?)'],
    ]);
  });
  test('checkDefinitionShape works on plain objects (no positions)', () => {
    const r = checkDefinitionShape({ id: 'x', steps: [{ id: 'a', type: 'task', activity: 'b', retires: 1 }] });
    assert.deepEqual(r.issues.map((i) => [i.rule, i.path, i.line]), [['unknown-field', ['steps', 0, 'retires'], undefined]]);
  });
});

describe('graph errors are positioned', () => {
  test('dangling transition, cycle without loop, unreachable', async () => {
    const r = await loadDefinitionFile(fixture('invalid/graph-errors.yaml'));
    assert.ok(r.definition, 'shape is fine, so the normalised definition is returned');
    const pick = (rule: string) => r.issues.filter((i) => i.rule === rule).map((i) => i.line);
    assert.deepEqual(pick('unknown-step'), [19]);
    assert.deepEqual(pick('cycle-without-loop'), [11]);
    assert.deepEqual(pick('unreachable-step'), [12]);
    assert.deepEqual(pick('missing-default'), [6]);
    assert.ok(r.issues.every((i) => i.line !== undefined && i.column !== undefined && i.file === fixture('invalid/graph-errors.yaml')));
    const lines = r.issues.map((i) => i.line!);
    assert.deepEqual(lines, [...lines].sort((a, b) => a - b), 'issues are in source order');
  });
});

describe('results and errors', () => {
  test('a valid file gives the normalised definition and no issues', async () => {
    const r = await loadDefinitionFile(fixture('order.yaml'));
    assert.deepEqual(r.issues, []);
    assert.equal(r.definition!.id, 'order');
    assert.ok(r.definition!.steps.every((s) => !('next' in s)));
    assert.ok(r.definition!.transitions!.every((t) => typeof t.id === 'string'));
  });
  test('YAML and JSON forms give the same definition', async () => {
    const json = await loadDefinitionOrThrow(fixture('order.json'));
    const yaml = parseDefinitionOrThrow([
      'id: order-json',
      'version: 1.0.0',
      'steps:',
      '  - {id: start, type: start, next: charge}',
      '  - {id: charge, type: task, activity: payments.charge, input: {amount: "${input.total}"}, next: done}',
      '  - {id: done, type: end}',
    ].join('\n'));
    assert.deepEqual(json, yaml);
  });
  test('a missing file is an issue, not a crash', async () => {
    const r = await loadDefinitionFile(fixture('nope.yaml'));
    assert.deepEqual(r.issues.map((i) => [i.rule, i.severity]), [['file', 'error']]);
    assert.match(r.issues[0].message, /file not found/);
  });
  test('loadDefinitionOrThrow throws DefinitionError listing every issue as file:line:column: message (at path)', async () => {
    const file = fixture('invalid/schema-errors.yaml');
    await assert.rejects(loadDefinitionOrThrow(file), (err: unknown) => {
      assert.ok(err instanceof DefinitionError);
      assert.equal(err.issues.length, 4);
      assert.ok(err.message.includes(`${file}:10:5: unknown field "retires" in step "charge" (did you mean "retry"?) (at steps[1].retires)`), err.message);
      assert.match(err.message, /^invalid workflow definition: 4 errors\n/);
      return true;
    });
  });
  test('loadDefinitionOrThrow accepts text and {text}/{file}', async () => {
    const text = readFileSync(fixture('order.yaml'), 'utf8');
    const a = await loadDefinitionOrThrow(text);
    const b = await loadDefinitionOrThrow({ text, file: 'order.yaml' });
    const c = await loadDefinitionOrThrow({ file: fixture('order.yaml') });
    assert.deepEqual(a, b);
    assert.deepEqual(b, c);
  });
  test('warnings alone do not throw', async () => {
    const def = await loadDefinitionOrThrow(fixture('warnings.yaml'));
    assert.equal(def.id, 'warnings');
  });
  test('formatIssue without a file or line', () => {
    assert.equal(formatIssue({ rule: 'r', message: 'm', path: ['steps', 0, 'resource.db'], severity: 'warning' }), 'warning: m (at steps[0]["resource.db"])');
  });
});

describe('never crashes (property)', () => {
  const check = (text: string) => {
    const r = parseDefinition(text, { file: 'fuzz.yaml' });
    for (const i of r.issues) {
      assert.equal(typeof i.message, 'string');
      assert.ok(i.line !== undefined && i.line >= 1, `no line for ${formatIssue(i)}`);
    }
    if (r.definition) assert.ok(Array.isArray(r.definition.transitions));
  };
  test('arbitrary text', () => {
    fc.assert(fc.property(fc.string({ maxLength: 200 }), (t) => check(t)), { numRuns: 300 });
  });
  test('arbitrary JSON values', () => {
    fc.assert(fc.property(fc.jsonValue({ maxDepth: 4 }), (v) => check(JSON.stringify(v))), { numRuns: 300 });
  });
  test('definition-like objects with random steps and transitions', () => {
    const id = fc.constantFrom('start', 'a', 'b', 'c', 'end', 'x y', '');
    const type = fc.constantFrom('start', 'end', 'task', 'decision', 'inclusive', 'parallel', 'join', 'wait', 'timer', 'human', 'subworkflow', 'loop', 'foreach', 'nope');
    const value = fc.oneof(fc.string({ maxLength: 8 }), fc.integer({ min: -2, max: 5 }), fc.boolean(), fc.constant(null), fc.constantFrom('${input.a}', '${(', '5m', '* * * * *'));
    const step = fc.record({
      id, type,
      activity: fc.option(value, { nil: undefined }), body: fc.option(id, { nil: undefined }),
      next: fc.option(fc.oneof(id, fc.array(id, { maxLength: 3 })), { nil: undefined }),
      maxIterations: fc.option(value, { nil: undefined }), items: fc.option(value, { nil: undefined }),
      delay: fc.option(value, { nil: undefined }), mode: fc.option(fc.constantFrom('all', 'any', 'n', 'x'), { nil: undefined }),
      split: fc.option(id, { nil: undefined }), n: fc.option(value, { nil: undefined }), extra: fc.option(value, { nil: undefined }),
    }, { requiredKeys: ['id', 'type'] });
    const transition = fc.record({ from: id, to: id, when: fc.option(value, { nil: undefined }), on: fc.option(fc.constantFrom('error', 'timeout', 'cancel'), { nil: undefined }), default: fc.option(fc.boolean(), { nil: undefined }) }, { requiredKeys: ['from', 'to'] });
    fc.assert(fc.property(fc.array(step, { maxLength: 7 }), fc.array(transition, { maxLength: 6 }), (steps, transitions) => {
      const clean = (o: object) => Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined));
      check(JSON.stringify({ id: 'fuzz', steps: steps.map(clean), transitions: transitions.map(clean) }, null, 2));
    }), { numRuns: 400 });
  });
  test('well-shaped random graphs reach the graph analysis and validation without crashing', () => {
    const ids = ['start', 'a', 'b', 'c', 'd', 'e', 'end'];
    const id = fc.constantFrom(...ids);
    const step = (sid: string) => fc.constantFrom('task', 'decision', 'inclusive', 'parallel', 'join', 'loop', 'timer', 'end').chain((type): fc.Arbitrary<object> => {
      if (sid === 'start') return fc.constant({ id: sid, type: 'start' });
      switch (type) {
        case 'task': return fc.constant({ id: sid, type, activity: 'noop' });
        case 'loop': return id.map((body) => ({ id: sid, type, body, maxIterations: 2 }));
        case 'join': return fc.option(id, { nil: undefined }).map((split) => (split ? { id: sid, type, split } : { id: sid, type }));
        case 'timer': return fc.constant({ id: sid, type, delay: '1s' });
        default: return fc.constant({ id: sid, type });
      }
    });
    const transition = fc.record({ from: id, to: id, when: fc.option(fc.constantFrom('input.a', '$not(input.a)', 'input.b > 1'), { nil: undefined }), on: fc.option(fc.constantFrom('error', 'timeout'), { nil: undefined }), default: fc.option(fc.constant(true), { nil: undefined }) }, { requiredKeys: ['from', 'to'] });
    const def = fc.tuple(...ids.map(step), fc.array(transition, { maxLength: 12 }));
    let analysed = 0;
    fc.assert(fc.property(def, (parts) => {
      const transitions = parts.pop() as object[];
      const clean = (o: object) => Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined));
      const text = JSON.stringify({ id: 'fuzz', steps: parts, transitions: transitions.map(clean) }, null, 1);
      check(text);
      if (parseDefinition(text).definition) analysed++;
    }), { numRuns: 500 });
    assert.ok(analysed > 400, `only ${analysed} runs reached validation`);
  });
});
