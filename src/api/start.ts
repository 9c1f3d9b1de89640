/**
 * `startServer`: opens an engine on a SQLite file (or takes one), builds the server, listens.
 * Used by `weft server` and by tests; `close()` stops the server, then the engine it opened.
 */
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import type { FastifyInstance } from 'fastify';
import type { Engine, EngineOptions } from '../runtime/api.js';
import { DEFAULT_DB, isPostgresUrl, openEngineWithStore, openStore, type EngineInternals } from '../runtime/engine.js';
import { buildServer, type ServerOptions } from './server.js';

export interface StartServerOptions extends Omit<ServerOptions, 'engine'> {
  /** An engine to serve (not closed by `close()`); otherwise one is opened on `db`. */
  engine?: Engine;
  db?: string;
  engineOptions?: Omit<EngineOptions, 'db'>;
  engineInternals?: EngineInternals;
  port?: number;
  host?: string;
}

export interface RunningServer {
  url: string;
  app: FastifyInstance;
  engine: Engine;
  close(): Promise<void>;
}

export async function startServer(o: StartServerOptions = {}): Promise<RunningServer> {
  let owned: Engine | undefined;
  let engine = o.engine;
  if (!engine) {
    const db = o.db ?? DEFAULT_DB;
    if (db !== ':memory:' && !/^[a-z][a-z0-9+.-]*:\/\//i.test(db)) mkdirSync(dirname(db), { recursive: true });
    // A postgres:// URL opens the PostgreSQL store (a node of a cluster); anything else a SQLite file.
    const store = await openStore(db, isPostgresUrl(db) && o.engineOptions?.poolSize !== undefined ? { poolSize: o.engineOptions.poolSize } : {});
    engine = owned = await openEngineWithStore(store, o.engineOptions ?? {}, o.engineInternals ?? {});
  }
  let app: FastifyInstance;
  try {
    app = await buildServer({ ...o, engine });
    await app.listen({ port: o.port ?? 8080, host: o.host ?? '127.0.0.1' });
  } catch (err) {
    await owned?.close();
    throw err;
  }
  const addr = app.server.address();
  const port = typeof addr === 'object' && addr ? addr.port : o.port ?? 8080;
  const host = o.host ?? '127.0.0.1';
  const url = `http://${host.includes(':') ? `[${host}]` : host}:${port}`;
  let closing: Promise<void> | undefined;
  return {
    url, app, engine,
    close: () => (closing ??= (async () => {
      try { await app.close(); } finally { await owned?.close(); }
    })()),
  };
}
