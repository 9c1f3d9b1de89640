/**
 * The Weft HTTP server (SPEC C6): Fastify, one plugin per resource under `/api/v1`, JSON schemas
 * on every route (unknown fields refused), an OpenAPI 3 document at `/api/v1/openapi.json` with
 * human-readable docs at `/api/v1/docs`, the WebSocket at `/api/v1/ws`, health and readiness.
 *
 * Every error leaves as `{error, message, details}` (errors.ts). Every route passes through the
 * authorization hook (auth.ts) before its handler.
 */
import Fastify, { type FastifyInstance } from 'fastify';
import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import websocket from '@fastify/websocket';
import type { Engine } from '../runtime/api.js';
import { Authorizer, resourceOf, type AuthHooks } from './auth.js';
import { ApiError, ErrorSchema, toErrorBody } from './errors.js';
import { DEFINITION_BODY_ROUTES, definitionRequestBody, definitionRoutes } from './routes/definitions.js';
import { eventRoutes } from './routes/events.js';
import { healthRoutes } from './routes/health.js';
import { humanTaskRoutes } from './routes/human-tasks.js';
import { instanceRoutes } from './routes/instances.js';
import { scheduleRoutes } from './routes/schedules.js';
import { metricsRoutes } from './routes/metrics.js';
import type { MetricsOptions } from './metrics.js';
import { workerRoutes } from './routes/workers.js';
import { nodeRoutes } from './routes/nodes.js';
import { registerUi } from './ui.js';
import { websocketRoutes, type WsOptions } from './ws.js';

export const API_PREFIX = '/api/v1';
export const DEFAULT_BODY_LIMIT = 1024 * 1024;

export interface ServerOptions {
  engine: Engine;
  /** Largest request body, bytes (default 1 MiB); larger → 413. */
  bodyLimit?: number;
  auth?: AuthHooks;
  /** Fastify logger (default off). */
  logger?: boolean;
  ws?: WsOptions;
  /** Metrics sampling (`GET /metrics`, `GET /api/v1/metrics`): interval and history length. */
  metrics?: MetricsOptions;
}

/** Everything routes need. */
export interface ApiContext {
  engine: Engine;
  auth: Authorizer;
  /** Set when the server is closing: readiness fails, long-polls end. */
  closing: { value: boolean };
}

export async function buildServer(options: ServerOptions): Promise<FastifyInstance> {
  const app = Fastify({
    logger: options.logger ?? false,
    bodyLimit: options.bodyLimit ?? DEFAULT_BODY_LIMIT,
    ajv: { customOptions: { removeAdditional: false, coerceTypes: 'array', useDefaults: true, allErrors: false, allowUnionTypes: true } },
    forceCloseConnections: true,
    return503OnClosing: true,
  });
  const ctx: ApiContext = { engine: options.engine, auth: new Authorizer(options.auth), closing: { value: false } };

  app.addSchema(ErrorSchema);
  await app.register(swagger, {
    openapi: {
      openapi: '3.0.3',
      info: { title: 'Weft API', version: '1', description: 'Durable workflow engine. Errors are `{error, message, details}`; see docs/api.md.' },
      tags: ['definitions', 'instances', 'human-tasks', 'events', 'workers', 'schedules', 'metrics', 'health'].map((name) => ({ name })),
    },
    // Routes taking a definition document its real JSON Schema (and YAML) as the request body.
    transformObject: (o) => {
      const doc = 'openapiObject' in o ? o.openapiObject : o.swaggerObject;
      const paths = (doc.paths ?? {}) as Record<string, Record<string, Record<string, unknown>>>;
      for (const [path, method] of DEFINITION_BODY_ROUTES) {
        const op = paths[path]?.[method];
        if (op) op.requestBody = definitionRequestBody();
      }
      return doc;
    },
  });
  await app.register(swaggerUi, { routePrefix: `${API_PREFIX}/docs` });
  await app.register(websocket, { options: { maxPayload: options.bodyLimit ?? DEFAULT_BODY_LIMIT } });

  // JSON everywhere (YAML too for definitions): no text/plain bodies, so a wrong type is a 415.
  app.removeContentTypeParser('text/plain');
  app.decorateRequest('caller', null as never);
  app.addHook('onRequest', async (req) => {
    req.caller = await ctx.auth.authenticate({ headers: req.headers, ip: req.ip });
  });
  // The one authorization hook: every route declares its action (routes without one are docs/health).
  app.addHook('preHandler', async (req) => {
    const action = req.routeOptions.config?.action;
    await ctx.auth.check(req.caller, action ?? `read ${req.routeOptions.url ?? req.url}`, resourceOf(req));
  });
  app.setErrorHandler((err, req, reply) => {
    const { status, body } = toErrorBody(err);
    if (status >= 500) req.log.error({ err }, 'request failed');
    void reply.status(status).send(body);
  });
  app.setNotFoundHandler((req, reply) => {
    void reply.status(404).send({ error: 'not_found', message: `no route ${req.method} ${req.url.split('?')[0]}` });
  });
  app.addHook('onClose', async () => { ctx.closing.value = true; });

  await app.register(healthRoutes(ctx));
  await registerUi(app);
  await app.register(metricsRoutes(ctx, options.metrics));
  await app.register(async (api) => {
    api.get('/openapi.json', { schema: { hide: true } }, async () => app.swagger());
    await api.register(definitionRoutes(ctx));
    await api.register(instanceRoutes(ctx));
    await api.register(humanTaskRoutes(ctx));
    await api.register(eventRoutes(ctx));
    await api.register(scheduleRoutes(ctx));
    await api.register(workerRoutes(ctx));
    await api.register(nodeRoutes(ctx));
    await api.register(websocketRoutes(ctx, options.ws));
  }, { prefix: API_PREFIX });
  return app;
}

export { ApiError };
