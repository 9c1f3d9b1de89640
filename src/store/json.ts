/** JSON helpers shared by store backends. */

// One definition of canonical JSON for the core (correlation matching) and every store (wait keys).
export { canonicalJson } from '../core/json.js';

/** `undefined` ↔ SQL NULL for optional JSON columns. */
export function toJsonColumn(value: unknown): string | null {
  return value === undefined ? null : JSON.stringify(value);
}

export function fromJsonColumn<T = unknown>(text: string | null | undefined): T | undefined {
  return text === null || text === undefined ? undefined : (JSON.parse(text) as T);
}
