import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runStoreConformance, evs, inst } from '../conformance.js';
import { SqliteStore } from './store.js';
import { loadMigrations } from './migrate.js';

runStoreConformance('sqlite', () => new SqliteStore(':memory:'));

describe('sqlite specifics', () => {
  it('applies numbered migrations once and records them', () => {
    const dir = mkdtempSync(join(tmpdir(), 'weft-store-'));
    try {
      const file = join(dir, 'a', 'weft.db');
      const a = new SqliteStore(file);
      const versions = a.db.prepare('SELECT version FROM schema_version ORDER BY version').pluck(true).all();
      assert.deepEqual(versions, loadMigrations().map((m) => m.version));
      assert.equal(a.db.pragma('journal_mode', { simple: true }), 'wal');
      assert.equal(a.db.pragma('synchronous', { simple: true }), 1);
      a.db.close();
      const b = new SqliteStore(file); // re-open: nothing re-applied, data intact
      assert.equal(b.db.prepare('SELECT COUNT(*) FROM schema_version').pluck(true).get(), versions.length);
      b.db.close();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('keeps data across re-open of a file', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'weft-store-'));
    try {
      const file = join(dir, 'weft.db');
      const a = new SqliteStore(file);
      await a.commit({ now: 1, instances: [{ instanceId: 'p', create: inst('p'), expectedSeq: 0, events: evs(1, 3), update: { status: 'running', updatedAt: 1 } }] });
      await a.close();
      const b = new SqliteStore(file);
      assert.deepEqual((await b.readEvents('p')).map((e) => e.seq), [1, 2, 3]);
      await b.close();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
