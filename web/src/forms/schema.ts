/**
 * A form from a JSON Schema, DOM-free: which fields to draw (`describeForm`), the typed value from
 * what the user typed (`collect`), and errors by field from Ajv (`validateForm`) or from the
 * server's 400 (`serverFieldErrors`). `schema-form.ts` draws it with lit-html.
 *
 * Supported: objects (nested as fieldsets), strings (enum → select, format date / email), numbers
 * and integers with minimum/maximum, booleans, arrays of simple types, `required`, titles and
 * descriptions as labels. Anything else is edited as JSON text. Validation uses the same Ajv
 * (2020 dialect, formats) as the engine, so what passes here passes the server.
 */
import { Ajv2020, type ErrorObject } from 'ajv/dist/2020.js';
import addFormatsModule from 'ajv-formats';

const addFormats = addFormatsModule as unknown as (ajv: Ajv2020) => Ajv2020;

export type SimpleKind = 'text' | 'enum' | 'date' | 'email' | 'number' | 'integer' | 'boolean';
export type FieldKind = SimpleKind | 'list' | 'object' | 'json';

export interface Field {
  /** Dotted path from the form's root (`address.city`): the key of values and errors. */
  path: string;
  name: string;
  label: string;
  description?: string;
  kind: FieldKind;
  required: boolean;
  minimum?: number;
  maximum?: number;
  minLength?: number;
  maxLength?: number;
  options?: unknown[];
  /** `list`: the kind of each item (and its options, for enums). */
  item?: { kind: SimpleKind; options?: unknown[]; minimum?: number; maximum?: number };
  /** `object`: its fields. */
  fields?: Field[];
  default?: unknown;
}

/** What the user typed: strings (inputs), booleans (checkboxes), string lists (arrays), by path. */
export type RawValues = Record<string, string | boolean | string[]>;
export type FieldErrors = Record<string, string>;

type Schema = Record<string, any>;

const isObj = (v: unknown): v is Schema => typeof v === 'object' && v !== null && !Array.isArray(v);

function typeOf(s: Schema): string | undefined {
  if (Array.isArray(s.type)) return s.type.find((t: string) => t !== 'null');
  return s.type;
}

function simpleKind(s: Schema): SimpleKind | undefined {
  if (Array.isArray(s.enum)) return 'enum';
  if (s.const !== undefined) return 'enum';
  const t = typeOf(s);
  if (t === 'string') return s.format === 'date' ? 'date' : s.format === 'email' ? 'email' : 'text';
  if (t === 'number' || t === 'integer' || t === 'boolean') return t;
  return undefined;
}

/** The fields of an object schema (a non-object schema is one JSON field named `value`). */
export function describeForm(schema: unknown): Field[] {
  if (!isObj(schema)) return [];
  if (typeOf(schema) !== 'object' && !isObj(schema.properties)) return [field('value', 'value', schema, true)];
  return objectFields(schema, '');
}

function objectFields(schema: Schema, prefix: string): Field[] {
  const required = new Set<string>(Array.isArray(schema.required) ? schema.required : []);
  const props = isObj(schema.properties) ? schema.properties : {};
  return Object.entries(props).filter(([, s]) => isObj(s)).map(([name, s]) => field(prefix ? `${prefix}.${name}` : name, name, s as Schema, required.has(name)));
}

