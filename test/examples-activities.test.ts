/**
 * The examples: every definition parses and validates with zero issues; the answers files have
 * the CLI's format; the example activities reproduce the seeds' numbers; and each example runs
 * end to end through the engine core (virtual clock, real example activities) to the outcome
 * docs/examples.md promises.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, readdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { join } from 'node:path';
import { parse as parseYaml } from 'yaml';
import { Definition } from '../src/model/schema.js';
import { parseDefinition } from '../src/model/index.js';
import { ActivityFailure, ActivityRegistry, toErrorInfo } from '../src/runtime/activity.js';
import { registerBuiltins } from '../src/activities/index.js';
import { failure, fakeContext } from '../src/activities/testing.js';
import { Simulator } from '../src/core/simulator.js';
import { TERMINAL_STATUSES, type Command, type InstanceState } from '../src/core/types.js';
import { AnswerBook, type Answer } from '../src/cli/answers.js';

import registerOrder, { createOrderWorld, registerOrderActivities, validateOrder, orderTotal, type OrderWorld } from '../examples/order-fulfilment.activities.js';
import registerEtl, {
  applyTransformRules, mockCustomerRecords, validateRecords, toRecords, SEED_TRANSFORM_RULES, SEED_VALIDATION_RULES,
} from '../examples/etl-pipeline.activities.js';
import registerIot, { deviceState, deviceTemperature } from '../examples/iot-monitoring.activities.js';
import registerDeployment, { createPlan, defaultManifest, dispatchDeploymentStep, planProblems } from '../examples/deployment.activities.js';
import registerMl, { evaluationMetrics, optimisation, splitDataset, trainingEpochs } from '../examples/ml-training.activities.js';

const EXAMPLES = join(fileURLToPath(new URL('.', import.meta.url)), '..', 'examples');
const NAMES = ['order-fulfilment', 'etl-pipeline', 'iot-monitoring', 'deployment', 'ml-training'] as const;
type Name = (typeof NAMES)[number];

const REGISTER: Record<Name, (r: ActivityRegistry) => void> = {
  'order-fulfilment': registerOrder,
  'etl-pipeline': registerEtl,
  'iot-monitoring': registerIot,
  deployment: registerDeployment,
  'ml-training': registerMl,
};

function text(name: string): string {
  return readFileSync(join(EXAMPLES, `${name}.yaml`), 'utf8');
}

function registryFor(name: Name, register: (r: ActivityRegistry) => void = REGISTER[name]): ActivityRegistry {
  const registry = registerBuiltins(new ActivityRegistry());
  register(registry);
  return registry;
}

function load(name: Name): Definition {
  const result = parseDefinition(text(name), { file: `examples/${name}.yaml` });
  assert.deepEqual(result.issues, [], `examples/${name}.yaml has issues`);
  return result.definition!;
}

// ------------------------------------------------------------------------------ end-to-end driver

interface RunResult {
  state: InstanceState;
  sim: Simulator;
  /** Steps in the order they completed (or failed). */
  path: string[];
  logs: Array<{ activity: string; message: string; fields?: Record<string, unknown> }>;
}

/**
 * Plays the world for one instance: scheduled tasks run through the real example activities;
 * open human tasks and waits take the next matching answer; otherwise the earliest timer fires
 * (the clock is virtual, so retry intervals and timeouts cost nothing).
 */
