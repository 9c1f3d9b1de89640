/**
 * Instances: start (with `Idempotency-Key`), list (filters + cursor), get, history, state at a
 * seq, and every control command of SPEC C2 — each a small route, plus a generic `commands`
 * route taking any command as data. Commands carry the caller's identity as `by`.
 */
import type { FastifyPluginAsync } from 'fastify';
import type { Command, InstanceStatus } from '../../core/types.js';
import type { InstanceSummary } from '../../runtime/api.js';
import type { Caller } from '../auth.js';
import { ApiError } from '../errors.js';
import { commandResult, errorResponses, instanceIdParams, objectResponse } from '../schemas.js';
import type { ApiContext } from '../server.js';

export const INSTANCE_STATUSES: InstanceStatus[] = ['pending', 'running', 'paused', 'waiting', 'completed', 'failed', 'cancelled', 'terminated', 'compensating', 'compensated'];

/** Commands a client may send (the rest are the runtime's own: activity results, timers, children). */
export const CLIENT_COMMANDS = [
  'Pause', 'Resume', 'Cancel', 'Terminate', 'SkipStep', 'RetryStep', 'RetryFrom', 'UpdateVariables', 'Compensate',
  'Signal', 'CompleteHumanTask', 'RejectHumanTask', 'DeliverEvent',
] as const;

const summarySchema = {
  type: 'object',
  properties: {
    id: { type: 'string' }, definitionId: { type: 'string' }, definitionVersion: { type: 'string' }, status: { type: 'string' },
    createdAt: { type: 'number' }, updatedAt: { type: 'number' }, endedAt: { type: 'number' }, parentId: { type: 'string' },
    correlationId: { type: 'string' }, labels: { type: 'object', additionalProperties: { type: 'string' } },
    seq: { type: 'integer' }, namespace: { type: 'string' },
  },
} as const;

const reasonBody = { type: 'object', additionalProperties: false, properties: { reason: { type: 'string', maxLength: 2000 } } } as const;
const emptyBody = { type: 'object', additionalProperties: false, properties: {} } as const;
const stepParams = {
  type: 'object', required: ['id', 'stepId'], additionalProperties: false,
  properties: { id: { type: 'string', minLength: 1 }, stepId: { type: 'string', minLength: 1 } },
} as const;

/** Sends a command after the authorization hook saw it; unknown instances are 404 and nothing changes. */
export async function runCommand(ctx: ApiContext, caller: Caller, command: Command) {
  await ctx.auth.check(caller, `instance.command.${command.type}`, { type: 'instance', id: command.instanceId });
  // Namespaces (REST and WebSocket alike): another namespace's instance does not exist for the caller.
  const info = await ctx.engine.getInstanceInfo(command.instanceId);
  if (info && (info.namespace ?? 'default') !== caller.namespace) throw new ApiError('not_found', `instance "${command.instanceId}" does not exist`);
  const state = await ctx.engine.getState(command.instanceId);
  if (!state) throw new ApiError('not_found', `instance "${command.instanceId}" does not exist`);
  const events = await ctx.engine.send({ ...command, by: caller.identity } as Command);
  const after = await ctx.engine.getState(command.instanceId);
  return { instanceId: command.instanceId, status: after?.status ?? state.status, events };
}

/**
 * `Idempotency-Key` is scoped per namespace: the same key in two namespaces starts two instances.
 * The `default` namespace keeps the key as sent (so keys stored before namespaces still match);
 * others prefix it with the namespace and a NUL, which no header value can contain.
 */
export function scopedIdempotencyKey(namespace: string, key: string): string {
  return namespace === 'default' ? key : `${namespace}\u0000${key}`;
}

function encodeCursor(id: string): string { return Buffer.from(id, 'utf8').toString('base64url'); }
function decodeCursor(c: string): string {
  const id = Buffer.from(c, 'base64url').toString('utf8');
  if (!id || encodeCursor(id) !== c) throw new ApiError('invalid_input', 'cursor is not one this server returned', { in: 'querystring', field: 'cursor' });
  return id;
}

