import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { LeaderElection, type LeaderLock } from './leader.js';

/** The database side: who holds the advisory lock (the PostgreSQL lock itself is exercised by test/cluster-engine.test.ts). */
class TestServer { holder?: string; }

/** One node's lock connection. */
class TestLock implements LeaderLock {
  broken = false;
  private lost?: () => void;
  constructor(private readonly node: string, private readonly server: TestServer) {}
  async tryAcquire(onLost: () => void): Promise<boolean> {
    if (this.broken) throw new Error('connection refused');
    if (this.server.holder !== undefined && this.server.holder !== this.node) return false;
    this.server.holder = this.node;
    this.lost = onLost;
    return true;
  }
  async probe(): Promise<boolean> { return !this.broken && this.server.holder === this.node; }
  async release(): Promise<void> { if (this.server.holder === this.node) this.server.holder = undefined; }
  /** The session ends: the server frees the lock. */
  breakConnection(): void { this.broken = true; if (this.server.holder === this.node) this.server.holder = undefined; this.lost?.(); }
  /** The connection stops answering without telling anyone (a cut network). */
  goSilent(): void { this.broken = true; }
}

const until = async (check: () => boolean) => { for (let i = 0; i < 400 && !check(); i++) await new Promise((r) => setTimeout(r, 5)); assert.ok(check()); };

describe('leader election', () => {
  it('without a lock (embedded) the node leads at once and runs its duties until closed', async () => {
    const e = new LeaderElection({ log: () => undefined });
    const seen: string[] = [];
    e.add({ start: () => seen.push('start'), stop: () => seen.push('stop') });
    await e.start();
    assert.equal(e.isLeader, true);
    const off = e.add({ start: () => seen.push('late'), stop: () => seen.push('late-stop') });
    off();
    await e.close();
    assert.deepEqual(seen, ['start', 'late', 'late-stop', 'stop']);
  });

  it('one of two nodes leads; when its connection breaks or goes silent it stops its duties and the other takes over', async () => {
    const server = new TestServer();
    const lockA = new TestLock('a', server);
    const lockB = new TestLock('b', server);
    const seen: string[] = [];
    const a = new LeaderElection({ lock: lockA, retryMs: 5, log: () => undefined });
    const b = new LeaderElection({ lock: lockB, retryMs: 5, log: () => undefined });
    a.add({ start: () => seen.push('a+'), stop: () => seen.push('a-') });
    b.add({ start: () => seen.push('b+'), stop: () => seen.push('b-') });
    await a.start();
    await b.start();
    assert.deepEqual([a.isLeader, b.isLeader], [true, false]);
    lockA.breakConnection();
    assert.equal(a.isLeader, false, 'leadership ends the moment the connection breaks');
    await until(() => b.isLeader);
    assert.deepEqual(seen, ['a+', 'a-', 'b+']);
    lockB.goSilent();
    await until(() => !b.isLeader);
    assert.deepEqual(seen, ['a+', 'a-', 'b+', 'b-']);
    await a.close();
    await b.close();
  });
});
