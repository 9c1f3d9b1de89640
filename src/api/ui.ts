/**
 * Serves the web UI (SPEC C6): the static build of `ui/` (Vite → dist/ui) at `/`. Routes inside the
 * app are hash routes, so the server needs no fallback and unknown paths stay JSON 404s.
 * Without a build (running from sources before `npm run build`), `/` says how to build it.
 */
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { FastifyInstance } from 'fastify';
import fastifyStatic from '@fastify/static';

/** dist/ui at the package root: the same path from src/api (sources) and dist/api (build). */
export const UI_DIR = fileURLToPath(new URL('../../dist/ui/', import.meta.url));

export async function registerUi(app: FastifyInstance, dir = UI_DIR): Promise<void> {
  if (!existsSync(`${dir}index.html`)) {
    app.get('/', { schema: { hide: true } }, async (_req, reply) => reply.type('text/html; charset=utf-8').send(
      '<!doctype html><title>Weft</title><h1>Weft</h1><p>The web UI is not built here. Run <code>npm run build</code> ' +
      '(or <code>npm run build:ui</code>) and restart the server. The API is at <a href="/api/v1/docs">/api/v1/docs</a>.</p>'));
    return;
  }
  // wildcard: false registers one route per built file (found at start), so every other path
  // keeps the API's JSON 404.
  await app.register(fastifyStatic, { root: dir, prefix: '/', wildcard: false, index: ['index.html'], cacheControl: false });
  app.addHook('onSend', async (req, reply, payload) => {
    // Hashed assets are immutable; index.html must always be revalidated so a new build shows.
    if (req.url.startsWith('/assets/')) void reply.header('cache-control', 'public, max-age=31536000, immutable');
    else if (req.url === '/' || req.url === '/index.html') void reply.header('cache-control', 'no-cache');
    return payload;
  });
}
