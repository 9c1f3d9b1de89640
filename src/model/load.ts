/**
 * Loading definitions from YAML/JSON text: parse with positions, check the shape with the zod
 * schema (friendly messages), normalise, validate, and give every issue a line and column.
 *
 * JSON is parsed by the YAML parser too (JSON is YAML), so positions work the same for both;
 * JSON files are additionally checked to be strict JSON.
 */
import { Document, LineCounter, isMap, isScalar, isSeq, parseDocument } from 'yaml';
import { Definition, STEP_TYPES } from './schema.js';
import { DefinitionError, hasErrors, type DefinitionIssue } from './errors.js';
import { normaliseWithOrigins, type TransitionOrigin } from './normalise.js';
import { closest, describeValue, validateDefinition, type ValidateOptions } from './validate.js';

export const DEFAULT_MAX_DEFINITION_BYTES = 1024 * 1024;

export interface ParseOptions extends Omit<ValidateOptions, 'graph'> {
  /** Shown in issues; also decides the format by extension. */
  file?: string;
  /** Default: from the file extension, else from the content (`{` or `[` first → JSON). */
  format?: 'yaml' | 'json';
  /** Texts larger than this (UTF-8 bytes) are refused without parsing. Default 1 MiB. */
  maxBytes?: number;
}

export interface ParseResult {
  /** The normalised definition, present whenever the text has the right shape (it may still have validation errors: check `issues`). */
  definition?: Definition;
  /** Every problem found, errors and warnings, in source order. */
  issues: DefinitionIssue[];
}

type Path = (string | number)[];

export function parseDefinition(text: string, opts: ParseOptions = {}): ParseResult {
  const file = opts.file;
  const maxBytes = opts.maxBytes ?? DEFAULT_MAX_DEFINITION_BYTES;
  // TextEncoder, not Buffer: the model also runs in the browser (the editor).
  const size = text.length * 3 <= maxBytes ? text.length : new TextEncoder().encode(text).length;
  if (size > maxBytes) {
    return { issues: [tooLarge(size, maxBytes, file)] };
  }
  const format = opts.format ?? formatOf(file, text);

  const lineCounter = new LineCounter();
  const doc = parseDocument(text, { lineCounter, prettyErrors: false, uniqueKeys: true });
  const at = (offset: number) => {
    const { line, col } = lineCounter.linePos(offset);
    return { line, column: col };
  };
  const syntax: DefinitionIssue[] = doc.errors.map((e) => ({
    rule: 'syntax',
    message: `${format === 'json' ? 'invalid JSON' : 'invalid YAML'}: ${e.message}`,
    path: [],
    file,
    ...at(e.pos[0]),
    severity: 'error' as const,
  }));
  if (syntax.length) return { issues: syntax };
  if (format === 'json') {
    try {
      JSON.parse(text);
    } catch (err) {
      const message = (err as Error).message;
      const pos = /position (\d+)/.exec(message);
      return { issues: [{ rule: 'syntax', message: `invalid JSON: ${message}`, path: [], file, ...at(pos ? Number(pos[1]) : text.length), severity: 'error' }] };
    }
  }
  const warnings: DefinitionIssue[] = doc.warnings.map((w) => ({
    rule: 'syntax', message: w.message, path: [], file, ...at(w.pos[0]), severity: 'warning' as const,
  }));

  let data: unknown;
  try {
    data = doc.toJS({ maxAliasCount: 100 });
  } catch (err) {
    return { issues: [{ rule: 'syntax', message: `invalid ${format === 'json' ? 'JSON' : 'YAML'}: ${(err as Error).message}`, path: [], file, line: 1, column: 1, severity: 'error' }] };
  }
  if (data === null || data === undefined) {
    return { issues: [{ rule: 'empty-definition', message: 'the definition is empty', path: [], file, line: 1, column: 1, severity: 'error' }] };
  }

  const locate = (path: Path, key = false) => at(nodeOffset(doc, path, key));
  const shape = checkDefinitionShape(data);
  if (!shape.definition) {
    const issues = shape.issues.map((i) => ({ ...i, file, ...locate(i.path, i.rule === 'unknown-field') }));
    return { issues: sortIssues([...warnings, ...issues]) };
  }

  const { definition, origins } = normaliseWithOrigins(shape.definition);
  const validation = validateDefinition(definition, opts).map((issue) => {
    const path = sourcePath(issue.path, origins);
    return { ...issue, path, file, ...locate(path) };
  });
  return { definition, issues: sortIssues([...warnings, ...validation]) };
}

