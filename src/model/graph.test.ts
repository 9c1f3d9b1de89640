import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { analyseGraph } from './graph.js';
import { normaliseDefinition } from './normalise.js';
import { validateDefinition } from './validate.js';
import type { Definition, Step, Transition } from './schema.js';

/** Compact graph notation: steps as `id:type`, transitions as `a>b` (or objects). */
function graph(steps: string[], transitions: (string | Transition)[], extra: Record<string, Partial<Step>> = {}): Definition {
  return normaliseDefinition({
    id: 'g',
    steps: steps.map((s) => {
      const [id, type] = s.split(':');
      const base = { id, type } as Record<string, unknown>;
      if (type === 'task') base.activity = 'noop';
      return { ...base, ...extra[id] } as Step;
    }),
    transitions: transitions.map((t) => {
      if (typeof t !== 'string') return t;
      const [from, to] = t.split('>');
      return { from, to };
    }),
  });
}

const sorted = (s: Set<string> | undefined) => [...(s ?? [])].sort();

describe('adjacency', () => {
  test('outgoing ordered by priority then declaration; exceptional and incoming kept apart', () => {
    const def = graph(['s:start', 'd:decision', 'a:task', 'b:task', 'c:task', 'e:end'], [
      's>d',
      { from: 'd', to: 'a', when: 'x' },
      { from: 'd', to: 'b', when: 'y', priority: 5 },
      { from: 'd', to: 'c', default: true },
      { from: 'a', to: 'e' }, { from: 'b', to: 'e' }, { from: 'c', to: 'e' },
      { from: 'a', to: 'c', on: 'error' },
    ]);
    const g = analyseGraph(def);
    assert.deepEqual(g.outgoing.get('d')!.map((t) => t.to), ['b', 'a', 'c']);
    assert.deepEqual(g.outgoing.get('d')!.map((t) => t.index), [2, 1, 3]);
    assert.deepEqual(g.exceptional.get('a')!.map((t) => t.id), ['a->c']);
    assert.deepEqual(g.outgoing.get('a')!.map((t) => t.id), ['a->e']);
    assert.deepEqual(g.incoming.get('c')!.map((t) => t.from), ['d', 'a']);
    assert.deepEqual(g.outgoing.get('e'), []);
    assert.deepEqual(g.exceptional.get('s'), []);
    assert.equal(g.transitions.get('d->b')!.priority, 5);
    assert.equal(g.transitions.size, def.transitions!.length);
    assert.deepEqual(g.problems, []);
  });
  test('transitions to missing steps are kept by id but not in adjacency', () => {
    const g = analyseGraph(graph(['s:start', 'e:end'], ['s>e', 's>ghost']));
    assert.ok(g.transitions.has('s->ghost'));
    assert.deepEqual(g.outgoing.get('s')!.map((t) => t.to), ['e']);
  });
});

