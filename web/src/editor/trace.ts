/**
 * A verifier counterexample (plain-words moves naming steps in backticks) as something to draw:
 * per move, the steps it touched and the arrows the engine took. DOM-free.
 */
import type { TraceEntry } from '../../../src/verify/verify.js';

export interface TraceFrame {
  text: string;
  choices: string[];
  /** Steps named by this move (its own and those its choices routed to). */
  steps: string[];
  /** Arrows taken during this move (`a → b` in the choices). */
  edges: Array<[string, string]>;
}

const NAMED = /`([^`]+)`/g;

export function traceFrames(trace: readonly TraceEntry[], stepIds: readonly string[], startIds: readonly string[] = []): TraceFrame[] {
  const known = new Set(stepIds);
  return trace.map((entry) => {
    const steps: string[] = [];
    const edges: Array<[string, string]> = [];
    const add = (id: string) => { if (known.has(id) && !steps.includes(id)) steps.push(id); };
    if (/the instance starts/.test(entry.text)) startIds.forEach(add);
    for (const m of entry.text.matchAll(NAMED)) add(m[1]!);
    for (const choice of entry.choices) {
      const named = [...choice.matchAll(NAMED)].map((m) => m[1]!);
      named.forEach(add);
      // "decision `d` → `x`", "`b` failed (error) → `early`", "parallel `p` → `a`, `b`"
      const arrow = choice.indexOf('→');
      if (arrow >= 0) {
        const before = [...choice.slice(0, arrow).matchAll(NAMED)].map((m) => m[1]!);
        const after = [...choice.slice(arrow).matchAll(NAMED)].map((m) => m[1]!);
        const from = before.at(-1);
        if (from) for (const to of after) if (known.has(from) && known.has(to)) edges.push([from, to]);
      }
    }
    return { text: entry.text, choices: entry.choices, steps, edges };
  });
}

/** Everything visited up to and including frame `upTo` (the path so far). */
export function visitedUpTo(frames: readonly TraceFrame[], upTo: number): { steps: Set<string>; edges: Set<string> } {
  const steps = new Set<string>();
  const edges = new Set<string>();
  for (let i = 0; i <= upTo && i < frames.length; i++) {
    frames[i]!.steps.forEach((s) => steps.add(s));
    frames[i]!.edges.forEach(([a, b]) => edges.add(`${a}->${b}`));
  }
  return { steps, edges };
}

const INSTANT = new Set(['start', 'decision', 'inclusive', 'parallel', 'join', 'loop']);

/**
 * The trace names the steps the world acted on and the routing choices, not the instant steps a
 * token passed through on the way (a parallel split, a join that fired). Such a step is on the path
 * when an arrow from a visited step leads into it and one from it leads to a visited step.
 */
export function withInstantSteps(visited: Set<string>, graph: { steps: ReadonlyArray<{ id: string; type: string }>; edges: ReadonlyArray<{ from: string; to: string }> }): Set<string> {
  const out = new Set(visited);
  for (let changed = true; changed;) {
    changed = false;
    for (const s of graph.steps) {
      if (out.has(s.id) || !INSTANT.has(s.type)) continue;
      const into = graph.edges.some((e) => e.to === s.id && out.has(e.from));
      const onward = graph.edges.some((e) => e.from === s.id && out.has(e.to));
      if (into && onward) { out.add(s.id); changed = true; }
    }
  }
  return out;
}
