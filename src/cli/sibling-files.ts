/**
 * Files that travel with a definition: `orders.yaml` → `orders.activities.ts` (or `.js`, `.mjs`)
 * and `orders.answers.yaml`. `weft run` picks them up when no flag names another file.
 */
import { existsSync } from 'node:fs';
import { basename, dirname, extname, join } from 'node:path';

const ACTIVITY_EXTENSIONS = ['.ts', '.mts', '.js', '.mjs'];
const ANSWER_EXTENSIONS = ['.yaml', '.yml', '.json'];

/** `examples/orders.yaml` → `examples/orders`. */
export function definitionStem(definitionFile: string): string {
  return join(dirname(definitionFile), basename(definitionFile, extname(definitionFile)));
}

export function findSiblingActivities(definitionFile: string): string | undefined {
  const stem = definitionStem(definitionFile);
  return ACTIVITY_EXTENSIONS.map((ext) => `${stem}.activities${ext}`).find((p) => existsSync(p));
}

export function findSiblingAnswers(definitionFile: string): string | undefined {
  const stem = definitionStem(definitionFile);
  return ANSWER_EXTENSIONS.map((ext) => `${stem}.answers${ext}`).find((p) => existsSync(p));
}
