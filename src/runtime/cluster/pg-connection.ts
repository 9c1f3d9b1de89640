/**
 * A dedicated PostgreSQL connection outside the pool, for the two things that must live on one
 * session: LISTEN (notifications arrive on the session that listens) and the leader's advisory
 * lock (held by the session). Keepalives are short on both ends so that a cut network is noticed
 * in seconds rather than the operating system's default two hours: the client probes the socket,
 * and the server's `tcp_keepalives_*` for this session make PostgreSQL drop the session (and
 * with it a leader's lock) when the node is gone.
 */
import pg from 'pg';

export interface DedicatedConnectionOptions {
  url: string;
  applicationName: string;
  /** Called once when the connection breaks (error or end) after it was established. */
  onLost: (err?: Error) => void;
  /** Bound on connecting and on each query, ms (default 5,000). */
  timeoutMs?: number;
}

export async function openDedicatedConnection(o: DedicatedConnectionOptions): Promise<pg.Client> {
  const timeout = o.timeoutMs ?? 5_000;
  const client = new pg.Client({
    connectionString: o.url,
    application_name: o.applicationName,
    connectionTimeoutMillis: timeout,
    query_timeout: timeout,
    keepAlive: true,
    keepAliveInitialDelayMillis: 5_000,
  });
  let established = false;
  let reported = false;
  const lost = (err?: Error) => {
    if (!established || reported) return;
    reported = true;
    o.onLost(err);
  };
  client.on('error', (err) => lost(err));
  client.on('end', () => lost());
  try {
    await client.connect();
    await client.query('SET tcp_keepalives_idle = 5; SET tcp_keepalives_interval = 2; SET tcp_keepalives_count = 3');
  } catch (err) {
    await client.end().catch(() => undefined);
    throw err;
  }
  established = true;
  return client;
}

/** Ends a client without waiting on a dead network for long. */
export async function endQuietly(client: pg.Client | undefined): Promise<void> {
  if (!client) return;
  await Promise.race([client.end().catch(() => undefined), new Promise((r) => setTimeout(r, 1_000).unref())]);
}
