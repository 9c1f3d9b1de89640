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

  constructor(readonly capacity: number) {}

  get size(): number { return this.map.size; }

  get(id: string): CachedInstance | undefined {
    const hit = this.map.get(id);
    if (hit) {
      // Refresh recency: Map keeps insertion order, the first key is the least recently used.
      this.map.delete(id);
      this.map.set(id, hit);
    }
    return hit;
  }

  peek(id: string): CachedInstance | undefined {
    return this.map.get(id);
  }

  set(id: string, entry: CachedInstance): void {
    this.map.delete(id);
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
