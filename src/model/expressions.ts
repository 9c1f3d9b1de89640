/**
 * The expression language: JSONata (the language AWS Step Functions adopted). It is safe by
 * construction: expressions see only the scope object we pass (`input`, `vars`, `steps`, `event`,
 * `env`, …) and have no way to reach the host. Never `eval`.
 *
 * Strings in mappings use `${expr}`: a string that is exactly one `${expr}` yields the raw value,
 * any other string containing `${…}` is interpolated as text; other strings are literals.
 * Conditions (`when`, `while`, `correlation`, …) are whole expressions, optionally wrapped in `${…}`.
 */
import jsonata from 'jsonata';

export class ExpressionError extends Error {
  readonly code = 'expression_error';
  constructor(message: string, readonly expression: string, readonly position?: number) {
    super(message);
    this.name = 'ExpressionError';
  }
}

/** Bounds one evaluation so a hostile or buggy expression cannot spin forever. */
const MAX_EVALUATION_STEPS = 1_000_000;

type Compiled = ReturnType<typeof jsonata>;
const cache = new Map<string, Compiled>();
const CACHE_LIMIT = 10_000;

/** Strips one `${…}` wrapper if the whole string is one. */
export function unwrapExpression(source: string): string {
  const s = source.trim();
  if (s.startsWith('${') && s.endsWith('}') && findTemplateEnd(s, 2) === s.length - 1) return s.slice(2, -1);
  return s;
}

function compile(source: string): Compiled {
  let compiled = cache.get(source);
  if (compiled) return compiled;
  try {
    compiled = jsonata(source);
  } catch (err) {
    const e = err as { message?: string; position?: number };
    throw new ExpressionError(`invalid expression "${source}": ${e.message ?? String(err)}`, source, e.position);
  }
  // JSONata calls this hook (looked up by symbol, so it must be assigned, not passed as a
  // binding) on every evaluation step; `env.base` is the frame of one evaluate() call, so the
  // count is per evaluation even though compiled expressions are cached and shared.
  compiled.assign(EVALUATE_ENTRY as unknown as string, countStep);
  if (cache.size >= CACHE_LIMIT) cache.clear();
  cache.set(source, compiled);
  return compiled;
}

const EVALUATE_ENTRY = Symbol.for('jsonata.__evaluate_entry');
const STEPS = Symbol('weft.evaluationSteps');

function countStep(_expr: unknown, _input: unknown, env: { base?: Record<symbol, number> }): void {
  const base = env.base;
  if (!base) return;
  const steps = (base[STEPS] ?? 0) + 1;
  base[STEPS] = steps;
  if (steps > MAX_EVALUATION_STEPS) throw new Error(`expression exceeded ${MAX_EVALUATION_STEPS} evaluation steps`);
}

/** Returns an error message when the expression does not parse, else null. */
export function checkExpression(source: string): string | null {
  try {
    compile(unwrapExpression(source));
    return null;
  } catch (err) {
    return (err as Error).message;
  }
}

/** Evaluates a whole expression (condition, correlation, items…) against the scope. */
export async function evaluate(source: string, scope: Record<string, unknown>): Promise<unknown> {
  const expression = unwrapExpression(source);
  const compiled = compile(expression);
  try {
    const value = await compiled.evaluate(scope);
    return normalise(value);
  } catch (err) {
    const e = err as { message?: string; position?: number };
    throw new ExpressionError(`expression "${expression}" failed: ${e.message ?? String(err)}`, expression, e.position);
  }
}

/** Evaluates a condition; anything but a truthy JSON value is false. */
export async function evaluateCondition(source: string, scope: Record<string, unknown>): Promise<boolean> {
  return Boolean(await evaluate(source, scope));
}

/** True when the mapping contains at least one `${…}` expression (otherwise it is a constant). */
export function mappingHasExpressions(mapping: unknown): boolean {
  if (typeof mapping === 'string') return mapping.includes('${');
  if (Array.isArray(mapping)) return mapping.some(mappingHasExpressions);
  if (mapping && typeof mapping === 'object') return Object.values(mapping).some(mappingHasExpressions);
  return false;
}

