/**
 * Durable timers: rows in the store, ONE in-memory setTimeout for the earliest due time (re-armed
 * when an earlier timer is written; never a polling loop). When it fires, due timers are leased
 * to this node in batches and turned into `FireTimer` commands.
 */
import { CommandRejected } from '../core/errors.js';
import type { Command } from '../core/types.js';
import { TERMINAL_STATUSES } from '../core/types.js';
import type { Store, TimerRow } from '../store/types.js';

const MAX_DELAY = 2_147_483_647; // setTimeout's limit (~24.8 days): longer waits re-arm on the way
const BATCH = 500;

export interface TimerServiceOptions {
  store: Store;
  nodeId: string;
  clock: () => number;
  /** Timer leases: a timer whose FireTimer was not committed becomes due again after this. */
  leaseMs: number;
  submit: (command: Command) => Promise<unknown>;
  /** Several nodes share the store, so this node's cached states may be behind (PostgreSQL). */
  clustered?: boolean;
  log: (level: 'debug' | 'info' | 'warn' | 'error', message: string, fields?: Record<string, unknown>) => void;
}

export class TimerService {
  private handle?: NodeJS.Timeout;
  private armedFor?: number;
  private firing = false;
  private again = false;
  private closed = false;

  constructor(private readonly o: TimerServiceOptions) {}

  /** Arms for the earliest timer in the store (recovery: overdue ones fire at once). */
  async start(): Promise<void> {
    await this.rearm();
  }

  /** A timer due at `dueAt` was committed. */
  note(dueAt: number): void {
    if (this.closed) return;
    if (this.firing && dueAt <= this.o.clock()) { this.again = true; return; }
    this.armAt(dueAt);
  }

  /**
   * Looks for due timers now (the cluster's slow fallback: timers whose lease ran out on a node
   * that died, notices missed while the listener was away).
   */
  poll(): void {
    if (this.closed || this.firing) return;
    if (this.handle) clearTimeout(this.handle);
    this.handle = undefined;
    this.armedFor = undefined;
    void this.fire();
  }

  /** Arms the one timeout for `dueAt` unless it is already armed for an earlier time. */
  private armAt(dueAt: number): void {
    if (this.closed) return;
    if (this.armedFor !== undefined && this.armedFor <= dueAt) return;
    if (this.handle) clearTimeout(this.handle);
    this.armedFor = dueAt;
    const delay = Math.min(MAX_DELAY, Math.max(0, dueAt - this.o.clock()));
    this.handle = setTimeout(() => void this.fire(), delay);
  }

  private async fire(): Promise<void> {
    this.handle = undefined;
    this.armedFor = undefined;
    if (this.closed) return;
    if (this.firing) { this.again = true; return; }
    this.firing = true;
    try {
      do {
        this.again = false;
        let due: TimerRow[];
        do {
          due = await this.o.store.dueTimers({ now: this.o.clock(), limit: BATCH, owner: this.o.nodeId, leaseMs: this.o.leaseMs });
          if (this.closed) return;
          for (const t of due) this.fireOne(t);
        } while (due.length === BATCH && !this.closed);
      } while (this.again && !this.closed);
    } catch (err) {
      this.o.log('error', 'reading due timers failed', { error: String(err) });
      this.armAt(this.o.clock() + 1000);
    } finally {
      this.firing = false;
    }
    await this.rearm();
  }

  private fireOne(t: TimerRow): void {
    const command: Command = { type: 'FireTimer', instanceId: t.instanceId, timerId: t.timerId, by: 'timer' };
    this.o.submit(command).catch((err) => {
      if (this.closed) return;
      if (err instanceof CommandRejected && (err.code === 'not_found' || err.code === 'stale' || err.code === 'invalid_state')) {
        // The instance no longer knows this timer (or is gone): the row is an orphan. The commit
        // queue re-checked the rejection against the store's latest state; still, delete only the
        // row we fired — a timer with the same id set again meanwhile (the next retry of a task)
        // has another due time and must stay.
        this.o.log('debug', 'dropping a timer the instance no longer has', { instanceId: t.instanceId, timerId: t.timerId, reason: err.message });
        void this.dropOrphan(t);
        return;
      }
      // Not committed: the timer's lease expires and it becomes due again.
      this.o.log('warn', 'firing a timer failed; it will be retried', { instanceId: t.instanceId, timerId: t.timerId, error: String(err) });
      this.armAt(this.o.clock() + this.o.leaseMs + 10);
    });
  }

  private async dropOrphan(t: TimerRow): Promise<void> {
    try {
      if (this.o.clustered) {
        // Several nodes: the rejection may come from a state that another node's commit has
        // already overtaken, and a deleted timer is lost for good (the kill test caught timers
        // vanishing). Only an ended instance (or none) proves the row useless; otherwise the row
        // stays leased to us, its lease runs out and it fires again (the fallback poll finds it).
        const instance = await this.o.store.getInstance(t.instanceId);
        if (instance && !TERMINAL_STATUSES.has(instance.status)) {
          this.o.log('info', 'a timer was refused; it fires again once its lease runs out', { instanceId: t.instanceId, timerId: t.timerId });
          return;
        }
      }
      const now = (await this.o.store.listTimers(t.instanceId)).find((x) => x.timerId === t.timerId);
      if (now && now.dueAt === t.dueAt) await this.o.store.deleteTimers([{ instanceId: t.instanceId, timerId: t.timerId }]);
    } catch { /* left for the next firing */ }
  }

  private async rearm(): Promise<void> {
    if (this.closed) return;
    try {
      const next = await this.o.store.nextTimerDue();
      if (next !== undefined) this.armAt(next);
    } catch (err) {
      this.o.log('error', 'reading the next timer failed', { error: String(err) });
    }
  }

  close(): void {
    this.closed = true;
    if (this.handle) clearTimeout(this.handle);
    this.handle = undefined;
  }
}
