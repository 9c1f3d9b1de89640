/**
 * The engine nodes sharing the database (issue 4): every `weft server` process registers and
 * heartbeats; the leader marks silent ones dead and releases their work. Read-only. Nodes are
 * cluster-wide, not per namespace.
 */
import type { FastifyPluginAsync } from 'fastify';
import type { ApiContext } from '../server.js';

export const NODE_SCHEMA = {
  type: 'object',
  required: ['id', 'host', 'pid', 'capabilities', 'capacity', 'startedAt', 'heartbeatAt', 'status', 'leader'],
  properties: {
    id: { type: 'string' },
    host: { type: 'string' },
    pid: { type: 'integer' },
    capabilities: { type: 'array', items: { type: 'string' }, description: 'activities the node runs in-process' },
    capacity: { type: 'integer', description: 'most activities it runs at once' },
    startedAt: { type: 'integer', description: 'epoch ms' },
    heartbeatAt: { type: 'integer', description: 'epoch ms of the last heartbeat' },
    status: { type: 'string', enum: ['alive', 'dead'] },
    diedAt: { type: 'integer', description: 'when the leader marked it dead (its leases were released)' },
    leader: { type: 'boolean', description: 'holds the leader lock now (runs dead-node sweeps, retention, the outbox relay, cron schedules)' },
  },
} as const;

export function nodeRoutes(ctx: ApiContext): FastifyPluginAsync {
  return async (app) => {
    app.get('/nodes', {
      schema: {
        tags: ['workers'], summary: 'Engine nodes sharing the database (alive first), and which one leads',
        response: { 200: { type: 'object', required: ['items'], properties: { items: { type: 'array', items: NODE_SCHEMA } } } },
      },
      config: { action: 'node.list', resource: 'system' },
    }, async () => ({ items: await ctx.engine.listNodes() }));
  };
}
