/**
 * One test per validation rule: a minimal definition that breaks it, the exact rule id, and the
 * line the issue points at (the line marked `# <-` in the YAML).
 */
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { parseDefinition, type ParseOptions } from './load.js';
import { RULES, provablyExhaustive, validateDefinition } from './validate.js';
import { formatIssue, type DefinitionIssue } from './errors.js';
import { normaliseDefinition } from './normalise.js';
import type { Definition } from './schema.js';

function issuesOf(yaml: string, opts: ParseOptions = {}): DefinitionIssue[] {
  return parseDefinition(yaml, { file: 'test.yaml', ...opts }).issues;
}

/** Asserts that `rule` is reported on the line marked `# <-` (with the given severity). */
function expectRule(yaml: string, rule: string, opts: ParseOptions & { severity?: 'error' | 'warning' } = {}): DefinitionIssue {
  const issues = issuesOf(yaml, opts);
  const hits = issues.filter((i) => i.rule === rule);
  const list = issues.map((i) => `${formatIssue(i)} [${i.rule}]`).join('\n');
  assert.ok(hits.length > 0, `expected rule ${rule}, got:\n${list}`);
  const line = yaml.split('\n').findIndex((l) => l.includes('# <-')) + 1;
  assert.ok(line > 0, 'test YAML must mark the expected line with # <-');
  const hit = hits.find((h) => h.line === line);
  assert.ok(hit, `expected ${rule} on line ${line}, got:\n${list}`);
  assert.equal(hit.severity, opts.severity ?? RULES[rule].severity);
  assert.equal(hit.file, 'test.yaml');
  assert.ok(hit.column !== undefined && hit.column >= 1);
  return hit;
}

function expectClean(yaml: string, opts: ParseOptions = {}): void {
  const issues = issuesOf(yaml, opts);
  assert.deepEqual(issues.map((i) => `${formatIssue(i)} [${i.rule}]`), []);
}

const HEAD = 'id: t\nsteps:\n';

describe('baseline', () => {
  test('a minimal valid definition has no issues', () => {
    expectClean(`${HEAD}  - {id: start, type: start, next: a}
  - {id: a, type: task, activity: noop, next: end}
  - {id: end, type: end}
`);
  });
  test('the fixtures are valid', () => {
    for (const f of ['order.yaml', 'every-step.yaml', 'order.json']) {
      const text = readFileSync(new URL(`../../test/fixtures/definitions/${f}`, import.meta.url), 'utf8');
      expectClean(text, { file: f });
    }
  });
});

describe('ids and endpoints', () => {
  test('duplicate-step-id', () => {
    expectRule(`${HEAD}  - {id: start, type: start, next: a}
  - {id: a, type: task, activity: noop, next: end}
  - {id: a, type: task, activity: noop, next: end} # <-
  - {id: end, type: end}
`, 'duplicate-step-id');
  });
  test('duplicate-transition-id', () => {
    expectRule(`${HEAD}  - {id: start, type: start}
  - {id: d, type: decision}
  - {id: end, type: end}
transitions:
  - {id: go, from: start, to: d}
  - {id: x, from: d, to: end, when: "input.a"}
  - {id: x, from: d, to: end, default: true} # <-
`, 'duplicate-transition-id');
  });
  test('unknown-step: transition endpoint that does not exist, with a suggestion', () => {
    const hit = expectRule(`${HEAD}  - {id: start, type: start}
  - {id: charge, type: task, activity: noop, next: end}
  - {id: end, type: end}
transitions:
  - {from: start, to: charg} # <-
`, 'unknown-step');
    assert.match(hit.message, /did you mean "charge"/);
    assert.deepEqual(hit.path, ['transitions', 0, 'to']);
  });
  test('unknown-step from `next:` sugar points at the next entry', () => {
    const hit = expectRule(`${HEAD}  - {id: start, type: start, next: a}
  - id: a
    type: task
    activity: noop
    next: [end, nowhere] # <-
  - {id: end, type: end}
`, 'unknown-step');
    assert.deepEqual(hit.path, ['steps', 1, 'next', 1]);
  });
});

