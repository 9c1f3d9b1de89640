/**
 * CTL properties over a definition's state space (the core's own states, see
 * definition-system.ts). Syntax (a definition's `properties:`, strings or `{name, formula}`):
 *
 *   f ::= true | false | ended | completed | failed | active(step) | completed(step)
 *       | ! f | f & f | f | f | f -> f | ( f )
 *       | EX f | AX f | EF f | AF f | EG f | AG f | E [ f U f ] | A [ f U f ]
 *
 * (`&&`, `||`, `not`, `and`, `or` are accepted too; `->` binds weakest and associates right.)
 * Formulas hold or fail in the initial state: the moment before the instance starts.
 *
 * Model checking is the classic fixpoint labelling on the explicit, UNREDUCED state graph
 * (partial-order reduction preserves final states, not arbitrary CTL). Paths are maximal: a path
 * that reaches an ended (or stuck) state stops there, so `EX f` is false and `AX f` true in such
 * a state. Fairness: `EG`, and with it `AF` and `A[ U ]`, quantify over FAIR paths only — a path
 * that visits a state infinitely often takes each of that state's moves infinitely often (strong
 * fairness over the world's answers and the conditions' outcomes). So a `while` loop whose
 * condition can become false is not a path that loops forever. In a finite graph every state
 * has a fair path (finite, or one that settles in a bottom strongly connected component and
 * visits all of it), so fairness never makes a formula vacuous; `EX`, `EF`, `EU`, `AG` are the
 * same with or without it.
 */
import type { Definition } from '../model/schema.js';
import { TERMINAL_STATUSES } from '../core/types.js';
import type { Move, VState } from './definition-system.js';
import { sccs, type StateGraph } from './graph.js';
import type { TraceEntry } from './verify.js';

export interface PropertyResult {
  name: string;
  formula: string;
  holds: boolean;
  /** `unknown`: the state space was too large, or the formula does not parse. */
  status?: 'holds' | 'fails' | 'unknown';
  /** Built-in property (always reported). */
  builtin?: boolean;
  error?: string;
  /** A witness (E-formula that holds) or counterexample (A-formula that fails), from the start. */
  trace?: TraceEntry[];
  /** What the trace shows ("witness", "counterexample"), and how it ends. */
  traceKind?: 'witness' | 'counterexample';
  traceNote?: string;
}

export type Formula =
  | { op: 'true' } | { op: 'false' }
  | { op: 'ended' } | { op: 'instance-completed' } | { op: 'instance-failed' }
  | { op: 'active'; step: string } | { op: 'step-completed'; step: string }
  | { op: 'not'; a: Formula }
  | { op: 'and' | 'or' | 'implies'; a: Formula; b: Formula }
  | { op: 'EX' | 'AX' | 'EF' | 'AF' | 'EG' | 'AG'; a: Formula }
  | { op: 'EU' | 'AU'; a: Formula; b: Formula };

export class CtlParseError extends Error {
  readonly code = 'ctl_parse_error';
  constructor(readonly formula: string, readonly position: number, readonly reason: string) {
    super(`${reason} at position ${position + 1} of "${formula}"\n  ${formula}\n  ${' '.repeat(position)}^`);
    this.name = 'CtlParseError';
  }
}

interface Tok { t: string; pos: number }

function tokenize(src: string): Tok[] {
  const out: Tok[] = [];
  let i = 0;
  while (i < src.length) {
    const c = src[i];
    if (/\s/.test(c)) { i++; continue; }
    const two = src.slice(i, i + 2);
    if (two === '->' || two === '&&' || two === '||') { out.push({ t: two === '&&' ? '&' : two === '||' ? '|' : '->', pos: i }); i += 2; continue; }
    if ('()[]!&|'.includes(c)) { out.push({ t: c, pos: i }); i++; continue; }
    const m = /^[A-Za-z_][A-Za-z0-9_.-]*/.exec(src.slice(i));
    if (!m) throw new CtlParseError(src, i, `unexpected character "${c}"`);
    // `-` inside identifiers must not swallow `->`.
    let word = m[0];
    const arrow = word.indexOf('->');
    if (arrow >= 0) word = word.slice(0, arrow);
    if (word.endsWith('-') && src[i + word.length] === '>') word = word.slice(0, -1);
    out.push({ t: word, pos: i });
    i += word.length;
  }
  return out;
}