function parseLabels(labels: string[] | undefined): Array<[string, string]> {
  return (labels ?? []).map((l) => {
    const i = l.indexOf('=');
    if (i <= 0) throw new ApiError('invalid_input', `label filter "${l}" must be key=value`, { in: 'querystring', field: 'label' });
    return [l.slice(0, i), l.slice(i + 1)];
  });
}

export function instanceRoutes(ctx: ApiContext): FastifyPluginAsync {
  const { engine } = ctx;
  return async (app) => {
    // Namespaces: an instance of another namespace than the caller's does not exist for them (404).
    app.addHook('preHandler', async (req) => {
      const id = (req.params as { id?: string } | undefined)?.id;
      if (id === undefined) return;
      const info = await engine.getInstanceInfo(id);
      if (info && (info.namespace ?? 'default') !== req.caller.namespace) throw new ApiError('not_found', `instance "${id}" does not exist`);
    });

    app.post('/instances', {
      schema: {
        tags: ['instances'], summary: 'Start an instance (same Idempotency-Key → same instance)',
        headers: { type: 'object', properties: { 'idempotency-key': { type: 'string', minLength: 1, maxLength: 200 } } },
        body: {
          type: 'object', required: ['definitionId'], additionalProperties: false,
          properties: {
            definitionId: { type: 'string', minLength: 1 },
            version: { type: 'string', minLength: 1, description: 'exact version or semver range; default the latest' },
            input: {},
            instanceId: { type: 'string', minLength: 1, maxLength: 200 },
            labels: { type: 'object', additionalProperties: { type: 'string' } },
            correlationId: { type: 'string', minLength: 1 },
            vars: { type: 'object', additionalProperties: true },
          },
        },
        response: { 201: summarySchema, ...errorResponses(400, 404, 409, 413, 415) },
      },
      config: { action: 'instance.start', resource: 'instance' },
    }, async (req, reply) => {
      const b = req.body as { definitionId: string; version?: string; input?: unknown; instanceId?: string; labels?: Record<string, string>; correlationId?: string; vars?: Record<string, unknown> };
      const key = req.headers['idempotency-key'];
      const id = await engine.start(b.definitionId, b.input ?? {}, {
        ...(b.version !== undefined && { version: b.version }),
        ...(b.instanceId !== undefined && { instanceId: b.instanceId }),
        ...(b.labels && { labels: b.labels }),
        ...(b.correlationId !== undefined && { correlationId: b.correlationId }),
        ...(b.vars && { vars: b.vars }),
        ...(typeof key === 'string' && { idempotencyKey: scopedIdempotencyKey(req.caller.namespace, key) }),
        namespace: req.caller.namespace,
      });
      return reply.status(201).header('location', `/api/v1/instances/${encodeURIComponent(id)}`).send({ id, definitionId: b.definitionId });
    });

    app.get('/instances', {
      schema: {
        tags: ['instances'], summary: 'List instances (ordered by id) with filters and cursor pagination',
        querystring: {
          type: 'object', additionalProperties: false,
          properties: {
            definitionId: { type: 'string' },
            status: { type: 'array', items: { type: 'string', enum: INSTANCE_STATUSES } },
            correlationId: { type: 'string' },
            parentId: { type: 'string' },
            label: { type: 'array', items: { type: 'string' }, description: 'key=value, repeatable (all must match)' },
            createdAfter: { type: 'number', description: 'ms since epoch, inclusive' },
            createdBefore: { type: 'number', description: 'ms since epoch, exclusive' },
            limit: { type: 'integer', minimum: 1, maximum: 1000, default: 100 },
            cursor: { type: 'string' },
          },
        },
        response: { 200: { type: 'object', properties: { items: { type: 'array', items: summarySchema }, nextCursor: { type: 'string' } } }, ...errorResponses(400) },
      },
      config: { action: 'instance.list', resource: 'instance' },
    }, async (req) => {
      const q = req.query as { definitionId?: string; status?: InstanceStatus[]; correlationId?: string; parentId?: string; label?: string[]; createdAfter?: number; createdBefore?: number; limit: number; cursor?: string };
      const labels = parseLabels(q.label);
      const keep = (s: InstanceSummary) => (q.createdAfter === undefined || s.createdAt >= q.createdAfter)
        && (q.createdBefore === undefined || s.createdAt < q.createdBefore)
        && labels.every(([k, v]) => s.labels?.[k] === v);
      const postFilter = labels.length > 0 || q.createdAfter !== undefined || q.createdBefore !== undefined;
      let afterId = q.cursor !== undefined ? decodeCursor(q.cursor) : undefined;
      const items: InstanceSummary[] = [];
      let exhausted = false;
      // Filters the store cannot apply are applied here, page by page (bounded scan per request).
      for (let scans = 0; items.length < q.limit && scans < 20; scans++) {
        const page = await engine.listInstances({
          namespace: req.caller.namespace,
          ...(q.definitionId !== undefined && { definitionId: q.definitionId }),
          ...(q.status && { status: q.status }),
          ...(q.correlationId !== undefined && { correlationId: q.correlationId }),
          ...(q.parentId !== undefined && { parentId: q.parentId }),
          ...(afterId !== undefined && { afterId }),
          limit: postFilter ? 500 : q.limit - items.length,
        });
        for (const s of page) {
          afterId = s.id;
          if (!keep(s)) continue;
          items.push(s);
          if (items.length === q.limit) break;
        }
        if (page.length === 0 || (!postFilter && page.length < q.limit)) { exhausted = true; break; }
        if (!postFilter) break;
      }
      const last = items.length === q.limit ? items[items.length - 1]!.id : !exhausted ? afterId : undefined;
      return { items, ...(last !== undefined && { nextCursor: encodeCursor(last) }) };
    });

    app.get('/instances/:id', {
      schema: { tags: ['instances'], summary: 'The current state of an instance', params: instanceIdParams, response: { 200: objectResponse('The instance state'), ...errorResponses(404) } },
      config: { action: 'instance.read', resource: 'instance' },
    }, async (req) => {
      const { id } = req.params as { id: string };
      const state = await engine.getState(id);
      if (!state) throw new ApiError('not_found', `instance "${id}" does not exist`);
      return state;
    });

    app.get('/instances/:id/history', {
      schema: {
        tags: ['instances'], summary: 'The event log of an instance, in order',
        params: instanceIdParams,
        querystring: { type: 'object', additionalProperties: false, properties: { fromSeq: { type: 'integer', minimum: 1 }, limit: { type: 'integer', minimum: 1, maximum: 10000, default: 1000 } } },
        response: { 200: { type: 'object', properties: { events: { type: 'array', items: { type: 'object', additionalProperties: true } }, nextSeq: { type: 'integer' } } }, ...errorResponses(400, 404) },
      },
      config: { action: 'instance.read', resource: 'instance' },
    }, async (req) => {
      const { id } = req.params as { id: string };
      const q = req.query as { fromSeq?: number; limit: number };
      const events = await engine.getHistory(id, { ...(q.fromSeq !== undefined && { fromSeq: q.fromSeq }), limit: q.limit });
      if (events.length === 0 && !(await engine.getState(id))) throw new ApiError('not_found', `instance "${id}" does not exist`);
      const last = events[events.length - 1];
      return { events, ...(events.length === q.limit && last && { nextSeq: last.seq + 1 }) };
    });

    app.get('/instances/:id/state', {
      schema: {
        tags: ['instances'], summary: 'The state right after event `seq` (time travel)',
        params: instanceIdParams,
        querystring: { type: 'object', required: ['seq'], additionalProperties: false, properties: { seq: { type: 'integer', minimum: 1 } } },
        response: { 200: objectResponse('The instance state right after event `seq`'), ...errorResponses(400, 404) },
      },
      config: { action: 'instance.read', resource: 'instance' },
    }, async (req) => {
      const { id } = req.params as { id: string };
      const { seq } = req.query as { seq: number };
      const current = await engine.getState(id);
      if (!current) throw new ApiError('not_found', `instance "${id}" does not exist`);
      if (seq > current.seq) throw new ApiError('invalid_input', `seq ${seq} is past the last event (${current.seq})`, { in: 'querystring', field: 'seq' });
      return engine.getStateAt(id, seq);
    });

    // ------------------------------------------------------------------ control commands
    const control = (path: string, summary: string, body: object, make: (id: string, b: Record<string, unknown>, p: Record<string, string>) => Command, params: object = instanceIdParams) => {
      app.post(path, {
        schema: { tags: ['instances'], summary, params, body, response: { 200: commandResult, ...errorResponses(400, 404, 409, 413, 415) } },
        config: { action: `instance.command`, resource: 'instance' },
      }, async (req) => {
        const p = req.params as Record<string, string>;
        return runCommand(ctx, req.caller, make(p.id!, (req.body ?? {}) as Record<string, unknown>, p));
      });
    };
    const reason = (b: Record<string, unknown>) => (typeof b.reason === 'string' ? { reason: b.reason } : {});
    control('/instances/:id/pause', 'Pause: running activities finish, nothing new is scheduled', reasonBody, (id, b) => ({ type: 'Pause', instanceId: id, ...reason(b) }));
    control('/instances/:id/resume', 'Resume a paused instance', emptyBody, (id) => ({ type: 'Resume', instanceId: id }));
    control('/instances/:id/cancel', 'Cancel (reaches running activities through heartbeats)', reasonBody, (id, b) => ({ type: 'Cancel', instanceId: id, ...reason(b) }));
    control('/instances/:id/terminate', 'Terminate at once', reasonBody, (id, b) => ({ type: 'Terminate', instanceId: id, ...reason(b) }));
    control('/instances/:id/compensate', 'Compensate completed steps (saga)', reasonBody, (id, b) => ({ type: 'Compensate', instanceId: id, ...reason(b) }));
    control('/instances/:id/steps/:stepId/skip', 'Skip a skippable step', { type: 'object', additionalProperties: false, properties: { output: {} } },
      (id, b, p) => ({ type: 'SkipStep', instanceId: id, stepId: p.stepId!, ...(b.output !== undefined && { output: b.output }) }), stepParams);
    control('/instances/:id/steps/:stepId/retry', 'Retry a failed step', emptyBody, (id, _b, p) => ({ type: 'RetryStep', instanceId: id, stepId: p.stepId! }), stepParams);
    control('/instances/:id/retry-from', 'Retry the instance from a named step', { type: 'object', required: ['stepId'], additionalProperties: false, properties: { stepId: { type: 'string', minLength: 1 } } },
      (id, b) => ({ type: 'RetryFrom', instanceId: id, stepId: b.stepId as string }));
    control('/instances/:id/variables', 'Update variables', { type: 'object', required: ['vars'], additionalProperties: false, properties: { vars: { type: 'object', additionalProperties: true } } },
      (id, b) => ({ type: 'UpdateVariables', instanceId: id, vars: b.vars as Record<string, unknown> }));
    control('/instances/:id/signals', 'Send a signal to one instance', { type: 'object', required: ['name'], additionalProperties: false, properties: { name: { type: 'string', minLength: 1 }, payload: {} } },
      (id, b) => ({ type: 'Signal', instanceId: id, name: b.name as string, ...(b.payload !== undefined && { payload: b.payload }) }));

    app.post('/instances/:id/commands', {
      schema: {
        tags: ['instances'], summary: 'Any client command as data (`{type: "Pause", …}`)', params: instanceIdParams,
        body: { type: 'object', required: ['type'], additionalProperties: true, properties: { type: { type: 'string', enum: [...CLIENT_COMMANDS] }, instanceId: { type: 'string' } } },
        response: { 200: commandResult, ...errorResponses(400, 404, 409, 413, 415) },
      },
      config: { action: 'instance.command', resource: 'instance' },
    }, async (req) => {
      const { id } = req.params as { id: string };
      const body = req.body as Record<string, unknown>;
      if (body.instanceId !== undefined && body.instanceId !== id) throw new ApiError('invalid_input', 'instanceId in the body does not match the URL', { field: 'instanceId' });
      return runCommand(ctx, req.caller, { ...body, instanceId: id } as unknown as Command);
    });
  };
}