/** Parses text and throws {@link DefinitionError} (listing every issue) if any error is found. */
export function parseDefinitionOrThrow(text: string, opts: ParseOptions = {}): Definition {
  return orThrow(parseDefinition(text, opts));
}

export function orThrow(result: ParseResult): Definition {
  if (!result.definition || hasErrors(result.issues)) throw new DefinitionError(result.issues);
  return result.definition;
}

export function tooLarge(size: number, maxBytes: number, file?: string): DefinitionIssue {
  return {
    rule: 'too-large',
    message: `the definition is ${size} bytes, over the limit of ${maxBytes} bytes; it was not parsed`,
    path: [], file, line: 1, column: 1, severity: 'error',
  };
}

function formatOf(file: string | undefined, text: string): 'yaml' | 'json' {
  const ext = file ? (/\.[^./\\]*$/.exec(file)?.[0] ?? '').toLowerCase() : '';
  if (ext === '.json') return 'json';
  if (ext === '.yaml' || ext === '.yml') return 'yaml';
  return /^\s*[{[]/.test(text) ? 'json' : 'yaml';
}

function sortIssues(issues: DefinitionIssue[]): DefinitionIssue[] {
  return issues
    .map((issue, i) => ({ issue, i }))
    .sort((a, b) => (a.issue.line ?? 0) - (b.issue.line ?? 0) || (a.issue.column ?? 0) - (b.issue.column ?? 0) || a.i - b.i)
    .map(({ issue }) => issue);
}

/** A path into the normalised definition → the same place in the source (transitions from `next` point at the `next`). */
function sourcePath(path: Path, origins: TransitionOrigin[]): Path {
  if (path[0] !== 'transitions' || typeof path[1] !== 'number') return path;
  const origin = origins[path[1]];
  if (!origin || origin.kind === 'transition') return path;
  return ['steps', origin.step, 'next', ...(origin.item !== undefined ? [origin.item] : [])];
}

/** Offset of the deepest node on `path` that exists in the document (the key itself when `key`). */
function nodeOffset(doc: Document, path: Path, key: boolean): number {
  let node: unknown = doc.contents;
  let found: unknown = node;
  for (let i = 0; i < path.length; i++) {
    const seg = path[i];
    if (isMap(node)) {
      const pair = node.items.find((p) => (isScalar(p.key) ? String(p.key.value) : String(p.key)) === String(seg));
      if (!pair) break;
      if (key && i === path.length - 1) {
        found = pair.key;
        break;
      }
      found = pair.value ?? pair.key;
      node = pair.value;
      if (node === null || node === undefined) break;
    } else if (isSeq(node) && typeof seg === 'number') {
      const item = node.items[seg];
      if (item === undefined) break;
      found = node = item;
    } else break;
  }
  const range = (found as { range?: [number, number, number] } | null)?.range;
  return range ? range[0] : 0;
}

// ---------------------------------------------------------------------------------------------
// Shape check: zod issues → friendly DefinitionIssues (without positions)

interface ZodIssueLike {
  code: string;
  path: PropertyKey[];
  message: string;
  expected?: string;
  keys?: string[];
  values?: unknown[];
  errors?: ZodIssueLike[][];
  discriminator?: string;
  options?: unknown[];
  origin?: string;
  minimum?: number | bigint;
  maximum?: number | bigint;
  format?: string;
}

/** Checks `data` against the canonical schema. Issues have paths but no positions. */
export function checkDefinitionShape(data: unknown): { definition?: Definition; issues: DefinitionIssue[] } {
  const result = Definition.safeParse(data);
  if (result.success) return { definition: result.data, issues: [] };
  const issues: DefinitionIssue[] = [];
  for (const issue of result.error.issues as unknown as ZodIssueLike[]) issues.push(...friendly(issue, [], data));
  return { issues };
}

function friendly(issue: ZodIssueLike, prefix: Path, root: unknown): DefinitionIssue[] {
  const path = [...prefix, ...(issue.path as Path)];
  const make = (rule: string, message: string, p: Path = path): DefinitionIssue => ({ rule, message, path: p, severity: 'error' });
  const value = valueAt(root, path);
  const { subject, field } = describeLocation(path, root);
  const fieldIn = field ? `field "${field}" in ${subject}` : subject;
  const custom = !/^(Invalid|Too (small|big)|Unrecognized|Expected)/.test(issue.message);

  switch (issue.code) {
    case 'unrecognized_keys':
      return (issue.keys ?? []).map((k) => {
        const hint = closest(k, knownKeysAt(path, root) ?? []);
        const inWhat = field ? `"${field}" of ${subject}` : subject;
        return make('unknown-field', `unknown field "${k}" in ${inWhat}${hint ? ` (did you mean "${hint}"?)` : ''}`, [...path, k]);
      });
    case 'invalid_union': {
      if (issue.discriminator === 'type') {
        const stepPath = path.at(-1) === 'type' ? path.slice(0, -1) : path;
        const step = valueAt(root, stepPath);
        const list = `expected one of ${STEP_TYPES.join(', ')}`;
        if (!isObject(step)) return [make('invalid-type', `${describeLocation(stepPath, root).subject} must be an object with an "id" and a "type", not ${describeValue(step)}`, stepPath)];
        const type = step.type;
        if (type === undefined) return [make('unknown-step-type', `${describeLocation(stepPath, root).subject} has no "type" (${list})`, stepPath)];
        const hint = typeof type === 'string' ? closest(type, STEP_TYPES) : undefined;
        return [make('unknown-step-type', `unknown step type ${typeof type === 'string' ? `"${type}"` : describeValue(type)} (${list})${hint ? `; did you mean "${hint}"?` : ''}`, [...stepPath, 'type'])];
      }
      const branches = issue.errors ?? [];
      const typeOnly = (b: ZodIssueLike[]): boolean => b.every((i) => i.path.length === 0
        && (i.code === 'invalid_type' || (i.code === 'invalid_union' && (i.errors ?? []).every(typeOnly))));
      const deep = branches.filter((b) => !typeOnly(b));
      if (deep.length === 0) {
        const expected = [...new Set(branches.flatMap(expectedTypes))];
        return [make('invalid-type', `${fieldIn} must be ${orList(expected.map(typeName))}, not ${describeValue(value)}`)];
      }
      const best = deep.reduce((a, b) => (b.length < a.length ? b : a));
      return best.flatMap((i) => friendly(i, path, root));
    }
    case 'invalid_type': {
      if (value === undefined) {
        const parent = describeLocation(path.slice(0, -1), root);
        const name = String(path.at(-1));
        const where = parent.field ? `"${parent.field}" of ${parent.subject}` : parent.subject;
        return [make('missing-field', `${where} is missing required field "${name}"`)];
      }
      const expected = typeName(issue.expected ?? 'value');
      const quote = issue.expected === 'string' && (typeof value === 'number' || typeof value === 'boolean') ? ' (quote the value)' : '';
      return [make('invalid-type', `${fieldIn} must be ${expected}, not ${describeValue(value)}${quote}`)];
    }
    case 'invalid_value':
      return [make('invalid-value', `${fieldIn} must be one of ${(issue.values ?? []).map((v) => JSON.stringify(v)).join(', ')}, not ${describeValue(value)}`)];
    case 'invalid_format':
      return [make('invalid-value', custom ? `${fieldIn}: ${issue.message}, not ${describeValue(value)}` : `${fieldIn} is not a valid ${issue.format ?? 'value'}: ${describeValue(value)}`)];
    case 'too_small':
    case 'too_big': {
      if (custom) return [make('invalid-value', `${fieldIn}: ${issue.message}`)];
      const bound = Number(issue.code === 'too_small' ? issue.minimum : issue.maximum);
      const small = issue.code === 'too_small';
      let what: string;
      if (issue.origin === 'string') what = small && bound === 1 ? 'must not be empty' : `must have ${small ? 'at least' : 'at most'} ${bound} characters`;
      else if (issue.origin === 'array') what = `must have ${small ? 'at least' : 'at most'} ${bound} item${bound === 1 ? '' : 's'}`;
      else what = `must be ${small ? 'at least' : 'at most'} ${bound}, not ${describeValue(value)}`;
      return [make('invalid-value', `${fieldIn} ${what}`)];
    }
    default:
      return [make('invalid-value', `${fieldIn}: ${issue.message}`)];
  }
}

function expectedTypes(branch: ZodIssueLike[]): string[] {
  return branch.flatMap((i) => (i.code === 'invalid_union' ? (i.errors ?? []).flatMap(expectedTypes) : [i.expected ?? 'value']));
}

function typeName(expected: string): string {
  switch (expected) {
    case 'int': return 'an integer';
    case 'record': case 'object': return 'an object';
    case 'array': return 'an array';
    case 'string': return 'a string';
    case 'number': return 'a number';
    case 'boolean': return 'a boolean';
    default: return expected;
  }
}

function orList(items: string[]): string {
  return items.length <= 1 ? items.join('') : `${items.slice(0, -1).join(', ')} or ${items.at(-1)}`;
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function valueAt(root: unknown, path: Path): unknown {
  let v = root;
  for (const seg of path) {
    if (v === null || typeof v !== 'object') return undefined;
    v = (v as Record<string | number, unknown>)[seg];
  }
  return v;
}

/** `steps[2].retry.maxAttempts` → subject `step "charge"`, field `retry.maxAttempts`. */
function describeLocation(path: Path, root: unknown): { subject: string; field: string } {
  const rest = (n: number) => path.slice(n).map(String).join('.');
  const [head, index] = path;
  if (typeof index === 'number' && (head === 'steps' || head === 'transitions' || head === 'eventHandlers' || head === 'properties')) {
    const item = valueAt(root, [head, index]);
    let subject = `${head}[${index}]`;
    if (head === 'steps' && isObject(item) && typeof item.id === 'string') subject = `step "${item.id}"`;
    else if (head === 'transitions' && isObject(item)) {
      subject = typeof item.id === 'string' ? `transition "${item.id}"`
        : typeof item.from === 'string' && typeof item.to === 'string' ? `transition ${item.from} → ${item.to}` : subject;
    } else if (head === 'eventHandlers') subject = `event handler ${head}[${index}]`;
    return { subject, field: rest(2) };
  }
  if (head === 'variables' && path.length >= 2) return { subject: `variable "${String(path[1])}"`, field: rest(2) };
  return { subject: 'the workflow', field: rest(0) };
}

/** Field names the schema allows for the object at `path` (for "did you mean"). */
function knownKeysAt(path: Path, root: unknown): string[] | undefined {
  type Schema = { _zod: { def: Record<string, unknown> & { type: string } }; shape?: Record<string, Schema>; element?: Schema; options?: Schema[]; unwrap?: () => Schema };
  const resolve = (schema: Schema | undefined, value: unknown): Schema | undefined => {
    for (let guard = 0; schema && guard < 10; guard++) {
      const t = schema._zod.def.type;
      if (t === 'optional' || t === 'nullable' || t === 'default') schema = schema.unwrap!();
      else if (t === 'union') {
        const disc = schema._zod.def.discriminator as string | undefined;
        const options = schema.options ?? [];
        schema = disc && isObject(value)
          ? options.find((o) => (o.shape?.[disc]?._zod.def.values as unknown[] | undefined)?.includes(value[disc]))
          : options.find((o) => o._zod.def.type === 'object');
      } else return schema;
    }
    return schema;
  };
  let schema: Schema | undefined = Definition as unknown as Schema;
  let value: unknown = root;
  for (const seg of path) {
    schema = resolve(schema, value);
    if (!schema) return undefined;
    const t = schema._zod.def.type;
    if (t === 'object') schema = schema.shape?.[String(seg)];
    else if (t === 'array') schema = schema.element;
    else if (t === 'record') schema = schema._zod.def.valueType as Schema;
    else return undefined;
    value = valueAt(value, [seg]);
  }
  schema = resolve(schema, value);
  return schema?._zod.def.type === 'object' ? Object.keys(schema.shape ?? {}) : undefined;
}
