import { afterEach, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Definition } from '../model/schema.js';
import { SqliteStore } from '../store/sqlite/store.js';
import type { Engine } from './api.js';
import { openEngine } from './engine.js';
import type { LifecycleMessage } from './lifecycle.js';
import { OUTBOX_TOPIC } from './lifecycle.js';

const dirs: string[] = [];
const engines: Engine[] = [];
afterEach(async () => {
  for (const e of engines.splice(0)) await e.close();
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});
function tempDb(): string {
  const dir = mkdtempSync(join(tmpdir(), 'weft-outbox-'));
  dirs.push(dir);
  return join(dir, 'weft.db');
}

const twoSteps: Definition = {
  id: 'two', version: '1.0.0',
  steps: [
    { id: 'start', type: 'start', next: 'a' },
    { id: 'a', type: 'task', activity: 'noop', next: 'b' },
    { id: 'b', type: 'task', activity: 'noop', next: 'end' },
    { id: 'end', type: 'end' },
  ],
};

describe('transactional outbox', () => {
  it('relays lifecycle messages in log order, then empties the outbox', async () => {
    const db = tempDb();
    const engine = await openEngine({ db });
    engines.push(engine);
    const seen: LifecycleMessage[] = [];
    engine.on('lifecycle', (m) => seen.push(m));
    const id = await engine.start(twoSteps, {});
    await engine.waitUntilDone(id);
    await engine.close();
    engines.pop();
    const mine = seen.filter((m) => m.instanceId === id);
    assert.deepEqual(mine.map((m) => `${m.topic}${m.stepId ? ':' + m.stepId : ''}`), [
      'workflow.started', 'step.started:start', 'step.completed:start', 'step.started:a', 'step.completed:a',
      'step.started:b', 'step.completed:b', 'step.started:end', 'step.completed:end', 'workflow.completed',
    ]);
    const seqs = mine.map((m) => m.seq);
    assert.deepEqual(seqs, [...seqs].sort((x, y) => x - y), 'messages follow the log order');
    const store = new SqliteStore(db);
    try {
      assert.deepEqual(await store.readOutbox(0, 10), [], 'relayed rows are deleted');
    } finally {
      await store.close();
    }
  });

  it('messages committed but not relayed before a crash are relayed when the engine opens again', { timeout: 10_000 }, async () => {
    const db = tempDb();
    // A commit whose relay never ran (the process died right after the transaction).
    const store = new SqliteStore(db);
    const left: LifecycleMessage = { topic: 'workflow.completed', instanceId: 'i-crashed', seq: 9, at: 1 };
    await store.commit({ now: 1, instances: [], outbox: [{ topic: OUTBOX_TOPIC, payload: [left] }] });
    await store.close();

    const seen: LifecycleMessage[] = [];
    const engine = await openEngine({ db });
    engines.push(engine);
    await new Promise<void>((resolve) => engine.on('lifecycle', (m) => { seen.push(m); resolve(); }));
    assert.deepEqual(seen, [left]);
  });
});