/** Every expression inside a mapping, for syntax checks. */
export function expressionsInMapping(mapping: unknown, out: string[] = []): string[] {
  if (typeof mapping === 'string') {
    for (const part of templateParts(mapping)) if (typeof part !== 'string') out.push(part.expr);
  } else if (Array.isArray(mapping)) {
    for (const m of mapping) expressionsInMapping(m, out);
  } else if (mapping && typeof mapping === 'object') {
    for (const m of Object.values(mapping)) expressionsInMapping(m, out);
  }
  return out;
}

/** Evaluates every `${…}` in a JSON mapping. Constants are returned as they are. */
export async function evaluateMapping(mapping: unknown, scope: Record<string, unknown>): Promise<unknown> {
  if (typeof mapping === 'string') {
    if (!mapping.includes('${')) return mapping;
    const parts = templateParts(mapping);
    if (parts.length === 1 && typeof parts[0] !== 'string') return evaluate(parts[0].expr, scope);
    let text = '';
    for (const part of parts) {
      if (typeof part === 'string') text += part;
      else {
        const v = await evaluate(part.expr, scope);
        text += v === undefined || v === null ? '' : typeof v === 'string' ? v : JSON.stringify(v);
      }
    }
    return text;
  }
  if (Array.isArray(mapping)) {
    const out: unknown[] = [];
    for (const m of mapping) out.push(await evaluateMapping(m, scope));
    return out;
  }
  if (mapping && typeof mapping === 'object') {
    const out: Record<string, unknown> = {};
    for (const [k, m] of Object.entries(mapping)) {
      const v = await evaluateMapping(m, scope);
      if (v !== undefined) out[k] = v;
    }
    return out;
  }
  return mapping;
}

type TemplatePart = string | { expr: string };

/** Splits `a ${x} b` into literal and expression parts, honouring nested braces and quotes. */
function templateParts(text: string): TemplatePart[] {
  const parts: TemplatePart[] = [];
  let i = 0;
  while (i < text.length) {
    const start = text.indexOf('${', i);
    if (start < 0) {
      parts.push(text.slice(i));
      break;
    }
    if (start > i) parts.push(text.slice(i, start));
    const end = findTemplateEnd(text, start + 2);
    if (end < 0) throw new ExpressionError(`unclosed "\${" in "${text}"`, text, start);
    parts.push({ expr: text.slice(start + 2, end) });
    i = end + 1;
  }
  return parts;
}

/** Index of the `}` closing a `${` whose body starts at `from`, or -1. */
function findTemplateEnd(text: string, from: number): number {
  let depth = 0;
  let quote: string | null = null;
  for (let i = from; i < text.length; i++) {
    const c = text[i];
    if (quote) {
      if (c === '\\') i++;
      else if (c === quote) quote = null;
    } else if (c === '"' || c === "'") quote = c;
    else if (c === '{') depth++;
    else if (c === '}') {
      if (depth === 0) return i;
      depth--;
    }
  }
  return -1;
}

/**
 * JSONata results are not always plain JSON: sequences are arrays carrying extra properties
 * (`sequence`, `keepSingleton`), and lambdas are objects holding their (circular) environment.
 * Results end up in events and snapshots, so copy them to plain JSON: arrays become plain arrays,
 * functions and lambdas are dropped (as `undefined`, or the key / array item is left out).
 */
function normalise(value: unknown): unknown {
  if (typeof value === 'function') return undefined;
  if (Array.isArray(value)) {
    const out: unknown[] = [];
    for (const item of value) {
      const v = normalise(item);
      if (v !== undefined) out.push(v);
    }
    return out;
  }
  if (value !== null && typeof value === 'object') {
    if ((value as { _jsonata_lambda?: unknown })._jsonata_lambda || (value as { _jsonata_function?: unknown })._jsonata_function) return undefined;
    const out: Record<string, unknown> = {};
    for (const [k, item] of Object.entries(value)) {
      const v = normalise(item);
      if (v !== undefined) out[k] = v;
    }
    return out;
  }
  return value;
}
