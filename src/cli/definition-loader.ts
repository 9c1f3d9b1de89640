/**
 * Loads a definition file for `run`: every problem is printed with its file and line (via the
 * model's loader) and the command stops with exit 1 if any is an error; warnings are shown and
 * the run goes on.
 */
import { existsSync, statSync } from 'node:fs';
import type { Definition } from '../model/schema.js';
import { hasErrors } from '../model/errors.js';
import { loadDefinitionFile } from '../model/load-file.js';
import { CliError, type CliIO, writeLine } from './io.js';
import { formatCliIssue } from './validate.js';

export async function loadDefinitionForRun(file: string, io: CliIO): Promise<Definition> {
  if (!existsSync(file)) throw new CliError(`definition file not found: ${file}`);
  if (statSync(file).isDirectory()) throw new CliError(`${file} is a directory, not a definition file`);
  const { definition, issues } = await loadDefinitionFile(file);
  const errors = issues.filter((i) => i.severity === 'error');
  if (!definition || hasErrors(issues)) {
    const count = errors.length || issues.length;
    const lines = (errors.length ? errors : issues).map((i) => `  ${formatCliIssue(i)}`);
    throw new CliError(`${file}: invalid workflow definition (${count} error${count === 1 ? '' : 's'})\n${lines.join('\n')}`);
  }
  for (const warning of issues) writeLine(io.stderr, formatCliIssue(warning));
  return definition;
}
