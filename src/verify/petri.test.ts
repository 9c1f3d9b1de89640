import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { parsePnml, PnmlError, toPnml } from './pnml.js';
import { verifyNet, type PetriNet } from './petri.js';
import { netToDot } from './dot.js';

const fixture = (name: string) => readFileSync(new URL(`../../test/fixtures/nets/${name}`, import.meta.url), 'utf8');

/** Dijkstra's dining philosophers: each takes the left fork, then the right one, eats, puts both down. */
export function philosophers(n: number): PetriNet {
  const places = [];
  const transitions = [];
  const arcs = [];
  for (let i = 0; i < n; i++) {
    places.push({ id: `think${i}`, initial: 1 }, { id: `left${i}`, initial: 0 }, { id: `eat${i}`, initial: 0 }, { id: `fork${i}`, initial: 1 });
  }
  for (let i = 0; i < n; i++) {
    const right = `fork${(i + 1) % n}`;
    transitions.push({ id: `takeLeft${i}` }, { id: `takeRight${i}` }, { id: `release${i}` });
    arcs.push(
      { source: `think${i}`, target: `takeLeft${i}`, weight: 1 }, { source: `fork${i}`, target: `takeLeft${i}`, weight: 1 }, { source: `takeLeft${i}`, target: `left${i}`, weight: 1 },
      { source: `left${i}`, target: `takeRight${i}`, weight: 1 }, { source: right, target: `takeRight${i}`, weight: 1 }, { source: `takeRight${i}`, target: `eat${i}`, weight: 1 },
      { source: `eat${i}`, target: `release${i}`, weight: 1 }, { source: `release${i}`, target: `think${i}`, weight: 1 },
      { source: `release${i}`, target: `fork${i}`, weight: 1 }, { source: `release${i}`, target: right, weight: 1 },
    );
  }
  return { id: `philosophers-${n}`, places, transitions, arcs };
}

describe('place/transition nets', () => {
  it('a sound order process (workflow net)', async () => {
    const r = await verifyNet(parsePnml(fixture('order-process.pnml')));
    assert.equal(r.verdict, 'sound');
    assert.equal(r.stats.states, 6);
    assert.equal(r.net?.safe, true);
  });

  it('a deadlocking AND-join after an exclusive choice', async () => {
    const r = await verifyNet(parsePnml(fixture('deadlock-join.pnml')));
    assert.equal(r.verdict, 'unsound');
    const deadlocks = r.problems.filter((p) => p.kind === 'deadlock');
    assert.equal(deadlocks.length, 2);
    assert.deepEqual(deadlocks.map((d) => d.trace?.map((t) => t.text)), [['a'], ['b']]);
    assert.ok(r.problems.some((p) => p.kind === 'dead-step' && p.message.includes('join')));
  });

  it('a livelock loop: a cycle with no way to end', async () => {
    const r = await verifyNet(parsePnml(fixture('livelock.pnml')));
    assert.equal(r.verdict, 'unsound');
    const live = r.problems.find((p) => p.kind === 'livelock')!;
    assert.deepEqual(live.trace?.map((t) => t.text), ['start', 'trap']);
  });

  it('mutual exclusion: deadlock-free, safe, three markings', async () => {
    const r = await verifyNet(parsePnml(fixture('mutex.pnml')));
    assert.equal(r.verdict, 'sound');
    assert.equal(r.stats.states, 3);
    assert.equal(r.net?.safe, true);
  });

  // Reachable markings: cyclic words over {thinking, holding left, eating} where an eater's right
  // neighbour is thinking — trace(A^n) for A = [[1,1,1],[1,1,1],[1,0,0]]: 6, 14, 34, 82.
  for (const [n, states] of [[2, 6], [3, 14], [4, 34], [5, 82]] as const) {
    it(`dining philosophers (${n}): ${states} markings and one deadlock (everyone holds the left fork)`, async () => {
      const r = await verifyNet(philosophers(n));
      assert.equal(r.stats.states, states);
      const deadlocks = r.problems.filter((p) => p.kind === 'deadlock');
      assert.equal(deadlocks.length, 1);
      assert.equal(deadlocks[0].trace?.length, n);
      assert.ok(deadlocks[0].trace!.every((t) => t.text.startsWith('takeLeft')));
      assert.equal(r.net?.safe, true);
    });
  }

  it('an unbounded net is reported as such, without running into the state limit', async () => {
    const r = await verifyNet(parsePnml(fixture('unbounded.pnml')));
    assert.equal(r.verdict, 'unsound');
    assert.equal(r.net?.bounded, false);
    assert.match(r.problems[0].message, /unbounded: place `buffer`/);
  });

  it('a huge net stops at the state limit with a clear message', async () => {
    const r = await verifyNet(philosophers(12), { maxStates: 500 });
    assert.equal(r.verdict, 'unknown');
    assert.match(r.problems.find((p) => p.kind === 'state-space')!.message, /exceeds 500 states/);
  });

  it('malformed PNML gets a clear error', () => {
    assert.throws(() => parsePnml(fixture('malformed.pnml')), (e: unknown) => e instanceof PnmlError && /line 6: closing tag <\/page> does not match <transition>/.test(e.message));
    assert.throws(() => parsePnml('not xml at all'), /no <pnml> root/);
    assert.throws(() => parsePnml('<pnml><net id="n"><place id="p"/><arc id="a" source="p" target="x"/></net></pnml>'), /refers to "x"/);
    assert.throws(() => parsePnml('<pnml><net id="n"><place id="p"><initialMarking><text>two</text></initialMarking></place></net></pnml>'), /not a non-negative integer/);
    assert.throws(() => parsePnml('<pnml><net id="n"><place id="p"/><place id="p"/></net></pnml>'), /duplicate id "p"/);
  });

  it('PNML export round-trips and DOT export names every node', () => {
    const net = philosophers(3);
    const back = parsePnml(toPnml(net));
    assert.deepEqual(back.places.map((p) => [p.id, p.initial]), net.places.map((p) => [p.id, p.initial]));
    assert.equal(back.arcs.length, net.arcs.length);
    const dot = netToDot(net);
    assert.match(dot, /^digraph "philosophers-3"/);
    assert.ok(net.transitions.every((t) => dot.includes(`"${t.id}"`)));
  });
});