const UNARY = new Set(['EX', 'AX', 'EF', 'AF', 'EG', 'AG']);

/** Parses a CTL formula; `steps` (when given) are the step ids atoms may name. */
export function parseCtl(src: string, steps?: ReadonlySet<string>): Formula {
  const toks = tokenize(src);
  let k = 0;
  const peek = () => toks[k]?.t;
  const here = () => toks[k]?.pos ?? src.length;
  const fail = (reason: string, pos = here()): never => { throw new CtlParseError(src, pos, reason); };
  const expect = (t: string, what = `"${t}"`) => {
    if (peek() !== t) fail(`expected ${what}${peek() === undefined ? ' but the formula ended' : `, found "${peek()}"`}`);
    k++;
  };
  const implies = (): Formula => {
    const a = or();
    if (peek() === '->') { k++; return { op: 'implies', a, b: implies() }; }
    return a;
  };
  const or = (): Formula => {
    let a = and();
    while (peek() === '|' || peek()?.toLowerCase() === 'or') { k++; a = { op: 'or', a, b: and() }; }
    return a;
  };
  const and = (): Formula => {
    let a = unary();
    while (peek() === '&' || peek()?.toLowerCase() === 'and') { k++; a = { op: 'and', a, b: unary() }; }
    return a;
  };
  const until = (q: 'E' | 'A'): Formula => {
    const open = peek();
    if (open !== '[' && open !== '(') fail(`expected "[" after ${q} (as in ${q} [ f U g ])`);
    k++;
    const a = implies();
    if (peek() !== 'U') fail('expected "U" (until)');
    k++;
    const b = implies();
    expect(open === '[' ? ']' : ')');
    return { op: q === 'E' ? 'EU' : 'AU', a, b };
  };
  const unary = (): Formula => {
    const t = peek();
    const pos = here();
    if (t === undefined) return fail('expected a formula but the formula ended');
    if (t === '!' || t.toLowerCase() === 'not') { k++; return { op: 'not', a: unary() }; }
    if (UNARY.has(t)) { k++; return { op: t as 'EX', a: unary() }; }
    if (t === 'E' || t === 'A') { k++; return until(t); }
    if (t === '(') { k++; const f = implies(); expect(')'); return f; }
    if (t === 'true' || t === 'false') { k++; return { op: t }; }
    if (t === 'ended') { k++; return { op: 'ended' }; }
    if (t === 'failed') { k++; return { op: 'instance-failed' }; }
    if (t === 'active' || t === 'completed') {
      k++;
      if (peek() !== '(') return t === 'completed' ? { op: 'instance-completed' } : fail('expected "(" after active (as in active(step))');
      k++;
      const id = peek();
      const idPos = here();
      if (id === undefined || !/^[A-Za-z_]/.test(id)) fail('expected a step id');
      k++;
      if (steps && !steps.has(id!)) fail(`unknown step "${id}"`, idPos);
      expect(')');
      return { op: t === 'active' ? 'active' : 'step-completed', step: id! };
    }
    if (t === 'U' || t === ')' || t === ']' || t === '&' || t === '|' || t === '->') return fail(`unexpected "${t}"`, pos);
    return fail(`unknown atom "${t}" (atoms: active(step), completed(step), ended, completed, failed, true, false)`, pos);
  };
  const f = implies();
  if (k < toks.length) fail(`unexpected "${peek()}"`);
  return f;
}

export function formatCtl(f: Formula): string {
  switch (f.op) {
    case 'true': case 'false': case 'ended': return f.op;
    case 'instance-completed': return 'completed';
    case 'instance-failed': return 'failed';
    case 'active': return `active(${f.step})`;
    case 'step-completed': return `completed(${f.step})`;
    case 'not': return `!${formatCtl(f.a)}`;
    case 'and': return `(${formatCtl(f.a)} & ${formatCtl(f.b)})`;
    case 'or': return `(${formatCtl(f.a)} | ${formatCtl(f.b)})`;
    case 'implies': return `(${formatCtl(f.a)} -> ${formatCtl(f.b)})`;
    case 'EU': return `E[${formatCtl(f.a)} U ${formatCtl(f.b)}]`;
    case 'AU': return `A[${formatCtl(f.a)} U ${formatCtl(f.b)}]`;
    default: return `${f.op} ${formatCtl(f.a)}`;
  }
}

