/**
 * End-to-end tests of the `weft` binary: each spawns `node bin/weft.js …` (from the TypeScript
 * sources, so a stale dist/ never hides a change) on small workflows written to a temp dir.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const BIN = fileURLToPath(new URL('../bin/weft.js', import.meta.url));
const dir = mkdtempSync(join(tmpdir(), 'weft-cli-test-'));
const file = (name: string, text: string) => {
  const path = join(dir, name);
  writeFileSync(path, text);
  return path;
};

interface Result { code: number | null; signal: NodeJS.Signals | null; stdout: string; stderr: string }

function weft(args: string[], options: { until?: RegExp; timeoutMs?: number } = {}): Promise<Result> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [BIN, ...args], {
      env: { ...process.env, WEFT_CLI_FROM_SOURCE: '1', NO_COLOR: '1', FORCE_COLOR: '0' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    const timer = setTimeout(() => child.kill('SIGKILL'), options.timeoutMs ?? 30_000);
    child.stdout.on('data', (d) => {
      stdout += d;
      if (options.until?.test(stdout)) child.kill('SIGKILL'); // a crash at that point
    });
    child.stderr.on('data', (d) => (stderr += d));
    child.on('error', reject);
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, stdout, stderr });
    });
  });
}

const TINY = file('tiny.yaml', `
id: tiny
version: 1.0.0
input:
  type: object
  required: [orderId]
  properties: {orderId: {type: string}}
steps:
  - {id: start, type: start, next: greet}
  - id: greet
    type: task
    activity: transform
    input: {message: "hello \${input.orderId}"}
    next: done
  - {id: done, type: end, output: {greeting: "\${steps.greet.output.message}"}}
`);

const FAILING = file('failing.yaml', `
id: failing
version: 1.0.0
steps:
  - {id: start, type: start, next: explode}
  - {id: explode, type: task, activity: explode, retry: {maxAttempts: 2, initialInterval: 10ms}, next: done}
  - {id: done, type: end}
`);
file('failing.activities.mjs', `
export default (registry) => {
  registry.register('explode', () => {
    const err = new Error('the fuse was lit');
    err.code = 'boom';
    throw err;
  });
};
`);

const TIMER = file('timer.yaml', `
id: napping
version: 1.0.0
steps:
  - {id: start, type: start, next: nap}
  - {id: nap, type: timer, delay: 1500ms, next: wake}
  - {id: wake, type: task, activity: noop, input: {woke: true}, next: done}
  - {id: done, type: end}
`);

const APPROVAL = file('approval.yaml', `
id: approval
version: 1.0.0
steps:
  - {id: start, type: start, next: approve}
  - {id: approve, type: human, title: Ship it?, actions: [approve, reject], next: done}
  - {id: done, type: end, output: {decision: "\${steps.approve.output.action}"}}
`);

test('validate: a good file exits 0', async () => {
  const r = await weft(['validate', TINY]);
  assert.equal(r.code, 0, r.stderr + r.stdout);
  assert.match(r.stdout, /1 file valid/);
});

test('validate: bad files exit 1 and point at lines', async () => {
  const bad = file('bad.yaml', 'id: bad\nsteps:\n  - {id: start, type: start, next: nowhere}\n  - {id: end, type: finish}\n');
  const r = await weft(['validate', bad, TINY]);
  assert.equal(r.code, 1);
  assert.match(r.stdout, /bad\.yaml:4:\d+\s+error/);
});

const UNSOUND = fileURLToPath(new URL('fixtures/definitions/unsound-join.yaml', import.meta.url));

test('validate: a definition valid by every rule but unsound is an error with its counterexample', async () => {
  const r = await weft(['validate', UNSOUND]);
  assert.equal(r.code, 1, r.stdout + r.stderr);
  assert.match(r.stdout, /error\s+the workflow is not sound: deadlock: join `j` waits forever.*skipped by decision `check` → `early`.*\[unsound\]/);
  assert.match(r.stdout, /shortest path:\n\s+1\. the instance starts/);
});

test('verify: sound examples exit 0; an unsound definition exits 1 with the shortest path; --json', async () => {
  const sound = await weft(['verify', 'examples/order-fulfilment.yaml']);
  assert.equal(sound.code, 0, sound.stdout + sound.stderr);
  assert.match(sound.stdout, /order-fulfilment.*: SOUND/);
  const unsound = await weft(['verify', UNSOUND, '--json']);
  assert.equal(unsound.code, 1);
  const result = JSON.parse(unsound.stdout);
  assert.equal(result.sound, false);
  assert.equal(result.files[0].report.verdict, 'unsound');
});

test('verify --conditions simple: an impossible mix of input decisions is not reported', async () => {
  const fixture = fileURLToPath(new URL('fixtures/definitions/verify-same-condition.yaml', import.meta.url));
  const free = await weft(['verify', fixture]);
  assert.equal(free.code, 1, free.stdout + free.stderr);
  const simple = await weft(['verify', fixture, '--conditions', 'simple', '--signals', 'early']);
  assert.equal(simple.code, 0, simple.stdout + simple.stderr);
  assert.match(simple.stdout, /SOUND\n[\s\S]*conditions decided per input class \(2\)/);
});

test('run: a tiny workflow completes, prints its output and a timeline, exit 0', async () => {
  const r = await weft(['run', TINY, '--input', '{"orderId":"A-1"}']);
  assert.equal(r.code, 0, r.stderr + r.stdout);
  assert.match(r.stdout, /database\s+\S+weft\.db \(a fresh temporary file/);
  assert.match(r.stdout, /"greeting": "hello A-1"/);
  assert.match(r.stdout, /Timeline \(total/);
  assert.match(r.stdout, /greet\s+\+\d+(ms|\.\d+s)\s+\S+\s+1\s+completed/);
  assert.match(r.stdout, /✔ instance \S+ completed/);
});

test('run --json: one JSON result object', async () => {
  const r = await weft(['run', TINY, '--input', '{"orderId":"A-2"}', '--json']);
  assert.equal(r.code, 0, r.stderr + r.stdout);
  const result = JSON.parse(r.stdout);
  assert.equal(result.status, 'completed');
  assert.deepEqual(result.output, { greeting: 'hello A-2' });
  assert.ok(result.timeline.some((e: { stepId: string }) => e.stepId === 'greet'));
});

test('run: a failing workflow exits 1 with the error code, message and failing step', async () => {
  const r = await weft(['run', FAILING]);
  assert.equal(r.code, 1, r.stderr + r.stdout);
  assert.match(r.stdout, /failing\.activities\.mjs \(found next to the definition\): explode/);
  assert.match(r.stdout, /✖ instance \S+ failed.*boom: the fuse was lit/);
  assert.match(r.stdout, /failing step: explode/);
  assert.match(r.stdout, /explode\s+.*\s2\s+failed/); // two attempts in the timeline
});

test('run: an activity nobody registered stops the run before it starts', async () => {
  const r = await weft(['run', FAILING, '--activities', join(dir, 'none.activities.mjs')]);
  assert.equal(r.code, 1);
  assert.match(r.stderr, /activities module not found/);
  const lonely = file('lonely.yaml', 'id: lonely\nsteps:\n  - {id: start, type: start, next: t}\n  - {id: t, type: task, activity: missing.thing, next: done}\n  - {id: done, type: end}\n');
  const r2 = await weft(['run', lonely]);
  assert.equal(r2.code, 1);
  assert.match(r2.stderr, /step "t" \(task\) needs activity "missing\.thing"/);
});

test('run: bad --input is a usage error naming the flag (exit 2)', async () => {
  const r = await weft(['run', TINY, '--input', '{orderId: A-1}']);
  assert.equal(r.code, 2);
  assert.match(r.stderr, /--input is not valid JSON/);
});

test('run: --max-payload sets the payload limit; an input over it is refused and nothing runs', async () => {
  const big = JSON.stringify({ orderId: 'x'.repeat(3000) });
  const refused = await weft(['run', TINY, '--input', big, '--max-payload', '2kb', '--json']);
  assert.notEqual(refused.code, 0);
  assert.match(refused.stderr, /over the limit of 2000/);
  const fine = await weft(['run', TINY, '--input', big, '--max-payload', '1mib', '--json']);
  assert.equal(fine.code, 0, fine.stderr);
  const bad = await weft(['run', TINY, '--max-payload', 'lots']);
  assert.equal(bad.code, 2);
  assert.match(bad.stderr, /--max-payload: expected a size/);
});

test('run: a missing file says so', async () => {
  const r = await weft(['run', join(dir, 'nope.yaml')]);
  assert.equal(r.code, 1);
  assert.match(r.stderr, /definition file not found: .*nope\.yaml/);
});

test('history, status and instances read a run recorded with --db', async () => {
  const db = join(dir, 'history.db');
  const run = await weft(['run', TINY, '--input', '{"orderId":"H-1"}', '--db', db, '--json']);
  assert.equal(run.code, 0, run.stderr);
  const id = JSON.parse(run.stdout).instanceId as string;
  const history = await weft(['history', id, '--db', db]);
  assert.equal(history.code, 0, history.stderr);
  assert.match(history.stdout, /^\s+1\s+\S+\s+\+0ms\s+WorkflowStarted\s+tiny@1\.0\.0/m);
  assert.match(history.stdout, /WorkflowCompleted\s+output=\{"greeting":"hello H-1"\}/);
  const status = await weft(['status', id, '--db', db]);
  assert.equal(status.code, 0, status.stderr);
  assert.match(status.stdout, /tiny@1\.0\.0 .* completed/);
  const list = await weft(['instances', '--db', db]);
  assert.match(list.stdout, new RegExp(`${id.replace(/[/.]/g, '\\$&')}\\s+tiny@1\\.0\\.0\\s+completed`));
  // Time travel: right after event 4 the greet task was scheduled, nothing had completed.
  const past = await weft(['status', id, '--db', db, '--at', '4', '--json']);
  assert.equal(past.code, 0, past.stderr);
  const then = JSON.parse(past.stdout);
  assert.equal(then.seq, 4);
  assert.equal(then.status, 'running');
  assert.deepEqual(Object.keys(then.tasks), ['greet#2']);
  const pastView = await weft(['status', id, '--db', db, '--at', '4']);
  assert.match(pastView.stdout, /as of event 4 of \d+/);
  const tooFar = await weft(['status', id, '--db', db, '--at', '999']);
  assert.equal(tooFar.code, 2);
  assert.match(tooFar.stderr, /has only \d+ events/);
  const missing = await weft(['history', 'no-such-id', '--db', db]);
  assert.equal(missing.code, 1);
  assert.match(missing.stderr, /no instance no-such-id/);
});

test('resume: after a SIGKILL during a timer, resume --db finishes the run', async () => {
  const db = join(dir, 'crash.db');
  const crashed = await weft(['run', TIMER, '--db', db, '--no-live'], { until: /nap: timer until/ });
  assert.equal(crashed.signal, 'SIGKILL', crashed.stdout + crashed.stderr);
  const resumed = await weft(['resume', '--db', db, '--no-live']);
  assert.equal(resumed.code, 0, resumed.stdout + resumed.stderr);
  assert.match(resumed.stdout, /1 unfinished instance/);
  assert.match(resumed.stdout, /✔ instance \S+ completed/);
  const id = /✔ instance (\S+) completed/.exec(resumed.stdout)![1];
  const history = await weft(['history', id, '--db', db, '--json']);
  const events = JSON.parse(history.stdout) as Array<{ type: string; stepId?: string }>;
  assert.equal(events.filter((e) => e.type === 'WorkflowCompleted').length, 1);
  assert.equal(events.filter((e) => e.type === 'StepCompleted' && e.stepId === 'wake').length, 1);
  const again = await weft(['resume', '--db', db]);
  assert.equal(again.code, 0);
  assert.match(again.stdout, /nothing to resume/);
});

test('run: a human task with no answer and no terminal waits (exit 3); resume --answers finishes it', async () => {
  const db = join(dir, 'human.db');
  const r = await weft(['run', APPROVAL, '--db', db, '--no-live']);
  assert.equal(r.code, 3, r.stdout + r.stderr);
  assert.match(r.stdout, /step approve: human task "Ship it\?" — actions: approve, reject/);
  assert.match(r.stdout, new RegExp(`weft resume --db ${db.replace(/[/.]/g, '\\$&')} --answers`));
  const answers = file('approval-answers.yaml', '- {step: approve, action: approve}\n');
  const resumed = await weft(['resume', '--db', db, '--answers', answers, '--no-live']);
  assert.equal(resumed.code, 0, resumed.stdout + resumed.stderr);
  assert.match(resumed.stdout, /"decision": "approve"/);
});

test('run: answers next to the definition are used', async () => {
  const withAnswers = file('approval2.yaml', APPROVAL_TEXT());
  file('approval2.answers.yaml', '- {step: approve, action: reject}\n');
  const r = await weft(['run', withAnswers, '--no-live']);
  assert.match(r.stdout, /approval2\.answers\.yaml \(found next to the definition\): 1 answer/);
  assert.match(r.stdout, /→ approve: reject \(answers file\)/);
  assert.notEqual(r.code, 3);
});

function APPROVAL_TEXT(): string {
  return `
id: approval2
version: 1.0.0
steps:
  - {id: start, type: start, next: approve}
  - {id: approve, type: human, actions: [approve, reject], next: done}
  - {id: done, type: end}
`;
}

test('usage: unknown commands and flags exit 2; --help exits 0', async () => {
  assert.equal((await weft(['frobnicate'])).code, 2);
  assert.equal((await weft(['run', TINY, '--frob'])).code, 2);
  const help = await weft(['--help']);
  assert.equal(help.code, 0);
  assert.match(help.stdout, /run \[options\] <file>/);
});
