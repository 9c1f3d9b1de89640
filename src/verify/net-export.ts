/**
 * A definition as a place/transition net: the state graph the verifier explores, written as a
 * state-machine workflow net. Every abstract state of the core (see definition-system.ts) is a
 * place, every move (an answer of the world and what the engine made of it) a transition from
 * its state's place to its successor's, named in step terms. The initial place (the moment before
 * the instance starts) holds the one token. Each way a run ends normally (`completed`, a failure
 * the definition allows, `cancelled`, …) gets a transition into the sink place `end`; ends the
 * verifier calls errors (`failed (deadlock)`) and stuck states do not, so they stay dead markings.
 * Hence the exported net is a workflow net, and its classical soundness (`verifyNet`) agrees with
 * the definition's verdict on deadlocks, stuck states and livelocks. It is exact — the same
 * semantics, not a second compilation — and, with partial-order reduction (the default), as small
 * as the graph the soundness check used. Round-trips through `toPnml`/`parsePnml`.
 */
import { inputClasses } from './conditions.js';
import type { Definition } from '../model/schema.js';
import { TERMINAL_STATUSES } from '../core/types.js';
import { DefinitionSystem } from './definition-system.js';
import { explore, StateSpaceTooLarge } from './graph.js';
import type { PetriNet } from './petri.js';

export interface DefinitionNetOptions {
  /** Partial-order reduction (default true): the graph the soundness check sees. */
  reduce?: boolean;
  maxStates?: number;
  failures?: boolean;
  /** As in `verifyDefinition`: simple conditions per input class, early signals. */
  conditions?: 'free' | 'simple';
  signals?: 'awaited' | 'early';
}

export async function definitionToNet(def: Definition, opts: DefinitionNetOptions = {}): Promise<PetriNet> {
  const inputs = opts.conditions === 'simple' ? await inputClasses(def) : undefined;
  const sys = new DefinitionSystem(def, { reduce: opts.reduce ?? true, failures: opts.failures, inputClasses: inputs, signals: opts.signals });
  const maxStates = opts.maxStates ?? 100_000;
  const g = await explore(sys, { maxStates });
  if (g.truncated) throw new StateSpaceTooLarge(maxStates, g.states.length);
  const net: PetriNet = { id: def.id, name: `${def.id}${def.version ? `@${def.version}` : ''} (verifier state graph)`, places: [], transitions: [], arcs: [] };
  g.states.forEach((s, i) => {
    let name: string;
    if (s === null) name = 'before start';
    else if (TERMINAL_STATUSES.has(s.status)) name = s.status === 'failed' ? `failed (${s.error?.code})` : s.status;
    else {
      const runs = Object.values(s.active).map((r) => `${r.stepId}:${r.status}`).sort();
      name = runs.length ? runs.join(', ') : s.status;
    }
    net.places.push({ id: `s${i}`, name, initial: g.initial.includes(i) ? 1 : 0 });
  });
  net.places.push({ id: 'end', name: 'ended', initial: 0 });
  let k = 0;
  g.edges.forEach((list, i) => {
    for (const e of list) {
      const id = `t${k++}`;
      net.transitions.push({ id, name: e.label.choices.length ? `${e.label.text} — ${e.label.choices.join('; ')}` : e.label.text });
      net.arcs.push({ source: `s${i}`, target: id, weight: 1 }, { source: id, target: `s${e.target}`, weight: 1 });
    }
  });
  g.states.forEach((s, i) => {
    if (s === null || !TERMINAL_STATUSES.has(s.status)) return;
    if (s.status === 'failed' && s.error?.code === 'deadlock') return;
    const id = `t${k++}`;
    net.transitions.push({ id, name: `ends ${net.places[i].name}` });
    net.arcs.push({ source: `s${i}`, target: id, weight: 1 }, { source: id, target: 'end', weight: 1 });
  });
  return net;
}
