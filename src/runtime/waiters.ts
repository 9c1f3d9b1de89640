/** `waitUntil`: promises resolved from committed batches, never by polling. */
import type { InstanceState } from '../core/types.js';

interface Waiter {
  predicate: (state: InstanceState) => boolean;
  resolve: (state: InstanceState) => void;
  reject: (err: unknown) => void;
  timer?: NodeJS.Timeout;
}

export class WaitTimeoutError extends Error {
  readonly code = 'timeout';
  constructor(instanceId: string, timeoutMs: number) {
    super(`instance ${instanceId}: condition not reached within ${timeoutMs} ms`);
    this.name = 'WaitTimeoutError';
  }
}

export class Waiters {
  private readonly byInstance = new Map<string, Set<Waiter>>();

  add(instanceId: string, predicate: (s: InstanceState) => boolean, timeoutMs?: number): {
    promise: Promise<InstanceState>;
    check: (s: InstanceState) => void;
    cancel: () => void;
  } {
    let waiter!: Waiter;
    const promise = new Promise<InstanceState>((resolve, reject) => { waiter = { predicate, resolve, reject }; });
    let set = this.byInstance.get(instanceId);
    if (!set) this.byInstance.set(instanceId, (set = new Set()));
    set.add(waiter);
    if (timeoutMs !== undefined) {
      waiter.timer = setTimeout(() => {
        this.remove(instanceId, waiter);
        waiter.reject(new WaitTimeoutError(instanceId, timeoutMs));
      }, timeoutMs);
    }
    promise.catch(() => undefined); // a cancelled waiter's promise is never awaited
    return { promise, check: (s) => this.test(instanceId, waiter, s), cancel: () => this.remove(instanceId, waiter) };
  }

  /** Called with every committed state of an instance. */
  notify(instanceId: string, state: InstanceState): void {
    const set = this.byInstance.get(instanceId);
    if (!set) return;
    for (const w of set) this.test(instanceId, w, state);
  }

  /** Rejects every waiter (engine closing). */
  rejectAll(err: Error): void {
    for (const [id, set] of this.byInstance) for (const w of set) { this.remove(id, w); w.reject(err); }
  }

  private test(instanceId: string, w: Waiter, state: InstanceState): void {
    let ok: boolean;
    try {
      ok = w.predicate(state);
    } catch (err) {
      this.remove(instanceId, w);
      w.reject(err);
      return;
    }
    if (ok) {
      this.remove(instanceId, w);
      w.resolve(JSON.parse(JSON.stringify(state)) as InstanceState); // a copy, as a reload would give (faster than structuredClone here)
    }
  }

  private remove(instanceId: string, w: Waiter): void {
    if (w.timer) clearTimeout(w.timer);
    const set = this.byInstance.get(instanceId);
    if (!set) return;
    set.delete(w);
    if (set.size === 0) this.byInstance.delete(instanceId);
  }
}