describe('start and end', () => {
  test('missing-start', () => {
    expectRule(`${HEAD}  - {id: a, type: task, activity: noop, next: end} # <-
  - {id: end, type: end}
`, 'missing-start');
  });
  test('multiple-starts', () => {
    expectRule(`${HEAD}  - {id: start, type: start, next: end}
  - {id: start2, type: start, next: end} # <-
  - {id: end, type: end}
`, 'multiple-starts');
  });
  test('start-has-incoming', () => {
    expectRule(`${HEAD}  - {id: start, type: start, next: a}
  - {id: a, type: task, activity: noop}
  - {id: end, type: end}
transitions:
  - {from: a, to: end}
  - {from: a, to: start, on: error} # <-
`, 'start-has-incoming');
  });
  test('end-has-outgoing', () => {
    expectRule(`${HEAD}  - {id: start, type: start, next: end}
  - {id: end, type: end, next: other} # <-
  - {id: other, type: end}
`, 'end-has-outgoing');
  });
});

describe('reachability', () => {
  test('unreachable-step', () => {
    expectRule(`${HEAD}  - {id: start, type: start, next: end}
  - {id: lost, type: task, activity: noop, next: end} # <-
  - {id: end, type: end}
`, 'unreachable-step');
  });
  test('dead-end-step', () => {
    expectRule(`${HEAD}  - {id: start, type: start, next: a}
  - {id: a, type: task, activity: noop} # <-
  - {id: end, type: end}
transitions:
  - {from: a, to: end, on: error}
`, 'dead-end-step');
  });
  test('no-path-to-end: a loop whose exit leads back into its body', () => {
    expectRule(`${HEAD}  - {id: start, type: start, next: l}
  - {id: l, type: loop, body: b, maxIterations: 3, next: [b, c]} # <-
  - {id: b, type: task, activity: noop, next: l}
  - {id: c, type: task, activity: noop, next: b}
  - {id: end, type: end}
`, 'no-path-to-end');
  });
});

describe('choices', () => {
  test('missing-default on a decision', () => {
    expectRule(`${HEAD}  - {id: start, type: start, next: d}
  - {id: d, type: decision} # <-
  - {id: end, type: end}
transitions:
  - {from: d, to: end, when: "input.x > 1"}
  - {from: d, to: end, when: "input.x < 0"}
`, 'missing-default');
  });
  test('missing-default on an inclusive split', () => {
    expectRule(`${HEAD}  - {id: start, type: start, next: i}
  - {id: i, type: inclusive} # <-
  - {id: a, type: task, activity: noop, next: j}
  - {id: b, type: task, activity: noop, next: j}
  - {id: j, type: join, next: end}
  - {id: end, type: end}
transitions:
  - {from: i, to: a, when: "input.a"}
  - {from: i, to: b, when: "input.b"}
`, 'missing-default');
  });
  test('provably exhaustive conditions need no default', () => {
    for (const [c1, c2] of [['input.x > 1', 'input.x <= 1'], ['input.ok', '$not(input.ok)'], ['${input.a = "b"}', 'input.a != "b"']]) {
      expectClean(`${HEAD}  - {id: start, type: start, next: d}
  - {id: d, type: decision}
  - {id: end, type: end}
transitions:
  - {from: d, to: end, when: '${c1}'}
  - {from: d, to: end, when: '${c2}'}
`);
    }
    assert.equal(provablyExhaustive(['a > 1', 'a >= 1']), false);
    assert.equal(provablyExhaustive(['a', 'b']), false);
    assert.equal(provablyExhaustive(['a', '$not(a)', 'b']), false);
  });
  test('a trailing unconditional transition acts as the default', () => {
    expectClean(`${HEAD}  - {id: start, type: start, next: d}
  - {id: d, type: decision}
  - {id: end, type: end}
transitions:
  - {from: d, to: end, when: "input.x > 1"}
  - {from: d, to: end}
`);
  });
  test('missing-default is a warning on a task with only conditional transitions', () => {
    expectRule(`${HEAD}  - {id: start, type: start, next: a}
  - {id: a, type: task, activity: noop} # <-
  - {id: end, type: end}
transitions:
  - {from: a, to: end, when: "input.x"}
`, 'missing-default', { severity: 'warning' });
  });
  test('multiple-defaults', () => {
    expectRule(`${HEAD}  - {id: start, type: start, next: d}
  - {id: d, type: decision}
  - {id: end, type: end}
transitions:
  - {from: d, to: end, default: true}
  - {from: d, to: end, default: true} # <-
`, 'multiple-defaults');
  });
  test('invalid-default: default with a condition', () => {
    expectRule(`${HEAD}  - {id: start, type: start, next: d}
  - {id: d, type: decision}
  - {id: end, type: end}
transitions:
  - {from: d, to: end, default: true, when: "input.x"} # <-
`, 'invalid-default');
  });
  test('shadowed-transition', () => {
    expectRule(`${HEAD}  - {id: start, type: start, next: d}
  - {id: d, type: decision}
  - {id: end, type: end}
transitions:
  - {from: d, to: end}
  - {from: d, to: end, when: "input.x"} # <-
`, 'shadowed-transition');
  });
  test('ambiguous-transitions: two unconditional transitions from a task', () => {
    const hit = expectRule(`${HEAD}  - {id: start, type: start, next: a}
  - {id: a, type: task, activity: noop, next: [b, c]} # <-
  - {id: b, type: task, activity: noop, next: end}
  - {id: c, type: task, activity: noop, next: end}
  - {id: end, type: end}
`, 'ambiguous-transitions');
    assert.match(hit.message, /parallel/);
  });
});

