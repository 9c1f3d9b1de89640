/**
 * A TCP proxy a test controls, to cut one process off from a server (PostgreSQL) and reconnect
 * it later. Every accepted connection is piped to the target; `cut()` destroys every live
 * connection (both sides see the socket close, as after a network failure or a server-side kill)
 * and, until `restore()`, destroys each new connection as soon as it is accepted, so clients see
 * "connection terminated" at once instead of hanging.
 *
 *   const proxy = await TcpProxy.start({ host: '127.0.0.1', port: 5432 });
 *   proxy.port;        // point the client at 127.0.0.1:<port>
 *   proxy.cut();       // partition
 *   proxy.restore();   // heal
 *   await proxy.close();
 */
import { createConnection, createServer, type Server, type Socket } from 'node:net';

export interface ProxyTarget {
  host: string;
  port: number;
}

export interface ProxyStats {
  /** Connections accepted and forwarded. */
  forwarded: number;
  /** Connections destroyed by `cut()` or refused while cut. */
  dropped: number;
  /** Connections open now (client side). */
  open: number;
}

export class TcpProxy {
  /** Open connections: client socket → its upstream socket. */
  private readonly live = new Map<Socket, Socket>();
  private isCut = false;
  private readonly counts = { forwarded: 0, dropped: 0 };

  private constructor(private readonly server: Server, readonly target: ProxyTarget, readonly port: number) {}

  /** Listens on 127.0.0.1 (`listenPort`, default any free port) and forwards to `target`. */
  static async start(target: ProxyTarget, listenPort = 0): Promise<TcpProxy> {
    if (typeof target?.host !== 'string' || target.host === '') throw new TypeError(`TcpProxy: target.host must be a host name, got ${JSON.stringify(target?.host)}`);
    if (!Number.isInteger(target.port) || target.port < 1 || target.port > 65535) throw new TypeError(`TcpProxy: target.port must be an integer 1-65535, got ${JSON.stringify(target.port)}`);
    if (!Number.isInteger(listenPort) || listenPort < 0 || listenPort > 65535) throw new TypeError(`TcpProxy: listenPort must be an integer 0-65535, got ${JSON.stringify(listenPort)}`);
    let proxy: TcpProxy | undefined;
    const server = createServer((client) => proxy!.accept(client));
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(listenPort, '127.0.0.1', () => { server.off('error', reject); resolve(); });
    });
    const addr = server.address();
    if (addr === null || typeof addr !== 'object') throw new Error('TcpProxy: no listening address');
    proxy = new TcpProxy(server, { ...target }, addr.port);
    return proxy;
  }

  /** `url` (e.g. `postgres://u@host:5432/db`) with host and port replaced by this proxy's. */
  rewrite(url: string): string {
    const u = new URL(url);
    u.hostname = '127.0.0.1';
    u.port = String(this.port);
    return u.toString();
  }

  get cutOff(): boolean { return this.isCut; }

  stats(): ProxyStats {
    return { ...this.counts, open: this.live.size };
  }

  /** Drops every live connection and refuses new ones until `restore()`. */
  cut(): void {
    this.isCut = true;
    for (const [client, upstream] of this.live) {
      this.counts.dropped++;
      client.destroy();
      upstream.destroy();
    }
    this.live.clear();
  }

  restore(): void {
    this.isCut = false;
  }

  async close(): Promise<void> {
    this.cut();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private accept(client: Socket): void {
    if (this.isCut) {
      this.counts.dropped++;
      client.destroy();
      return;
    }
    this.counts.forwarded++;
    const upstream = createConnection({ host: this.target.host, port: this.target.port });
    this.live.set(client, upstream);
    // An error on either side destroys both (as a broken network would). A side that closes
    // cleanly ends the other after the bytes in flight are written (pipe's own end), so a server's
    // last message (e.g. PostgreSQL's "too many clients") still reaches the client.
    const broken = () => {
      this.live.delete(client);
      client.destroy();
      upstream.destroy();
    };
    client.on('error', broken).on('close', () => { this.live.delete(client); upstream.end(); });
    upstream.on('error', broken).on('close', () => client.end());
    client.pipe(upstream);
    upstream.pipe(client);
  }
}
