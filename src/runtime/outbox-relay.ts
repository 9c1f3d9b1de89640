/**
 * Relays outbox rows to subscribers, then deletes them. Rows are written in the same transaction
 * as the events they describe; a crash before the delete means the next open relays them again
 * (at-least-once, in order). One relay runs at a time; pokes during a run schedule another pass.
 */
import type { Store } from '../store/types.js';
import { OUTBOX_TOPIC, type LifecycleMessage } from './lifecycle.js';

const PAGE = 200;
/**
 * Pokes within this window share one pass (one read and one delete for many flushes): measured,
 * relaying after every flush added ~0.35 ms to a 10-step workflow's latency.
 */
const COALESCE_MS = 10;

export class OutboxRelay {
  private lastId = 0;
  private running: Promise<void> | undefined;
  private again = false;
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly store: Store,
    private readonly deliver: (message: LifecycleMessage) => void,
    private readonly log: (level: 'warn', message: string, fields?: Record<string, unknown>) => void,
  ) {}

  /** Something was committed (or the engine opened): relay what is in the outbox, soon. */
  poke(): void {
    if (this.running) {
      this.again = true;
      return;
    }
    this.timer ??= setTimeout(() => this.runNow(), COALESCE_MS);
  }

  private runNow(): void {
    this.timer = undefined;
    if (this.running) {
      this.again = true;
      return;
    }
    this.running = this.drain().finally(() => {
      this.running = undefined;
    });
  }

  /** Relays what is pending now and resolves when no pass is running (for close). */
  async idle(): Promise<void> {
    if (this.timer) {
      clearTimeout(this.timer);
      this.runNow();
    }
    while (this.running) await this.running;
  }

  private async drain(): Promise<void> {
    do {
      this.again = false;
      try {
        for (;;) {
          const rows = await this.store.readOutbox(this.lastId, PAGE);
          if (rows.length === 0) break;
          for (const row of rows) {
            if (row.topic !== OUTBOX_TOPIC) continue;
            for (const m of row.payload as LifecycleMessage[]) this.deliver(m);
          }
          this.lastId = rows[rows.length - 1].id;
          await this.store.deleteOutbox(this.lastId);
        }
      } catch (err) {
        this.log('warn', 'outbox relay failed; will retry on the next commit', { error: String(err) });
        return;
      }
    } while (this.again);
  }
}