describe('parallel and joins', () => {
  const block = (extra = '') => `${HEAD}  - {id: start, type: start, next: p}
  - {id: p, type: parallel, next: [a, b]}
  - {id: a, type: task, activity: noop, next: j}
  - {id: b, type: task, activity: noop, next: j}
  - {id: j, type: join${extra}, next: end} # <-
  - {id: end, type: end}
`;
  test('a parallel block is valid', () => { expectClean(block()); });
  test('parallel-branches', () => {
    expectRule(`${HEAD}  - {id: start, type: start, next: p}
  - {id: p, type: parallel, next: a} # <-
  - {id: a, type: task, activity: noop, next: end}
  - {id: end, type: end}
`, 'parallel-branches');
  });
  test('parallel-condition', () => {
    expectRule(`${HEAD}  - {id: start, type: start, next: p}
  - {id: p, type: parallel}
  - {id: a, type: task, activity: noop, next: j}
  - {id: b, type: task, activity: noop, next: j}
  - {id: j, type: join, next: end}
  - {id: end, type: end}
transitions:
  - {from: p, to: a}
  - {from: p, to: b, when: "input.b"} # <-
`, 'parallel-condition');
  });
  test('unmatched-join', () => {
    expectRule(`${HEAD}  - {id: start, type: start, next: d}
  - {id: d, type: decision}
  - {id: a, type: task, activity: noop, next: j}
  - {id: b, type: task, activity: noop, next: j}
  - {id: j, type: join, next: end} # <-
  - {id: end, type: end}
transitions:
  - {from: d, to: a, when: "input.a"}
  - {from: d, to: b, default: true}
`, 'unmatched-join');
  });
  test('join-claimed-twice: nested parallel steps closing at one join', () => {
    expectRule(`${HEAD}  - {id: start, type: start, next: p1}
  - {id: p1, type: parallel, next: [p2, c]}
  - {id: p2, type: parallel, next: [a, b]}
  - {id: a, type: task, activity: noop, next: j}
  - {id: b, type: task, activity: noop, next: j}
  - {id: c, type: task, activity: noop, next: j}
  - {id: j, type: join, next: end} # <-
  - {id: end, type: end}
`, 'join-claimed-twice');
  });
  test('split-paired-twice', () => {
    expectRule(`${HEAD}  - {id: start, type: start, next: p}
  - {id: p, type: parallel, next: [a, b]}
  - {id: a, type: task, activity: noop, next: j1}
  - {id: b, type: task, activity: noop, next: j2}
  - {id: j1, type: join, split: p, next: end}
  - {id: j2, type: join, split: p, next: end} # <-
  - {id: end, type: end}
`, 'split-paired-twice');
  });
  test('invalid-join-split', () => {
    expectRule(block(', split: a').replace('type: join, split: a, next: end} # <-', 'type: join,\n      split: a, next: end} # <-'), 'invalid-join-split');
  });
  test('split-without-join (warning)', () => {
    expectRule(`${HEAD}  - {id: start, type: start, next: p}
  - {id: p, type: parallel, next: [a, b]} # <-
  - {id: a, type: task, activity: noop, next: m}
  - {id: b, type: task, activity: noop, next: m}
  - {id: m, type: task, activity: noop, next: end}
  - {id: end, type: end}
`, 'split-without-join');
  });
  test('join-n: mode n without n', () => {
    expectRule(block(', mode: n'), 'join-n');
  });
  test('join-n: n larger than the branches', () => {
    expectRule(block(', mode: n, n: 3'), 'join-n');
    expectClean(block(', mode: n, n: 2'));
  });
  test('join-single-incoming (warning)', () => {
    expectRule(`${HEAD}  - {id: start, type: start, next: j}
  - {id: j, type: join, split: start, next: end} # <-
  - {id: end, type: end}
`, 'invalid-join-split');
    expectRule(`${HEAD}  - {id: start, type: start, next: a}
  - {id: a, type: task, activity: noop, next: j}
  - {id: j, type: join, next: end} # <-
  - {id: end, type: end}
`, 'join-single-incoming');
  });
});

