/**
 * Every example in examples/ runs end to end on the embedded engine (a temp SQLite file, its
 * activities module, its answers file) and reaches the terminal state its header promises,
 * plus the alternative paths each example exists to show.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadDefinitionFile } from '../src/model/load-file.js';
import type { Definition } from '../src/model/schema.js';
import type { EngineEvent, InstanceState } from '../src/core/types.js';
import { ActivityRegistry } from '../src/runtime/activity.js';
import { openEngine } from '../src/runtime/engine.js';
import { loadActivitiesModule } from '../src/cli/activities-module.js';
import { AnswerBook } from '../src/cli/answers.js';
import { InstanceDriver } from '../src/cli/instance-driver.js';

const EXAMPLES = fileURLToPath(new URL('../examples/', import.meta.url));

interface ExampleRun {
  state: InstanceState;
  history: EngineEvent[];
  notes: string[];
}

interface RunOptions {
  /** Answers file name in examples/; default `<name>.answers.yaml` when it exists; `null` for none. */
  answers?: string | null;
  /** Changes the definition before it starts (e.g. a shorter timeout). */
  patch?: (definition: Definition) => void;
  timeoutMs?: number;
}

async function runExample(name: string, input: unknown, options: RunOptions = {}): Promise<ExampleRun> {
  const { definition, issues } = await loadDefinitionFile(join(EXAMPLES, `${name}.yaml`));
  const errors = issues.filter((i) => i.severity === 'error');
  assert.ok(definition && errors.length === 0, `${name}.yaml is invalid: ${JSON.stringify(errors)}`);
  options.patch?.(definition);
  const registry = new ActivityRegistry();
  await loadActivitiesModule(join(EXAMPLES, `${name}.activities.ts`), registry);
  const answersFile = options.answers === null ? undefined : join(EXAMPLES, options.answers ?? `${name}.answers.yaml`);
  const book = answersFile && existsSync(answersFile) ? AnswerBook.fromFile(answersFile) : undefined;
  const db = join(mkdtempSync(join(tmpdir(), `weft-example-${name}-`)), 'weft.db');
  const engine = await openEngine({ db, activities: registry });
  const notes: string[] = [];
  try {
    const driver = new InstanceDriver(engine, {
      answersFor: () => book,
      interactive: false,
      patienceMs: 60_000,
      note: (text) => notes.push(text),
      beforeQuestion() {},
      afterQuestion() {},
      onChange() {},
    });
    const id = await engine.start(definition, input);
    await driver.watch(id, definition);
    let timer: NodeJS.Timeout | undefined;
    const limit = options.timeoutMs ?? 20_000;
    await Promise.race([
      driver.untilSettled(),
      new Promise((_, reject) => (timer = setTimeout(() => reject(new Error(`${name} did not settle in ${limit} ms`)), limit))),
    ]).finally(() => clearTimeout(timer));
    driver.close();
    const state = (await engine.getState(id))!;
    const history = await engine.getHistory(id);
    return { state, history, notes };
  } finally {
    await engine.close();
  }
}

function out(run: ExampleRun): Record<string, unknown> {
  assert.equal(run.state.status, 'completed', `expected completed, got ${run.state.status}: ${JSON.stringify(run.state.error)} ${run.notes.join('; ')}`);
  return run.state.output as Record<string, unknown>;
}

/** The default run of every example and what it must end with. */
const DEFAULT_RUNS: Record<string, { input: unknown; check: (run: ExampleRun) => void }> = {
  'order-fulfilment': {
    input: { orderId: 'A-1' },
    check: (run) => {
      const output = out(run);
      assert.equal(output.status, 'completed');
      assert.match(String(output.trackingNumber), /^TRK-/);
    },
  },
  'etl-pipeline': {
    input: {},
    check: (run) => {
      const output = out(run);
      assert.equal(output.status, 'validation_failed');
      assert.equal(output.error_count, 5);
    },
  },
  'iot-monitoring': {
    input: {},
    check: (run) => {
      const output = out(run);
      assert.equal(output.iterations, 5);
      assert.equal(output.alertsSent, 2);
    },
  },
  deployment: {
    input: { deployment_id: 'D-1' },
    check: (run) => assert.equal(out(run).status, 'succeeded'),
  },
  'ml-training': {
    input: { model_id: 'churn-model' },
    check: (run) => assert.equal(out(run).model_registry_id, 'REG-churn-model-1.0.0'),
  },
};

const exampleNames = readdirSync(EXAMPLES).filter((f) => /\.ya?ml$/.test(f) && !f.includes('.answers.')).map((f) => f.replace(/\.ya?ml$/, ''));

test('every example has a default run in this test', () => {
  assert.ok(exampleNames.length >= 5, `found only ${exampleNames.join(', ')}`);
  for (const name of exampleNames) assert.ok(DEFAULT_RUNS[name], `add examples/${name}.yaml to DEFAULT_RUNS in test/examples.test.ts`);
});

for (const name of exampleNames) {
  const expected = DEFAULT_RUNS[name];
  if (!expected) continue;
  test(`example ${name}: the default run reaches its expected end`, async () => expected.check(await runExample(name, expected.input)));
}

// ---------------------------------------------------------------------------- order fulfilment