async function runExample(name: Name, input: unknown, options: { answers?: Answer[] | string; register?: (r: ActivityRegistry) => void } = {}): Promise<RunResult> {
  const registry = registryFor(name, options.register);
  const book = typeof options.answers === 'string'
    ? AnswerBook.fromFile(join(EXAMPLES, options.answers))
    : new AnswerBook(options.answers ?? []);
  const sim = new Simulator(load(name), `${name}-1`);
  await sim.start(input);
  const logs: RunResult['logs'] = [];
  for (let i = 0; i < 5000; i++) {
    const s = sim.s;
    if (TERMINAL_STATUSES.has(s.status)) break;
    const task = Object.values(s.tasks).find((t) => t.status === 'scheduled');
    if (task) {
      const handler = registry.get(task.activity);
      assert.ok(handler, `activity "${task.activity}" is not registered`);
      const ctx = fakeContext({
        instanceId: s.id, stepId: s.active[task.runId]?.stepId ?? task.runId, runId: task.runId, taskId: task.taskId,
        attempt: task.attempt, activity: task.activity,
      });
      try {
        const output = await handler(task.input, ctx);
        await sim.complete(task.taskId, output);
      } catch (err) {
        await sim.fail(task.taskId, toErrorInfo(err));
      }
      for (const l of ctx.logs) logs.push({ activity: task.activity, ...l });
      continue;
    }
    const human = Object.values(s.active).find((r) => r.status === 'waiting_human' && r.human?.kind === 'human');
    const humanAnswer = human && book.takeHuman(human.stepId);
    if (human && humanAnswer) {
      const command = humanAnswer.action === 'reject'
        ? { type: 'RejectHumanTask', taskId: human.human!.taskId, reason: humanAnswer.reason }
        : { type: 'CompleteHumanTask', taskId: human.human!.taskId, action: humanAnswer.action, data: humanAnswer.data };
      await sim.send(command as Command);
      continue;
    }
    const wait = Object.values(s.active).find((r) => r.status === 'waiting_event' && r.wait);
    const eventAnswer = wait && book.takeEvent(wait.wait!.event);
    if (wait && eventAnswer) {
      await sim.send({ type: 'DeliverEvent', name: eventAnswer.event, key: eventAnswer.key ?? wait.wait!.key, payload: eventAnswer.payload } as Command);
      continue;
    }
    if (await sim.fireNextTimer()) continue;
    break;
  }
  const path = sim.log
    .filter((e) => e.type === 'StepCompleted' || e.type === 'StepFailed')
    .map((e) => (e as { stepId: string }).stepId);
  return { state: sim.s, sim, path, logs };
}

function assertPath(path: string[], expected: string[]): void {
  // `expected` must appear in this order (other steps may come in between).
  let at = 0;
  for (const step of path) if (step === expected[at]) at++;
  assert.equal(at, expected.length, `path ${path.join(' → ')} lacks ${expected.slice(at).join(' → ')} in order`);
}

// ------------------------------------------------------------------------------ definitions

describe('example definitions', () => {
  it('every definition in examples/ parses without issues', () => {
    const files = readdirSync(EXAMPLES).filter((f) => /\.(ya?ml|json)$/.test(f) && !/\.answers\.(ya?ml|json)$/.test(f));
    for (const name of NAMES) assert.ok(files.includes(`${name}.yaml`), `examples/${name}.yaml is missing`);
    for (const file of files) {
      const result = parseDefinition(readFileSync(join(EXAMPLES, file), 'utf8'), { file: `examples/${file}` });
      assert.deepEqual(result.issues.filter((i) => i.severity === 'error'), [], file);
    }
  });

  for (const name of NAMES) {
    it(`${name}.yaml parses with yaml and conforms to the schema`, () => {
      const data = parseYaml(text(name));
      const result = Definition.safeParse(data);
      assert.ok(result.success, result.success ? '' : JSON.stringify(result.error.issues, null, 2));
      assert.equal(result.data.id, name);
    });

    it(`${name}.yaml validates with zero issues, every activity registered by its module`, () => {
      const registry = registryFor(name);
      const result = parseDefinition(text(name), { file: `examples/${name}.yaml`, activities: (a) => registry.has(a) });
      assert.deepEqual(result.issues, []);
    });
  }

  it('answers files have the CLI format', () => {
    for (const file of readdirSync(EXAMPLES).filter((f) => f.endsWith('.answers.yaml'))) {
      const book = AnswerBook.fromFile(join(EXAMPLES, file));
      assert.ok(book.answers.length > 0, file);
    }
  });
});

// ------------------------------------------------------------------------------ order fulfilment

