/**
 * LISTEN on a dedicated connection: the wake-up path between nodes (no polling on the hot path).
 * When the connection breaks it reconnects with back-off and, once listening again, calls
 * `onReconnect` — notices sent while it was away are lost, so the engine re-polls once then.
 */
import type pg from 'pg';
import { endQuietly, openDedicatedConnection } from './pg-connection.js';

export interface ListenerOptions {
  url: string;
  channel: string;
  onMessage: (payload: string) => void;
  /** Listening again after a break (not called for the first connection). */
  onReconnect: () => void;
  log: (level: 'debug' | 'info' | 'warn' | 'error', message: string, fields?: Record<string, unknown>) => void;
  /** First reconnect delay, ms (doubles up to 5 s). */
  retryMs?: number;
}

export class NotificationListener {
  private client?: pg.Client;
  private closed = false;
  private connecting?: Promise<void>;
  private retryTimer?: NodeJS.Timeout;
  private failures = 0;
  private everConnected = false;

  constructor(private readonly o: ListenerOptions) {
    if (!/^[a-z_][a-z0-9_]*$/.test(o.channel)) throw new Error(`invalid channel name "${o.channel}"`);
  }

  /** Connects and listens; resolves once listening (rejects if the first attempt fails). */
  async start(): Promise<void> {
    await this.connect();
  }

  get listening(): boolean {
    return this.client !== undefined;
  }

  /**
   * Probes the connection (the fallback poll calls it): a connection that cannot answer is
   * dropped and re-opened, so a silently cut network does not leave the node deaf.
   */
  async check(): Promise<void> {
    const c = this.client;
    if (!c) { if (!this.connecting && !this.retryTimer) this.reconnectSoon(); return; }
    try {
      await c.query('SELECT 1');
    } catch (err) {
      this.lost(c, err as Error);
    }
  }

  async close(): Promise<void> {
    this.closed = true;
    if (this.retryTimer) clearTimeout(this.retryTimer);
    await this.connecting?.catch(() => undefined);
    const c = this.client;
    this.client = undefined;
    await endQuietly(c);
  }

  private connect(): Promise<void> {
    this.connecting ??= (async () => {
      let client: pg.Client | undefined;
      try {
        client = await openDedicatedConnection({
          url: this.o.url, applicationName: 'weft-listen', onLost: (err) => this.lost(client!, err),
        });
        client.on('notification', (m) => { if (m.channel === this.o.channel && m.payload !== undefined) this.o.onMessage(m.payload); });
        await client.query(`LISTEN ${this.o.channel}`);
      } catch (err) {
        await endQuietly(client);
        throw err;
      }
      if (this.closed) { await endQuietly(client); return; }
      this.client = client;
      this.failures = 0;
      if (this.everConnected) {
        this.o.log('info', 'notification listener reconnected');
        this.o.onReconnect();
      }
      this.everConnected = true;
    })().finally(() => { this.connecting = undefined; });
    return this.connecting;
  }

  private lost(client: pg.Client, err?: Error): void {
    if (this.client !== client) return;
    this.client = undefined;
    void endQuietly(client);
    if (this.closed) return;
    this.o.log('warn', 'notification listener lost its connection; reconnecting', { error: err ? String(err) : 'connection ended' });
    this.reconnectSoon();
  }

  private reconnectSoon(): void {
    if (this.closed || this.retryTimer) return;
    const delay = Math.min(5_000, (this.o.retryMs ?? 250) * 2 ** Math.min(this.failures, 5));
    this.retryTimer = setTimeout(() => {
      this.retryTimer = undefined;
      this.connect().catch((err) => {
        this.failures++;
        this.o.log('debug', 'notification listener could not reconnect yet', { error: String(err) });
        this.reconnectSoon();
      });
    }, delay);
    this.retryTimer.unref();
  }
}
