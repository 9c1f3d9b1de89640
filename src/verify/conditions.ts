/**
 * Simple conditions (`verifyDefinition(def, {conditions: 'simple'})`): conditions built only from
 * comparisons (`=`, `!=`, `<`, `<=`, `>`, `>=`, `in`), boolean tests, `and`, `or` and `$not` of
 * `input.<path>` against literals are decided per *input class* instead of being free choices.
 * The input never changes during a run, so such a condition has the same value wherever and
 * whenever it is asked.
 *
 * Classes: for every input path the conditions mention, representative values are taken from the
 * literals it is compared with (each literal, a value between and beyond every two numbers, a
 * string other than every literal, true/false, null, and "absent" unless the input schema
 * requires the field); every combination of representatives is an input, and inputs on which
 * every simple condition has the same value (evaluated by the engine's own expression evaluator)
 * form one class. So the classes are exactly the satisfiable combinations of condition values
 * over the literals mentioned. Browser-safe.
 */
import jsonata from 'jsonata';
import { compileDefinition } from '../core/compiled.js';
import { abstractDefinition } from './definition-system.js';
import { evaluateCondition, unwrapExpression } from '../model/expressions.js';
import type { Definition } from '../model/schema.js';

export const DEFAULT_MAX_INPUT_CLASSES = 64;
/** Candidate inputs evaluated before grouping (the product of representatives per path). */
const MAX_CANDIDATES = 20_000;

export interface InputClass {
  /** A representative input (what the instance is started with). */
  input: Record<string, unknown>;
  /** Plain words: "input.total >= 1000, not (input.vip = true)". */
  label: string;
  /** The value of every decided condition (by its source text) on this class; `error` when it cannot be evaluated. */
  truth: Map<string, boolean | 'error'>;
}

export interface InputClasses {
  /** Source texts of the conditions decided per class (asked of the oracle as they are written). */
  decided: Set<string>;
  classes: InputClass[];
  /** Why conditions were left as free choices, when they were. */
  note?: string;
}

interface Node {
  type: string;
  value?: unknown;
  lhs?: Node;
  rhs?: Node;
  steps?: Node[];
  expressions?: Node[];
  arguments?: Node[];
  procedure?: Node;
  [k: string]: unknown;
}

const COMPARISONS = new Set(['=', '!=', '<', '<=', '>', '>=', 'in']);

/** The conditions (`when`, `while`, `match`) of a definition, as written. */
export function conditionsOf(def: Definition): string[] {
  const out = new Set<string>();
  for (const t of compileDefinition(abstractDefinition(def)).graph.transitions.values()) if (typeof t.when === 'string') out.add(t.when);
  for (const s of def.steps) {
    const x = s as { when?: unknown; while?: unknown; match?: unknown; transitions?: unknown };
    if (typeof x.while === 'string') out.add(x.while);
    if (typeof x.match === 'string') out.add(x.match);
  }
  return [...out];
}

/**
 * Literals compared with each input path in `expression`, or `null` when it is not simple.
 * `paths` collects them (path text → literals).
 */
export function simpleCondition(expression: string, paths: Map<string, unknown[]>): boolean {
  let ast: Node;
  try {
    ast = jsonata(unwrapExpression(expression)).ast() as Node;
  } catch {
    return false;
  }
  const found = new Map<string, unknown[]>();
  const literal = (n: Node | undefined): { ok: boolean; values: unknown[] } => {
    if (!n) return { ok: false, values: [] };
    if (n.type === 'number' || n.type === 'string' || n.type === 'value') return { ok: true, values: [n.value] };
    if (n.type === 'unary' && n.value === '-' && n.expression && (n.expression as Node).type === 'number') return { ok: true, values: [-((n.expression as Node).value as number)] };
    if (n.type === 'unary' && n.value === '[') {
      const values: unknown[] = [];
      for (const e of n.expressions ?? []) {
        const l = literal(e);
        if (!l.ok) return { ok: false, values: [] };
        values.push(...l.values);
      }
      return { ok: true, values };
    }
    return { ok: false, values: [] };
  };
  const path = (n: Node | undefined): string | undefined => {
    if (!n || n.type !== 'path' || !n.steps || n.steps.length < 2) return undefined;
    const names: string[] = [];
    for (const st of n.steps) {
      if (st.type !== 'name' || typeof st.value !== 'string') return undefined;
      if (Object.keys(st).some((k) => k !== 'type' && k !== 'value' && k !== 'position')) return undefined;
      names.push(st.value);
    }
    return names[0] === 'input' ? names.join('.') : undefined;
  };
  const note = (p: string, values: unknown[]) => found.set(p, [...(found.get(p) ?? []), ...values]);
  const walk = (n: Node): boolean => {
    if (n.type === 'binary' && (n.value === 'and' || n.value === 'or')) return walk(n.lhs!) && walk(n.rhs!);
    if (n.type === 'binary' && COMPARISONS.has(n.value as string)) {
      const lp = path(n.lhs);
      const rp = path(n.rhs);
      if (lp !== undefined && rp === undefined) {
        const l = literal(n.rhs);
        if (!l.ok || (n.value === 'in' && n.rhs?.type !== 'unary')) return false;
        note(lp, l.values);
        return true;
      }
      if (rp !== undefined && lp === undefined && n.value !== 'in') {
        const l = literal(n.lhs);
        if (!l.ok) return false;
        note(rp, l.values);
        return true;
      }
      return false;
    }
    if (n.type === 'function' && n.procedure?.type === 'variable' && n.procedure.value === 'not' && n.arguments?.length === 1) return walk(n.arguments[0]);
    const p = path(n);
    if (p !== undefined) {
      note(p, [true, false]);
      return true;
    }
    if (n.type === 'value' && typeof n.value === 'boolean') return true;
    return false;
  };
  if (!walk(ast)) return false;
  for (const [p, v] of found) paths.set(p, [...(paths.get(p) ?? []), ...v]);
  return true;
}

