/**
 * Schema-aware completion for definition YAML, DOM-free: where the cursor is (the key path from
 * indentation and flow brackets, tolerant of the half-typed text an editor holds), then what may
 * go there according to the definition's JSON Schema — the one the server publishes in OpenAPI,
 * made the same way (`z.toJSONSchema` of `src/model/schema.ts`) — plus step ids where a step is
 * named (`next`, `from`, `to`, `body`, `split`).
 */
import { z } from 'zod';
import { Definition, STEP_TYPES } from '../../../src/model/schema.js';

type JsonSchema = {
  type?: string | string[]; properties?: Record<string, JsonSchema>; items?: JsonSchema; additionalProperties?: JsonSchema | boolean;
  oneOf?: JsonSchema[]; anyOf?: JsonSchema[]; allOf?: JsonSchema[]; enum?: unknown[]; const?: unknown; $ref?: string; description?: string;
  required?: string[];
};

let schema: JsonSchema | undefined;
/** The definition's JSON Schema (as in the server's OpenAPI document; input shape, every field). */
export function definitionSchema(): JsonSchema {
  schema ??= z.toJSONSchema(Definition, { unrepresentable: 'any', io: 'input' }) as JsonSchema;
  return schema;
}

/** A path segment `[]` stands for "an item of this list". */
export type Segment = string;

export interface YamlContext {
  /** Keys from the root to the mapping the cursor is in (`['steps', '[]']` inside a step). */
  path: Segment[];
  mode: 'key' | 'value';
  /** In value mode: the key whose value is being typed. */
  key?: string;
  /** What is typed so far (replaced by the completion). */
  prefix: string;
  /** Offset where `prefix` starts. */
  from: number;
  /** Keys already present in the same mapping, with their scalar values. */
  siblings: Record<string, string>;
}

interface LineInfo { dashes: number[]; col: number; key?: string; value?: string; blank: boolean }