describe('cycles and loops', () => {
  test('cycle-without-loop', () => {
    const hit = expectRule(`${HEAD}  - {id: start, type: start, next: a}
  - {id: a, type: task, activity: noop, next: d}
  - {id: d, type: decision}
  - {id: end, type: end}
transitions:
  - {from: d, to: end, when: "input.done"}
  - {from: d, to: a, default: true} # <-
`, 'cycle-without-loop');
    assert.match(hit.message, /a → d → a/);
  });
  const loop = (body: string, next: string) => `${HEAD}  - {id: start, type: start, next: l}
  - {id: l, type: loop, maxIterations: 3, body: ${body}, next: ${next}} # <-
  - {id: b, type: task, activity: noop, next: l}
  - {id: c, type: task, activity: noop, next: end}
  - {id: end, type: end}
`;
  test('a loop is valid', () => { expectClean(loop('b', '[b, c]')); });
  test('loop-body: body is not a target', () => { expectRule(loop('c', '[b, end]'), 'loop-body'); });
  test('loop-body: body does not exist', () => { expectRule(loop('zz', '[b, c]'), 'loop-body'); });
  test('loop-exit: no exit', () => { expectRule(loop('b', '[b]'), 'loop-exit'); });
  test('loop-exit: two exits', () => { expectRule(loop('b', '[b, c, end]'), 'loop-exit'); });
  test('loop-not-closed (warning)', () => {
    expectRule(`${HEAD}  - {id: start, type: start, next: l}
  - {id: l, type: loop, maxIterations: 3, body: b, next: [b, end]} # <-
  - {id: b, type: task, activity: noop, next: end}
  - {id: end, type: end}
`, 'loop-not-closed');
  });
});

describe('step fields', () => {
  const one = (step: string) => `${HEAD}  - {id: start, type: start, next: s}
  - ${step} # <-
  - {id: end, type: end}
`;
  test('foreach-target', () => {
    expectRule(one('{id: s, type: foreach, items: "input.xs", next: end}'), 'foreach-target');
    expectRule(one('{id: s, type: foreach, items: "input.xs", activity: a, workflow: w, next: end}'), 'foreach-target');
    expectClean(one('{id: s, type: foreach, items: "input.xs", workflow: w, next: end}'));
  });
  test('timer-spec', () => {
    expectRule(one('{id: s, type: timer, next: end}'), 'timer-spec');
    expectRule(one('{id: s, type: timer, delay: 5m, cron: "* * * * *", next: end}'), 'timer-spec');
    expectClean(one('{id: s, type: timer, delay: "${input.wait}", next: end}'));
    expectRule(one('{id: s, type: timer, delay: "input.wait", next: end}'), 'timer-spec');
    expectRule(one('{id: s, type: timer, delay: "${input.}", next: end}'), 'invalid-expression');
    expectClean(one('{id: s, type: timer, at: "2030-01-01T${input.time}", next: end}'));
    expectClean(one('{id: s, type: timer, at: "2030-01-01T09:00:00+01:00", next: end}'));
  });
  test('invalid-cron', () => { expectRule(one('{id: s, type: timer, cron: "61 * * * *", next: end}'), 'invalid-cron'); });
  test('invalid-time', () => { expectRule(one('{id: s, type: timer, at: "next tuesday", next: end}'), 'invalid-time'); });
  test('invalid-timezone', () => { expectRule(one('{id: s, type: timer, cron: "0 9 * * *", timezone: Mars/Olympus, next: end}'), 'invalid-timezone'); });
  test('human-timeout', () => {
    expectRule(one('{id: s, type: human, deadline: 1d, onTimeout: {action: transition}, next: end}'), 'human-timeout');
    expectRule(one('{id: s, type: human, deadline: 1d, onTimeout: {action: escalate}, next: end}'), 'human-timeout');
    expectRule(one('{id: s, type: human, onTimeout: {action: approve}, next: end}'), 'human-timeout', { severity: 'warning' });
  });
  test('recursive-subworkflow (warning)', () => {
    expectRule(one('{id: s, type: subworkflow, workflow: t, next: end}'), 'recursive-subworkflow');
  });
});

