/** `/healthz` (the process answers) and `/readyz` (the engine takes work). */
import type { FastifyPluginAsync } from 'fastify';
import type { ApiContext } from '../server.js';

export function healthRoutes(ctx: ApiContext): FastifyPluginAsync {
  return async (app) => {
    const schema = { tags: ['health'], response: { 200: { type: 'object', properties: { status: { type: 'string' } } } } };
    app.get('/healthz', { schema, config: { action: 'system.health', resource: 'system' } }, async () => ({ status: 'ok' }));
    app.get('/readyz', { schema: { ...schema, response: { ...schema.response, 503: { $ref: 'Error#' } } }, config: { action: 'system.ready', resource: 'system' } }, async (_req, reply) => {
      if (ctx.closing.value) return reply.status(503).send({ error: 'unavailable', message: 'server is shutting down' });
      try {
        await ctx.engine.listDefinitions();
      } catch (err) {
        return reply.status(503).send({ error: 'unavailable', message: `store not ready: ${String(err)}` });
      }
      return { status: 'ready' };
    });
  };
}
