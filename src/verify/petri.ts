/**
 * Place/transition nets (as imported from PNML): the standard firing rule, explicit-state search,
 * and the classic checks — deadlocks, boundedness/safeness (a marking that strictly covers one of
 * its ancestors proves a place unbounded, Karp–Miller style), dead transitions, and for workflow
 * nets (one source place, one sink place) soundness: option to complete, proper completion, no
 * dead transitions. Browser-safe.
 */
import { canReach, explore, traceTo, trappedCycles, type StateGraph, type TransitionSystem } from './graph.js';
import { finishVerdict, type Problem, type VerificationReport } from './verify.js';

export interface Place { id: string; name?: string; initial: number }
export interface NetTransition { id: string; name?: string }
export interface Arc { source: string; target: string; weight: number }
export interface PetriNet { id: string; name?: string; places: Place[]; transitions: NetTransition[]; arcs: Arc[] }

export type Marking = Int32Array;

interface Compiled {
  pre: Array<Array<[number, number]>>;
  post: Array<Array<[number, number]>>;
  names: string[];
  placeNames: string[];
}

function compile(net: PetriNet): Compiled {
  const pIndex = new Map(net.places.map((p, i) => [p.id, i]));
  const tIndex = new Map(net.transitions.map((t, i) => [t.id, i]));
  const pre = net.transitions.map(() => [] as Array<[number, number]>);
  const post = net.transitions.map(() => [] as Array<[number, number]>);
  for (const a of net.arcs) {
    if (pIndex.has(a.source) && tIndex.has(a.target)) pre[tIndex.get(a.target)!].push([pIndex.get(a.source)!, a.weight]);
    else if (tIndex.has(a.source) && pIndex.has(a.target)) post[tIndex.get(a.source)!].push([pIndex.get(a.target)!, a.weight]);
    else throw new Error(`arc ${a.source} → ${a.target} must join a place and a transition that exist`);
  }
  return { pre, post, names: net.transitions.map((t) => t.name ?? t.id), placeNames: net.places.map((p) => p.name ?? p.id) };
}

export interface NetMove { transition: number; text: string }

export class NetSystem implements TransitionSystem<Marking, NetMove> {
  readonly c: Compiled;
  constructor(readonly net: PetriNet) {
    this.c = compile(net);
  }
  initial(): Marking[] {
    return [Int32Array.from(this.net.places.map((p) => p.initial))];
  }
  key(m: Marking): string {
    return m.join(',');
  }
  enabled(m: Marking, t: number): boolean {
    return this.c.pre[t].every(([p, w]) => m[p] >= w);
  }
  successors(m: Marking): Array<{ label: NetMove; state: Marking }> {
    const out: Array<{ label: NetMove; state: Marking }> = [];
    for (let t = 0; t < this.c.pre.length; t++) {
      if (!this.enabled(m, t)) continue;
      const next = m.slice();
      for (const [p, w] of this.c.pre[t]) next[p] -= w;
      for (const [p, w] of this.c.post[t]) next[p] += w;
      out.push({ label: { transition: t, text: this.c.names[t] }, state: next });
    }
    return out;
  }
  describe(m: Marking): string {
    const parts: string[] = [];
    m.forEach((n, p) => { if (n) parts.push(n === 1 ? this.c.placeNames[p] : `${n}×${this.c.placeNames[p]}`); });
    return parts.length ? parts.join(' + ') : 'no tokens';
  }
}

/** Source and sink places when the net is a workflow net. */
export function workflowNetEnds(net: PetriNet): { source: number; sink: number } | undefined {
  const hasIn = new Set(net.arcs.map((a) => a.target));
  const hasOut = new Set(net.arcs.map((a) => a.source));
  const sources = net.places.map((p, i) => [p, i] as const).filter(([p]) => !hasIn.has(p.id));
  const sinks = net.places.map((p, i) => [p, i] as const).filter(([p]) => !hasOut.has(p.id));
  if (sources.length !== 1 || sinks.length !== 1 || sources[0][1] === sinks[0][1]) return undefined;
  return { source: sources[0][1], sink: sinks[0][1] };
}

export interface NetVerifyOptions { maxStates?: number }