describe('split/join pairing', () => {
  test('nested parallel blocks', () => {
    const g = analyseGraph(graph(
      ['s:start', 'p1:parallel', 'p2:parallel', 'a:task', 'b:task', 'j2:join', 'c:task', 'j1:join', 'e:end'],
      ['s>p1', 'p1>p2', 'p1>c', 'p2>a', 'p2>b', 'a>j2', 'b>j2', 'j2>j1', 'c>j1', 'j1>e'],
    ));
    assert.deepEqual([...g.joinOfSplit], [['p1', 'j1'], ['p2', 'j2']]);
    assert.deepEqual([...g.splitOfJoin].sort(), [['j1', 'p1'], ['j2', 'p2']]);
    assert.deepEqual(sorted(g.region.get('j1')), ['a', 'b', 'c', 'j2', 'p2']);
    assert.deepEqual(sorted(g.region.get('j2')), ['a', 'b']);
    assert.deepEqual(g.problems, []);
  });
  test('inclusive split with a decision inside a branch', () => {
    const def = graph(['s:start', 'i:inclusive', 'a:task', 'd:decision', 'x:task', 'y:task', 'j:join', 'e:end'], [
      's>i', { from: 'i', to: 'a', when: 'p' }, { from: 'i', to: 'd', default: true },
      'a>j', { from: 'd', to: 'x', when: 'q' }, { from: 'd', to: 'y', default: true }, 'x>j', 'y>j', 'j>e',
    ]);
    const g = analyseGraph(def);
    assert.equal(g.joinOfSplit.get('i'), 'j');
    assert.deepEqual(sorted(g.region.get('j')), ['a', 'd', 'x', 'y']);
    assert.deepEqual(validateDefinition(def), []);
  });
  test('a split whose branches end separately has no join', () => {
    const def = graph(['s:start', 'p:parallel', 'a:task', 'b:task', 'e1:end', 'e2:end'], ['s>p', 'p>a', 'p>b', 'a>e1', 'b>e2']);
    const g = analyseGraph(def);
    assert.equal(g.joinOfSplit.size, 0);
    assert.deepEqual(g.problems, []);
    assert.deepEqual(validateDefinition(def), []);
  });
  test('branches meeting at the same end need no join either', () => {
    const g = analyseGraph(graph(['s:start', 'p:parallel', 'a:task', 'b:task', 'e:end'], ['s>p', 'p>a', 'p>b', 'a>e', 'b>e']));
    assert.deepEqual(g.problems, []);
  });
  test('branches meeting at a task: split-without-join warning', () => {
    const g = analyseGraph(graph(['s:start', 'p:parallel', 'a:task', 'b:task', 'm:task', 'e:end'], ['s>p', 'p>a', 'p>b', 'a>m', 'b>m', 'm>e']));
    assert.deepEqual(g.problems.map((p) => [p.rule, p.severity]), [['split-without-join', 'warning']]);
  });
  test('explicit split pairs a join whose branches do not all reconverge', () => {
    const def = graph(['s:start', 'p:parallel', 'a:task', 'b:task', 'j:join', 'e:end', 'e2:end'],
      ['s>p', 'p>a', 'p>b', 'a>j', 'b>j', 'b>e2', 'j>e'], { j: { split: 'p' } as Partial<Step>, b: {} });
    // b has two unconditional transitions, but the pairing still comes from `split:`
    const g = analyseGraph(def);
    assert.equal(g.splitOfJoin.get('j'), 'p');
    assert.deepEqual(sorted(g.region.get('j')), ['a', 'b']);
  });
  test('an explicit split that is not a split is a problem', () => {
    const g = analyseGraph(graph(['s:start', 'a:task', 'j:join', 'e:end'], ['s>a', 'a>j', 'j>e'], { j: { split: 'a' } as Partial<Step> }));
    assert.deepEqual(g.problems.map((p) => p.rule), ['invalid-join-split']);
  });
  test('two splits claiming one join, and a join no split pairs with', () => {
    const g = analyseGraph(graph(
      ['s:start', 'p1:parallel', 'p2:parallel', 'a:task', 'b:task', 'c:task', 'j:join', 'k:join', 'e:end'],
      ['s>p1', 'p1>p2', 'p1>c', 'p2>a', 'p2>b', 'a>j', 'b>j', 'c>j', 'j>e', 'k>e'],
    ));
    assert.deepEqual(g.problems.map((p) => p.rule).sort(), ['join-claimed-twice', 'unmatched-join']);
  });
  test('a split before a loop finds its join after the loop', () => {
    const def = graph(['s:start', 'p:parallel', 'l:loop', 'body:task', 'x:task', 'b:task', 'j:join', 'e:end'],
      ['s>p', 'p>l', 'p>b', 'l>body', 'body>l', 'l>x', 'x>j', 'b>j', 'j>e'],
      { l: { body: 'body', maxIterations: 3 } as Partial<Step> });
    const g = analyseGraph(def);
    assert.equal(g.joinOfSplit.get('p'), 'j');
    assert.deepEqual(sorted(g.region.get('j')), ['b', 'body', 'l', 'x']);
    assert.deepEqual(validateDefinition(def), []);
  });
  test('region includes error handlers inside a branch and excludes paths that leave it', () => {
    const def = graph(['s:start', 'p:parallel', 'a:task', 'h:task', 'b:task', 'j:join', 'e:end', 'fail:end'], [
      's>p', 'p>a', 'p>b', 'a>j', 'b>j', 'j>e', 'h>j',
      { from: 'a', to: 'h', on: 'error' },
      { from: 'b', to: 'fail', on: 'error' },
    ]);
    const g = analyseGraph(def);
    assert.deepEqual(sorted(g.region.get('j')), ['a', 'b', 'h']);
    assert.deepEqual(validateDefinition(def), []);
  });
});

