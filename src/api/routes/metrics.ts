/**
 * Metrics routes: `GET /metrics` (Prometheus text exposition, for scrapers) and
 * `GET /api/v1/metrics` (JSON time series for the dashboard). Both read one `MetricsCollector`
 * (../metrics.ts), which the server starts with itself and stops when it closes.
 * Registered at the root (the Prometheus path is conventional, not versioned).
 */
import type { FastifyPluginAsync } from 'fastify';
import { MetricsCollector, type MetricsOptions } from '../metrics.js';
import { errorResponses } from '../schemas.js';
import type { ApiContext } from '../server.js';

const percentiles = {
  type: 'object', required: ['count', 'p50', 'p95', 'p99'],
  description: 'Durations (ms) of what ended in the interval; `null` when nothing did',
  properties: { count: { type: 'integer' }, p50: { type: ['number', 'null'] }, p95: { type: ['number', 'null'] }, p99: { type: ['number', 'null'] } },
} as const;
const counts = {
  stepsCompleted: { type: 'integer' }, stepsFailed: { type: 'integer' }, stepRetries: { type: 'integer' },
  instancesStarted: { type: 'integer' }, instancesCompleted: { type: 'integer' }, instancesFailed: { type: 'integer' },
  instancesCancelled: { type: 'integer' }, instancesCompensated: { type: 'integer' },
} as const;
const sampleSchema = {
  type: 'object',
  required: ['t', ...Object.keys(counts), 'queued', 'leased', 'instanceDuration', 'stepDuration'],
  properties: {
    t: { type: 'number', description: 'end of the interval, ms since epoch' }, ...counts,
    queued: { type: 'integer', description: 'tasks waiting for a worker at `t`' }, leased: { type: 'integer', description: 'tasks leased at `t`' },
    instanceDuration: percentiles, stepDuration: percentiles,
  },
} as const;

export const METRICS_JSON_SCHEMA = {
  type: 'object', required: ['intervalMs', 'now', 'totals', 'samples'],
  properties: {
    intervalMs: { type: 'integer', description: 'sampling interval' },
    now: { type: 'number' },
    totals: { type: 'object', required: Object.keys(counts), properties: counts, description: 'counts since the server started' },
    samples: { type: 'array', items: sampleSchema, description: 'oldest first' },
  },
} as const;

export function metricsRoutes(ctx: ApiContext, options: MetricsOptions = {}): FastifyPluginAsync {
  return async (app) => {
    const collector = new MetricsCollector(ctx.engine, options);
    collector.start();
    app.addHook('onClose', async () => { await collector.stop(); });

    app.get('/metrics', {
      schema: {
        tags: ['metrics'], summary: 'Prometheus text exposition (counters, duration histograms, task queue gauge)',
        response: { 200: { type: 'string', description: 'text/plain; version=0.0.4' } },
      },
      config: { action: 'system.metrics', resource: 'system' },
    }, async (_req, reply) => reply.type(collector.registry.contentType).send(await collector.prometheus()));

    app.get('/api/v1/metrics', {
      schema: {
        tags: ['metrics'], summary: 'Metrics as JSON time series (a sample every `intervalMs`, the last hour by default)',
        querystring: {
          type: 'object', additionalProperties: false,
          properties: {
            since: { type: 'number', minimum: 0, description: 'only samples after this time (ms since epoch)' },
            limit: { type: 'integer', minimum: 1, maximum: 100_000, description: 'only the last N samples' },
          },
        },
        response: { 200: METRICS_JSON_SCHEMA, ...errorResponses(400) },
      },
      config: { action: 'system.metrics', resource: 'system' },
    }, async (req) => {
      const q = req.query as { since?: number; limit?: number };
      return { intervalMs: collector.intervalMs, now: Date.now(), totals: collector.totalsSoFar(), samples: collector.samples(q.since, q.limit) };
    });
  };
}
