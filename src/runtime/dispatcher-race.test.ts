// A claim in flight must not swallow a task committed unleased meanwhile (found by the PostgreSQL
// benchmark: such a task waited for the 5 s fallback poll; on SQLite, where nothing polls, forever).
import { describe, it, after } from 'node:test';
import assert from 'node:assert/strict';
import type { Definition } from '../model/schema.js';
import { SqliteStore } from '../store/sqlite/store.js';
import type { ClaimTasksOptions, StoredTask } from '../store/types.js';
import type { Engine } from './api.js';
import { openEngineWithStore } from './engine.js';

/** claimTasks reads at once but answers only when `release()` is called (while gated). */
class GatedClaimStore extends SqliteStore {
  private gate: Promise<void> | undefined;
  private open: (() => void) | undefined;
  readonly reading: Array<() => void> = [];
  hold(): void { this.gate = new Promise((r) => { this.open = r; }); }
  release(): void { this.open?.(); this.gate = undefined; }
  override async claimTasks(options: ClaimTasksOptions): Promise<StoredTask[]> {
    const rows = await super.claimTasks(options);
    const gate = this.gate;
    if (gate) { for (const f of this.reading.splice(0)) f(); await gate; }
    return rows;
  }
}

const def: Definition = {
  id: 'race', version: '1.0.0',
  steps: [
    { id: 'start', type: 'start', next: 'work' },
    { id: 'work', type: 'task', activity: 'race.work', next: 'end' },
    { id: 'end', type: 'end' },
  ],
};

describe('dispatcher: a claim in flight and a task committed unleased meanwhile', () => {
  let engine: Engine | undefined;
  after(async () => { await engine?.close(); });

  it('claims again after the in-flight claim, so the task runs', async () => {
    const store = new GatedClaimStore(':memory:');
    engine = await openEngineWithStore(store);
    await engine.deploy(def);
    store.hold();
    const claimRead = new Promise<void>((r) => store.reading.push(r));
    // Registering a handler pokes the dispatcher: a claim starts, reads nothing, and is held.
    engine.registerActivity('race.work', async () => 'done');
    await claimRead;
    // Meanwhile a task is committed; the backlog flag makes the flush leave it unleased.
    const id = await engine.start('race', {});
    store.release();
    const state = await engine.waitUntilDone(id, { timeoutMs: 20_000 });
    assert.equal(state.status, 'completed');
  });
});
