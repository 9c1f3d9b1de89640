/** Tests for `weft validate` (src/cli/validate.ts), kept beside the model it drives. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { fileURLToPath } from 'node:url';
import { runValidate } from '../cli/validate.js';

const fixture = (name: string) => fileURLToPath(new URL(`../../test/fixtures/definitions/${name}`, import.meta.url));

function capture() {
  const out = { stdout: [] as string[], stderr: [] as string[] };
  return { out, io: { stdout: (s: string) => out.stdout.push(s), stderr: (s: string) => out.stderr.push(s) } };
}

test('valid files: exit 0 and a summary', async () => {
  const { out, io } = capture();
  const code = await runValidate([fixture('order.yaml'), fixture('order.json')], {}, io);
  assert.equal(code, 0);
  assert.deepEqual(out.stdout, ['2 files valid']);
});

test('warnings alone: exit 0, warnings printed', async () => {
  const { out, io } = capture();
  const file = fixture('warnings.yaml');
  const code = await runValidate([file], {}, io);
  assert.equal(code, 0);
  assert.equal(out.stdout.length, 2);
  assert.match(out.stdout[0], new RegExp(`^${file.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')}:6:5  warning  .*  \\[missing-default\\]$`));
  assert.equal(out.stdout[1], '1 file valid, 1 warning');
});

test('every issue of every file is printed as file:line:col  severity  message  [rule]', async () => {
  const { out, io } = capture();
  const schema = fixture('invalid/schema-errors.yaml');
  const typo = fixture('invalid/unknown-step-type.yaml');
  const code = await runValidate([schema, typo, fixture('order.yaml')], {}, io);
  assert.equal(code, 1);
  assert.deepEqual(out.stdout, [
    `${schema}:2:10  error  field "version" in the workflow must be a string, not the number 1 (quote the value) (at version)  [invalid-type]`,
    `${schema}:10:5  error  unknown field "retires" in step "charge" (did you mean "retry"?) (at steps[1].retires)  [unknown-field]`,
    `${schema}:11:14  error  field "timeout" in step "charge": expected a duration such as "500ms", "30s", "5m", "1h30m" or "2d", not the string "soon" (at steps[1].timeout)  [invalid-value]`,
    `${schema}:12:15  error  field "priority" in step "charge" must be a number, not the string "high" (at steps[1].priority)  [invalid-type]`,
    `${typo}:7:11  error  unknown step type "taks" (expected one of start, end, task, decision, inclusive, parallel, join, wait, timer, human, subworkflow, loop, foreach); did you mean "task"? (at steps[1].type)  [unknown-step-type]`,
    '5 errors, 0 warnings in 2 files (3 files checked)',
  ]);
});

test('a missing file is an error, not a crash', async () => {
  const { out, io } = capture();
  const code = await runValidate(['/nonexistent/x.yaml'], {}, io);
  assert.equal(code, 1);
  assert.match(out.stdout[0], /^\/nonexistent\/x\.yaml  error  file not found: \/nonexistent\/x\.yaml  \[file\]$/);
});

test('--json prints one document', async () => {
  const { out, io } = capture();
  const code = await runValidate([fixture('invalid/graph-errors.yaml'), fixture('order.yaml')], { json: true }, io);
  assert.equal(code, 1);
  assert.equal(out.stdout.length, 1);
  const report = JSON.parse(out.stdout[0]);
  assert.equal(report.valid, false);
  assert.equal(report.files.length, 2);
  assert.equal(report.files[1].valid, true);
  assert.ok(report.files[0].issues.some((i: { rule: string; line: number }) => i.rule === 'unknown-step' && i.line === 19));
  assert.equal(report.errors, report.files[0].issues.filter((i: { severity: string }) => i.severity === 'error').length);
});

test('no files is a usage error', async () => {
  const { out, io } = capture();
  assert.equal(await runValidate([], {}, io), 1);
  assert.match(out.stderr[0], /no files given/);
});