/** True when a formula talks about `completed(step)` (the state key must then keep history). */
export function needsHistory(f: Formula): boolean {
  switch (f.op) {
    case 'step-completed': return true;
    case 'not': case 'EX': case 'AX': case 'EF': case 'AF': case 'EG': case 'AG': return needsHistory(f.a);
    case 'and': case 'or': case 'implies': case 'EU': case 'AU': return needsHistory(f.a) || needsHistory(f.b);
    default: return false;
  }
}

/** `properties:` entries as `{name, formula}`. */
export function declaredProperties(def: Definition): Array<{ name: string; formula: string }> {
  return (def.properties ?? []).map((p, i) => (typeof p === 'string' ? { name: `#${i + 1}`, formula: p } : { name: p.name, formula: p.formula }));
}

type Sat = Uint8Array;

/** Fixpoint labelling of CTL formulas on an explicit state graph (with fair `EG`). */
export class CtlChecker {
  private readonly n: number;
  private readonly pred: number[][];
  private readonly comp: Int32Array;
  /** Per component: bottom (no edge leaves it) and non-trivial (a cycle). */
  private readonly bottomCycle: Uint8Array;
  private readonly members: number[][];
  private readonly cache = new Map<string, Sat>();

  constructor(readonly g: StateGraph<VState, Move>) {
    const n = (this.n = g.states.length);
    this.pred = Array.from({ length: n }, () => []);
    for (let v = 0; v < n; v++) for (const e of g.edges[v]) this.pred[e.target].push(v);
    const { comp, count } = sccs(g);
    this.comp = comp;
    const leaves = new Uint8Array(count);
    const cyclic = new Uint8Array(count);
    const size = new Int32Array(count);
    this.members = Array.from({ length: count }, () => []);
    for (let v = 0; v < n; v++) {
      size[comp[v]]++;
      this.members[comp[v]].push(v);
      for (const e of g.edges[v]) {
        if (comp[e.target] !== comp[v]) leaves[comp[v]] = 1;
        else cyclic[comp[v]] = 1;
      }
    }
    this.bottomCycle = new Uint8Array(count);
    for (let c = 0; c < count; c++) this.bottomCycle[c] = !leaves[c] && cyclic[c] ? 1 : 0;
  }

  sat(f: Formula): Sat {
    const key = formatCtl(f);
    let s = this.cache.get(key);
    if (!s) {
      s = this.compute(f);
      this.cache.set(key, s);
    }
    return s;
  }

  private atom(test: (s: NonNullable<VState>) => boolean): Sat {
    const out = new Uint8Array(this.n);
    for (let v = 0; v < this.n; v++) {
      const s = this.g.states[v];
      if (s && test(s)) out[v] = 1;
    }
    return out;
  }

  private compute(f: Formula): Sat {
    const n = this.n;
    const ended = (s: NonNullable<VState>) => TERMINAL_STATUSES.has(s.status);
    switch (f.op) {
      case 'true': return new Uint8Array(n).fill(1);
      case 'false': return new Uint8Array(n);
      case 'ended': return this.atom(ended);
      case 'instance-completed': return this.atom((s) => s.status === 'completed');
      case 'instance-failed': return this.atom((s) => s.status === 'failed');
      case 'active': return this.atom((s) => !ended(s) && Object.values(s.active).some((r) => r.stepId === f.step));
      case 'step-completed': return this.atom((s) => s.steps[f.step]?.status === 'completed');
      case 'not': return this.sat(f.a).map((x) => 1 - x);
      case 'and': { const a = this.sat(f.a); const b = this.sat(f.b); return a.map((x, i) => x & b[i]); }
      case 'or': { const a = this.sat(f.a); const b = this.sat(f.b); return a.map((x, i) => x | b[i]); }
      case 'implies': { const a = this.sat(f.a); const b = this.sat(f.b); return a.map((x, i) => (1 - x) | b[i]); }
      case 'EX': { const a = this.sat(f.a); return this.map((v) => this.g.edges[v].some((e) => a[e.target] === 1)); }
      case 'AX': { const a = this.sat(f.a); return this.map((v) => this.g.edges[v].every((e) => a[e.target] === 1)); }
      case 'EU': return this.eu(this.sat(f.a), this.sat(f.b));
      case 'EF': return this.eu(this.sat({ op: 'true' }), this.sat(f.a));
      case 'AG': return this.sat({ op: 'not', a: { op: 'EF', a: { op: 'not', a: f.a } } });
      case 'EG': return this.eg(this.sat(f.a));
      case 'AF': return this.sat({ op: 'not', a: { op: 'EG', a: { op: 'not', a: f.a } } });
      case 'AU': {
        const notB: Formula = { op: 'not', a: f.b };
        return this.sat({ op: 'not', a: { op: 'or', a: { op: 'EU', a: notB, b: { op: 'and', a: { op: 'not', a: f.a }, b: notB } }, b: { op: 'EG', a: notB } } });
      }
    }
  }

