/**
 * The engine's own loader and validator on the editor's text: every issue (syntax, shape, graph
 * rules with their rule ids) with a character range for the editor's inline diagnostics.
 * DOM-free.
 */
import { parseDefinition } from '../../../src/model/load.js';
import type { DefinitionIssue } from '../../../src/model/errors.js';
import type { Definition } from '../../../src/model/schema.js';

export interface RangedIssue extends DefinitionIssue {
  from: number;
  to: number;
}

export interface CheckResult {
  /** Present when the text passes every rule (no errors): the verifier may run on it. */
  definition?: Definition;
  issues: RangedIssue[];
}

export function checkText(text: string): CheckResult {
  let result;
  try {
    result = parseDefinition(text, { format: 'yaml' });
  } catch (err) {
    // The loader reports problems as issues; an exception is a bug, but the editor must keep working.
    return { issues: [{ rule: 'internal', message: (err as Error).message, path: [], severity: 'error', line: 1, column: 1, from: 0, to: Math.min(text.length, 1) }] };
  }
  const issues = result.issues.map((i) => ({ ...i, ...rangeOf(text, i.line, i.column) }));
  const valid = result.definition && !issues.some((i) => i.severity === 'error');
  return { ...(valid && { definition: result.definition }), issues };
}

/** 1-based line/column → the range of the token there (to the end of the word, or the rest of the line). */
export function rangeOf(text: string, line = 1, column = 1): { from: number; to: number } {
  let offset = 0;
  for (let l = 1; l < line; l++) {
    const nl = text.indexOf('\n', offset);
    if (nl < 0) { offset = text.length; break; }
    offset = nl + 1;
  }
  const lineEnd = text.indexOf('\n', offset) < 0 ? text.length : text.indexOf('\n', offset);
  const from = Math.min(offset + Math.max(column, 1) - 1, lineEnd);
  // Underline to the end of the line's content (a whole `- {id: …}` item or `key: value`).
  let to = lineEnd;
  while (to > from && /\s/.test(text[to - 1]!)) to--;
  if (to <= from) to = Math.min(from + 1, text.length);
  return { from, to };
}

/** The 1-based line of an offset (for messages next to the editor). */
export function lineOf(text: string, offset: number): number {
  let line = 1;
  for (let i = 0; i < offset && i < text.length; i++) if (text.charCodeAt(i) === 10) line++;
  return line;
}
