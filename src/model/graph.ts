/**
 * Structural analysis of a (normalised) definition: adjacency, split/join pairing, loop bodies and
 * back edges, and the cycle check. The engine core and the validator both read this one result, so
 * what is validated is what runs.
 *
 * Split/join pairing: a join names its split (`split:`), or the split is inferred as the
 * parallel/inclusive step whose immediate post-dominator is the join. Post-dominators are computed
 * on the graph of normal transitions (no `on:`), with a virtual exit after every `end` (and after
 * any step with no normal way out, so the analysis stays defined on broken input). Back edges are
 * kept in that graph: a back edge leads to its loop step, which post-dominates the loop body, so
 * a split before a loop still finds its join after the loop.
 *
 * Cost: adjacency, loops, cycles and dominators are near-linear; regions and loop bodies are one
 * traversal per join/loop, O(n²) at worst.
 */
import type { Definition, Step, Transition } from './schema.js';
import { isNormalised, normaliseDefinition } from './normalise.js';

export type ResolvedTransition = Transition & { id: string; index: number };

export interface GraphProblem {
  rule: string;
  message: string;
  path: (string | number)[];
  /** Default `error`. */
  severity?: 'error' | 'warning';
}

export interface GraphInfo {
  steps: Map<string, Step>;
  /** Normal transitions (no `on:`) per step id, ordered by priority (higher first), then declaration order. Every step id has an entry (maybe empty). */
  outgoing: Map<string, ResolvedTransition[]>;
  /** `on: error|timeout|cancel` transitions per step id, declaration order. Every step id has an entry. */
  exceptional: Map<string, ResolvedTransition[]>;
  /** All incoming transitions per step id, declaration order. Every step id has an entry. */
  incoming: Map<string, ResolvedTransition[]>;
  /** Every transition by id (including those whose endpoints do not exist; those are in no adjacency list). */
  transitions: Map<string, ResolvedTransition>;
  /** split (parallel|inclusive step id) → its join step id, and the reverse. */
  joinOfSplit: Map<string, string>;
  splitOfJoin: Map<string, string>;
  /**
   * join id → steps strictly between its split and it: reachable from the split without passing
   * the join, and from which the join is reachable without passing the split (so error handlers
   * inside a branch belong to the region and paths that leave it do not). Excludes split and join.
   * For well-formed blocks this is exactly "reachable from the split via normal transitions
   * without passing the join".
   */
  region: Map<string, Set<string>>;
  /** Ids of transitions that close a loop: into a `loop` step from a step inside that loop's body. */
  backEdges: Set<string>;
  /**
   * loop step id → steps of its body: reachable from `body` without passing through the loop step,
   * and from which the loop step is reachable (a path that leaves the loop for good is not body).
   */
  loopBody: Map<string, Set<string>>;
  /** Problems found while analysing (used by validate.ts). */
  problems: GraphProblem[];
}

const SPLIT_TYPES = new Set(['parallel', 'inclusive']);

export function analyseGraph(input: Definition): GraphInfo {
  const def = isNormalised(input) ? input : normaliseDefinition(input);
  const steps = new Map<string, Step>();
  const stepIndex = new Map<string, number>();
  def.steps.forEach((s, i) => {
    if (!steps.has(s.id)) {
      steps.set(s.id, s);
      stepIndex.set(s.id, i);
    }
  });

  const outgoing = new Map<string, ResolvedTransition[]>();
  const exceptional = new Map<string, ResolvedTransition[]>();
  const incoming = new Map<string, ResolvedTransition[]>();
  for (const id of steps.keys()) {
    outgoing.set(id, []);
    exceptional.set(id, []);
    incoming.set(id, []);
  }
  const transitions = new Map<string, ResolvedTransition>();
  const valid: ResolvedTransition[] = [];
  (def.transitions ?? []).forEach((t, index) => {
    const rt: ResolvedTransition = { ...t, id: t.id ?? `${t.from}->${t.to}`, index };
    if (!transitions.has(rt.id)) transitions.set(rt.id, rt);
    if (!steps.has(t.from) || !steps.has(t.to)) return;
    valid.push(rt);
    (t.on ? exceptional : outgoing).get(t.from)!.push(rt);
    incoming.get(t.to)!.push(rt);
  });
  for (const list of outgoing.values()) list.sort((a, b) => (b.priority ?? 0) - (a.priority ?? 0) || a.index - b.index);

  const problems: GraphProblem[] = [];
  const walk = new Walker([...steps.keys()], valid);

  // Loops: body = forward(body, not through loop) ∩ backward(loop, not through loop).
  const loopBody = new Map<string, Set<string>>();
  const backEdges = new Set<string>();
  for (const step of steps.values()) {
    if (step.type !== 'loop') continue;
    const body = step.body !== step.id && steps.has(step.body) ? walk.between(step.body, step.id, step.id, step.id) : new Set<string>();
    loopBody.set(step.id, body);
    for (const t of incoming.get(step.id)!) if (body.has(t.from)) backEdges.add(t.id);
  }

  findCycles(steps, valid, backEdges, stepIndex, problems);

  const { joinOfSplit, splitOfJoin } = pairSplitsAndJoins(def, steps, stepIndex, outgoing, problems);

  const region = new Map<string, Set<string>>();
  for (const [join, split] of splitOfJoin) region.set(join, walk.between(split, join, split, join));

  return { steps, outgoing, exceptional, incoming, transitions, joinOfSplit, splitOfJoin, region, backEdges, loopBody, problems };
}