const completedOrder = (history: EngineEvent[]) =>
  history.flatMap((e) => (e.type === 'StepCompleted' && (e.stepId === 'reserve_inventory' || e.stepId === 'charge_payment') ? [e.stepId] : []));

test('order-fulfilment: a failed shipment is compensated — refund and release in reverse completion order', async () => {
  const run = await runExample('order-fulfilment', { orderId: 'A-3', failAt: 'ship' });
  assert.equal(run.state.status, 'compensated');
  const compensated = run.history.flatMap((e) => (e.type === 'StepCompensated' ? [e.stepId] : []));
  assert.deepEqual(compensated, completedOrder(run.history).reverse());
  const undo = run.history.flatMap((e) => (e.type === 'ActivityScheduled' && e.task.purpose === 'compensate' ? [e.task.activity] : []));
  assert.deepEqual(undo, compensated.map((s) => (s === 'charge_payment' ? 'payment.refund' : 'inventory.release')));
  const failed = run.history.find((e) => e.type === 'StepFailed');
  assert.equal(failed?.type === 'StepFailed' && failed.stepId, 'ship_order');
});

test('order-fulfilment: a payment that does not settle in time takes the cancellation path', async () => {
  const run = await runExample('order-fulfilment', { orderId: 'A-4' }, {
    answers: null,
    patch: (def) => {
      const wait = def.steps.find((s) => s.id === 'await_settlement');
      assert.ok(wait && wait.type === 'wait');
      wait.timeout = '200ms';
    },
  });
  const output = out(run);
  assert.equal(output.status, 'cancelled');
  assert.equal(output.reason, 'payment_not_settled');
  const ran = run.history.flatMap((e) => (e.type === 'StepCompleted' ? [e.stepId] : []));
  assert.ok(ran.indexOf('refund_payment') < ran.indexOf('release_inventory'), ran.join(' → '));
  assert.ok(!ran.includes('ship_order'));
});

test('order-fulfilment: a large order is approved by the manager from the answers file', async () => {
  const run = await runExample('order-fulfilment', { orderId: 'A-2', total: 2500 });
  assert.equal(out(run).status, 'completed');
  assert.ok(run.history.some((e) => e.type === 'HumanTaskCompleted' && e.action === 'approve'));
});

test('order-fulfilment: a manager rejection cancels the order', async () => {
  const run = await runExample('order-fulfilment', { orderId: 'A-5', total: 5000 }, { answers: 'order-fulfilment.reject.answers.yaml' });
  const output = out(run);
  assert.equal(output.status, 'cancelled');
  assert.equal(output.reason, 'rejected_by_manager');
});

// ---------------------------------------------------------------------------- ETL

test('etl-pipeline: clean records take the load path', async () => {
  const records = [
    { id: 'C-1', fields: { name: 'ada', email: 'ada@example.com', age: 36, score: 90 } },
    { id: 'C-2', fields: { name: 'alan', email: 'alan@example.com', age: 41, score: 80 } },
  ];
  const run = await runExample('etl-pipeline', { records });
  const output = out(run);
  assert.equal(output.status, 'processed');
  assert.equal(output.valid_count, 2);
  assert.equal(output.loaded_count, 2);
  assert.ok(run.history.some((e) => e.type === 'StepCompleted' && e.stepId === 'load'));
  assert.ok(!run.history.some((e) => e.type === 'StepStarted' && e.stepId === 'error_handler'));
});

test("etl-pipeline: the seed's mock data takes the error path", async () => {
  const run = await runExample('etl-pipeline', {});
  assert.ok(run.history.some((e) => e.type === 'StepCompleted' && e.stepId === 'error_handler'));
  assert.ok(!run.history.some((e) => e.type === 'StepStarted' && e.stepId === 'load'));
});

// ---------------------------------------------------------------------------- IoT

test('iot-monitoring: the loop counter advances to maxMonitoringCycles', async () => {
  for (const cycles of [3, 5]) {
    const run = await runExample('iot-monitoring', { maxMonitoringCycles: cycles });
    assert.equal(out(run).iterations, cycles);
    assert.equal(run.state.steps.monitoring_loop.iteration, cycles);
    assert.equal(run.history.filter((e) => e.type === 'StepCompleted' && e.stepId === 'query_device_state').length, cycles);
  }
});

// ---------------------------------------------------------------------------- deployment

test('deployment: a failing deployment step is rolled back from the backup', async () => {
  const run = await runExample('deployment', { deployment_id: 'D-1', failAt: 'step:deploy_api' });
  const output = out(run);
  assert.equal(output.status, 'failed_rolled_back');
  assert.ok(run.history.some((e) => e.type === 'StepCompleted' && e.stepId === 'rollback_deployment'));
});

// ---------------------------------------------------------------------------- ML

test('ml-training: the quality gate passes a good model and fails a poor one', async () => {
  const good = await runExample('ml-training', { model_id: 'good', simulated_accuracy: 0.9 });
  assert.ok(out(good).model_registry_id);
  const poor = await runExample('ml-training', { model_id: 'poor', simulated_accuracy: 0.6 });
  assert.equal(poor.state.status, 'failed');
  assert.equal(poor.state.error?.code, 'performance_below_threshold');
  assert.ok(!poor.history.some((e) => e.type === 'StepStarted' && e.stepId === 'register_model'));
});