describe('order-fulfilment', () => {
  function withWorld(world: OrderWorld) {
    return (r: ActivityRegistry) => registerOrderActivities(r, world);
  }

  it('validates orders and fills in defaults', () => {
    assert.deepEqual(validateOrder({ orderId: 'A-1' }), {
      orderId: 'A-1', items: [{ sku: 'MUG-RED', quantity: 2, price: 12.5 }], total: 25, currency: 'EUR', valid: true,
    });
    assert.equal(orderTotal([{ sku: 'a', quantity: 3, price: 0.1 }]), 0.3);
    assert.throws(() => validateOrder({}), /orderId is required/);
    assert.throws(() => validateOrder({ orderId: 'A', items: [{ sku: 'x', quantity: 0, price: 1 }] }), /quantity/);
  });

  it('default run: small order, payment settles, ships and notifies', async () => {
    const world = createOrderWorld();
    const { state, path } = await runExample('order-fulfilment', { orderId: 'A-1' }, { answers: 'order-fulfilment.answers.yaml', register: withWorld(world) });
    assert.equal(state.status, 'completed');
    const out = state.output as Record<string, unknown>;
    assert.equal(out.orderId, 'A-1');
    assert.equal(out.status, 'completed');
    assert.equal(out.total, 25);
    assert.match(String(out.trackingNumber), /^TRK-/);
    assert.equal(out.notified, true);
    assert.ok(!path.includes('manager_approval'));
    assertPath(path, ['validate_order', 'join_fulfilment', 'check_amount', 'await_settlement', 'pickup_window', 'ship_order', 'notify_customer', 'end_completed']);
    assert.deepEqual(world.ledger.map((e) => e.action), ['validated', 'reserved', 'charged', 'shipped', 'notified']);
  });

  it('large order: a manager approves through the form', async () => {
    const { state, path } = await runExample('order-fulfilment', { orderId: 'A-2', total: 2500 }, { answers: 'order-fulfilment.answers.yaml' });
    assert.equal(state.status, 'completed');
    assertPath(path, ['check_amount', 'manager_approval', 'approval_outcome', 'await_settlement', 'ship_order']);
    assert.deepEqual(state.vars.approval, { approved: true, comment: 'Known customer, approved by phone' });
  });

  it('large order rejected: refund, release, end_cancelled', async () => {
    const world = createOrderWorld();
    const { state } = await runExample('order-fulfilment', { orderId: 'A-3', total: 5000 }, { answers: 'order-fulfilment.reject.answers.yaml', register: withWorld(world) });
    assert.equal(state.status, 'completed');
    assert.deepEqual(state.output, { orderId: 'A-3', status: 'cancelled', reason: 'rejected_by_manager', refunded: true });
    assert.deepEqual(world.ledger.map((e) => e.action), ['validated', 'reserved', 'charged', 'refunded', 'released', 'notified']);
  });

  it('approved: false in the form cancels too', async () => {
    const { state } = await runExample('order-fulfilment', { orderId: 'A-4', total: 1000 }, {
      answers: [{ step: 'manager_approval', action: 'approve', data: { approved: false, comment: 'no' } }],
    });
    assert.equal((state.output as { reason: string }).reason, 'not_approved');
  });

  it('payment not settled within an hour: the wait times out into the cancellation path', async () => {
    const world = createOrderWorld();
    const { state, sim } = await runExample('order-fulfilment', { orderId: 'A-5' }, { register: withWorld(world) });
    assert.equal(state.status, 'completed');
    assert.deepEqual(state.output, { orderId: 'A-5', status: 'cancelled', reason: 'payment_not_settled', refunded: true });
    assert.ok(sim.now - Date.UTC(2026, 0, 5, 9, 0, 0) >= 3_600_000, 'the timeout is one hour');
  });

  it('a failed shipment is compensated in reverse order: refund, then release', async () => {
    const world = createOrderWorld();
    const { state } = await runExample('order-fulfilment', { orderId: 'A-6', failAt: 'ship' }, { answers: 'order-fulfilment.answers.yaml', register: withWorld(world) });
    assert.equal(state.status, 'compensated');
    assert.deepEqual(world.ledger.map((e) => e.action), ['validated', 'reserved', 'charged', 'refunded', 'released']);
  });

  it('out of stock: the charge is cancelled before it completes, nothing to undo', async () => {
    const world = createOrderWorld();
    const { state } = await runExample('order-fulfilment', { orderId: 'A-11', failAt: 'reserve' }, { register: withWorld(world) });
    assert.equal(state.status, 'compensated');
    assert.equal(state.steps.reserve_inventory.error?.code, 'out_of_stock');
    assert.ok(!world.ledger.some((e) => e.action === 'refunded'));
  });

  it('a declined card releases the reservation and refunds nothing', async () => {
    const world = createOrderWorld();
    const { state } = await runExample('order-fulfilment', { orderId: 'A-7', failAt: 'charge' }, { register: withWorld(world) });
    assert.equal(state.status, 'compensated');
    assert.deepEqual(world.ledger.map((e) => e.action), ['validated', 'reserved', 'released']);
    assert.equal(world.chargeAttempts.get('A-7'), 1, 'card_declined is not retried');
  });

  it('a flaky gateway is retried by the charge step policy', async () => {
    const world = createOrderWorld();
    const { state } = await runExample('order-fulfilment', { orderId: 'A-8', failAt: 'charge-transient' }, { answers: 'order-fulfilment.answers.yaml', register: withWorld(world) });
    assert.equal(state.status, 'completed');
    assert.equal(world.chargeAttempts.get('A-8'), 3);
  });

  it('an invalid order ends at order_rejected', async () => {
    const { state } = await runExample('order-fulfilment', { orderId: 'A-9', failAt: 'validate' });
    assert.equal(state.status, 'completed');
    assert.equal((state.output as { status: string }).status, 'rejected');
    assert.match((state.output as { reason: string }).reason, /failed validation/);
  });

  it('a lost notification does not undo the order', async () => {
    const { state } = await runExample('order-fulfilment', { orderId: 'A-10', failAt: 'notify' }, { answers: 'order-fulfilment.answers.yaml' });
    assert.equal(state.status, 'completed');
    assert.equal((state.output as { notified: boolean }).notified, false);
  });
});

