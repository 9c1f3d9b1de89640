/**
 * `eventHandlers: start` subscribers start the same version `start` would: the highest deployed
 * version (semver), not the one deployed last.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { startServer, type RunningServer } from '../src/api/start.js';
import type { Definition } from '../src/model/schema.js';
import { WeftClient } from '../src/sdk/client.js';

const version = (v: string): Definition => ({
  id: 'on-order', version: v,
  eventHandlers: [{ event: 'order.*', action: 'start', input: { order: '${event.payload.order}' } }],
  steps: [{ id: 'start', type: 'start', next: 'end' }, { id: 'end', type: 'end' }],
} as Definition);

describe('event start subscribers', { timeout: 60_000 }, () => {
  let server: RunningServer;
  let client: WeftClient;
  let dir: string;
  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'weft-event-starts-'));
    server = await startServer({ db: join(dir, 'e.db'), port: 0 });
    client = new WeftClient(server.url, { timeoutMs: 10_000 });
  });
  after(async () => {
    await server?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('start the highest version, as start without a version does, even when an older one was deployed last', async () => {
    await client.deploy(version('1.10.0'));
    await client.deploy(version('1.9.0'));
    const { started } = await client.publishEvent('order.created', undefined, { order: 7 });
    assert.equal(started.length, 1);
    const instance = await client.getInstance(started[0]!);
    assert.equal(instance.definitionVersion, '1.10.0');
    const plain = await client.start({ definitionId: 'on-order', input: {} });
    assert.equal((await client.getInstance(plain.id)).definitionVersion, '1.10.0');
  });
});

const held: Definition = {
  id: 'held-order', version: '1.0.0',
  eventHandlers: [
    { event: 'order.hold', action: 'pause', correlation: 'event.payload.order' },
    { event: 'order.release', action: 'resume' },
    { event: 'order.note', action: 'signal', signal: 'note', input: { text: '${event.payload.text}' } },
    { event: 'order.void', action: 'cancel', when: 'event.payload.really = true' },
  ],
  steps: [
    { id: 'start', type: 'start', next: 'wait' },
    { id: 'wait', type: 'wait', event: 'never', next: 'end' },
    { id: 'end', type: 'end' },
  ],
} as Definition;

describe('event handlers that act on correlated instances', { timeout: 60_000 }, () => {
  let server: RunningServer;
  let client: WeftClient;
  let dir: string;
  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'weft-event-actions-'));
    server = await startServer({ db: join(dir, 'e.db'), port: 0 });
    client = new WeftClient(server.url, { timeoutMs: 10_000 });
    await client.deploy(held);
  });
  after(async () => {
    await server?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  const status = async (id: string) => (await client.getInstance(id)).status;

  it('pause (correlation expression), resume (the key), signal with a mapped payload, cancel under a condition; others untouched', async () => {
    const a = (await client.start({ definitionId: 'held-order', correlationId: 'A-1' })).id;
    const b = (await client.start({ definitionId: 'held-order', correlationId: 'B-2' })).id;
    await server.engine.waitUntil(a, (s) => s.status === 'waiting', { timeoutMs: 10_000 });
    await server.engine.waitUntil(b, (s) => s.status === 'waiting', { timeoutMs: 10_000 });

    const hold = await client.publishEvent('order.hold', undefined, { order: 'A-1' });
    assert.deepEqual(hold.handled, [{ instanceId: a, action: 'pause' }]);
    assert.equal(await status(a), 'paused');
    assert.equal(await status(b), 'waiting');

    // Pausing again is refused by the state: skipped, not an error.
    assert.deepEqual((await client.publishEvent('order.hold', undefined, { order: 'A-1' })).handled, []);

    assert.deepEqual((await client.publishEvent('order.release', 'A-1')).handled, [{ instanceId: a, action: 'resume' }]);
    assert.notEqual(await status(a), 'paused');

    assert.deepEqual((await client.publishEvent('order.note', 'B-2', { text: 'fragile' })).handled, [{ instanceId: b, action: 'signal' }]);
    // Nothing waits for it yet, so the instance buffers it.
    const signalled = (await client.history(b)).events.find((e) => e.type === 'SignalBuffered') as { name?: string; payload?: unknown } | undefined;
    assert.ok(signalled, 'the signal is in the history');
    assert.equal(signalled.name, 'note');
    assert.deepEqual(signalled.payload, { text: 'fragile' });

    assert.deepEqual((await client.publishEvent('order.void', 'B-2', { really: false })).handled, [], 'the condition does not hold');
    assert.deepEqual((await client.publishEvent('order.void', 'B-2', { really: true })).handled, [{ instanceId: b, action: 'cancel' }]);
    assert.equal(await status(b), 'cancelled');
    // A finished instance is not acted on.
    assert.deepEqual((await client.publishEvent('order.void', 'B-2', { really: true })).handled, []);
  });
});
