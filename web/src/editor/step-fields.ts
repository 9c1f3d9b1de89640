/**
 * The property form of a step type, derived from the definition's JSON Schema (so a new schema
 * field shows up in the designer without touching it), and the conversion of form input back to
 * YAML values. DOM-free.
 */
import { parse as parseYaml, stringify as stringifyYaml } from 'yaml';
import { definitionSchema } from './completion-model.js';

export type FieldKind = 'string' | 'number' | 'boolean' | 'enum' | 'duration' | 'yaml';

export interface FieldSpec {
  name: string;
  kind: FieldKind;
  required: boolean;
  options?: string[];
}

type S = { type?: string | string[]; properties?: Record<string, S>; required?: string[]; enum?: unknown[]; const?: unknown; oneOf?: S[]; anyOf?: S[]; items?: S; pattern?: string };

/** Fields the form edits elsewhere: the id and type at the top, arrows in their own section. */
const HANDLED = new Set(['id', 'type', 'next']);

function stepVariant(type: string): S | undefined {
  const steps = (definitionSchema() as S).properties?.steps?.items;
  return (steps?.oneOf ?? steps?.anyOf ?? []).find((v) => v.properties?.type?.const === type);
}

/** Nested unions flattened (`delay` is a duration — itself a union — or an expression). */
function flatten(s: S): S[] {
  const alts = s.anyOf ?? s.oneOf;
  return alts ? alts.flatMap(flatten) : [s];
}

function kindOf(s: S): { kind: FieldKind; options?: string[] } {
  const alts = flatten(s);
  if (alts.length > 1) {
    const types = alts.map((a) => a.type);
    // Duration: a pattern string or a number of milliseconds.
    if (types.includes('string') && types.includes('integer') && alts.every((a) => a.type === 'string' || a.type === 'integer')) return { kind: 'duration' };
    if (alts.every((a) => a.type === 'string')) return { kind: 'string' };
    return { kind: 'yaml' };
  }
  if (s.enum) return { kind: 'enum', options: s.enum.map(String) };
  if (s.type === 'boolean') return { kind: 'boolean' };
  if (s.type === 'integer' || s.type === 'number') return { kind: 'number' };
  if (s.type === 'string') return { kind: 'string' };
  return { kind: 'yaml' };
}

export function fieldSpecs(type: string): FieldSpec[] {
  const variant = stepVariant(type);
  if (!variant?.properties) return [];
  const required = new Set(variant.required ?? []);
  return Object.entries(variant.properties)
    .filter(([name]) => !HANDLED.has(name))
    .map(([name, s]) => ({ name, required: required.has(name), ...kindOf(s) }));
}

/** A field's current value as the form shows it. */
export function toFormValue(spec: FieldSpec, value: unknown): string | boolean {
  if (spec.kind === 'boolean') return value === true;
  if (value === undefined || value === null) return '';
  if (spec.kind === 'yaml' || typeof value === 'object') return stringifyYaml(value, { lineWidth: 0 }).trimEnd();
  return String(value);
}

/** Form input → the value written to YAML (`undefined` removes the field); throws on bad YAML or numbers. */
export function fromFormValue(spec: FieldSpec, input: string | boolean): unknown {
  if (spec.kind === 'boolean') return input === true ? true : undefined;
  const text = String(input).trim();
  if (text === '') return undefined;
  switch (spec.kind) {
    case 'number': {
      const n = Number(text);
      if (!Number.isFinite(n)) throw new Error(`${spec.name} must be a number, not "${text}"`);
      return n;
    }
    case 'duration': return /^\d+$/.test(text) ? Number(text) : text;
    case 'yaml': {
      try {
        return parseYaml(text);
      } catch (err) {
        throw new Error(`${spec.name}: ${(err as Error).message.split('\n')[0]}`);
      }
    }
    default: return text;
  }
}