/** Representative values of one input path: each literal, values between and beyond them, absent. */
function representatives(literals: unknown[], required: boolean): unknown[] {
  const out: unknown[] = [];
  const nums = [...new Set(literals.filter((v): v is number => typeof v === 'number'))].sort((a, b) => a - b);
  if (nums.length) {
    out.push(nums[0] - 1);
    nums.forEach((n, i) => {
      out.push(n);
      out.push(i + 1 < nums.length ? (n + nums[i + 1]) / 2 : n + 1);
    });
  }
  const strs = [...new Set(literals.filter((v): v is string => typeof v === 'string'))].sort();
  if (strs.length) {
    out.push('');
    for (const s of strs) out.push(s, `${s}\u0000`);
  }
  if (literals.some((v) => typeof v === 'boolean')) out.push(true, false);
  if (literals.some((v) => v === null)) out.push(null);
  if (!required) out.push(undefined);
  return out;
}

function requiredByInputSchema(def: Definition, path: string): boolean {
  const names = path.split('.').slice(1);
  let schema = (def as { input?: unknown }).input as { required?: unknown; properties?: Record<string, unknown> } | undefined;
  for (const name of names) {
    if (!schema || typeof schema !== 'object' || !Array.isArray(schema.required) || !schema.required.includes(name)) return false;
    schema = schema.properties?.[name] as typeof schema;
  }
  return true;
}

function setPath(target: Record<string, unknown>, path: string, value: unknown): void {
  const names = path.split('.').slice(1);
  let o = target;
  for (let i = 0; i < names.length - 1; i++) {
    const next = o[names[i]];
    if (typeof next !== 'object' || next === null) o[names[i]] = {};
    o = o[names[i]] as Record<string, unknown>;
  }
  if (value !== undefined) o[names[names.length - 1]] = value;
}

/** The input classes of a definition's simple conditions (see the module comment). */
export async function inputClasses(def: Definition, maxClasses = DEFAULT_MAX_INPUT_CLASSES): Promise<InputClasses> {
  const paths = new Map<string, unknown[]>();
  const decided = new Set<string>();
  for (const c of conditionsOf(def)) if (simpleCondition(c, paths)) decided.add(c);
  if (decided.size === 0) return { decided, classes: [], note: 'no condition is a simple comparison of input fields with literals; every condition is a free choice' };
  // A path that is a prefix of another (input.a and input.a.b) would conflict when built: drop both sides to free choice.
  const names = [...paths.keys()];
  const clash = names.filter((p) => names.some((q) => q !== p && q.startsWith(`${p}.`)));
  if (clash.length) {
    for (const c of [...decided]) {
      const mine = new Map<string, unknown[]>();
      simpleCondition(c, mine);
      if ([...mine.keys()].some((p) => clash.some((x) => p === x || p.startsWith(`${x}.`) || x.startsWith(`${p}.`)))) decided.delete(c);
    }
    paths.clear();
    for (const c of decided) simpleCondition(c, paths);
  }
  const reps = [...paths].map(([p, lits]) => ({ path: p, values: representatives(lits, requiredByInputSchema(def, p)) }));
  let candidates = 1;
  for (const r of reps) candidates *= Math.max(1, r.values.length);
  const free = (why: string): InputClasses => ({ decided: new Set(), classes: [], note: `${why}; every condition is a free choice` });
  if (candidates > MAX_CANDIDATES) return free(`the simple conditions induce more than ${maxClasses} input classes`);
  const sources = [...decided];
  const classes = new Map<string, InputClass>();
  const pick = new Array(reps.length).fill(0);
  for (let n = 0; n < candidates; n++) {
    let rest = n;
    for (let i = 0; i < reps.length; i++) {
      pick[i] = rest % reps[i].values.length;
      rest = Math.floor(rest / reps[i].values.length);
    }
    const input: Record<string, unknown> = {};
    reps.forEach((r, i) => setPath(input, r.path, r.values[pick[i]]));
    const truth = new Map<string, boolean | 'error'>();
    for (const src of sources) {
      try {
        truth.set(src, await evaluateCondition(src, { input }));
      } catch {
        truth.set(src, 'error');
      }
    }
    const sig = sources.map((s) => String(truth.get(s))).join(',');
    if (!classes.has(sig)) {
      if (classes.size >= maxClasses) return free(`the simple conditions induce more than ${maxClasses} input classes`);
      classes.set(sig, { input, truth, label: sources.map((s) => describe(s, truth.get(s)!, (p) => requiredByInputSchema(def, p))).join(', ') });
    }
  }
  return { decided, classes: [...classes.values()] };
}

function describe(source: string, value: boolean | 'error', required: (path: string) => boolean): string {
  const s = unwrapExpression(source).trim();
  if (value === 'error') return `${s} cannot be evaluated`;
  if (value) return s;
  const m = /^(input(?:\.[A-Za-z_$][\w$]*)+)\s*(>=|<=|!=|=|<|>)\s*([^\s()]+)$/.exec(s);
  if (m && required(m[1])) {
    const neg: Record<string, string> = { '>=': '<', '<=': '>', '<': '>=', '>': '<=', '=': '!=', '!=': '=' };
    return `${m[1]} ${neg[m[2]]} ${m[3]}`;
  }
  return `not (${s})`;
}