describe('loops and cycles', () => {
  const loopDef = () => graph(
    ['s:start', 'outer:loop', 'a:task', 'inner:loop', 'b:task', 'c:task', 'x:task', 'e:end'],
    ['s>outer', 'outer>a', 'outer>e', 'a>inner', 'inner>b', 'b>c', 'c>inner', 'inner>x', 'x>outer'],
    { outer: { body: 'a', maxIterations: 5 } as Partial<Step>, inner: { body: 'b', maxIterations: 5 } as Partial<Step> },
  );
  test('back edges and bodies of nested loops', () => {
    const g = analyseGraph(loopDef());
    assert.deepEqual([...g.backEdges].sort(), ['c->inner', 'x->outer']);
    assert.deepEqual(sorted(g.loopBody.get('inner')), ['b', 'c']);
    assert.deepEqual(sorted(g.loopBody.get('outer')), ['a', 'b', 'c', 'inner', 'x']);
    assert.deepEqual(g.problems, []);
    assert.deepEqual(validateDefinition(loopDef()), []);
  });
  test('a body step that leaves the loop for good is not body', () => {
    const def = graph(['s:start', 'l:loop', 'b:decision', 'c:task', 'stop:end', 'e:end'],
      ['s>l', 'l>b', 'l>e', { from: 'b', to: 'c', when: 'x' }, { from: 'b', to: 'stop', default: true }, 'c>l'],
      { l: { body: 'b', maxIterations: 2 } as Partial<Step> });
    const g = analyseGraph(def);
    assert.deepEqual(sorted(g.loopBody.get('l')), ['b', 'c']);
    assert.deepEqual([...g.backEdges], ['c->l']);
  });
  test('a back edge that is an on: error transition counts', () => {
    const def = graph(['s:start', 'l:loop', 'b:task', 'e:end'],
      ['s>l', 'l>b', 'l>e', 'b>l', { from: 'b', to: 'l', on: 'error' }],
      { l: { body: 'b', maxIterations: 2 } as Partial<Step> });
    const g = analyseGraph(def);
    assert.deepEqual([...g.backEdges].sort(), ['b->l', 'b->l#2']);
    assert.deepEqual(g.problems, []);
  });
  test('each cycle without a loop step is one problem naming its steps', () => {
    const g = analyseGraph(graph(['s:start', 'a:task', 'b:task', 'c:task', 'd:task', 'e:end'], [
      's>a', 'a>b', { from: 'b', to: 'a', on: 'error' }, 'b>c', 'c>d', 'd>c', { from: 'c', to: 'e', when: 'x' }, 'd>e',
    ]));
    const cycles = g.problems.filter((p) => p.rule === 'cycle-without-loop');
    assert.equal(cycles.length, 2);
    assert.match(cycles[0].message, /a → b → a/);
    assert.match(cycles[1].message, /c → d → c/);
    assert.equal(cycles[0].path[0], 'transitions');
  });
  test('a self-loop is a cycle', () => {
    const g = analyseGraph(graph(['s:start', 'a:task', 'e:end'], ['s>a', 'a>e', { from: 'a', to: 'a', on: 'error' }]));
    assert.deepEqual(g.problems.map((p) => p.rule), ['cycle-without-loop']);
  });
});

/** A long definition made of repeated blocks: parallel/join, decision, loop, inclusive/join. */
export function generateDefinition(blocks: number): Definition {
  const steps: Step[] = [{ id: 'start', type: 'start' }];
  const transitions: Transition[] = [];
  let prev = 'start';
  const task = (id: string): Step => ({ id, type: 'task', activity: 'noop', input: { n: '${input.n + 1}' } });
  for (let i = 0; i < blocks; i++) {
    const p = `b${i}`;
    steps.push(
      { id: `${p}.par`, type: 'parallel' }, task(`${p}.a`), task(`${p}.b`), { id: `${p}.join`, type: 'join' },
      { id: `${p}.dec`, type: 'decision' }, task(`${p}.x`), task(`${p}.y`),
      { id: `${p}.loop`, type: 'loop', body: `${p}.body`, maxIterations: 3, while: 'loop.iteration < 2' }, task(`${p}.body`),
      { id: `${p}.inc`, type: 'inclusive' }, task(`${p}.i1`), task(`${p}.i2`), { id: `${p}.ij`, type: 'join' },
    );
    const t = (from: string, to: string, extra: Partial<Transition> = {}) => transitions.push({ from: `${p}.${from}`, to: `${p}.${to}`, ...extra });
    transitions.push({ from: prev, to: `${p}.par` });
    t('par', 'a'); t('par', 'b'); t('a', 'join'); t('b', 'join'); t('join', 'dec');
    t('dec', 'x', { when: 'input.n > 1' }); t('dec', 'y', { default: true }); t('x', 'loop'); t('y', 'loop');
    t('loop', 'body'); t('body', 'loop'); t('loop', 'inc');
    t('inc', 'i1', { when: 'input.a' }); t('inc', 'i2', { default: true }); t('i1', 'ij'); t('i2', 'ij');
    prev = `${p}.ij`;
  }
  steps.push({ id: 'end', type: 'end' });
  transitions.push({ from: prev, to: 'end' });
  return { id: 'big', steps, transitions };
}

test('a 1,000-step definition is analysed and validated', () => {
  const def = normaliseDefinition(generateDefinition(77)); // 77 × 13 + 2 = 1,003 steps
  assert.ok(def.steps.length >= 1000);
  const started = performance.now();
  const g = analyseGraph(def);
  const issues = validateDefinition(def, { graph: g });
  const elapsed = performance.now() - started;
  assert.deepEqual(issues, []);
  assert.equal(g.joinOfSplit.size, 77 * 2);
  assert.equal(g.backEdges.size, 77);
  assert.deepEqual(sorted(g.region.get('b5.join')), ['b5.a', 'b5.b']);
  assert.ok(elapsed < 5000, `took ${elapsed} ms`); // sanity only; typically a few ms
});

test('analysis alone of 1,000 steps is fast', () => {
  const def = normaliseDefinition(generateDefinition(77));
  analyseGraph(def);
  const started = performance.now();
  for (let i = 0; i < 5; i++) analyseGraph(def);
  const each = (performance.now() - started) / 5;
  assert.ok(each < 1000, `analyseGraph took ${each} ms`); // target is well under 100 ms; not asserted tightly
});