/** Reachability over all transitions (normal and `on:`), on integer indices with reusable marks. */
class Walker {
  private readonly index: Map<string, number>;
  private readonly succ: number[][];
  private readonly pred: number[][];
  private readonly forwardMark: Int32Array;
  private readonly backwardMark: Int32Array;
  private stamp = 0;
  private readonly stack: number[] = [];

  constructor(private readonly ids: string[], transitions: ResolvedTransition[]) {
    this.index = new Map(ids.map((id, i) => [id, i]));
    this.succ = ids.map(() => []);
    this.pred = ids.map(() => []);
    for (const t of transitions) {
      const from = this.index.get(t.from)!;
      const to = this.index.get(t.to)!;
      this.succ[from].push(to);
      this.pred[to].push(from);
    }
    this.forwardMark = new Int32Array(ids.length);
    this.backwardMark = new Int32Array(ids.length);
  }

  /**
   * Steps reachable from `source` without entering `forwardStop`, from which `target` can be
   * reached walking back without entering `backwardStop`. Neither stop is ever in the result.
   */
  between(source: string, target: string, backwardStop: string, forwardStop: string): Set<string> {
    const stamp = ++this.stamp;
    const forward: number[] = [];
    this.fill([this.index.get(source)!], this.succ, this.forwardMark, stamp, this.index.get(forwardStop)!, forward);
    this.fill(this.pred[this.index.get(target)!], this.pred, this.backwardMark, stamp, this.index.get(backwardStop)!, []);
    const out = new Set<string>();
    for (const v of forward) if (this.backwardMark[v] === stamp) out.add(this.ids[v]);
    return out;
  }

  private fill(from: readonly number[], next: number[][], mark: Int32Array, stamp: number, stop: number, out: number[]): void {
    const stack = this.stack;
    for (const f of from) if (f !== stop && mark[f] !== stamp) { mark[f] = stamp; stack.push(f); out.push(f); }
    while (stack.length) {
      const v = stack.pop()!;
      for (const w of next[v]) {
        if (w === stop || mark[w] === stamp) continue;
        mark[w] = stamp;
        stack.push(w);
        out.push(w);
      }
    }
  }
}

