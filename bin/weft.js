#!/usr/bin/env node
// The `weft` command. Runs the built CLI (dist/, made by `npm run build`). In a developer checkout
// without a build, with sources edited since the last build, or with WEFT_CLI_FROM_SOURCE=1, it
// runs the TypeScript sources through tsx instead, so `npx weft` never runs stale code.
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('../', import.meta.url));
const built = join(root, 'dist', 'cli', 'main.js');
const sources = join(root, 'src');

/** Newest modification time under `dir` (a few ms for this tree). */
function newest(dir) {
  let latest = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    latest = Math.max(latest, entry.isDirectory() ? newest(path) : statSync(path).mtimeMs);
  }
  return latest;
}

const useBuild = !process.env.WEFT_CLI_FROM_SOURCE && existsSync(built)
  && (!existsSync(sources) || newest(sources) <= statSync(built).mtimeMs);

if (useBuild) {
  await import(new URL(`file://${built}`).href);
} else {
  const { register } = await import('tsx/esm/api');
  register();
  await import(new URL(`file://${join(sources, 'cli', 'main.ts')}`).href);
}