function lineInfo(line: string): LineInfo {
  const trimmed = line.trim();
  if (trimmed === '' || trimmed.startsWith('#')) return { dashes: [], col: 0, blank: true };
  const dashes: number[] = [];
  let i = 0;
  for (;;) {
    while (line[i] === ' ') i++;
    if (line[i] === '-' && (line[i + 1] === ' ' || i + 1 === line.length)) { dashes.push(i); i++; continue; }
    break;
  }
  const rest = line.slice(i);
  const m = /^("[^"]*"|'[^']*'|[^\s:#{[][^:#]*?)\s*:(?:\s+(.*)|$)/.exec(rest);
  if (!m) return { dashes, col: i, blank: false };
  return { dashes, col: i, key: m[1]!.replace(/^["']|["']$/g, ''), value: (m[2] ?? '').replace(/\s+#.*$/, '').trim(), blank: false };
}

/** The mapping path of a block line (its own dashes included), scanning the lines above it. */
function blockPath(lines: string[], index: number, info: LineInfo): { path: Segment[]; siblings: Record<string, string> } {
  const path: Segment[] = info.dashes.map(() => '[]');
  const siblings: Record<string, string> = {};
  let need = info.dashes.length ? info.dashes[0]! : info.col;
  let seq = info.dashes.length > 0;
  // A line starting with `- ` opens its own mapping: nothing above it belongs to that mapping.
  let collecting = info.dashes.length === 0;
  const enter = (l: LineInfo) => {
    collecting = false;
    path.unshift(...l.dashes.map(() => '[]'));
    if (l.dashes.length) { need = l.dashes[0]!; seq = true; } else { need = l.col; seq = false; }
  };
  for (let i = index - 1; i >= 0; i--) {
    const l = lineInfo(lines[i]!);
    if (l.blank) continue;
    if (seq) {
      if (l.dashes.includes(need)) continue;
      if (l.col <= need && l.key !== undefined && l.value === '') { path.unshift(l.key); enter(l); continue; }
      if (l.col < need) break;
      continue;
    }
    if (l.col === need && !(l.dashes.length && l.dashes.at(-1)! < need)) {
      if (collecting && l.key !== undefined) siblings[l.key] = l.value ?? '';
      continue;
    }
    if (l.col === need) {
      // `- key: …` at the same column: the mapping is an item of a list starting on that line.
      if (collecting && l.key !== undefined) siblings[l.key] = l.value ?? '';
      collecting = false;
      path.unshift(...l.dashes.map(() => '[]'));
      need = l.dashes[0]!;
      seq = true;
      continue;
    }
    if (l.col < need) {
      collecting = false;
      if (l.key !== undefined && l.value === '') { path.unshift(l.key); enter(l); continue; }
      break;
    }
  }
  // Siblings below the cursor in the same mapping.
  const own = info.dashes.length ? info.col : need;
  if (!info.dashes.length || info.col === own) {
    for (let i = index + 1; i < lines.length; i++) {
      const l = lineInfo(lines[i]!);
      if (l.blank) continue;
      if (l.col < own || l.dashes.some((d) => d < own)) break;
      if (l.col === own && l.key !== undefined) siblings[l.key] = l.value ?? '';
    }
  }
  return { path, siblings };
}

/** Keys of a one-line flow mapping segment (`id: a, type: task`). */
function flowKeys(segment: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const part of segment.split(',')) {
    const m = /^\s*([^:{}[\]]+?)\s*:\s*(.*?)\s*$/.exec(part);
    if (m) out[m[1]!] = m[2]!;
  }
  return out;
}

export function contextAt(text: string, pos: number): YamlContext {
  const before = text.slice(0, pos);
  const lines = text.split('\n');
  const index = before.split('\n').length - 1;
  const lineStart = before.lastIndexOf('\n') + 1;
  const cur = before.slice(lineStart);
  const full = lines[index] ?? cur;

  // Unclosed flow brackets on this line (`- {id: a, ty|`, `next: [a, |`).
  const stack: Array<{ ch: '{' | '['; at: number }> = [];
  let quote: string | null = null;
  for (let i = 0; i < cur.length; i++) {
    const c = cur[i]!;
    if (quote) { if (c === quote) quote = null; continue; }
    if (c === '"' || c === "'") quote = c;
    else if (c === '#' && (i === 0 || cur[i - 1] === ' ')) break;
    else if (c === '{' || c === '[') stack.push({ ch: c, at: i });
    else if ((c === '}' || c === ']') && stack.length) stack.pop();
  }
  if (stack.length) {
    const outer = stack[0]!;
    const blockPart = cur.slice(0, outer.at);
    const info = lineInfo(blockPart.replace(/\s*$/, ' '));
    const owner = lineInfo(blockPart.trimEnd().endsWith(':') ? blockPart.trimEnd() : blockPart + 'x');
    const { path } = blockPath(lines, index, { ...info, col: info.col });
    if (owner.key !== undefined && blockPart.trimEnd().endsWith(':')) path.push(owner.key);
    // Walk nested openers: a `[` is a list, a `{` in a list is an item, a `key: {` a child mapping.
    for (let s = 0; s < stack.length; s++) {
      const open = stack[s]!;
      if (s > 0) {
        const prev = stack[s - 1]!;
        const between = cur.slice(prev.at + 1, open.at);
        const seg = between.slice(between.lastIndexOf(',') + 1);
        const km = /([^\s,:{}[\]]+)\s*:\s*$/.exec(seg);
        if (km) path.push(km[1]!);
      }
      if (open.ch === '[') path.push('[]');
    }
    const inner = stack.at(-1)!;
    const body = cur.slice(inner.at + 1);
    const seg = body.slice(body.lastIndexOf(',') + 1);
    if (inner.ch === '[') {
      // A list value: the key is the one the list belongs to.
      path.pop();
      const key = path.pop();
      const prefix = seg.trimStart();
      return { path, mode: 'value', key, prefix, from: pos - prefix.length, siblings: {} };
    }
    const closeAt = full.indexOf('}', cur.length);
    const siblings = flowKeys(full.slice(inner.at + 1, closeAt < 0 ? undefined : closeAt));
    const colon = seg.indexOf(':');
    if (colon >= 0) {
      const prefix = seg.slice(colon + 1).trimStart();
      return { path, mode: 'value', key: seg.slice(0, colon).trim(), prefix, from: pos - prefix.length, siblings };
    }
    const prefix = seg.trimStart();
    return { path, mode: 'key', prefix, from: pos - prefix.length, siblings };
  }

  // A line of only spaces is a key about to be typed at that column.
  const info = /^\s*$/.test(cur) ? { dashes: [], col: cur.length, blank: false } : lineInfo(cur);
  const m = /^((?:\s*-\s+)*\s*)(.*)$/.exec(cur)!;
  const rest = m[2]!;
  const { path, siblings } = blockPath(lines, index, info);
  const kv = /^([^\s:#][^:#]*?)\s*:\s+(.*)$/.exec(rest);
  if (kv) {
    const prefix = kv[2]!;
    delete siblings[kv[1]!];
    return { path, mode: 'value', key: kv[1]!, prefix, from: pos - prefix.length, siblings };
  }
  return { path, mode: 'key', prefix: rest, from: pos - rest.length, siblings };
}

// ---------------------------------------------------------------------------------------------

function deref(s: JsonSchema | undefined): JsonSchema | undefined {
  if (!s?.$ref) return s;
  const root = definitionSchema() as JsonSchema & { $defs?: Record<string, JsonSchema>; definitions?: Record<string, JsonSchema> };
  const name = s.$ref.split('/').pop()!;
  return root.$defs?.[name] ?? root.definitions?.[name];
}

/** The alternatives of a union, flattened (object variants of the step union, duration forms, …). */
function variants(s: JsonSchema | undefined): JsonSchema[] {
  s = deref(s);
  if (!s) return [];
  const alts = s.oneOf ?? s.anyOf;
  if (alts) return alts.flatMap(variants);
  return [s];
}

/** Variant of an object union whose `type` property matches (a step), else all object variants. */
function objectsFor(s: JsonSchema | undefined, siblings: Record<string, string>): JsonSchema[] {
  const objects = variants(s).filter((v) => v.properties);
  const type = siblings.type?.replace(/^["']|["']$/g, '');
  if (type) {
    const match = objects.filter((o) => o.properties?.type?.const === type);
    if (match.length) return match;
  }
  return objects;
}

function child(s: JsonSchema | undefined, seg: Segment): JsonSchema | undefined {
  const out: JsonSchema[] = [];
  for (const v of variants(s)) {
    if (seg === '[]') { if (v.items) out.push(v.items); continue; }
    const p = v.properties?.[seg] ?? (typeof v.additionalProperties === 'object' ? v.additionalProperties : undefined);
    if (p) out.push(p);
  }
  if (out.length === 0) return undefined;
  return out.length === 1 ? out[0] : { anyOf: out };
}

/** The schema of the mapping at `path` (not narrowed by `type`: see objectsFor). */
export function schemaAt(path: Segment[]): JsonSchema | undefined {
  let s: JsonSchema | undefined = definitionSchema();
  for (const seg of path) {
    s = child(s, seg);
    if (!s) return undefined;
  }
  return s;
}

export interface CompletionItem {
  label: string;
  /** CodeMirror's completion type (icon). */
  type: 'property' | 'enum' | 'keyword' | 'variable';
  detail?: string;
  /** Text inserted (defaults to label). */
  apply?: string;
}

const STEP_REFERENCES = new Set(['next', 'from', 'to', 'body', 'split']);

/** Step ids in the text (lenient: the text may not parse). */
export function stepIdsIn(text: string): string[] {
  const ids = new Set<string>();
  const lines = text.split('\n');
  lines.forEach((line, i) => {
    for (const m of line.matchAll(/(?:^|[\s{,-])id\s*:\s*["']?([A-Za-z_][A-Za-z0-9_.-]*)/g)) {
      const ctx = contextAt(text, lines.slice(0, i).join('\n').length + (i ? 1 : 0) + (m.index ?? 0) + m[0].length);
      if (ctx.path.join('.') === 'steps.[]') ids.add(m[1]!);
    }
  });
  return [...ids];
}

function typeLabel(s: JsonSchema | undefined): string {
  const vs = variants(s);
  const types = new Set(vs.map((v) => (v.enum ? 'enum' : v.const !== undefined ? JSON.stringify(v.const) : Array.isArray(v.type) ? v.type.join('|') : v.type ?? 'any')));
  return [...types].join(' | ');
}

export function completionsAt(text: string, pos: number): { from: number; options: CompletionItem[] } | null {
  const ctx = contextAt(text, pos);
  if (ctx.mode === 'key') {
    const objects = objectsFor(schemaAt(ctx.path), ctx.siblings);
    if (objects.length === 0) return null;
    const keys = new Map<string, JsonSchema>();
    for (const o of objects) for (const [k, v] of Object.entries(o.properties ?? {})) if (!keys.has(k)) keys.set(k, v);
    const required = new Set(objects.length === 1 ? objects[0]!.required ?? [] : ['id', 'type']);
    const options = [...keys]
      .filter(([k]) => !(k in ctx.siblings) && k.startsWith(ctx.prefix.trim()))
      .map(([k, v]): CompletionItem => ({ label: k, type: 'property', detail: `${typeLabel(v)}${required.has(k) ? ' (required)' : ''}`, apply: `${k}: ` }));
    return options.length ? { from: ctx.from, options } : null;
  }
  const key = ctx.key!;
  const prefix = ctx.prefix.replace(/^["']/, '');
  const from = ctx.from + (ctx.prefix.length - prefix.length);
  let options: CompletionItem[] = [];
  if (STEP_REFERENCES.has(key) && (ctx.path.at(-1) === '[]' && (ctx.path.at(-2) === 'steps' || ctx.path.at(-2) === 'transitions'))) {
    options = stepIdsIn(text).map((id) => ({ label: id, type: 'variable', detail: 'step' }));
  } else if (key === 'type' && ctx.path.join('.') === 'steps.[]') {
    options = STEP_TYPES.map((t) => ({ label: t, type: 'enum', detail: 'step type' }));
  } else {
    const objects = objectsFor(schemaAt(ctx.path), ctx.siblings);
    const field = objects.map((o) => o.properties?.[key]).find(Boolean);
    for (const v of variants(field)) {
      for (const e of v.enum ?? []) options.push({ label: String(e), type: 'enum' });
      if (v.type === 'boolean') options.push({ label: 'true', type: 'keyword' }, { label: 'false', type: 'keyword' });
    }
  }
  const seen = new Set<string>();
  options = options.filter((o) => o.label.startsWith(prefix) && !seen.has(o.label) && seen.add(o.label));
  return options.length ? { from, options } : null;
}