describe('transitions', () => {
  const base = (t: string) => `${HEAD}  - {id: start, type: start, next: a}
  - {id: a, type: task, activity: noop, next: end}
  - {id: h, type: task, activity: noop, next: end}
  - {id: end, type: end}
transitions:
  - ${t} # <-
`;
  test('error-codes-need-on-error', () => { expectRule(base('{from: a, to: h, on: timeout, error: boom}'), 'error-codes-need-on-error'); });
  test('invalid-default on an exceptional transition', () => { expectRule(base('{from: a, to: h, on: error, default: true}'), 'invalid-default'); });
  test('timeout-transition-unused (warning)', () => { expectRule(base('{from: a, to: h, on: timeout}'), 'timeout-transition-unused'); });
  test('on: error with codes is fine', () => { expectClean(base('{from: a, to: h, on: error, error: [boom, bang]}')); });
});

describe('expressions and schemas', () => {
  test('invalid-expression in a condition', () => {
    const hit = expectRule(`${HEAD}  - {id: start, type: start, next: d}
  - {id: d, type: decision}
  - {id: end, type: end}
transitions:
  - {from: d, to: end, when: "input.x >"} # <-
  - {from: d, to: end, default: true}
`, 'invalid-expression');
    assert.deepEqual(hit.path, ['transitions', 0, 'when']);
  });
  test('invalid-expression deep in a mapping points at that string', () => {
    const hit = expectRule(`${HEAD}  - {id: start, type: start, next: a}
  - id: a
    type: task
    activity: noop
    input:
      list:
        - fine
        - "total: \${input.a +}" # <-
    next: end
  - {id: end, type: end}
`, 'invalid-expression');
    assert.deepEqual(hit.path, ['steps', 1, 'input', 'list', 1]);
  });
  test('invalid-expression: unclosed ${', () => {
    expectRule(`${HEAD}  - {id: start, type: start, next: a}
  - {id: a, type: task, activity: noop, output: "\${result", next: end} # <-
  - {id: end, type: end}
`, 'invalid-expression');
  });
  test('invalid-expression in set, while, items, correlation, event handlers and result', () => {
    const cases: [string, string][] = [
      ['{id: s, type: task, activity: noop, set: {x: "(("}, next: end}', 'set'],
      ['{id: s, type: wait, event: e, correlation: "[", next: end}', 'correlation'],
      ['{id: s, type: wait, event: e, match: "a ==", next: end}', 'match'],
      ['{id: s, type: foreach, items: "$$$(", activity: noop, next: end}', 'items'],
      ['{id: s, type: subworkflow, workflow: w, output: "${)}", next: end}', 'output'],
    ];
    for (const [step, field] of cases) {
      const hit = expectRule(`${HEAD}  - {id: start, type: start, next: s}
  - ${step} # <-
  - {id: end, type: end}
`, 'invalid-expression');
      assert.equal(hit.path[2], field);
    }
    expectRule(`${HEAD}  - {id: start, type: start, next: end}
  - {id: end, type: end}
eventHandlers:
  - {event: x, action: cancel, correlation: "event.(("} # <-
`, 'invalid-expression');
    expectRule(`${HEAD}  - {id: start, type: start, next: end}
  - {id: end, type: end}
result: {a: "\${input.}"} # <-
`, 'invalid-expression');
  });
  test('invalid-schema', () => {
    expectRule(`${HEAD}  - {id: start, type: start, next: end}
  - {id: end, type: end}
input: {type: object, properties: {a: {type: not-a-type}}} # <-
`, 'invalid-schema');
    expectRule(`${HEAD}  - {id: start, type: start, next: h}
  - {id: h, type: human, form: {type: object, required: yes}, next: end} # <-
  - {id: end, type: end}
`, 'invalid-schema');
  });
  test('draft-07 schemas compile too', () => {
    expectClean(`${HEAD}  - {id: start, type: start, next: end}
  - {id: end, type: end}
input: {$schema: "http://json-schema.org/draft-07/schema#", type: object, definitions: {a: {type: string}}}
output: {type: object, properties: {email: {type: string, format: email}}}
`);
  });
});

