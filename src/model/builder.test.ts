import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { fileURLToPath } from 'node:url';
import { workflow } from './builder.js';
import { loadDefinitionOrThrow } from './load-file.js';
import { DefinitionError } from './errors.js';
import type { Definition } from './schema.js';

const fixture = (name: string) => fileURLToPath(new URL(`../../test/fixtures/definitions/${name}`, import.meta.url));
const edges = (def: Definition) => def.transitions!.map((t) => `${t.from}>${t.to}`);
const byId = (def: Definition) => ({ ...def, transitions: [...def.transitions!].sort((a, b) => (a.id! < b.id! ? -1 : 1)) });

describe('round trip with YAML', () => {
  test('the order workflow built in TypeScript deep-equals the YAML file', async () => {
    const built = workflow('order', { name: 'Order fulfilment', version: '1.0.0' })
      .input({ type: 'object', required: ['orderId', 'total'], properties: { orderId: { type: 'string' }, total: { type: 'number' } } })
      .variable('attempts', { type: 'integer', default: 0 })
      .retry({ maxAttempts: 5, initialInterval: '1s' })
      .errorPolicy('compensate')
      .timeout('7d')
      .tags('shop')
      .metadata('owner', 'team-shop')
      .resource('payments', 2)
      .start()
      .task('reserve', 'inventory.reserve', {
        input: { orderId: '${input.orderId}' },
        compensate: { activity: 'inventory.release', input: { orderId: '${input.orderId}' } },
      })
      .task('charge', 'payments.charge', {
        input: { amount: '${input.total}' },
        retry: { maxAttempts: 3, nonRetryableErrors: ['card_declined'] },
        timeout: '30s',
        uses: { payments: 1 },
        set: { attempts: 'vars.attempts + 1' },
      })
      .decision('big')
      .when('big', 'ship-express', 'input.total > 100', { priority: 1 })
      .otherwise('big', 'ship-standard')
      .task('ship-express', 'shipping.express')
      .task('ship-standard', 'shipping.standard')
      .end('done', { after: ['ship-express', 'ship-standard'] })
      .end('declined', { output: { status: 'declined' } })
      .onError('charge', 'declined', { error: 'card_declined' })
      .result({ orderId: '${input.orderId}' })
      .build();
    const loaded = await loadDefinitionOrThrow(fixture('order-builder.yaml'));
    assert.deepEqual(built, loaded);
  });

  test('every step type and workflow field (every-step.yaml), up to transition order', async () => {
    const built = workflow('every-step')
      .name('Every step type')
      .version('2.1.0-beta.1')
      .description('Exercises every step type.')
      .namespace('examples')
      .input({ type: 'object' })
      .output({ type: 'object' })
      .variable('count', { type: 'integer', default: 0 })
      .variable('items', { type: 'array', default: [] })
      .variable('approved', { type: 'boolean', default: false, description: 'set by the reviewer' })
      .retry({ maxAttempts: 3, initialInterval: '1s', backoffCoefficient: 2, maxInterval: '1m', jitter: 0.2 })
      .errorPolicy('fail')
      .timeout({ at: '2030-01-01T00:00:00Z' })
      .tags('example')
      .resource('db', 3)
      .property('AG EF end')
      .property({ name: 'approval-ends', formula: 'AG (review -> AF done)', description: 'every review ends' })
      .eventHandler({ event: 'order.cancelled', correlation: 'event.orderId', action: 'cancel' })
      .eventHandler({ event: 'order.created', action: 'start', input: { orderId: '${event.orderId}' } })
      .start()
      .parallel('fan')
      .task('fetch', 'http', {
        input: { url: 'https://example.com/items', method: 'GET' },
        heartbeatTimeout: '10s', scheduleToStartTimeout: '1m', priority: 5, queue: 'io', uses: { db: 1 }, skippable: true,
      })
      .wait('wait-payment', 'payment.received', {
        after: 'fan', correlation: 'input.orderId', match: 'event.amount > 0', timeout: '1h', output: '${event}',
      })
      .join('fan-in', { mode: 'all', after: ['fetch', 'wait-payment'] })
      .inclusive('pick')
      .when('pick', 'notify', 'vars.count > 0')
      .otherwise('pick', 'audit')
      .task('notify', 'log', { input: { message: 'notify' } })
      .task('audit', 'log', { input: { message: 'audit' } })
      .join('pick-join', { split: 'pick', after: ['notify', 'audit'] })
      .timer('pause', { delay: '5m' })
      .timer('nightly', { cron: '0 2 * * *', timezone: 'Europe/Paris' })
      .human('review', {
        title: 'Review the order',
        assignees: { users: ['alice'], groups: ['reviewers'] },
        actions: ['approve', 'reject', 'modify'],
        form: { type: 'object', properties: { comment: { type: 'string' } } },
        input: { orderId: '${input.orderId}' },
        deadline: { businessDays: 2, calendar: { workdays: [1, 2, 3, 4, 5], holidays: ['2030-12-25'] } },
        onTimeout: { action: 'escalate', groups: ['managers'], deadline: '1d' },
        set: { approved: 'true' },
      })
      .subworkflow('child', 'shipping', { version: '^1.0.0', input: { id: '${input.orderId}' }, cancel: 'propagate', timeout: '1d' })
      .loop('repeat', { while: 'loop.iteration < 3', maxIterations: 10, body: 'again' })
      .task('again', 'noop', { set: { count: 'vars.count + 1' } })
      .connect('again', 'repeat')
      .foreach('each', 'input.lines', {
        after: [], activity: 'transform', input: { line: '${item}', n: '${index}' }, concurrency: 4, maxItems: 100,
      })
      .connect('repeat', 'each', { name: 'exit' })
      .end('done', { output: { count: '${vars.count}' } })
      .end('rejected', { terminate: true, after: null })
      .onError('review', 'rejected', { error: 'rejected' })
      .onTimeout('wait-payment', 'rejected', { id: 'review-timeout' })
      .build();
    const loaded = await loadDefinitionOrThrow(fixture('every-step.yaml'));
    assert.deepEqual({ ...byId(built), steps: [...built.steps].sort((a, b) => (a.id < b.id ? -1 : 1)) },
      { ...byId(loaded), steps: [...loaded.steps].sort((a, b) => (a.id < b.id ? -1 : 1)) });
  });
});

