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
