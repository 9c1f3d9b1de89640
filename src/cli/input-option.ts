/**
 * `--input`: inline JSON (`'{"orderId":"A-1"}'`) or `@path` to a JSON or YAML file. Every
 * failure names the flag, so the person knows which argument to fix (exit code 2).
 */
import { readFileSync } from 'node:fs';
import { parse as parseYaml } from 'yaml';
import { CliError, EXIT } from './io.js';

export function parseInputOption(raw: string | undefined, flag = '--input'): unknown {
  if (raw === undefined) return undefined;
  if (raw.startsWith('@')) return readInputFile(raw.slice(1), flag);
  try {
    return JSON.parse(raw);
  } catch (err) {
    throw new CliError(
      `${flag} is not valid JSON: ${(err as Error).message}\n` +
        `  got: ${raw.length > 80 ? raw.slice(0, 79) + '…' : raw}\n` +
        `  pass JSON in single quotes, e.g. ${flag} '{"orderId":"A-1"}', or a file with ${flag} @input.json`,
      EXIT.usage,
    );
  }
}

function readInputFile(path: string, flag: string): unknown {
  if (!path) throw new CliError(`${flag} @FILE needs a file name after "@"`, EXIT.usage);
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw new CliError(`${flag}: cannot read ${path}${code === 'ENOENT' ? ': no such file' : `: ${(err as Error).message}`}`, EXIT.usage);
  }
  const isYaml = /\.ya?ml$/i.test(path);
  try {
    return isYaml ? parseYaml(text) : JSON.parse(text);
  } catch (err) {
    throw new CliError(`${flag}: ${path} is not valid ${isYaml ? 'YAML' : 'JSON'}: ${(err as Error).message}`, EXIT.usage);
  }
}