describe('auto-connect rule', () => {
  test('sequential steps are linked', () => {
    const def = workflow('w').start().task('a', 'noop').task('b', 'noop').end().build();
    assert.deepEqual(edges(def), ['start>a', 'a>b', 'b>end']);
    assert.deepEqual(def.transitions!.map((t) => t.id), ['start->a', 'a->b', 'b->end']);
  });
  test('a step already targeted is not linked from the previous step', () => {
    const def = workflow('w').start().decision('d')
      .when('d', 'x', 'input.x').otherwise('d', 'y')
      .task('x', 'noop').task('y', 'noop')
      .end('end', { after: ['x', 'y'] })
      .build();
    assert.deepEqual(edges(def), ['start>d', 'd>x', 'd>y', 'x>end', 'y>end']);
  });
  test('nothing is linked after an end or a decision', () => {
    const def = workflow('w').start().decision('d').otherwise('d', 'e1').end('e1').task('orphan', 'noop').toDefinition();
    assert.deepEqual(edges(def), ['start>d', 'd>e1']);
  });
  test('from() moves the cursor; after: null links nothing', () => {
    const def = workflow('w').start().parallel('p').task('a', 'noop').from('p').task('b', 'noop')
      .join('j', { after: ['a', 'b'] }).end()
      .task('floating', 'noop', { after: null })
      .toDefinition();
    assert.deepEqual(edges(def), ['start>p', 'p>a', 'p>b', 'a>j', 'b>j', 'j>end']);
  });
  test('loop adds its body transition', () => {
    const def = workflow('w').start().loop('l', { body: 'b', maxIterations: 3 })
      .task('b', 'noop').connect('b', 'l')
      .end('end', { after: 'l' })
      .build();
    assert.deepEqual(edges(def), ['start>l', 'l>b', 'b>l', 'l>end']);
  });
});

describe('build() validates', () => {
  test('throws DefinitionError with every issue', () => {
    assert.throws(
      () => workflow('bad').start().task('a', 'noop').task('a', 'noop').build(),
      (err: unknown) => {
        assert.ok(err instanceof DefinitionError);
        const rules = err.issues.map((i) => i.rule);
        assert.ok(rules.includes('duplicate-step-id'), rules.join());
        assert.ok(rules.includes('dead-end-step'), rules.join());
        assert.match(err.message, /^invalid workflow definition "bad"/);
        return true;
      },
    );
  });
  test('shape errors are reported too', () => {
    assert.throws(
      () => workflow('bad').start().timer('t', { delay: 'soonish!' as string, retries: 3 } as never).end().build(),
      (err: unknown) => err instanceof DefinitionError && err.issues.some((i) => i.rule === 'unknown-field'),
    );
  });
  test('deploy-time references are checked when asked', () => {
    const b = workflow('w').start().task('a', 'payments.charge').end();
    assert.doesNotThrow(() => b.build());
    assert.throws(() => b.build({ activities: new Set() }), /payments\.charge/);
  });
  test('warnings do not throw', () => {
    const def = workflow('w').start().task('a', 'noop').end().connect('a', 'end', { on: 'timeout' }).build();
    assert.equal(def.transitions!.length, 3);
  });
  test('build() returns a canonical object that is independent of the builder', () => {
    const b = workflow('w').start().end();
    const one = b.build();
    b.tags('later');
    assert.equal(one.tags, undefined);
    assert.deepEqual(one, { id: 'w', steps: [{ id: 'start', type: 'start' }, { id: 'end', type: 'end' }], transitions: [{ id: 'start->end', from: 'start', to: 'end' }] });
  });
});
