/**
 * This process as a node of the cluster: a row in `nodes` (id, host, pid, capabilities = the
 * activities it runs, capacity = its concurrency) whose heartbeat moves every `heartbeatMs`.
 * When the leader has marked it dead (it was silent past the dead-after bound, e.g. a long GC
 * pause or a cut network) its leases were released and others took its work: it re-registers
 * and carries on; completions of work it no longer holds are refused by the lease tokens.
 */
import { hostname } from 'node:os';
import type { Store } from '../../store/types.js';

export interface NodeRegistryOptions {
  store: Store;
  nodeId: string;
  capabilities: () => string[];
  capacity: number;
  clock: () => number;
  heartbeatMs: number;
  log: (level: 'debug' | 'info' | 'warn' | 'error', message: string, fields?: Record<string, unknown>) => void;
  /** The node had been marked dead and registered again (its leases were taken over meanwhile). */
  onRevived?: () => void;
}

export class NodeRegistry {
  private timer?: NodeJS.Timeout;
  private beating?: Promise<void>;
  private closed = false;
  private readonly startedAt: number;
  private lastCapabilities = '';

  constructor(private readonly o: NodeRegistryOptions) {
    this.startedAt = o.clock();
  }

  async start(): Promise<void> {
    await this.register();
    this.timer = setInterval(() => { void this.heartbeatNow(); }, this.o.heartbeatMs);
    this.timer.unref();
  }

  /** Stops heartbeating and removes the row (a clean shutdown is not a death). */
  async close(): Promise<void> {
    this.closed = true;
    if (this.timer) clearInterval(this.timer);
    await this.beating;
    await this.o.store.removeNode(this.o.nodeId).catch((err) => this.o.log('warn', 'could not remove this node from the node list', { error: String(err) }));
  }

  private async register(): Promise<void> {
    const capabilities = this.o.capabilities();
    this.lastCapabilities = capabilities.join('\u0000');
    await this.o.store.registerNode({
      id: this.o.nodeId, host: hostname(), pid: process.pid, capabilities, capacity: this.o.capacity,
      startedAt: this.startedAt, heartbeatAt: this.o.clock(),
    });
  }

  /** Writes the heartbeat now (the leader does before sweeping); re-registers when marked dead. */
  heartbeatNow(): Promise<void> {
    this.beating ??= this.beat().finally(() => { this.beating = undefined; });
    return this.beating;
  }

  private async beat(): Promise<void> {
    if (this.closed) return;
    const capabilities = this.o.capabilities();
    const key = capabilities.join('\u0000');
    try {
      const alive = await this.o.store.heartbeatNode(this.o.nodeId, this.o.clock(), key !== this.lastCapabilities ? { capabilities } : {});
      this.lastCapabilities = key;
      if (alive || this.closed) return;
      this.o.log('warn', 'this node was marked dead by the leader (no heartbeat in time); its leases were released; registering again');
      await this.register();
      this.o.onRevived?.();
    } catch (err) {
      this.o.log('warn', 'node heartbeat failed', { error: String(err) });
    }
  }
}
