import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

// The model, the core and the verifier run in the browser too (the editor validates and verifies
// as you type):
// they must not import Node built-ins or use Node-only globals. File loading lives in load-file.ts.
const NODE_ONLY = /from 'node:|require\(|\bBuffer\.|\bprocess\./;
const ALLOWED = new Set(['load-file.ts']);

for (const dir of ['src/model', 'src/core', 'src/verify']) {
  test(`${dir} has no Node-only imports or globals`, () => {
    for (const name of readdirSync(dir)) {
      if (!name.endsWith('.ts') || name.endsWith('.test.ts') || ALLOWED.has(name)) continue;
      const text = readFileSync(join(dir, name), 'utf8');
      assert.equal(NODE_ONLY.test(text), false, `${dir}/${name} uses a Node-only API`);
    }
  });
}
