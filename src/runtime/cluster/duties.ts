/**
 * The leader's periodic duties. Each is a `LeaderDuty` (started when this node becomes leader,
 * stopped when it stops) running one pass at a time on an interval.
 */
import type { Store } from '../../store/types.js';
import type { LeaderDuty } from './leader.js';

type Log = (level: 'debug' | 'info' | 'warn' | 'error', message: string, fields?: Record<string, unknown>) => void;

/** Runs `pass` every `everyMs` while started (never two passes at once). */
export class PeriodicDuty implements LeaderDuty {
  private timer?: NodeJS.Timeout;
  private running?: Promise<void>;

  constructor(readonly name: string, private readonly everyMs: number, private readonly pass: () => Promise<void>, private readonly log: Log) {}

  start(): void {
    if (this.timer) return;
    this.timer = setInterval(() => this.runOnce(), this.everyMs);
    this.timer.unref();
    this.runOnce();
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
  }

  /** Resolves when no pass is running (for close and tests). */
  async idle(): Promise<void> {
    await this.running;
  }

  private runOnce(): void {
    if (this.running) return;
    this.running = this.pass().catch((err) => this.log('warn', `${this.name} failed; will retry`, { error: String(err) })).finally(() => { this.running = undefined; });
  }
}

export interface SweepOptions {
  store: Store;
  clock: () => number;
  /** The sweeping node (the leader): it is evidently alive, whatever its last heartbeat says. */
  self: string;
  /** Writes the sweeping node's own heartbeat first (its timer may have fired late under load). */
  heartbeat: () => Promise<void>;
  /** A node silent for longer than this is dead. */
  deadAfterMs: number;
  /** Dead rows are kept this long for the node list, then deleted (default 1 h). */
  forgetAfterMs?: number;
  /** Tells the other nodes that released work can be claimed now. */
  announce: () => Promise<void>;
  log: Log;
}

/** Marks silent nodes dead and releases their task and timer leases so others take them at once. */
export async function sweepDeadNodes(o: SweepOptions): Promise<string[]> {
  await o.heartbeat();
  const now = o.clock();
  const dead = await o.store.markDeadNodes(now - o.deadAfterMs, now);
  if (dead.includes(o.self)) o.log('warn', 'the leader found its own heartbeat stale (the process was starved); re-registering');
  let released = 0;
  for (const id of dead) released += await o.store.releaseLeases(id);
  if (dead.length > 0) {
    o.log('warn', 'nodes stopped heartbeating; their work was released', { nodes: dead, leases: released });
    await o.announce();
  }
  await o.store.forgetNodes(now - (o.forgetAfterMs ?? 3_600_000));
  return dead;
}

export interface RetentionOptions {
  store: Store;
  clock: () => number;
  /** Finished instances are deleted this long after they ended. */
  retentionMs: number;
  /** Instances per transaction (default 500). */
  batch?: number;
  log: Log;
}

/** Deletes finished instances past retention, a batch per transaction, until none is left. */
export async function purgeExpired(o: RetentionOptions): Promise<number> {
  const batch = o.batch ?? 500;
  const before = o.clock() - o.retentionMs;
  let total = 0;
  for (;;) {
    const { instances } = await o.store.purgeFinished(before, batch);
    total += instances;
    if (instances < batch) break;
  }
  if (total > 0) o.log('info', 'retention: deleted finished instances', { instances: total });
  return total;
}