  private map(test: (v: number) => boolean): Sat {
    const out = new Uint8Array(this.n);
    for (let v = 0; v < this.n; v++) if (test(v)) out[v] = 1;
    return out;
  }

  private eu(a: Sat, b: Sat): Sat {
    const out = b.slice();
    const stack: number[] = [];
    for (let v = 0; v < this.n; v++) if (b[v]) stack.push(v);
    while (stack.length) {
      const v = stack.pop()!;
      for (const p of this.pred[v]) if (!out[p] && a[p]) { out[p] = 1; stack.push(p); }
    }
    return out;
  }

  /** Where a fair path may stay in `a` forever: a dead state, or a bottom cycle entirely in `a`. */
  fairEnd(a: Sat): Sat {
    const out = new Uint8Array(this.n);
    for (let v = 0; v < this.n; v++) {
      if (!a[v]) continue;
      if (this.g.edges[v].length === 0) out[v] = 1;
      else if (this.bottomCycle[this.comp[v]] && this.members[this.comp[v]].every((w) => a[w])) out[v] = 1;
    }
    return out;
  }

  private eg(a: Sat): Sat {
    return this.eu(a, this.fairEnd(a));
  }

  /** Shortest path from `from` through `a`-states to a `b`-state (edge list), or undefined. */
  pathTo(from: number, a: Sat, b: Sat): { moves: Move[]; end: number } | undefined {
    if (b[from]) return { moves: [], end: from };
    if (!a[from]) return undefined;
    const parent = new Int32Array(this.n).fill(-2);
    const via: (Move | undefined)[] = new Array(this.n);
    parent[from] = -1;
    const queue = [from];
    for (let i = 0; i < queue.length; i++) {
      const v = queue[i];
      for (const e of this.g.edges[v]) {
        if (parent[e.target] !== -2) continue;
        parent[e.target] = v;
        via[e.target] = e.label;
        if (b[e.target]) {
          const out: Move[] = [];
          for (let w = e.target; w !== from; w = parent[w]) out.push(via[w]!);
          return { moves: out.reverse(), end: e.target };
        }
        if (a[e.target]) queue.push(e.target);
      }
    }
    return undefined;
  }

  /** Evidence for `f` at state `v`: a witness if an E-formula holds, a counterexample if an A-formula fails. */
  evidence(f: Formula, v: number, depth = 0): Evidence | undefined {
    if (depth > 8) return undefined;
    const holds = this.sat(f)[v] === 1;
    const ex = (g: Formula) => this.exWitness(g, v, depth);
    switch (f.op) {
      case 'not': {
        const inner = this.evidence(f.a, v, depth + 1);
        return inner && { ...inner, kind: inner.kind === 'witness' ? 'counterexample' : 'witness' };
      }
      case 'implies': return holds ? undefined : this.evidence(f.b, v, depth + 1);
      case 'and': return holds ? undefined : this.evidence(this.sat(f.a)[v] ? f.b : f.a, v, depth + 1);
      case 'or': return holds ? this.evidence(this.sat(f.a)[v] ? f.a : f.b, v, depth + 1) : (this.evidence(f.a, v, depth + 1) ?? this.evidence(f.b, v, depth + 1));
      case 'EX': case 'EF': case 'EG': case 'EU': return holds ? ex(f) : undefined;
      case 'AX': return holds ? undefined : flip(ex({ op: 'EX', a: { op: 'not', a: f.a } }));
      case 'AG': return holds ? undefined : flip(ex({ op: 'EF', a: { op: 'not', a: f.a } }));
      case 'AF': return holds ? undefined : flip(ex({ op: 'EG', a: { op: 'not', a: f.a } }));
      case 'AU': {
        if (holds) return undefined;
        const notB: Formula = { op: 'not', a: f.b };
        const viaU = ex({ op: 'EU', a: notB, b: { op: 'and', a: { op: 'not', a: f.a }, b: notB } });
        return flip(viaU ?? ex({ op: 'EG', a: notB }));
      }
      default: return undefined;
    }
  }

