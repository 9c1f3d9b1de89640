/**
 * Namespaces on every surface the caller's identity flows through: WebSocket subscriptions and
 * commands, `POST /events` (deliveries and `start` subscribers), signals, remote workers and
 * queues, and `Idempotency-Key` (scoped per namespace). The caller's namespace comes from the
 * default authentication hook's `x-weft-namespace` header.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import WebSocket from 'ws';
import { startServer, type RunningServer } from '../src/api/start.js';
import type { Definition } from '../src/model/schema.js';
import { WeftApiError, WeftClient } from '../src/sdk/client.js';

const waiter = (id: string): Definition => ({
  id, version: '1.0.0',
  steps: [
    { id: 'start', type: 'start', next: 'w' },
    { id: 'w', type: 'wait', event: 'paid', correlation: 'input.order', next: 'h' },
    { id: 'h', type: 'human', assignees: { users: ['ann'] }, next: 'end' },
    { id: 'end', type: 'end' },
  ],
} as Definition);

const worky = (id: string): Definition => ({
  id, version: '1.0.0',
  steps: [
    { id: 'start', type: 'start', next: 'a' },
    { id: 'a', type: 'task', activity: 'remote.echo', next: 'end' },
    { id: 'end', type: 'end' },
  ],
} as Definition);

const starter = (id: string): Definition => ({
  ...waiter(id),
  eventHandlers: [{ event: 'order.created', action: 'start', input: { order: '${event.payload.order}' } }],
} as Definition);

async function waitFor<T>(p: () => Promise<T | undefined | false>, what: string): Promise<T> {
  const end = Date.now() + 10_000;
  for (;;) {
    const v = await p();
    if (v) return v;
    if (Date.now() > end) assert.fail(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

async function expectError(p: Promise<unknown>, status: number, code: string): Promise<WeftApiError> {
  let caught: unknown;
  await assert.rejects(p, (err: unknown) => { caught = err; return err instanceof WeftApiError && err.status === status && err.code === code; });
  return caught as WeftApiError;
}

class Socket {
  readonly messages: Array<Record<string, any>> = [];
  private waiters: Array<() => void> = [];
  constructor(readonly ws: WebSocket) {
    ws.on('message', (d) => { this.messages.push(JSON.parse(String(d))); for (const w of this.waiters.splice(0)) w(); });
  }
  static async open(url: string, namespace?: string): Promise<Socket> {
    const ws = new WebSocket(url.replace(/^http/, 'ws') + '/api/v1/ws', { headers: namespace ? { 'x-weft-namespace': namespace } : {} });
    const s = new Socket(ws);
    await new Promise((resolve, reject) => { ws.once('open', resolve); ws.once('error', reject); });
    return s;
  }
  send(m: unknown): void { this.ws.send(JSON.stringify(m)); }
  async next(pred: (m: Record<string, any>) => boolean, what: string): Promise<Record<string, any>> {
    const end = Date.now() + 10_000;
    for (;;) {
      const hit = this.messages.find(pred);
      if (hit) return hit;
      if (Date.now() > end) assert.fail(`timed out waiting for ${what}; got ${JSON.stringify(this.messages).slice(0, 1500)}`);
      await new Promise<void>((r) => { this.waiters.push(r); setTimeout(r, 50); });
    }
  }
  instancesSeen(sub: string): Set<string> {
    const out = new Set<string>();
    for (const m of this.messages) {
      if (m.sub !== sub) continue;
      if (m.type === 'events') out.add(m.instanceId);
      if (m.type === 'snapshot' && Array.isArray(m.instances)) for (const i of m.instances) out.add(i.id);
    }
    return out;
  }
  close(): void { this.ws.terminate(); }
}

describe('namespaces on every surface', { timeout: 60_000 }, () => {
  let server: RunningServer;
  let billing: WeftClient;
  let ops: WeftClient;
  const sockets: Socket[] = [];
  const open = async (ns?: string) => { const s = await Socket.open(server.url, ns); sockets.push(s); return s; };
  before(async () => {
    server = await startServer({ db: ':memory:', port: 0, ws: { pingMs: 1000 } });
    billing = new WeftClient(server.url, { timeoutMs: 10_000, headers: { 'x-weft-namespace': 'billing' } });
    ops = new WeftClient(server.url, { timeoutMs: 10_000 });
    await billing.deploy(waiter('invoice'));
    await ops.deploy(waiter('ticket'));
  });
  after(async () => {
    for (const s of sockets) s.close();
    await server?.close();
  });

  it('WebSocket subscriptions: another namespace\'s instance or definition is the REST 404; definition/all subscriptions see only the caller\'s namespace', async () => {
    const b = (await billing.start({ definitionId: 'invoice', input: { order: 1 } })).id;
    const o = (await ops.start({ definitionId: 'ticket', input: { order: 1 } })).id;
    const rest = await expectError(ops.getInstance(b), 404, 'not_found');
    const dflt = await open();
    dflt.send({ type: 'subscribe', id: 'other', instanceId: b });
    const err = await dflt.next((m) => m.type === 'error' && m.sub === 'other', 'the error');
    assert.deepEqual([err.error, err.message], ['not_found', rest.message], 'the same error as REST');
    dflt.send({ type: 'subscribe', id: 'other-resume', instanceId: b, afterSeq: 0 });
    assert.equal((await dflt.next((m) => m.type === 'error' && m.sub === 'other-resume', 'the error')).error, 'not_found');
    const restDef = await expectError(ops.getDefinition('invoice'), 404, 'not_found');
    dflt.send({ type: 'subscribe', id: 'def', definitionId: 'invoice' });
    const defErr = await dflt.next((m) => m.type === 'error' && m.sub === 'def', 'the definition error');
    assert.deepEqual([defErr.error, defErr.message], ['not_found', restDef.message]);
    // The caller's own instance works as before.
    const bill = await open('billing');
    bill.send({ type: 'subscribe', id: 'mine', instanceId: b });
    assert.equal((await bill.next((m) => m.type === 'snapshot' && m.sub === 'mine', 'the snapshot')).state.id, b);

    // `all` and definition subscriptions: snapshots and live events only of the caller's namespace.
    dflt.send({ type: 'subscribe', id: 'all', all: true });
    bill.send({ type: 'subscribe', id: 'all', all: true });
    bill.send({ type: 'subscribe', id: 'inv', definitionId: 'invoice' });
    await dflt.next((m) => m.type === 'snapshot' && m.sub === 'all', 'the all snapshot');
    await bill.next((m) => m.type === 'snapshot' && m.sub === 'all', 'the all snapshot');
    await bill.next((m) => m.type === 'snapshot' && m.sub === 'inv', 'the definition snapshot');
    assert.deepEqual([...dflt.instancesSeen('all')], [o]);
    assert.deepEqual([...bill.instancesSeen('all')], [b]);
    // A billing instance committed before a default one: were it leaked, it would arrive first.
    const b2 = (await billing.start({ definitionId: 'invoice', input: { order: 2 } })).id;
    const o2 = (await ops.start({ definitionId: 'ticket', input: { order: 2 } })).id;
    await dflt.next((m) => m.type === 'events' && m.sub === 'all' && m.instanceId === o2, 'the default instance\'s events');
    await bill.next((m) => m.type === 'events' && m.sub === 'all' && m.instanceId === b2, 'the billing instance\'s events');
    await bill.next((m) => m.type === 'events' && m.sub === 'inv' && m.instanceId === b2, 'the billing instance\'s events');
    assert.deepEqual([...dflt.instancesSeen('all')].sort(), [o, o2].sort());
    assert.ok(!bill.instancesSeen('all').has(o2) && !bill.instancesSeen('all').has(o));
    // Resume (no snapshot): only the caller's namespace's instances are caught up.
    dflt.send({ type: 'subscribe', id: 'again', all: true, resume: { since: 0, seqs: {} } });
    await dflt.next((m) => m.type === 'resumed' && m.sub === 'again', 'resumed');
    assert.deepEqual([...dflt.instancesSeen('again')].sort(), [o, o2].sort());
  });

  it('commands over the socket pass the namespace check: another namespace\'s instance is 404 and unchanged', async () => {
    const b = (await billing.start({ definitionId: 'invoice', input: { order: 3 } })).id;
    const dflt = await open();
    for (const command of [{ type: 'Pause', instanceId: b }, { type: 'Signal', instanceId: b, name: 'go' }, { type: 'Terminate', instanceId: b }]) {
      dflt.send({ type: 'command', requestId: command.type, command });
      const e = await dflt.next((m) => m.type === 'error' && m.requestId === command.type, `the ${command.type} error`);
      assert.equal(e.error, 'not_found');
    }
    assert.notEqual((await billing.getInstance(b)).status, 'terminated');
    const bill = await open('billing');
    bill.send({ type: 'command', requestId: 'p', command: { type: 'Pause', instanceId: b } });
    assert.equal((await bill.next((m) => m.type === 'result' && m.requestId === 'p', 'the result')).status, 'paused');
    await billing.resume(b);
  });

  it('signals over REST: another namespace\'s instance is 404 and gets nothing', async () => {
    const b = (await billing.start({ definitionId: 'invoice', input: { order: 4 } })).id;
    await expectError(ops.signal(b, 'go', { x: 1 }), 404, 'not_found');
    await expectError(ops.request('POST', `/api/v1/instances/${b}/commands`, { type: 'Signal', name: 'go' }), 404, 'not_found');
    const signals = async () => (await billing.history(b)).events.filter((e) => e.type === 'SignalBuffered').length;
    assert.equal(await signals(), 0, 'nothing reached the instance');
    assert.equal((await billing.signal(b, 'go')).instanceId, b);
    assert.equal(await signals(), 1, 'its own namespace\'s signal arrives');
  });

  it('POST /events reaches only the caller\'s namespace: waiting instances and `start` subscribers', async () => {
    const b = (await billing.start({ definitionId: 'invoice', input: { order: 77 } })).id;
    const o = (await ops.start({ definitionId: 'ticket', input: { order: 77 } })).id;
    const waiting = async (c: WeftClient, id: string) => Object.values((await c.getInstance(id)).active ?? {}).some((r: any) => r.status === 'waiting_event');
    await waitFor(() => waiting(billing, b), 'billing to wait');
    await waitFor(() => waiting(ops, o), 'default to wait');
    // Published in billing: billing's waiter gets it, default's does not.
    assert.equal((await billing.publishEvent('paid', 77, {})).delivered, 1);
    await waitFor(async () => (await billing.inbox({ instanceId: b })).length === 1, 'billing to move on');
    assert.equal(await waiting(ops, o), true, 'the default instance still waits');
    assert.equal((await ops.publishEvent('paid', 77, {})).delivered, 1);
    await waitFor(async () => (await ops.inbox({ instanceId: o })).length === 1, 'default to move on');
    // `start` subscribers: only the publishing namespace's definitions start.
    await billing.deploy(starter('bill-on-order'));
    await ops.deploy(starter('ops-on-order'));
    const inBilling = await billing.publishEvent('order.created', undefined, { order: 5 });
    assert.equal(inBilling.started.length, 1);
    assert.equal((await billing.getInstance(inBilling.started[0]!)).definitionId, 'bill-on-order');
    assert.equal((await server.engine.getInstanceInfo(inBilling.started[0]!))?.namespace, 'billing');
    const inDefault = await ops.publishEvent('order.created', undefined, { order: 6 });
    assert.deepEqual(inDefault.started.map((id) => id === inBilling.started[0]), [false]);
    assert.equal((await ops.getInstance(inDefault.started[0]!)).definitionId, 'ops-on-order');
    assert.equal((await ops.publishEvent('order.created', undefined, {}, )).started.length, 1);
    assert.equal((await new WeftClient(server.url, { headers: { 'x-weft-namespace': 'empty' } }).publishEvent('order.created', undefined, {})).started.length, 0);
  });

  it('Idempotency-Key is scoped per namespace: the same key in two namespaces starts two instances', async () => {
    const k = { 'idempotency-key': 'order-42' };
    const b1 = await billing.request<{ id: string }>('POST', '/api/v1/instances', { definitionId: 'invoice', input: { order: 42 } }, k);
    const b2 = await billing.request<{ id: string }>('POST', '/api/v1/instances', { definitionId: 'invoice', input: { order: 42 } }, k);
    const o1 = await ops.request<{ id: string }>('POST', '/api/v1/instances', { definitionId: 'ticket', input: { order: 42 } }, k);
    const o2 = await ops.request<{ id: string }>('POST', '/api/v1/instances', { definitionId: 'ticket', input: { order: 42 } }, k);
    assert.equal(b1.id, b2.id, 'same key, same namespace → same instance');
    assert.equal(o1.id, o2.id);
    assert.notEqual(b1.id, o1.id, 'same key, two namespaces → two instances');
    assert.equal((await server.engine.getInstanceInfo(b1.id))?.namespace, 'billing');
    assert.equal((await server.engine.getInstanceInfo(o1.id))?.namespace, 'default');
    // A third namespace with the key but no such definition: 404, nothing of the others returned.
    await expectError(new WeftClient(server.url, { headers: { 'x-weft-namespace': 'third' } }).request('POST', '/api/v1/instances', { definitionId: 'invoice' }, k), 404, 'not_found');
  });

  it('workers and queues: a worker serves its namespace\'s tasks only; ids are per namespace; lists are filtered', async () => {
    await billing.deploy(worky('bill-work'));
    await ops.deploy(worky('ops-work'));
    const b = (await billing.start({ definitionId: 'bill-work', input: { who: 'billing' } })).id;
    const o = (await ops.start({ definitionId: 'ops-work', input: { who: 'default' } })).id;
    await waitFor(async () => (await billing.queues()).some((q: any) => q.activity === 'remote.echo' && q.queued === 1), 'the billing task to queue');
    const queueOf = async (c: WeftClient) => (await c.queues()).map((q: any) => [q.activity, q.queued, q.leased]);
    assert.deepEqual(await queueOf(billing), [['remote.echo', 1, 0]]);
    await waitFor(async () => (await queueOf(ops)).length === 1, 'the default task to queue');
    assert.deepEqual(await queueOf(ops), [['remote.echo', 1, 0]]);
    // The same worker id in both namespaces: two workers, each offered only its namespace's task.
    const poll = (c: WeftClient) => c.request<{ tasks: Array<{ instanceId: string; taskId: string; token: string; attempt: number; input: unknown }> }>('POST', '/api/v1/workers/w1/poll', { activities: ['remote.echo'], max: 5, waitMs: 0 });
    const fromBilling = (await poll(billing)).tasks;
    assert.deepEqual(fromBilling.map((t) => t.instanceId), [b]);
    assert.deepEqual((await poll(billing)).tasks, [], 'nothing else for billing');
    const fromDefault = (await poll(ops)).tasks;
    assert.deepEqual(fromDefault.map((t) => t.instanceId), [o]);
    const workersOf = async (c: WeftClient) => (await c.workers()).map((w: any) => [w.id, w.namespace, w.running]);
    assert.deepEqual(await workersOf(billing), [['w1', 'billing', 1]]);
    assert.deepEqual(await workersOf(ops), [['w1', 'default', 1]]);
    assert.deepEqual(await workersOf(new WeftClient(server.url, { headers: { 'x-weft-namespace': 'empty' } })), []);
    assert.deepEqual(await queueOf(billing), [['remote.echo', 0, 1]]);
    // Each completes its own task.
    const t = fromBilling[0]!;
    await billing.request('POST', '/api/v1/workers/w1/complete', { instanceId: t.instanceId, taskId: t.taskId, token: t.token, attempt: t.attempt, output: { ok: 'billing' } });
    const d = fromDefault[0]!;
    await ops.request('POST', '/api/v1/workers/w1/complete', { instanceId: d.instanceId, taskId: d.taskId, token: d.token, attempt: d.attempt, output: { ok: 'default' } });
    await waitFor(async () => (await billing.getInstance(b)).status === 'completed', 'billing to complete');
    await waitFor(async () => (await ops.getInstance(o)).status === 'completed', 'default to complete');
    // Leaving removes only the caller namespace's worker of that id.
    await billing.request('DELETE', '/api/v1/workers/w1');
    assert.deepEqual(await workersOf(billing), []);
    assert.deepEqual((await workersOf(ops)).map((w) => w[0]), ['w1']);
  });

  it('workers over the WebSocket serve the socket caller\'s namespace', async () => {
    const b = (await billing.start({ definitionId: 'bill-work', input: {} })).id;
    await waitFor(async () => (await billing.queues()).some((q: any) => q.queued === 1), 'the billing task to queue');
    const dflt = await open();
    dflt.send({ type: 'worker.poll', requestId: 'd', workerId: 'ws1', activities: ['remote.echo'], max: 5, waitMs: 0 });
    assert.deepEqual((await dflt.next((m) => m.type === 'result' && m.requestId === 'd', 'the default poll')).tasks, []);
    const bill = await open('billing');
    bill.send({ type: 'worker.poll', requestId: 'b', workerId: 'ws1', activities: ['remote.echo'], max: 5, waitMs: 0 });
    const tasks = (await bill.next((m) => m.type === 'result' && m.requestId === 'b', 'the billing poll')).tasks as Array<Record<string, any>>;
    assert.deepEqual(tasks.map((t) => t.instanceId), [b]);
    assert.deepEqual((await billing.workers()).map((w: any) => [w.id, w.transport]), [['ws1', 'ws']]);
    const t = tasks[0]!;
    bill.send({ type: 'worker.complete', requestId: 'c', workerId: 'ws1', instanceId: t.instanceId, taskId: t.taskId, token: t.token, attempt: t.attempt, output: {} });
    assert.equal((await bill.next((m) => m.type === 'result' && m.requestId === 'c', 'the completion')).ok, true);
    await waitFor(async () => (await billing.getInstance(b)).status === 'completed', 'billing to complete');
  });
});
