/**
 * Remote workers over HTTP (long-poll) and the view of workers and queues. A worker polls with its
 * activities and free capacity, receives tasks with lease tokens, heartbeats (the answer carries
 * cancellation), and completes or fails with the token; a stale token gets 409 `stale`.
 *
 * Namespaces: a worker serves the caller's namespace only (it is offered tasks of that namespace's
 * instances); worker ids are per namespace; `GET /workers` and `GET /queues` show the caller's.
 */
import type { FastifyPluginAsync } from 'fastify';
import { ErrorInfoSchema, errorResponses } from '../schemas.js';
import type { ApiContext } from '../server.js';

const workerParams = { type: 'object', required: ['id'], additionalProperties: false, properties: { id: { type: 'string', minLength: 1, maxLength: 200 } } } as const;
const taskRef = {
  instanceId: { type: 'string', minLength: 1 }, taskId: { type: 'string', minLength: 1 }, token: { type: 'string', minLength: 1 },
} as const;
export const REMOTE_TASK_SCHEMA = { type: 'object', additionalProperties: true } as const;

export function workerRoutes(ctx: ApiContext): FastifyPluginAsync {
  const remote = ctx.engine.remote;
  return async (app) => {
    app.get('/workers', {
      schema: { tags: ['workers'], summary: 'Connected workers', response: { 200: { type: 'object', properties: { items: { type: 'array', items: { type: 'object', additionalProperties: true } } } } } },
      config: { action: 'worker.list', resource: 'worker' },
    }, async (req) => ({ items: remote.listWorkers(req.caller.namespace) }));

    app.get('/queues', {
      schema: { tags: ['workers'], summary: 'Tasks queued and leased, per activity and queue', response: { 200: { type: 'object', properties: { items: { type: 'array', items: { type: 'object', additionalProperties: true } } } } } },
      config: { action: 'queue.list', resource: 'queue' },
    }, async (req) => ({ items: await remote.listQueues(req.caller.namespace) }));

    app.post('/workers/:id/poll', {
      schema: {
        tags: ['workers'], summary: 'Long-poll for tasks (declares activities and capacity)', params: workerParams,
        body: {
          type: 'object', required: ['activities'], additionalProperties: false,
          properties: {
            activities: { type: 'array', items: { type: 'string', minLength: 1 }, maxItems: 1000 },
            capacity: { type: 'integer', minimum: 1, maximum: 100000 },
            max: { type: 'integer', minimum: 0, maximum: 1000, default: 1, description: 'most tasks to return (free capacity)' },
            queues: { type: 'array', items: { type: ['string', 'null'] } },
            waitMs: { type: 'integer', minimum: 0, maximum: 60000, default: 20000 },
          },
        },
        response: { 200: { type: 'object', properties: { tasks: { type: 'array', items: REMOTE_TASK_SCHEMA } } }, ...errorResponses(400) },
      },
      config: { action: 'worker.poll', resource: 'worker' },
    }, async (req, reply) => {
      const { id } = req.params as { id: string };
      const b = req.body as { activities: string[]; capacity?: number; max: number; queues?: Array<string | null>; waitMs: number };
      const abort = new AbortController();
      // The response's 'close' (not the request's, which fires once the body is read) tells that
      // the worker went away mid-poll: stop waiting so a dead worker's poll claims nothing.
      const onClose = () => { if (!reply.raw.writableEnded) abort.abort(); };
      reply.raw.on('close', onClose);
      try {
        const tasks = await remote.claim({
          workerId: id, activities: b.activities, transport: 'http', namespace: req.caller.namespace,
          ...(b.capacity !== undefined && { capacity: b.capacity }), ...(b.queues && { queues: b.queues }),
        }, b.max, ctx.closing.value ? 0 : b.waitMs, abort.signal);
        if (abort.signal.aborted && tasks.length > 0) {
          // Nobody to hand them to: the leases run out and the tasks are retried.
        }
        return { tasks };
      } finally {
        reply.raw.off('close', onClose);
      }
    });

    app.post('/workers/:id/heartbeat', {
      schema: {
        tags: ['workers'], summary: 'Renew leases; the answer says which tasks to abandon (cancelled or lost)', params: workerParams,
        body: {
          type: 'object', required: ['tasks'], additionalProperties: false,
          properties: { tasks: { type: 'array', maxItems: 10000, items: { type: 'object', required: ['instanceId', 'taskId', 'token'], additionalProperties: false, properties: { ...taskRef, details: {} } } } },
        },
        response: { 200: { type: 'object', properties: { tasks: { type: 'array', items: { type: 'object', additionalProperties: true } } } }, ...errorResponses(400) },
      },
      config: { action: 'worker.heartbeat', resource: 'worker' },
    }, async (req) => {
      const { id } = req.params as { id: string };
      const b = req.body as { tasks: Array<{ instanceId: string; taskId: string; token: string; details?: unknown }> };
      return { tasks: await remote.heartbeat(id, b.tasks, req.caller.namespace) };
    });

    app.post('/workers/:id/complete', {
      schema: {
        tags: ['workers'], summary: 'Record a task result (409 `stale` if the lease was lost)', params: workerParams,
        body: { type: 'object', required: ['instanceId', 'taskId', 'token', 'attempt'], additionalProperties: false, properties: { ...taskRef, attempt: { type: 'integer', minimum: 1 }, output: {} } },
        response: { 200: { type: 'object', properties: { ok: { type: 'boolean' } } }, ...errorResponses(400, 404, 409, 413) },
      },
      config: { action: 'worker.complete', resource: 'worker' },
    }, async (req) => {
      const { id } = req.params as { id: string };
      const b = req.body as { instanceId: string; taskId: string; token: string; attempt: number; output?: unknown };
      await remote.complete(id, b, req.caller.namespace);
      return { ok: true };
    });

    app.post('/workers/:id/fail', {
      schema: {
        tags: ['workers'], summary: 'Record a task failure (retried by policy; 409 `stale` if the lease was lost)', params: workerParams,
        body: { type: 'object', required: ['instanceId', 'taskId', 'token', 'attempt', 'error'], additionalProperties: false, properties: { ...taskRef, attempt: { type: 'integer', minimum: 1 }, error: ErrorInfoSchema } },
        response: { 200: { type: 'object', properties: { ok: { type: 'boolean' } } }, ...errorResponses(400, 404, 409) },
      },
      config: { action: 'worker.fail', resource: 'worker' },
    }, async (req) => {
      const { id } = req.params as { id: string };
      const b = req.body as { instanceId: string; taskId: string; token: string; attempt: number; error: { code: string; message: string; nonRetryable?: boolean; details?: unknown } };
      await remote.fail(id, b, req.caller.namespace);
      return { ok: true };
    });

    app.delete('/workers/:id', {
      schema: { tags: ['workers'], summary: 'A worker leaves (its leases run out and its tasks are retried)', params: workerParams, response: { 204: { type: 'null', description: 'left' } } },
      config: { action: 'worker.leave', resource: 'worker' },
    }, async (req, reply) => {
      remote.unregister((req.params as { id: string }).id, req.caller.namespace);
      return reply.status(204).send();
    });
  };
}