  /** A witness for an E-formula holding at `v`; for EX/EF/EU it continues with the evidence of the target's sub-formula. */
  private exWitness(f: Formula, v: number, depth: number): Evidence | undefined {
    if (!this.sat(f)[v]) return undefined;
    const then = (moves: Move[], end: number, target: Formula): Evidence => {
      const more = this.evidence(target, end, depth + 1);
      return { kind: 'witness', trace: [...moves, ...(more?.trace ?? [])], ...(more?.note && { note: more.note }) };
    };
    switch (f.op) {
      case 'EX': {
        const a = this.sat(f.a);
        const e = this.g.edges[v].find((x) => a[x.target]);
        return e && then([e.label], e.target, f.a);
      }
      case 'EF': { const t = this.pathTo(v, this.sat({ op: 'true' }), this.sat(f.a)); return t && then(t.moves, t.end, f.a); }
      case 'EU': { const t = this.pathTo(v, this.sat(f.a), this.sat(f.b)); return t && then(t.moves, t.end, f.b); }
      case 'EG': {
        const a = this.sat(f.a);
        const end = this.fairEnd(a);
        const p = this.pathTo(v, a, end);
        if (!p) return undefined;
        const t = p.moves;
        const w = p.end;
        if (this.g.edges[w].length === 0) {
          const s = this.g.states[w];
          return { kind: 'witness', trace: t, note: s && TERMINAL_STATUSES.has(s.status) ? `the instance ends ${s.status === 'failed' ? `failed (${s.error?.code})` : s.status}` : 'the instance is stuck there' };
        }
        const steps = new Set<string>();
        for (const x of this.members[this.comp[w]]) for (const e of this.g.edges[x]) if (e.label.stepId) steps.add(e.label.stepId);
        return { kind: 'witness', trace: t, note: `from there it can cycle forever, fairly, through ${[...steps].map((s) => `\`${s}\``).join(', ') || 'the same states'}` };
      }
      default: return undefined;
    }
  }
}

interface Evidence { kind: 'witness' | 'counterexample'; trace: Move[]; note?: string }

function flip<T extends { kind: 'witness' | 'counterexample' }>(x: T | undefined): T | undefined {
  return x && { ...x, kind: 'counterexample' };
}

export const BUILTIN_PROPERTIES = [
  { name: 'option to end', formula: 'AG EF ended' },
  { name: 'every fair run ends', formula: 'AF ended' },
];

const toEntry = (m: Move): TraceEntry => ({ text: m.text, choices: m.choices });

/**
 * Checks `props` on the (unreduced, untruncated) graph `g` at its initial state. Formulas that do
 * not parse get `status: 'unknown'` and the parse error.
 */
export function checkFormulas(g: StateGraph<VState, Move>, props: Array<{ name: string; formula: string; builtin?: boolean }>, steps: ReadonlySet<string>, checker = new CtlChecker(g)): PropertyResult[] {
  const init = g.initial[0] ?? 0;
  return props.map((p) => {
    let f: Formula;
    try {
      f = parseCtl(p.formula, steps);
    } catch (err) {
      return { name: p.name, formula: p.formula, holds: false, status: 'unknown', error: (err as Error).message, ...(p.builtin && { builtin: true }) };
    }
    const holds = checker.sat(f)[init] === 1;
    const ev = checker.evidence(f, init);
    return {
      name: p.name, formula: p.formula, holds, status: holds ? 'holds' : 'fails', ...(p.builtin && { builtin: true }),
      ...(ev && { trace: ev.trace.map(toEntry), traceKind: ev.kind, ...(ev.note && { traceNote: ev.note }) }),
    } satisfies PropertyResult;
  });
}

/** Parse errors of a definition's properties (for validation without exploring). */
export function propertyParseErrors(def: Definition): Array<{ name: string; formula: string; error: string }> {
  const steps = new Set(def.steps.map((s) => s.id));
  const out: Array<{ name: string; formula: string; error: string }> = [];
  for (const p of declaredProperties(def)) {
    try { parseCtl(p.formula, steps); } catch (err) { out.push({ ...p, error: (err as Error).message }); }
  }
  return out;
}
