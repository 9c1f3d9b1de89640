/** Cache misses: latest snapshot + events after it, folded; concurrent loads of one id share a read. */
import { fold } from '../core/engine.js';
import type { Store } from '../store/types.js';
import type { Definitions } from './definitions.js';
import type { CachedInstance, InstanceCache } from './instance-cache.js';

export class InstanceLoader {
  private readonly loading = new Map<string, Promise<CachedInstance | undefined>>();

  constructor(private readonly store: Store, private readonly cache: InstanceCache, private readonly definitions: Definitions) {}

  async load(id: string): Promise<CachedInstance | undefined> {
    const hit = this.cache.get(id);
    if (hit) return hit;
    let pending = this.loading.get(id);
    if (!pending) {
      pending = this.read(id).finally(() => this.loading.delete(id));
      this.loading.set(id, pending);
    }
    return pending;
  }

  private async read(id: string): Promise<CachedInstance | undefined> {
    const log = await this.store.loadInstance(id);
    if (!log) return undefined;
    const compiled = await this.definitions.get(log.instance.definitionId, log.instance.definitionVersion);
    const state = fold(log.events, log.snapshot?.state ?? null);
    if (!state) return undefined;
    // A flush may have cached (and advanced) this instance while we read: its copy wins.
    const again = this.cache.get(id);
    if (again) return again;
    const entry = { state, compiled };
    this.cache.set(id, entry);
    return entry;
  }
}
