/**
 * Explicit state graphs and the breadth-first search that builds them. A `TransitionSystem` says
 * what a state's successors are; `explore` numbers states by their canonical key, keeps one BFS
 * parent per state (so traces are shortest), and stops with a clear message past `maxStates`.
 * Browser-safe: no Node imports.
 */

export interface Edge<L> {
  label: L;
  target: number;
}

export interface Successor<S, L> {
  label: L;
  state: S;
}

export interface TransitionSystem<S, L> {
  initial(): Promise<S[]> | S[];
  key(state: S): string;
  /** Successors of a state; an empty list means the state is final (ended or stuck). */
  successors(state: S): Promise<Successor<S, L>[]> | Successor<S, L>[];
}

export interface StateGraph<S, L> {
  states: S[];
  keys: string[];
  edges: Edge<L>[][];
  /** BFS parent and the edge label that reached the state first (-1 for initial states). */
  parent: number[];
  parentLabel: (L | undefined)[];
  depth: number[];
  initial: number[];
  /** Set when the search stopped at `maxStates`: the graph is a prefix of the state space. */
  truncated: boolean;
}

export class StateSpaceTooLarge extends Error {
  readonly code = 'state_space_too_large';
  constructor(readonly limit: number, readonly explored: number) {
    super(`the state space exceeds ${limit} states (explored ${explored}); raise --max-states, or simplify the definition`);
    this.name = 'StateSpaceTooLarge';
  }
}

export interface ExploreOptions {
  maxStates?: number;
  /** Throw `StateSpaceTooLarge` at the limit instead of returning a truncated graph. */
  throwOnLimit?: boolean;
  /** Give up after this many milliseconds (checked between states). */
  timeBudgetMs?: number;
}

export const DEFAULT_MAX_STATES = 200_000;

export async function explore<S, L>(sys: TransitionSystem<S, L>, opts: ExploreOptions = {}): Promise<StateGraph<S, L>> {
  const max = opts.maxStates ?? DEFAULT_MAX_STATES;
  const g: StateGraph<S, L> = { states: [], keys: [], edges: [], parent: [], parentLabel: [], depth: [], initial: [], truncated: false };
  const index = new Map<string, number>();
  const add = (s: S, parent: number, label: L | undefined): number => {
    const k = sys.key(s);
    const known = index.get(k);
    if (known !== undefined) return known;
    const id = g.states.length;
    index.set(k, id);
    g.states.push(s);
    g.keys.push(k);
    g.edges.push([]);
    g.parent.push(parent);
    g.parentLabel.push(label);
    g.depth.push(parent < 0 ? 0 : g.depth[parent] + 1);
    return id;
  };
  for (const s of await sys.initial()) g.initial.push(add(s, -1, undefined));
  const started = Date.now();
  for (let i = 0; i < g.states.length; i++) {
    if (g.states.length > max || (opts.timeBudgetMs !== undefined && Date.now() - started > opts.timeBudgetMs)) {
      if (opts.throwOnLimit) throw new StateSpaceTooLarge(max, g.states.length);
      g.truncated = true;
      break;
    }
    for (const succ of await sys.successors(g.states[i])) {
      g.edges[i].push({ label: succ.label, target: add(succ.state, i, succ.label) });
    }
  }
  return g;
}

/** Labels along the BFS tree from an initial state to `id` (a shortest path). */
export function traceTo<S, L>(g: StateGraph<S, L>, id: number): L[] {
  const out: L[] = [];
  for (let v = id; g.parent[v] >= 0; v = g.parent[v]) out.push(g.parentLabel[v]!);
  return out.reverse();
}

/** States from which some state in `targets` is reachable (backward search). */
export function canReach<S, L>(g: StateGraph<S, L>, targets: Iterable<number>): Uint8Array {
  const n = g.states.length;
  const pred: number[][] = Array.from({ length: n }, () => []);
  for (let v = 0; v < n; v++) for (const e of g.edges[v]) pred[e.target].push(v);
  const mark = new Uint8Array(n);
  const stack: number[] = [];
  for (const t of targets) if (!mark[t]) { mark[t] = 1; stack.push(t); }
  while (stack.length) {
    const v = stack.pop()!;
    for (const p of pred[v]) if (!mark[p]) { mark[p] = 1; stack.push(p); }
  }
  return mark;
}

/** Strongly connected components (iterative Tarjan); returns the component id of each state. */
export function sccs<S, L>(g: StateGraph<S, L>): { comp: Int32Array; count: number } {
  const n = g.states.length;
  const index = new Int32Array(n).fill(-1);
  const low = new Int32Array(n);
  const onStack = new Uint8Array(n);
  const comp = new Int32Array(n).fill(-1);
  const stack: number[] = [];
  let counter = 0;
  let count = 0;
  for (let root = 0; root < n; root++) {
    if (index[root] >= 0) continue;
    const work: Array<[number, number]> = [[root, 0]];
    index[root] = low[root] = counter++;
    stack.push(root);
    onStack[root] = 1;
    while (work.length) {
      const top = work[work.length - 1];
      const [v, i] = top;
      const edges = g.edges[v];
      if (i < edges.length) {
        top[1]++;
        const w = edges[i].target;
        if (index[w] < 0) {
          index[w] = low[w] = counter++;
          stack.push(w);
          onStack[w] = 1;
          work.push([w, 0]);
        } else if (onStack[w]) low[v] = Math.min(low[v], index[w]);
        continue;
      }
      work.pop();
      if (work.length) {
        const u = work[work.length - 1][0];
        low[u] = Math.min(low[u], low[v]);
      }
      if (low[v] === index[v]) {
        let w: number;
        do {
          w = stack.pop()!;
          onStack[w] = 0;
          comp[w] = count;
        } while (w !== v);
        count++;
      }
    }
  }
  return { comp, count };
}

/**
 * Bottom components that are traps: non-trivial strongly connected sets with no edge leaving them
 * (every run entering them cycles forever). Returns one representative state per trap.
 */
export function trappedCycles<S, L>(g: StateGraph<S, L>, isFinal: (id: number) => boolean): number[] {
  const { comp, count } = sccs(g);
  const leaves = new Uint8Array(count);
  const size = new Int32Array(count);
  const selfLoop = new Uint8Array(count);
  const hasFinal = new Uint8Array(count);
  for (let v = 0; v < g.states.length; v++) {
    size[comp[v]]++;
    if (isFinal(v)) hasFinal[comp[v]] = 1;
    for (const e of g.edges[v]) {
      if (comp[e.target] !== comp[v]) leaves[comp[v]] = 1;
      else if (e.target === v) selfLoop[comp[v]] = 1;
    }
  }
  const rep = new Int32Array(count).fill(-1);
  for (let v = 0; v < g.states.length; v++) if (rep[comp[v]] < 0) rep[comp[v]] = v;
  const out: number[] = [];
  for (let c = 0; c < count; c++) {
    if (!leaves[c] && !hasFinal[c] && (size[c] > 1 || selfLoop[c])) out.push(rep[c]);
  }
  return out;
}