// ------------------------------------------------------------------------------ ETL

describe('etl-pipeline', () => {
  it('the mock database returns the seed data: 19 records, bad emails every 5th, bad ages every 7th', () => {
    const records = mockCustomerRecords();
    assert.equal(records.length, 19);
    assert.deepEqual(records[0], { id: 'REC-1', fields: { name: 'User 1', email: 'user1@example.com', age: 21, score: 76 } });
    assert.deepEqual(records.filter((r) => r.fields.email === 'invalid-email').map((r) => r.id), ['REC-5', 'REC-10', 'REC-15']);
    assert.deepEqual(records.filter((r) => r.fields.age === -5).map((r) => r.id), ['REC-7', 'REC-14']);
    assert.equal(records[18].fields.score, 85);
  });

  it('transforms with the seed rules: name upper-cased, score × 1.1', () => {
    const out = applyTransformRules(mockCustomerRecords(), SEED_TRANSFORM_RULES);
    assert.equal(out[0].fields.name, 'USER 1');
    assert.equal(out[0].fields.score, 76 * 1.1);
    assert.equal(out[18].fields.score, 85 * 1.1);
    assert.equal(out[0].fields.email, 'user1@example.com');
  });

  it('implements every seed transform action, skipping division by zero', () => {
    const warnings: string[] = [];
    const [r] = applyTransformRules([{ id: 'x', fields: { a: '  Hello World  ', b: 'MiXeD', n: 10, m: 9, s: 'a-b-c' } }], [
      { field: 'a', action: 'trim' },
      { field: 'a', action: 'lowercase' },
      { field: 'b', action: 'uppercase' },
      { field: 'n', action: 'divide', divisor: 4 },
      { field: 'm', action: 'divide', divisor: 0 },
      { field: 'm', action: 'multiply', factor: 2 },
      { field: 's', action: 'replace', pattern: '-', replacement: '+' },
      { field: 'a', action: 'multiply', factor: 2 },
      { field: 'missing', action: 'uppercase' },
      { field: 'a', action: 'explode' },
    ], (m) => warnings.push(m));
    assert.deepEqual(r.fields, { a: 'hello world', b: 'MIXED', n: 2.5, m: 18, s: 'a+b+c' });
    assert.deepEqual(warnings, ['Cannot divide by zero', 'Unknown transform action']);
  });

  it('validates with the seed rules: 14 valid, 5 invalid, errors at every 5th and 7th record', () => {
    const result = validateRecords(applyTransformRules(mockCustomerRecords(), SEED_TRANSFORM_RULES), SEED_VALIDATION_RULES);
    assert.equal(result.valid_count, 14);
    assert.equal(result.invalid_count, 5);
    assert.equal(result.is_valid, false);
    assert.deepEqual(result.invalid_data.map((r) => r.id), ['REC-5', 'REC-7', 'REC-10', 'REC-14', 'REC-15']);
    assert.deepEqual(result.validation_errors, [
      { record_index: 4, field: 'email', rule_type: 'email', message: 'Invalid email format' },
      { record_index: 6, field: 'age', rule_type: 'min', message: 'Age must be positive' },
      { record_index: 9, field: 'email', rule_type: 'email', message: 'Invalid email format' },
      { record_index: 13, field: 'age', rule_type: 'min', message: 'Age must be positive' },
      { record_index: 14, field: 'email', rule_type: 'email', message: 'Invalid email format' },
    ]);
  });

  it('implements every seed rule type; a missing field fails only `required`', () => {
    const records = toRecords([
      { id: 'ok', name: 'Ann', age: 30, score: 1.5, code: 'AB-12', email: 'a@b.c' },
      { id: 'bad', name: '', age: 30.5, score: '1.5', code: 'nope', email: 'a-at-b' },
      { id: 'empty' },
    ], 'records');
    const result = validateRecords(records, [
      { field: 'name', type: 'required' },
      { field: 'name', type: 'string' },
      { field: 'age', type: 'integer' },
      { field: 'age', type: 'max', max_value: 30 },
      { field: 'score', type: 'number' },
      { field: 'code', type: 'regex', pattern: '^[A-Z]{2}-\\d+$' },
      { field: 'email', type: 'email' },
      { field: 'age', type: 'min' },
      { field: 'age', type: 'shape' },
    ]);
    assert.deepEqual(result.valid_data.map((r) => r.id), ['ok']);
    assert.deepEqual(
      result.validation_errors.map((e) => `${e.record_index}:${e.field}:${e.rule_type}`),
      ['1:name:required', '1:age:integer', '1:age:max', '1:score:number', '1:code:regex', '1:email:email', '2:name:required'],
    );
    assert.equal(result.validation_errors.at(-1)!.message, "Required field 'name' is missing");
    assert.equal(result.validation_errors[1].message, "Field 'age' failed 'integer' validation");
  });

  it('default run takes the error path: end_error with 5 errors', async () => {
    const { state, path, logs } = await runExample('etl-pipeline', {});
    assert.equal(state.status, 'completed');
    assertPath(path, ['extract', 'transform', 'validate', 'validation_gateway', 'error_handler', 'end_error']);
    const out = state.output as Record<string, unknown>;
    assert.equal(out.status, 'validation_failed');
    assert.equal(out.record_count, 19);
    assert.equal(out.valid_count, 14);
    assert.equal(out.invalid_count, 5);
    assert.equal(out.error_count, 5);
    assert.equal(out.error_log_path, '/var/log/workflow/validation_errors.log');
    assert.equal(logs.filter((l) => l.message === 'Validation error').length, 5);
  });

  it('clean records take the load path', async () => {
    const records = mockCustomerRecords(4); // 1..4: no bad emails, no bad ages
    const { state, path } = await runExample('etl-pipeline', { records });
    assertPath(path, ['validate', 'validation_gateway', 'load', 'end_processed']);
    assert.deepEqual(state.output, { status: 'processed', record_count: 4, valid_count: 4, loaded_count: 4 });
  });

  it('rules come from the input when given', async () => {
    const { state } = await runExample('etl-pipeline', {
      validationRules: [{ field: 'score', type: 'number' }],
      transformRules: [{ field: 'score', action: 'divide', divisor: 0 }],
    });
    assert.equal((state.output as { loaded_count: number }).loaded_count, 19);
  });

  it('an injected load failure fails the instance without waiting the seed backoff', async () => {
    const { state } = await runExample('etl-pipeline', { records: mockCustomerRecords(2), failAt: 'load' });
    assert.equal(state.status, 'failed');
    assert.equal(state.error?.code, 'target_unavailable');
  });
});

