/**
 * External events: delivered to every instance waiting for the event with a matching correlation
 * key, and starting instances of definitions whose `eventHandlers` start on it — both only in the
 * caller's namespace (an event published in `billing` never reaches `default`'s instances).
 */
import type { FastifyPluginAsync } from 'fastify';
import { errorResponses } from '../schemas.js';
import type { ApiContext } from '../server.js';
import { runEventHandlers } from '../event-starts.js';

export function eventRoutes(ctx: ApiContext): FastifyPluginAsync {
  return async (app) => {
    app.post('/events', {
      schema: {
        tags: ['events'], summary: 'Publish an external event',
        body: {
          type: 'object', required: ['name'], additionalProperties: false,
          properties: { name: { type: 'string', minLength: 1 }, key: { description: 'correlation key matched against waits' }, payload: {} },
        },
        response: {
          202: {
            type: 'object',
            properties: {
              delivered: { type: 'integer', description: 'waiting instances the event was delivered to' },
              started: { type: 'array', items: { type: 'string' }, description: 'instances started by `eventHandlers: start`' },
              handled: {
                type: 'array', description: 'instances acted on by `eventHandlers` signal/pause/resume/cancel/terminate',
                items: { type: 'object', properties: { instanceId: { type: 'string' }, action: { type: 'string' } } },
              },
            },
          },
          ...errorResponses(400, 413, 415),
        },
      },
      config: { action: 'event.publish', resource: 'event' },
    }, async (req, reply) => {
      const b = req.body as { name: string; key?: unknown; payload?: unknown };
      const delivered = await ctx.engine.publishEvent(b.name, b.key, b.payload, { namespace: req.caller.namespace });
      const { started, handled } = await runEventHandlers(ctx.engine, b.name, b.key, b.payload, req.caller.namespace);
      return reply.status(202).send({ delivered, started, handled });
    });
  };
}