function field(path: string, name: string, s: Schema, required: boolean): Field {
  const base: Field = {
    path, name, required, kind: 'json',
    label: typeof s.title === 'string' ? s.title : humanize(name),
    ...(typeof s.description === 'string' && { description: s.description }),
    ...(s.default !== undefined && { default: s.default }),
  };
  const simple = simpleKind(s);
  if (simple) {
    return {
      ...base, kind: simple,
      ...(simple === 'enum' && { options: Array.isArray(s.enum) ? s.enum : [s.const] }),
      ...(typeof s.minimum === 'number' && { minimum: s.minimum }), ...(typeof s.maximum === 'number' && { maximum: s.maximum }),
      ...(typeof s.minLength === 'number' && { minLength: s.minLength }), ...(typeof s.maxLength === 'number' && { maxLength: s.maxLength }),
    };
  }
  const t = typeOf(s);
  if (t === 'array' && isObj(s.items)) {
    const kind = simpleKind(s.items);
    if (kind) {
      return {
        ...base, kind: 'list',
        item: { kind, ...(kind === 'enum' && { options: s.items.enum ?? [s.items.const] }), ...(typeof s.items.minimum === 'number' && { minimum: s.items.minimum }), ...(typeof s.items.maximum === 'number' && { maximum: s.items.maximum }) },
      };
    }
  }
  if (t === 'object' && isObj(s.properties)) return { ...base, kind: 'object', fields: objectFields(s, path) };
  return base;
}

/** `dueDate` → `Due date`, `first_name` → `First name`. */
export function humanize(name: string): string {
  const words = name.replace(/[_-]+/g, ' ').replace(/([a-z0-9])([A-Z])/g, '$1 $2').trim().toLowerCase();
  return words.charAt(0).toUpperCase() + words.slice(1);
}

/** Raw values to start from: `initial` data where given, else each field's default. */
export function initialRaw(fields: Field[], initial: unknown = undefined): RawValues {
  const out: RawValues = {};
  const walk = (fs: Field[], data: unknown) => {
    for (const f of fs) {
      const v = isObj(data) ? data[f.name] : undefined;
      const given = v !== undefined ? v : f.default;
      if (f.kind === 'object') { walk(f.fields ?? [], given); continue; }
      if (f.kind === 'boolean') out[f.path] = given === true;
      else if (f.kind === 'list') out[f.path] = Array.isArray(given) ? given.map((x) => (typeof x === 'string' ? x : JSON.stringify(x))) : [];
      else if (f.kind === 'json') out[f.path] = given === undefined ? '' : JSON.stringify(given, null, 2);
      else if (f.kind === 'enum') out[f.path] = given === undefined ? '' : JSON.stringify(given);
      else out[f.path] = given === undefined ? '' : String(given);
    }
  };
  walk(fields, initial);
  return out;
}

function parseSimple(kind: SimpleKind, text: string): unknown {
  if (kind === 'number' || kind === 'integer') {
    const n = Number(text);
    // Not a number: keep the text so validation names the field ("must be number").
    return text.trim() !== '' && Number.isFinite(n) ? n : text;
  }
  if (kind === 'boolean') return text === 'true' ? true : text === 'false' ? false : text;
  if (kind === 'enum') { try { return JSON.parse(text); } catch { return text; } }
  return text;
}

/**
 * The typed value from the raw inputs. Empty optional fields are left out; an empty required
 * field is left out too, so validation reports it as missing.
 */
export function collect(fields: Field[], raw: RawValues): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const f of fields) {
    const r = raw[f.path];
    if (f.kind === 'object') {
      const inner = collect(f.fields ?? [], raw);
      if (Object.keys(inner).length > 0 || f.required) out[f.name] = inner;
      continue;
    }
    if (f.kind === 'boolean') { out[f.name] = r === true; continue; }
    if (f.kind === 'list') {
      const items = (Array.isArray(r) ? r : []).filter((x) => x.trim() !== '');
      if (items.length > 0 || f.required) out[f.name] = items.map((x) => parseSimple(f.item!.kind, x));
      continue;
    }
    const text = typeof r === 'string' ? r : '';
    if (text.trim() === '') continue;
    if (f.kind === 'json') {
      try { out[f.name] = JSON.parse(text); } catch { out[f.name] = text; }
      continue;
    }
    out[f.name] = parseSimple(f.kind, text);
  }
  return out;
}

let ajv: Ajv2020 | undefined;
const compiled = new WeakMap<object, ReturnType<Ajv2020['compile']>>();