/** Strongly connected components after removing back edges; each non-trivial one is a cycle without a loop step. */
function findCycles(
  steps: Map<string, Step>,
  valid: ResolvedTransition[],
  backEdges: Set<string>,
  stepIndex: Map<string, number>,
  problems: GraphProblem[],
): void {
  const ids = [...steps.keys()];
  const index = new Map(ids.map((id, i) => [id, i]));
  const adj: { to: number; t: ResolvedTransition }[][] = ids.map(() => []);
  for (const t of valid) if (!backEdges.has(t.id)) adj[index.get(t.from)!].push({ to: index.get(t.to)!, t });

  // Iterative Tarjan.
  const n = ids.length;
  const order = new Int32Array(n).fill(-1);
  const low = new Int32Array(n);
  const onStack = new Uint8Array(n);
  const stack: number[] = [];
  const components: number[][] = [];
  let counter = 0;
  for (let root = 0; root < n; root++) {
    if (order[root] !== -1) continue;
    const work: [number, number][] = [[root, 0]];
    order[root] = low[root] = counter++;
    stack.push(root);
    onStack[root] = 1;
    while (work.length) {
      const frame = work[work.length - 1];
      const [v, i] = frame;
      if (i < adj[v].length) {
        frame[1]++;
        const w = adj[v][i].to;
        if (order[w] === -1) {
          order[w] = low[w] = counter++;
          stack.push(w);
          onStack[w] = 1;
          work.push([w, 0]);
        } else if (onStack[w]) low[v] = Math.min(low[v], order[w]);
        continue;
      }
      work.pop();
      if (work.length) {
        const parent = work[work.length - 1][0];
        low[parent] = Math.min(low[parent], low[v]);
      }
      if (low[v] === order[v]) {
        const comp: number[] = [];
        let w: number;
        do {
          w = stack.pop()!;
          onStack[w] = 0;
          comp.push(w);
        } while (w !== v);
        if (comp.length > 1 || adj[v].some((e) => e.to === v)) components.push(comp);
      }
    }
  }

  const cycles = components.map((comp) => {
    const members = new Set(comp);
    const first = Math.min(...comp.map((c) => stepIndex.get(ids[c])!));
    const startNode = index.get(ids.find((id) => stepIndex.get(id) === first)!)!;
    // Shortest cycle through startNode inside the component (BFS).
    const via = new Map<number, { from: number; t: ResolvedTransition }>();
    const queue = [startNode];
    let closing: { from: number; t: ResolvedTransition } | undefined;
    for (let q = 0; q < queue.length && !closing; q++) {
      const v = queue[q];
      for (const e of adj[v]) {
        if (!members.has(e.to)) continue;
        if (e.to === startNode) { closing = { from: v, t: e.t }; break; }
        if (!via.has(e.to)) { via.set(e.to, { from: v, t: e.t }); queue.push(e.to); }
      }
    }
    const path: number[] = [startNode];
    for (let v = closing!.from; v !== startNode; v = via.get(v)!.from) path.push(v);
    const names = [ids[startNode], ...path.slice(1).reverse().map((v) => ids[v]), ids[startNode]];
    return { first, names, t: closing!.t };
  });
  cycles.sort((a, b) => a.first - b.first);
  for (const c of cycles) {
    problems.push({
      rule: 'cycle-without-loop',
      message: `cycle without a loop step: ${c.names.join(' → ')}; repetition must go through a "loop" step (whose body leads back to it)`,
      path: ['transitions', c.t.index],
    });
  }
}

