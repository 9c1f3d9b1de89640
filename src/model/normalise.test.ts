import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { normaliseDefinition, normaliseWithOrigins, isNormalised } from './normalise.js';
import type { Definition } from './schema.js';

const def: Definition = {
  id: 'n',
  steps: [
    { id: 'start', type: 'start', next: 'p' },
    { id: 'p', type: 'parallel', next: ['a', 'b'] },
    { id: 'a', type: 'task', activity: 'noop', next: 'j' },
    { id: 'b', type: 'task', activity: 'noop', next: 'j' },
    { id: 'j', type: 'join', next: 'end' },
    { id: 'end', type: 'end' },
  ],
  transitions: [
    { from: 'a', to: 'j', on: 'error' },
    { id: 'a->j', from: 'x', to: 'y' },
  ],
};

test('next sugar becomes transitions appended after the explicit ones, in step order', () => {
  const n = normaliseDefinition(def);
  assert.deepEqual(n.transitions!.map((t) => `${t.id}:${t.from}->${t.to}`), [
    'a->j#2:a->j', // generated ids never collide with ids written by hand
    'a->j:x->y',
    'start->p:start->p',
    'p->a:p->a',
    'p->b:p->b',
    'a->j#3:a->j',
    'b->j:b->j',
    'j->end:j->end',
  ]);
  assert.ok(n.steps.every((s) => !('next' in s)));
  assert.ok(isNormalised(n));
  assert.ok(!isNormalised(def));
});

test('does not mutate its input', () => {
  const copy = structuredClone(def);
  normaliseDefinition(def);
  assert.deepEqual(def, copy);
});

test('duplicates get #2, #3 in declaration order', () => {
  const n = normaliseDefinition({
    id: 'd',
    steps: [{ id: 'a', type: 'decision' }, { id: 'b', type: 'end' }],
    transitions: [{ from: 'a', to: 'b', when: 'x' }, { from: 'a', to: 'b', when: 'y' }, { from: 'a', to: 'b', default: true }],
  });
  assert.deepEqual(n.transitions!.map((t) => t.id), ['a->b', 'a->b#2', 'a->b#3']);
});

test('origins say where each transition came from', () => {
  const { origins } = normaliseWithOrigins(def);
  assert.deepEqual(origins.slice(0, 4), [
    { kind: 'transition', index: 0 },
    { kind: 'transition', index: 1 },
    { kind: 'next', step: 0 },
    { kind: 'next', step: 1, item: 0 },
  ]);
});

test('a definition without transitions gets an empty list', () => {
  const n = normaliseDefinition({ id: 'e', steps: [{ id: 's', type: 'start' }] });
  assert.deepEqual(n.transitions, []);
});

test('idempotent and deterministic (property)', () => {
  const id = fc.constantFrom('a', 'b', 'c', 'd');
  const arb = fc.record({
    steps: fc.array(fc.record({ id, next: fc.option(fc.oneof(id, fc.array(id, { maxLength: 3 })), { nil: undefined }) }), { maxLength: 5 }),
    transitions: fc.array(fc.record({ id: fc.option(fc.constantFrom('a->b', 't1', 'c->d#2'), { nil: undefined }), from: id, to: id }), { maxLength: 6 }),
  });
  fc.assert(fc.property(arb, ({ steps, transitions }) => {
    const d = {
      id: 'p',
      steps: steps.map((s) => (s.next === undefined ? { id: s.id, type: 'task', activity: 'x' } : { id: s.id, type: 'task', activity: 'x', next: s.next })),
      transitions: transitions.map((t) => (t.id === undefined ? { from: t.from, to: t.to } : t)),
    } as Definition;
    const once = normaliseDefinition(d);
    assert.deepEqual(normaliseDefinition(once), once);
    assert.deepEqual(normaliseDefinition(d), once);
    const generated = once.transitions!.filter((_, i) => i >= d.transitions!.length || d.transitions![i].id === undefined).map((t) => t.id);
    assert.equal(new Set(generated).size, generated.length);
    const explicit = new Set<string | undefined>(d.transitions!.map((t) => t.id).filter((x) => x !== undefined));
    assert.ok(generated.every((g) => !explicit.has(g)));
  }));
});
