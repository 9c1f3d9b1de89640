/**
 * Loading definitions from files (Node only). Parsing text lives in load.ts, which stays free of
 * Node imports so the editor can validate in the browser.
 */
import { readFile, stat } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import type { Definition } from './schema.js';
import { DEFAULT_MAX_DEFINITION_BYTES, orThrow, parseDefinition, tooLarge, type ParseOptions, type ParseResult } from './load.js';

/** Reads and parses a definition file. A missing or unreadable file is reported as an issue. */
export async function loadDefinitionFile(path: string, opts: Omit<ParseOptions, 'file'> = {}): Promise<ParseResult> {
  const maxBytes = opts.maxBytes ?? DEFAULT_MAX_DEFINITION_BYTES;
  try {
    const info = await stat(path);
    if (info.size > maxBytes) return { issues: [tooLarge(info.size, maxBytes, path)] };
    const text = await readFile(path, 'utf8');
    return parseDefinition(text, { ...opts, file: path });
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    const message = e.code === 'ENOENT' ? `file not found: ${path}` : `cannot read ${path}: ${e.message}`;
    return { issues: [{ rule: 'file', message, path: [], file: path, severity: 'error' }] };
  }
}

/**
 * Loads a definition from a file path or from YAML/JSON text and throws {@link DefinitionError}
 * when there is any error. A string is a path when it has no line break and names an existing
 * file or ends in .yaml/.yml/.json; pass `{text}` or `{file}` to say which.
 */
export async function loadDefinitionOrThrow(
  source: string | { file: string } | { text: string; file?: string },
  opts: ParseOptions = {},
): Promise<Definition> {
  if (typeof source === 'string') {
    const isPath = !source.includes('\n') && (/\.(ya?ml|json)$/i.test(source.trim()) || existsSync(source));
    source = isPath ? { file: source } : { text: source };
  }
  const result = 'text' in source
    ? parseDefinition(source.text, { ...opts, file: source.file ?? opts.file })
    : await loadDefinitionFile(source.file, opts);
  return orThrow(result);
}