function pairSplitsAndJoins(
  def: Definition,
  steps: Map<string, Step>,
  stepIndex: Map<string, number>,
  outgoing: Map<string, ResolvedTransition[]>,
  problems: GraphProblem[],
): { joinOfSplit: Map<string, string>; splitOfJoin: Map<string, string> } {
  const joinOfSplit = new Map<string, string>();
  const splitOfJoin = new Map<string, string>();
  const pathOf = (id: string, ...rest: (string | number)[]) => ['steps', stepIndex.get(id)!, ...rest];

  for (const step of steps.values()) {
    if (step.type !== 'join' || step.split === undefined) continue;
    const split = steps.get(step.split);
    if (!split || !SPLIT_TYPES.has(split.type)) {
      problems.push({
        rule: 'invalid-join-split',
        message: split
          ? `join "${step.id}" names split "${step.split}", which is a ${split.type} step, not a parallel or inclusive step`
          : `join "${step.id}" names split "${step.split}", which is not a step`,
        path: pathOf(step.id, 'split'),
      });
      continue;
    }
    const other = joinOfSplit.get(split.id);
    if (other !== undefined) {
      problems.push({
        rule: 'split-paired-twice',
        message: `joins "${other}" and "${step.id}" both close split "${split.id}"; a split has one join`,
        path: pathOf(step.id, 'split'),
      });
      continue;
    }
    joinOfSplit.set(split.id, step.id);
    splitOfJoin.set(step.id, split.id);
  }

  const needsInference = def.steps.some((s) => SPLIT_TYPES.has(s.type) && !joinOfSplit.has(s.id));
  if (needsInference) {
    const ipdom = immediatePostDominators(steps, outgoing);
    for (const split of steps.values()) {
      if (!SPLIT_TYPES.has(split.type) || joinOfSplit.has(split.id)) continue;
      const meet = ipdom.get(split.id);
      if (meet === undefined || meet === EXIT) continue; // cannot reach an end (reported elsewhere), or branches end separately
      const target = steps.get(meet)!;
      if (target.type === 'join') {
        const claimed = splitOfJoin.get(meet);
        if (claimed !== undefined || target.split !== undefined) {
          problems.push({
            rule: 'join-claimed-twice',
            message: `join "${meet}" closes both "${claimed ?? target.split}" and "${split.id}"; give each split its own join`,
            path: pathOf(meet),
          });
          continue;
        }
        joinOfSplit.set(split.id, meet);
        splitOfJoin.set(meet, split.id);
      } else if (target.type !== 'end') {
        problems.push({
          rule: 'split-without-join',
          message: `the branches of ${split.type} step "${split.id}" meet again at "${meet}", which is not a join: "${meet}" would run once per branch; put a join step before it`,
          path: pathOf(split.id),
          severity: 'warning',
        });
      }
    }
  }

  for (const step of steps.values()) {
    if (step.type === 'join' && !splitOfJoin.has(step.id) && step.split === undefined) {
      problems.push({
        rule: 'unmatched-join',
        message: `join "${step.id}" does not close any parallel or inclusive step: no split has all its branches meeting here (name it with "split:" if the branches are meant to meet here)`,
        path: pathOf(step.id),
      });
    }
  }
  return { joinOfSplit, splitOfJoin };
}

const EXIT = '\u0000exit';

/**
 * Immediate post-dominators on the graph of normal transitions with a virtual exit after every
 * `end` and every step with no normal way out (Cooper, Harvey & Kennedy's iterative algorithm on
 * the reversed graph). Steps that cannot reach the exit have no entry.
 */
function immediatePostDominators(
  steps: Map<string, Step>,
  outgoing: Map<string, ResolvedTransition[]>,
): Map<string, string> {
  const ids = [...steps.keys(), EXIT];
  const n = ids.length;
  const exit = n - 1;
  const index = new Map(ids.map((id, i) => [id, i]));
  const succ: number[][] = ids.map(() => []);
  const pred: number[][] = ids.map(() => []);
  for (const [id, list] of outgoing) {
    const v = index.get(id)!;
    const targets = new Set(list.map((t) => index.get(t.to)!));
    if (steps.get(id)!.type === 'end' || targets.size === 0) targets.add(exit);
    for (const w of targets) {
      succ[v].push(w);
      pred[w].push(v);
    }
  }

  // Post-order of a DFS from the exit along reversed edges.
  const po = new Int32Array(n).fill(-1);
  const order: number[] = [];
  const visited = new Uint8Array(n);
  const work: [number, number][] = [[exit, 0]];
  visited[exit] = 1;
  while (work.length) {
    const frame = work[work.length - 1];
    const [v, i] = frame;
    if (i < pred[v].length) {
      frame[1]++;
      const w = pred[v][i];
      if (!visited[w]) {
        visited[w] = 1;
        work.push([w, 0]);
      }
      continue;
    }
    work.pop();
    po[v] = order.length;
    order.push(v);
  }

  const idom = new Int32Array(n).fill(-1);
  idom[exit] = exit;
  const intersect = (a: number, b: number): number => {
    while (a !== b) {
      while (po[a] < po[b]) a = idom[a];
      while (po[b] < po[a]) b = idom[b];
    }
    return a;
  };
  for (let changed = true; changed;) {
    changed = false;
    for (let k = order.length - 2; k >= 0; k--) {
      const b = order[k];
      let next = -1;
      for (const p of succ[b]) {
        if (idom[p] === -1) continue;
        next = next === -1 ? p : intersect(p, next);
      }
      if (next !== idom[b]) {
        idom[b] = next;
        changed = true;
      }
    }
  }

  const result = new Map<string, string>();
  for (let v = 0; v < n - 1; v++) if (idom[v] !== -1) result.set(ids[v], ids[idom[v]]);
  return result;
}