// ------------------------------------------------------------------------------ IoT

describe('iot-monitoring', () => {
  it('the simulated device crosses 30 °C at cycles 1 and 3 of the first five', () => {
    const temps = [0, 1, 2, 3, 4].map((i) => deviceTemperature('sensor-001', i));
    assert.deepEqual(temps, [28.1, 31.7, 29.3, 33.2, 27.6]);
    assert.deepEqual(temps.map((t) => t > 30), [false, true, false, true, false]);
    assert.equal(deviceTemperature('sensor-001', 8), deviceTemperature('sensor-001', 0), 'the wave repeats every 8 cycles');
    assert.equal(deviceTemperature('x', 2, [40, 20]), 40);
    const state = deviceState('sensor-001', 2);
    assert.deepEqual(state.metrics, { temperature: 29.3, humidity: 61, battery: 99 });
    assert.equal(state.last_updated, '2024-01-01T00:02:00.000Z');
  });

  it('default run: the loop counter advances, 5 cycles, 2 alerts, 2 maintenance requests', async () => {
    const { state, path, sim } = await runExample('iot-monitoring', {});
    assert.equal(state.status, 'completed');
    const out = state.output as { iterations: number; alertsSent: number; maintenanceRequests: string[]; deviceId: string };
    assert.equal(out.deviceId, 'sensor-001');
    assert.equal(out.iterations, 5);
    assert.equal(out.alertsSent, 2);
    assert.equal(out.maintenanceRequests.length, 2);
    assert.equal(path.filter((s) => s === 'query_device_state').length, 5);
    assert.equal(path.filter((s) => s === 'send_alert').length, 2);
    assert.equal(path.filter((s) => s === 'wait_cycle').length, 5);
    assertPath(path, ['initialize_device', 'monitoring_loop', 'query_device_state', 'check_temperature', 'wait_cycle', 'monitoring_loop', 'query_device_state', 'send_alert', 'log_to_enterprise_system', 'wait_cycle', 'report', 'end']);
    assert.equal(sim.now - Date.UTC(2026, 0, 5, 9, 0, 0), 5 * 20, 'five 20 ms cycles');
  });

  it('input overrides: every reading too hot, 3 cycles', async () => {
    const { state } = await runExample('iot-monitoring', { deviceId: 'boiler-7', temperatures: [35, 36], maxMonitoringCycles: 3, monitoringInterval: '1s' });
    assert.deepEqual((state.output as { iterations: number; alertsSent: number }).iterations, 3);
    assert.deepEqual((state.output as { alertsSent: number }).alertsSent, 3);
  });

  it('zero cycles exits the loop at once', async () => {
    const { state, path } = await runExample('iot-monitoring', { maxMonitoringCycles: 0 });
    assert.equal(state.status, 'completed');
    assert.equal((state.output as { iterations: number }).iterations, 0);
    assert.ok(!path.includes('query_device_state'));
  });
});

