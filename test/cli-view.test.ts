/**
 * The CLI's pure parts — step tracker, step descriptions, timeline, history lines, answers
 * files, `--input` parsing — fed with real event logs from the core simulator.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Simulator, SimFailure } from '../src/core/simulator.js';
import { parseDefinitionOrThrow } from '../src/model/load.js';
import { StepTracker } from '../src/cli/step-tracker.js';
import { describeStep } from '../src/cli/step-describe.js';
import { renderTimeline, timelineEntries } from '../src/cli/timeline.js';
import { formatHistory } from '../src/cli/history-format.js';
import { progressLine, renderInstanceBlock } from '../src/cli/live-view.js';
import { AnswerBook } from '../src/cli/answers.js';
import { parseInputOption } from '../src/cli/input-option.js';
import { CliError, EXIT } from '../src/cli/io.js';
import { stripAnsi } from '../src/cli/format.js';

const PIPELINE = parseDefinitionOrThrow(`
id: pipeline
version: 1.0.0
steps:
  - {id: start, type: start, next: charge}
  - {id: charge, type: task, activity: pay, retry: {maxAttempts: 3, initialInterval: 1s}, next: pause}
  - {id: pause, type: timer, delay: 2s, next: approve}
  - {id: approve, type: human, title: Approve the order, next: done}
  - {id: done, type: end}
`);

async function simulatedRun(failures: number) {
  const sim = new Simulator(PIPELINE);
  await sim.start({ orderId: 'A-1' });
  let calls = 0;
  await sim.run({
    pay: () => {
      if (calls++ < failures) throw new SimFailure({ code: 'card_declined', message: 'declined' });
      return { paid: true };
    },
  });
  return sim;
}

test('tracker: retries, timers and human tasks show as step rows', async () => {
  const sim = await simulatedRun(1);
  const tracker = new StepTracker('i-1', PIPELINE);
  tracker.applyAll(sim.log);
  const charge = tracker.rows.get('charge')!;
  assert.equal(charge.state, 'completed');
  assert.equal(charge.attempts, 2);
  assert.equal(tracker.rows.get('pause')!.state, 'completed');
  const approve = tracker.rows.get('approve')!;
  assert.equal(approve.state, 'waiting_human');
  assert.match(describeStep(approve, sim.now), /human task "Approve the order": approve \/ reject/);
  assert.equal(tracker.rows.get('done')!.state, 'pending');
  assert.deepEqual(tracker.counts(), { total: 5, done: 3, active: 1 });
  assert.match(progressLine(tracker, sim.now), /^3\/5 steps done · 1 active · 3\.00s elapsed$/);
});

test('tracker: a retrying step says which attempt comes next and when', async () => {
  const sim = new Simulator(PIPELINE);
  await sim.start({});
  await sim.fail('charge#2', { code: 'card_declined', message: 'declined' });
  const tracker = new StepTracker('i-1', PIPELINE);
  tracker.applyAll(sim.log);
  const row = tracker.rows.get('charge')!;
  assert.equal(row.state, 'retrying');
  assert.match(describeStep(row, sim.now), /^retrying \(attempt 2, next at \S+, in 1\.00s; last error card_declined: declined\)$/);
});

test('tracker: an unhandled failure names the failing step', async () => {
  const sim = await simulatedRun(5);
  const tracker = new StepTracker('i-1', PIPELINE);
  tracker.applyAll(sim.log);
  assert.equal(tracker.status, 'failed');
  assert.equal(tracker.failedStep, 'charge');
  assert.equal(tracker.error?.code, 'card_declined');
  assert.match(describeStep(tracker.rows.get('charge')!), /^failed: card_declined: declined \(after 3 attempts\)$/);
});

test('tracker: replaying overlapping batches does not double count', async () => {
  const sim = await simulatedRun(1);
  const tracker = new StepTracker('i-1', PIPELINE);
  tracker.applyAll(sim.log.slice(0, 6));
  tracker.applyAll(sim.log);
  assert.equal(tracker.rows.get('charge')!.attempts, 2);
  assert.equal(tracker.rows.get('charge')!.runs, 1);
});

test('timeline: offsets, durations, attempts and a bar per step that ran', async () => {
  const sim = await simulatedRun(1);
  await sim.send({ type: 'CompleteHumanTask', taskId: sim.s.active['approve#4'].human!.taskId, action: 'approve' } as never);
  const tracker = new StepTracker('i-1', PIPELINE);
  tracker.applyAll(sim.log);
  const entries = timelineEntries(tracker);
  assert.deepEqual(entries.map((e) => [e.stepId, e.startOffsetMs, e.durationMs, e.attempts, e.outcome]), [
    ['start', 0, 0, 0, 'completed'],
    ['charge', 0, 1000, 2, 'completed'],
    ['pause', 1000, 2000, 0, 'completed'],
    ['approve', 3000, 0, 0, 'completed'],
    ['done', 3000, 0, 0, 'completed'],
  ]);
  const text = stripAnsi(renderTimeline(tracker));
  assert.match(text, /^Timeline \(total 3\.00s\)/);
  assert.match(text, /charge\s+\+0ms\s+1\.00s\s+2\s+completed\s+\|█+\s*\|/);
  assert.match(text, /pause\s+\+1\.00s\s+2\.00s/);
  const block = stripAnsi(renderInstanceBlock({ tracker, title: 'pipeline' }));
  assert.match(block, /✔ approve\s+completed \(approve\) in 0ms/);
});

test('history lines: seq, ISO time, offset, type and key fields', async () => {
  const sim = await simulatedRun(1);
  const lines = formatHistory(sim.log).map(stripAnsi);
  assert.match(lines[0], /seq\s+time\s+\+offset\s+type\s+details/);
  assert.match(lines[1], /^\s+1\s+2026-01-05T09:00:00\.000Z\s+\+0ms\s+WorkflowStarted\s+pipeline@1\.0\.0 input=\{"orderId":"A-1"\}/);
  assert.ok(lines.some((l) => /ActivityFailed\s+step=charge attempt=1 error=card_declined: declined retryAt=/.test(l)));
  assert.ok(lines.some((l) => /TimerScheduled\s+timer=\S+ kind=timer due=\S+ step=pause/.test(l)));
});

test('answers: parsed, used once each in file order, with line numbers on errors', () => {
  const book = AnswerBook.fromText(
    ['- {step: approve, action: approve, data: {note: ok}}', '- {step: approve, action: reject}', '- {event: paid, key: A-1, payload: {amount: 3}, after: 2s}'].join('\n'),
  );
  assert.equal(book.takeHuman('approve')?.action, 'approve');
  assert.equal(book.takeHuman('approve')?.action, 'reject');
  assert.equal(book.takeHuman('approve'), undefined);
  const event = book.takeEvent('paid');
  assert.deepEqual([event?.key, event?.afterMs], ['A-1', 2000]);
  assert.throws(
    () => AnswerBook.fromText('- {step: a, action: approve}\n- {event: paid, after: soon}\n', 'x.answers.yaml'),
    (err: Error) => err instanceof CliError && /^x\.answers\.yaml:2: answer #2 is invalid/.test(err.message),
  );
  assert.throws(() => AnswerBook.fromText('- {step: a\n', 'y.yaml'), /^CliError: y\.yaml:\d+: invalid YAML/);
});

test('--input: inline JSON, @file (JSON or YAML), and errors that name the flag (exit 2)', () => {
  assert.deepEqual(parseInputOption('{"orderId":"A-1"}'), { orderId: 'A-1' });
  assert.equal(parseInputOption(undefined), undefined);
  const dir = mkdtempSync(join(tmpdir(), 'weft-input-'));
  writeFileSync(join(dir, 'in.yaml'), 'orderId: A-2\nitems: [1, 2]\n');
  assert.deepEqual(parseInputOption('@' + join(dir, 'in.yaml')), { orderId: 'A-2', items: [1, 2] });
  for (const bad of ["{orderId: 'A-1'}", '@' + join(dir, 'missing.json')]) {
    assert.throws(
      () => parseInputOption(bad),
      (err: Error) => err instanceof CliError && err.exitCode === EXIT.usage && err.message.startsWith('--input'),
    );
  }
});

test('tracker: a step run several times (a loop body), once each, does not claim retries', async () => {
  const LOOP = parseDefinitionOrThrow(`
id: loop
version: 1.0.0
steps:
  - {id: start, type: start, next: l}
  - {id: l, type: loop, maxIterations: 3, body: work, next: [work, done]}
  - {id: work, type: task, activity: noop, next: l}
  - {id: done, type: end}
`);
  const sim = new Simulator(LOOP);
  await sim.start({});
  await sim.run();
  const tracker = new StepTracker('i-1', LOOP);
  tracker.applyAll(sim.log);
  const text = describeStep(tracker.rows.get('work')!);
  assert.match(text, /^completed in \S+ ×3$/);
  assert.doesNotMatch(text, /attempts/);
});
