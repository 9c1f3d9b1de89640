/**
 * Bounded LRU of instance states by id (SPEC: a waiting instance costs no memory beyond this
 * bound). A miss is rebuilt from the latest snapshot plus the events after it.
 */
import type { CompiledDefinition } from '../core/compiled.js';
import type { InstanceState } from '../core/types.js';

export interface CachedInstance {
  state: InstanceState;
  compiled: CompiledDefinition;
}

export class InstanceCache {
  private readonly map = new Map<string, CachedInstance>();

  private readonly pressure: number;

  constructor(readonly capacity: number) {
    this.pressure = Math.floor(capacity * 0.9);
  }

  get size(): number { return this.map.size; }

  get(id: string): CachedInstance | undefined {
    const hit = this.map.get(id);
    if (hit && this.map.size >= this.pressure) {
      // Refresh recency: Map keeps insertion order, the first key is the least recently used.
      // Only worth its cost once evictions are near (on the hot path every command does a get).
      this.map.delete(id);
      this.map.set(id, hit);
    }
    return hit;
  }

  peek(id: string): CachedInstance | undefined {
    return this.map.get(id);
  }

  set(id: string, entry: CachedInstance): void {
    if (this.map.size >= this.pressure) this.map.delete(id);
    this.map.set(id, entry);
    if (this.map.size > this.capacity) {
      const excess = this.map.size - this.capacity;
      const it = this.map.keys();
      for (let i = 0; i < excess; i++) this.map.delete(it.next().value as string);
    }
  }

  delete(id: string): void {
    this.map.delete(id);
  }

  clear(): void {
    this.map.clear();
  }
}