export async function verifyNet(net: PetriNet, opts: NetVerifyOptions = {}): Promise<VerificationReport> {
  const t0 = Date.now();
  const maxStates = opts.maxStates ?? 100_000;
  const sys = new NetSystem(net);
  const problems: Problem[] = [];
  const wf = workflowNetEnds(net);
  let g: StateGraph<Marking, NetMove>;
  // Unboundedness is found during the search, so an unbounded net never runs into the limit blindly.
  const unbounded = findUnbounded(sys, maxStates);
  if (unbounded) {
    problems.push({ kind: 'unbounded', severity: 'error', message: `the net is unbounded: place ${unbounded.places.map((p) => `\`${p}\``).join(', ')} can grow without limit`, trace: unbounded.trace.map((text) => ({ text, choices: [] })) });
    const report: VerificationReport = {
      kind: 'net', id: net.id, verdict: 'unsound', sound: false, problems, ends: [],
      stats: { states: unbounded.explored, edges: 0, finalStates: 0, commands: 0, ms: Date.now() - t0, reduced: false },
      net: { bounded: false, safe: false, maxTokens: Infinity, deadTransitions: [], workflowNet: !!wf },
    };
    finishVerdict(report);
    return report;
  }
  g = await explore(sys, { maxStates });
  if (g.truncated) problems.push({ kind: 'state-space', severity: 'error', message: `the state space exceeds ${maxStates} states; the verdict is unknown (raise --max-states)` });
  const n = g.states.length;
  const isFinalMarking = (v: number) => !!wf && g.states[v][wf.sink] > 0;
  const trace = (v: number) => traceTo(g, v).map((m) => ({ text: m.text, choices: [] as string[] }));
  let maxTokens = 0;
  let edges = 0;
  const fired = new Set<number>();
  for (let v = 0; v < n; v++) {
    for (const x of g.states[v]) maxTokens = Math.max(maxTokens, x);
    edges += g.edges[v].length;
    for (const e of g.edges[v]) fired.add(e.label.transition);
  }
  const finals: number[] = [];
  if (!g.truncated) {
    for (let v = 0; v < n; v++) {
      const m = g.states[v];
      if (isFinalMarking(v)) {
        finals.push(v);
        const total = m.reduce((a, b) => a + b, 0);
        if (total > 1 || m[wf!.sink] > 1) problems.push({ kind: 'improper-completion', severity: 'error', message: `improper completion: the sink is marked while tokens remain (${sys.describe(m)})`, trace: trace(v) });
        continue;
      }
      if (g.edges[v].length === 0) problems.push({ kind: 'deadlock', severity: 'error', message: `deadlock in marking ${sys.describe(m)}: no transition is enabled`, trace: trace(v) });
    }
    if (wf) {
      const reach = canReach(g, finals);
      for (const v of trappedCycles(g, isFinalMarking)) problems.push({ kind: 'livelock', severity: 'error', message: `livelock: from ${sys.describe(g.states[v])} the net cycles forever and never completes`, trace: trace(v) });
      const lost = [...Array(n).keys()].filter((v) => !reach[v] && g.edges[v].length > 0);
      if (lost.length && !problems.some((p) => p.kind === 'livelock' || p.kind === 'deadlock')) problems.push({ kind: 'livelock', severity: 'error', message: `no option to complete from ${sys.describe(g.states[lost[0]])}`, trace: trace(lost[0]) });
    }
  }
  const deadTransitions = g.truncated ? [] : net.transitions.filter((_, i) => !fired.has(i)).map((t) => t.name ?? t.id);
  for (const t of deadTransitions) problems.push({ kind: 'dead-step', severity: wf ? 'error' : 'warning', message: `transition \`${t}\` can never fire` });
  const report: VerificationReport = {
    kind: 'net', id: net.id, verdict: 'unknown', sound: false, problems,
    ends: finals.length ? [{ outcome: 'completed', trace: trace(finals[0]) }] : [],
    stats: { states: n, edges, finalStates: finals.length, commands: edges, ms: Date.now() - t0, reduced: false },
    net: { bounded: !g.truncated, safe: !g.truncated && maxTokens <= 1, maxTokens, deadTransitions, workflowNet: !!wf },
  };
  finishVerdict(report);
  return report;
}

/** DFS with the current path: a marking ≥ an ancestor (and ≠) proves unboundedness. */
function findUnbounded(sys: NetSystem, maxStates: number): { places: string[]; trace: string[]; explored: number } | undefined {
  const seen = new Set<string>();
  const path: Marking[] = [];
  const labels: string[] = [];
  let explored = 0;
  const visit = (m: Marking): { places: string[]; trace: string[]; explored: number } | undefined => {
    for (const anc of path) {
      let geq = true;
      let gt = false;
      for (let i = 0; i < m.length; i++) {
        if (m[i] < anc[i]) { geq = false; break; }
        if (m[i] > anc[i]) gt = true;
      }
      if (geq && gt) {
        const places = [...m.keys()].filter((i) => m[i] > anc[i]).map((i) => sys.c.placeNames[i]);
        return { places, trace: [...labels], explored };
      }
    }
    const k = sys.key(m);
    if (seen.has(k) || explored > maxStates) return undefined;
    seen.add(k);
    explored++;
    path.push(m);
    for (const s of sys.successors(m)) {
      labels.push(s.label.text);
      const r = visit(s.state);
      labels.pop();
      if (r) return r;
    }
    path.pop();
    return undefined;
  };
  // Recursion depth is bounded by the number of distinct markings on a path; guard it.
  try {
    return visit(sys.initial()[0]);
  } catch (err) {
    if (err instanceof RangeError) return undefined;
    throw err;
  }
}