/** Errors by field path (Ajv, all errors, the first message per field); `{}` when valid. */
export function validateForm(schema: unknown, value: unknown, fields: Field[] = describeForm(schema)): FieldErrors {
  if (!isObj(schema)) return {};
  if (!ajv) { ajv = new Ajv2020({ strict: false, allErrors: true }); addFormats(ajv); }
  let validate = compiled.get(schema);
  if (!validate) {
    // A stray `$schema` or `$id` must not stop the form: validate a copy without them.
    const { $schema: _s, $id: _i, ...rest } = schema;
    validate = ajv.compile(rest);
    compiled.set(schema, validate);
  }
  return validate(value) ? {} : ajvFieldErrors(validate.errors ?? [], fields);
}

const MESSAGES: Record<string, (e: ErrorObject) => string> = {
  required: () => 'is required',
  format: (e) => `must be a valid ${String(e.params.format)}`,
  minimum: (e) => `must be at least ${String(e.params.limit)}`,
  maximum: (e) => `must be at most ${String(e.params.limit)}`,
  type: (e) => `must be ${e.params.type === 'integer' ? 'a whole number' : `a ${String(e.params.type)}`}`,
  enum: () => 'must be one of the choices',
};

/** Ajv errors → messages keyed by the nearest field path (`/items/2` → `items`). */
export function ajvFieldErrors(errors: Array<Partial<ErrorObject>>, fields: Field[]): FieldErrors {
  const known = new Set<string>();
  const walk = (fs: Field[]) => { for (const f of fs) { known.add(f.path); if (f.fields) walk(f.fields); } };
  walk(fields);
  const out: FieldErrors = {};
  for (const e of errors) {
    let parts = (e.instancePath ?? '').split('/').filter(Boolean).map((p) => p.replace(/~1/g, '/').replace(/~0/g, '~'));
    if (e.keyword === 'required' && typeof e.params?.missingProperty === 'string') parts = [...parts, e.params.missingProperty];
    let path = parts.join('.');
    while (path && !known.has(path)) path = path.includes('.') ? path.slice(0, path.lastIndexOf('.')) : '';
    const key = path || '';
    if (out[key] !== undefined) continue;
    const msg = e.keyword && MESSAGES[e.keyword] ? MESSAGES[e.keyword]!(e as ErrorObject) : (e.message ?? 'is invalid');
    out[key] = msg;
  }
  return out;
}

/**
 * The server's 400 for form data: `details` is the engine's Ajv error list (or `{field}` for a
 * request-level error). Returns errors by field, `''` for what names no field.
 */
export function serverFieldErrors(details: unknown, message: string, fields: Field[]): FieldErrors {
  if (Array.isArray(details) && details.every(isObj)) {
    const out = ajvFieldErrors(details as Array<Partial<ErrorObject>>, fields);
    if (Object.keys(out).length > 0) return out;
  }
  if (isObj(details) && typeof details.field === 'string') {
    const f = details.field.replace(/^data\.?/, '');
    return { [f]: message };
  }
  return { '': message };
}

/** Every Ajv message as a line (`/items/0/qty must be >= 1`), for a value edited as JSON text. */
export function schemaMessages(schema: unknown, value: unknown): string[] {
  if (!isObj(schema)) return [];
  if (!ajv) { ajv = new Ajv2020({ strict: false, allErrors: true }); addFormats(ajv); }
  const { $schema: _s, $id: _i, ...rest } = schema;
  const validate = ajv.compile(rest);
  if (validate(value)) return [];
  return (validate.errors ?? []).map((e) => {
    const where = e.instancePath ? e.instancePath.slice(1).replace(/\//g, '.') : 'input';
    if (e.keyword === 'required') return `${where === 'input' ? '' : `${where}.`}${String(e.params.missingProperty)} is required`;
    return `${where} ${e.message ?? 'is invalid'}`;
  });
}
