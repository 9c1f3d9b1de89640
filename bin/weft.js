#!/usr/bin/env node
// The `weft` command. Runs the built CLI (dist/, made by `npm run build`); in a developer checkout
// without a build — or with WEFT_CLI_FROM_SOURCE=1 — it runs the TypeScript sources through tsx.
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const root = new URL('../', import.meta.url);
const built = new URL('dist/cli/main.js', root);

if (existsSync(fileURLToPath(built)) && !process.env.WEFT_CLI_FROM_SOURCE) {
  await import(built.href);
} else {
  const { register } = await import('tsx/esm/api');
  register();
  await import(new URL('src/cli/main.ts', root).href);
}