// ------------------------------------------------------------------------------ deployment

describe('deployment', () => {
  const ctx = () => fakeContext();

  it('plans a manifest into ordered steps and parallel groups', () => {
    const plan = createPlan('D-1', defaultManifest('shop', '2.0.0', 'staging'));
    assert.deepEqual(plan.steps.map((s) => `${s.step_type}:${s.id}`), [
      'provision_infrastructure:provision_network', 'migrate_database:migrate_db', 'deploy_service:deploy_api', 'deploy_service:deploy_web',
      'configure_service:configure_api', 'configure_service:configure_web', 'run_tests:smoke_tests',
    ]);
    assert.deepEqual(plan.parallel_groups, [[0], [1, 2, 3], [4, 5], [6]]);
    assert.deepEqual(planProblems(plan), []);
    assert.deepEqual(planProblems({ steps: [] }), ['the plan has no steps']);
  });

  it('dispatches each step type to its task; unknown types fail non-retryably', async () => {
    const env = { deploymentId: 'D-1', environment: 'staging' };
    const cases: Array<[string, string]> = [
      ['provision_infrastructure', 'provision_x'], ['provision', 'provision_x'], ['deploy_service', 'deploy_service_x'],
      ['configure_service', 'configure_service_x'], ['migrate_database', 'migrate_db_x'], ['migrate_db', 'migrate_db_x'], ['run_tests', 'run_tests_x'],
    ];
    for (const [type, task] of cases) {
      const r = await dispatchDeploymentStep({ id: 'x', step_type: type, params: { service_id: 'api' } }, env);
      assert.equal(r.task, task);
      assert.equal(r.status, 'success');
    }
    const configure = await dispatchDeploymentStep({ id: 'c', step_type: 'configure_service', params: { service_id: 'api' } }, env);
    assert.equal(configure.details?.service_id, 'api');
    const err = await failure(dispatchDeploymentStep({ id: 'q', step_type: 'quantum_leap', params: {} }, env));
    assert.equal(err.code, 'unsupported_step_type');
    assert.equal(err.options.nonRetryable, true);
    const injected = await failure(dispatchDeploymentStep({ id: 'x', step_type: 'run_tests', params: {} }, { ...env, failAt: 'step:x' }));
    assert.equal(injected.code, 'step_failed');
  });

  it('deploy.step records a failure instead of throwing with continue_on_error', async () => {
    const registry = registryFor('deployment');
    const out = await registry.get('deploy.step')!({ deployment_id: 'D', step: { id: 'q', step_type: 'nope', params: {} }, continue_on_error: true }, ctx());
    assert.equal((out as { status: string }).status, 'failed');
  });

  it('rollback without a backup fails with RollbackFailed', async () => {
    const registry = registryFor('deployment');
    const err = await failure(Promise.resolve().then(() => registry.get('deploy.rollback')!({ deployment_id: 'D' }, ctx())));
    assert.equal(err.code, 'rollback_failed');
    assert.match(err.message, /No backup ID found/);
  });

  it('default run: fetch manifest, back up, deploy 7 steps in sequence, succeed', async () => {
    const { state, path } = await runExample('deployment', { deployment_id: 'D-1' });
    assert.equal(state.status, 'completed');
    assertPath(path, ['has_manifest', 'fetch_manifest', 'create_plan', 'validate_plan', 'pre_deployment_check', 'backup_system', 'deploy_sequential', 'post_deployment_validation', 'end_succeeded']);
    assert.deepEqual(state.output, {
      deployment_id: 'D-1', status: 'succeeded', environment: 'staging', version: '1.0.0', deployed_components: 4, deployed_steps: 7,
      failed_components: 0, backup_id: 'BKP-D-1', deployment_url: 'https://deploy.example.com/deployments/D-1',
    });
    assert.equal(state.vars.backup_location, 's3://weft-backups/staging/D-1');
  });

  it('a given manifest skips fetch_manifest; parallel mode uses the parallel foreach', async () => {
    const manifest = { components: [{ id: 'api', type: 'service' }, { id: 'e2e', type: 'tests' }] };
    const { state, path } = await runExample('deployment', { deployment_id: 'D-2', deployment_manifest: manifest, parallel_deployment: true });
    assert.equal(state.status, 'completed');
    assert.ok(!path.includes('fetch_manifest'));
    assert.ok(path.includes('deploy_parallel') && !path.includes('deploy_sequential'));
    assert.equal((state.output as { deployed_steps: number }).deployed_steps, 3);
  });

  it('a failing step rolls back to the backup: failed_rolled_back', async () => {
    const { state, path } = await runExample('deployment', { deployment_id: 'D-3', failAt: 'step:deploy_api' });
    assert.equal(state.status, 'completed');
    assertPath(path, ['backup_system', 'deploy_sequential', 'rollback_decision', 'rollback_deployment', 'end_rolled_back']);
    const out = state.output as Record<string, string>;
    assert.equal(out.status, 'failed_rolled_back');
    assert.equal(out.backup_id, 'BKP-D-3');
    assert.match(out.reason, /^StepFailed: .*deploy_service_deploy_api failed/);
  });

  it('an unsupported step type in the manifest rolls back too', async () => {
    const manifest = { components: [{ id: 'warp', type: 'service', step_type: 'quantum_deploy' }] };
    const { state } = await runExample('deployment', { deployment_id: 'D-4', deployment_manifest: manifest });
    assert.equal((state.output as { status: string }).status, 'failed_rolled_back');
    assert.match((state.output as { reason: string }).reason, /UnsupportedStepType: quantum_deploy/);
  });

  it('without a backup the rollback fails, is logged, and the deployment fails', async () => {
    const { state, path, logs } = await runExample('deployment', { deployment_id: 'D-5', backup_before_deploy: false, failAt: 'step:smoke_tests' });
    assert.equal(state.status, 'failed');
    assert.equal(state.error?.code, 'deployment_failed');
    assertPath(path, ['rollback_deployment', 'log_rollback_failure', 'deployment_failed']);
    assert.ok(logs.some((l) => l.activity === 'log' && /RollbackFailed: No backup ID found/.test(l.message)));
  });

  it('continue_on_error + allow_partial_failure: partially_succeeded', async () => {
    const { state } = await runExample('deployment', {
      deployment_id: 'D-6', continue_on_error: true, allow_partial_failure: true, failAt: ['step:deploy_web', 'step:configure_web'],
    });
    assert.equal(state.status, 'completed');
    const out = state.output as Record<string, unknown>;
    assert.equal(out.status, 'partially_succeeded');
    assert.equal(out.deployed_steps, 5);
    assert.equal(out.failed_components, 2);
    assert.equal((out.errors as string[]).length, 2);
  });

  it('continue_on_error without allow_partial_failure rolls back with MultipleStepsFailed', async () => {
    const { state } = await runExample('deployment', { deployment_id: 'D-7', continue_on_error: true, failAt: 'step:deploy_web' });
    const out = state.output as Record<string, string>;
    assert.equal(out.status, 'failed_rolled_back');
    assert.match(out.reason, /^MultipleStepsFailed: deploy_web: /);
  });

  it('an unhealthy deployment rolls back with ValidationFailed', async () => {
    const { state } = await runExample('deployment', { deployment_id: 'D-8', failAt: 'post_validation' });
    assert.match((state.output as { reason: string }).reason, /^ValidationFailed: health check/);
  });

  it('early exits fail the instance with the seed error codes', async () => {
    const notReady = await runExample('deployment', { deployment_id: 'D-9', failAt: 'pre_check' });
    assert.equal(notReady.state.status, 'failed');
    assert.equal(notReady.state.error?.code, 'pre_deployment_check_failed');
    assert.ok(!notReady.path.includes('backup_system'));
    const invalid = await runExample('deployment', { deployment_id: 'D-10', failAt: 'validate_plan' });
    assert.equal(invalid.state.error?.code, 'validation_failed');
    assert.match(invalid.state.error?.message ?? '', /^ValidationFailed: plan exceeds/);
  });
});