describe('variables', () => {
  test('variable-default-type', () => {
    expectRule(`${HEAD}  - {id: start, type: start, next: end}
  - {id: end, type: end}
variables:
  count: {type: integer, default: 1.5} # <-
`, 'variable-default-type');
  });
  test('undeclared-variable (warning)', () => {
    expectRule(`${HEAD}  - {id: start, type: start, next: a}
  - {id: a, type: task, activity: noop, set: {cuont: "1"}, next: end} # <-
  - {id: end, type: end}
variables:
  count: {type: integer, default: 0}
`, 'undeclared-variable');
  });
});

describe('resources', () => {
  const def = (uses: string, meta: string) => `${HEAD}  - {id: start, type: start, next: a}
  - {id: a, type: task, activity: noop, uses: ${uses}, next: end} # <-
  - {id: end, type: end}
metadata: ${meta}
`;
  test('undeclared-resource', () => { expectRule(def('{db: 1}', '{owner: me}'), 'undeclared-resource'); });
  test('resource-over-capacity', () => { expectRule(def('{db: 3}', '{resource.db: 2}'), 'resource-over-capacity'); });
  test('within capacity is fine', () => { expectClean(def('{db: 2}', '{resource.db: 2}')); });
  test('invalid-resource-capacity', () => {
    expectRule(`${HEAD}  - {id: start, type: start, next: end}
  - {id: end, type: end}
metadata:
  resource.db: lots # <-
`, 'invalid-resource-capacity');
  });
});

describe('references (deploy time)', () => {
  const def = `${HEAD}  - {id: start, type: start, next: a}
  - {id: a, type: task, activity: payments.charge, next: l} # <-
  - {id: l, type: task, activity: log, next: c}
  - {id: c, type: subworkflow, workflow: shipping, next: end}
  - {id: end, type: end}
`;
  test('not checked without a registry', () => { expectClean(def); });
  test('unknown-activity', () => {
    expectRule(def, 'unknown-activity', { activities: new Set(['other']) });
    const issues = issuesOf(def, { activities: (n) => n === 'payments.charge', workflows: new Set(['shipping']) });
    assert.deepEqual(issues, []);
  });
  test('unknown-workflow', () => {
    const hits = issuesOf(def, { workflows: () => false }).filter((i) => i.rule === 'unknown-workflow');
    assert.equal(hits.length, 1);
    assert.equal(hits[0].line, 6);
  });
});

describe('catalogue', () => {
  test('every rule is documented in docs/definitions.md', () => {
    const doc = readFileSync(new URL('../../docs/definitions.md', import.meta.url), 'utf8');
    const missing = Object.keys(RULES).filter((r) => !doc.includes(`\`${r}\``));
    assert.deepEqual(missing, []);
  });
  test('every complete YAML example in docs/definitions.md is valid', () => {
    const doc = readFileSync(new URL('../../docs/definitions.md', import.meta.url), 'utf8');
    const examples = [...doc.matchAll(/```yaml\n(id: [\s\S]*?)```/g)].map((m) => m[1]);
    assert.ok(examples.length >= 4, `found ${examples.length} examples`);
    for (const example of examples) expectClean(example, { file: 'docs/definitions.md' });
  });
  test('the builder example in docs/definitions.md builds', async () => {
    const { workflow } = await import('./builder.js');
    const def = workflow('fan').start()
      .parallel('p')
      .task('a', 'noop')
      .from('p').task('b', 'noop')
      .join('j', { after: ['a', 'b'] })
      .end()
      .build();
    assert.deepEqual(def.transitions!.map((t) => t.id), ['start->p', 'p->a', 'p->b', 'a->j', 'b->j', 'j->end']);
  });
  test('validateDefinition accepts un-normalised input and objects without positions', () => {
    const def: Definition = {
      id: 'x',
      steps: [{ id: 'start', type: 'start', next: 'end' }, { id: 'end', type: 'end' }, { id: 'lost', type: 'end' }],
    };
    const issues = validateDefinition(def);
    assert.deepEqual(issues.map((i) => [i.rule, i.path]), [['unreachable-step', ['steps', 2]]]);
    assert.deepEqual(validateDefinition(normaliseDefinition(def)), issues);
  });
});
