/**
 * Keeping this node's view current when OTHER nodes commit. Correctness never depends on it —
 * a command evaluated against a stale cached state fails its optimistic seq check and is re-run
 * on a fresh load — but reads must not stay stale: on a commit notice the cached state is
 * dropped (or advanced by folding the new events onto it), `waitUntil` waiters of the instance
 * are re-checked, and `committed` batches are emitted for the engine's listeners (the
 * WebSocket). Reading the new events costs a query, so it happens only when someone waits or
 * listens; otherwise a notice costs a map lookup.
 */
import { fold } from '../../core/engine.js';
import type { EngineEvent, InstanceState } from '../../core/types.js';
import type { Store } from '../../store/types.js';
import type { CachedInstance, InstanceCache } from '../instance-cache.js';

export interface CoherenceHost {
  store: Store;
  cache: InstanceCache;
  /** Resolves once the instance has no uncommitted changes of this node in memory. */
  settled(instanceId: string): Promise<void>;
  isDirty(instanceId: string): boolean;
  /** Loads through the cache (fills it). */
  load(instanceId: string): Promise<CachedInstance | undefined>;
  /** Someone on this node waits on the instance (`waitUntil`). */
  watched(instanceId: string): boolean;
  /** Ids of every instance waited on (re-checked after a reconnect). */
  watchedIds(): Iterable<string>;
  /** Listeners of `committed` exist. */
  listening(): boolean;
  deliver(instanceId: string, events: EngineEvent[], state: InstanceState): void;
  notifyWaiters(instanceId: string, state: InstanceState): void;
  log: (level: 'debug' | 'info' | 'warn' | 'error', message: string, fields?: Record<string, unknown>) => void;
}

export class Coherence {
  /** Notices are applied one after another, so `committed` batches of an instance stay in seq order. */
  private chain: Promise<void> = Promise.resolve();

  constructor(private readonly h: CoherenceHost) {}

  /** Another node committed `[instance, first seq, last seq]` entries. */
  commits(entries: Array<[string, number, number]>): void {
    const wanted: Array<[string, number, number]> = [];
    for (const e of entries) {
      const [id, , to] = e;
      const cached = this.h.cache.peek(id);
      if (cached && cached.state.seq >= to) continue; // we already read past it
      const interested = this.h.watched(id) || this.h.listening();
      // No one waits: just forget the stale state (the next use reloads it). A flush of ours in
      // progress keeps its own copy and will fail its seq check and reload.
      if (!interested) { if (cached && !this.h.isDirty(id)) this.h.cache.delete(id); continue; }
      wanted.push(e);
    }
    if (wanted.length === 0) return;
    this.chain = this.chain.then(() => this.refresh(wanted)).catch((err) => {
      this.h.log('warn', 'could not refresh instances committed by another node', { error: String(err) });
    });
  }

  /** Notices may have been missed (the listener reconnected): forget every cached state and re-check waiters. */
  missed(): void {
    this.h.cache.clear();
    const ids = [...this.h.watchedIds()];
    this.chain = this.chain.then(async () => {
      for (const id of ids) {
        const entry = await this.h.load(id);
        if (entry) this.h.notifyWaiters(id, entry.state);
      }
    }).catch((err) => this.h.log('warn', 'could not re-check waiters after a reconnect', { error: String(err) }));
  }

  /** Resolves when every notice received so far has been applied (tests). */
  idle(): Promise<void> {
    return this.chain;
  }

  private async refresh(entries: Array<[string, number, number]>): Promise<void> {
    for (const [id, from, to] of entries) {
      await this.h.settled(id);
      const listening = this.h.listening();
      const cached = this.h.cache.peek(id);
      if (cached && cached.state.seq >= to) continue;
      const events = listening || (cached && cached.state.seq === from - 1)
        ? await this.h.store.readEvents(id, { fromSeq: from, toSeq: to })
        : undefined;
      let state: InstanceState | undefined;
      const again = this.h.cache.peek(id);
      if (events && again && !this.h.isDirty(id) && again.state.seq === from - 1 && contiguous(events, from, to)) {
        // The cached state is exactly one commit behind: advance it instead of reloading.
        state = fold(events, again.state) ?? undefined;
        if (state) this.h.cache.set(id, { state, compiled: again.compiled });
      }
      if (!state) {
        if (!this.h.isDirty(id)) this.h.cache.delete(id);
        state = (await this.h.load(id))?.state;
      }
      if (!state) continue;
      if (listening && events && events.length > 0) this.h.deliver(id, events, state);
      this.h.notifyWaiters(id, state);
    }
  }
}

function contiguous(events: EngineEvent[], from: number, to: number): boolean {
  if (events.length !== to - from + 1) return false;
  for (let i = 0; i < events.length; i++) if (events[i].seq !== from + i) return false;
  return true;
}