// ------------------------------------------------------------------------------ ML training

describe('ml-training', () => {
  it('simulation functions are deterministic', () => {
    const split = splitDataset('customer-churn-2024');
    assert.equal(split.train_samples + split.test_samples + split.validation_samples, split.total_samples);
    assert.deepEqual(splitDataset('customer-churn-2024'), split);
    assert.equal(trainingEpochs(20, 3), 9);
    assert.equal(trainingEpochs(5, 3), 5);
    assert.equal(evaluationMetrics('gradient_boosting').accuracy, 0.86);
    assert.equal(evaluationMetrics('x', 0.42).accuracy, 0.42);
    assert.equal(optimisation(1, 1000).optimized_size_bytes, 500, 'level 1 halves the size like the seed');
  });

  it('train heartbeats every epoch and resumes after the last one', async () => {
    const registry = registryFor('ml-training');
    const ctx = fakeContext();
    const out = (await registry.get('ml.train')!({ model_id: 'm', max_epochs: 4 }, ctx)) as { epochs: number };
    assert.equal(out.epochs, 4);
    assert.deepEqual(ctx.heartbeats.map((h) => (h as { epoch: number }).epoch), [1, 2, 3, 4]);
    const resumed = fakeContext({ lastHeartbeat: { epoch: 3 } });
    await registry.get('ml.train')!({ model_id: 'm', max_epochs: 4 }, resumed);
    assert.deepEqual(resumed.heartbeats.map((h) => (h as { epoch: number }).epoch), [4]);
  });

  it('default run passes the gate and registers the model with the seed output fields', async () => {
    const { state, path } = await runExample('ml-training', { model_id: 'churn-model' });
    assert.equal(state.status, 'completed');
    assertPath(path, ['prepare_dataset', 'train_model', 'evaluate_model', 'quality_gate', 'should_optimize', 'should_deploy', 'register_model', 'end']);
    const out = state.output as Record<string, unknown>;
    assert.deepEqual(Object.keys(out).sort(), [
      'epochs', 'metrics', 'model_id', 'model_registry_id', 'model_size_bytes', 'model_version', 'test_dataset_samples',
      'train_dataset_samples', 'training_time_seconds', 'validation_dataset_samples',
    ]);
    assert.equal(out.model_registry_id, 'REG-churn-model-1.0.0');
    assert.equal((out.metrics as { accuracy: number }).accuracy, 0.86);
  });

  it('below the threshold: PerformanceBelowThreshold is logged and the run fails', async () => {
    const { state, logs } = await runExample('ml-training', { model_id: 'm', simulated_accuracy: 0.6 });
    assert.equal(state.status, 'failed');
    assert.equal(state.error?.code, 'performance_below_threshold');
    assert.deepEqual((state.error?.details as Record<string, unknown>), { metric: 'accuracy', value: 0.6, threshold: 0.7 });
    assert.ok(logs.some((l) => l.message.startsWith('PerformanceBelowThreshold: accuracy = 0.6')));
  });

  it('deploy_below_threshold goes on; optimise and deploy when asked', async () => {
    const { state, path } = await runExample('ml-training', {
      model_id: 'm', simulated_accuracy: 0.6, deploy_below_threshold: true, optimize_model: true, deploy_model: true, version: '2.1.0',
    });
    assert.equal(state.status, 'completed');
    assertPath(path, ['warn_below_threshold', 'below_threshold_policy', 'optimize_model', 'deploy_model', 'register_model']);
    const out = state.output as Record<string, unknown>;
    const evaluated = state.steps.evaluate_model.output as { model_size_bytes: number };
    assert.equal(out.model_size_bytes, Math.round(evaluated.model_size_bytes / 2));
    assert.equal(out.model_version, '2.1.0');
    assert.match(String(out.endpoint), /\/m\/v2\.1\.0\/predict$/);
    assert.ok(out.deployment_id && out.dashboard_url);
  });

  it('a custom primary metric and threshold are honoured; a missing metric counts as 0', async () => {
    const ok = await runExample('ml-training', { model_id: 'm', primary_metric: 'f1', performance_threshold: 0.8 });
    assert.equal(ok.state.status, 'completed');
    const missing = await runExample('ml-training', { model_id: 'm', primary_metric: 'auc' });
    assert.equal(missing.state.error?.code, 'performance_below_threshold');
  });

  it('a training failure fails the instance', async () => {
    const { state } = await runExample('ml-training', { model_id: 'm', failAt: 'train' });
    assert.equal(state.status, 'failed');
    assert.equal(state.error?.code, 'training_diverged');
  });
});
