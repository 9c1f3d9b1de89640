/**
 * Schedules (docs/schedules.md): create, list, get, update, delete, pause, resume, trigger now —
 * all in the caller's namespace (another namespace's schedule is 404). Shapes are checked by the
 * JSON schemas; cron, time zone and definition by the engine (`engine.schedules`), whose
 * `ScheduleError`s map to 400 (naming the field), 404, 409 and 422.
 */
import type { FastifyPluginAsync } from 'fastify';
import { CATCH_UP_POLICIES, OVERLAP_POLICIES, type ScheduleInput, type ScheduleUpdate } from '../../runtime/schedules.js';
import type { ScheduleOverlap } from '../../store/types.js';
import { ApiError } from '../errors.js';
import { errorResponses, instanceIdParams } from '../schemas.js';
import type { ApiContext } from '../server.js';

const time = { type: ['string', 'number'], description: 'ISO 8601 time or epoch milliseconds' } as const;
const nullableTime = { type: ['string', 'number', 'null'], description: 'ISO 8601 time or epoch milliseconds; null clears it' } as const;
const labels = { type: 'object', additionalProperties: { type: 'string' } } as const;

/** The fields a schedule's spec has (create and update share them). */
const specFields = {
  definitionId: { type: 'string', minLength: 1 },
  cron: { type: 'string', minLength: 1, description: '5 fields (minute hour day month weekday) or 6 (seconds first), read in `timezone`' },
  interval: { type: 'string', minLength: 1, description: 'a duration (`30s`, `15m`, `1h30m`, `1d`); exactly one of cron and interval' },
  timezone: { type: 'string', minLength: 1, description: 'IANA time zone (default UTC)' },
  input: { description: 'the input of every instance started' },
  overlap: { type: 'string', enum: [...OVERLAP_POLICIES], description: 'while the last run still runs: skip (default), buffer_one, allow' },
  catchUp: { type: 'string', enum: [...CATCH_UP_POLICIES], description: 'after downtime: skip missed times, one start for all (default), all (up to catchUpLimit)' },
  catchUpLimit: { type: 'integer', minimum: 1, maximum: 1000, description: 'most missed times `catchUp: all` starts (default 10)' },
} as const;

const createBody = {
  type: 'object', required: ['definitionId'], additionalProperties: false,
  properties: {
    id: { type: 'string', minLength: 1, maxLength: 200, pattern: '^[A-Za-z0-9][A-Za-z0-9._:-]*$', description: 'default: a random id' },
    ...specFields,
    version: { type: 'string', minLength: 1, description: 'exact version or semver range, resolved at each start; default the latest' },
    labels,
    paused: { type: 'boolean' },
    startAt: time,
    endAt: time,
  },
} as const;

const updateBody = {
  type: 'object', additionalProperties: false,
  properties: {
    ...specFields,
    version: { type: ['string', 'null'], minLength: 1, description: 'null: always the latest' },
    labels: { type: ['object', 'null'], additionalProperties: { type: 'string' }, description: 'null clears them' },
    startAt: nullableTime,
    endAt: nullableTime,
  },
} as const;

const runSchema = {
  type: 'object',
  properties: {
    at: { type: 'number' }, outcome: { type: 'string', enum: ['started', 'skipped', 'buffered', 'failed'] },
    instanceId: { type: 'string' }, reason: { type: 'string' }, manual: { type: 'boolean' },
  },
} as const;

const scheduleSchema = {
  type: 'object', additionalProperties: true,
  properties: {
    id: { type: 'string' }, namespace: { type: 'string' }, definitionId: { type: 'string' }, definitionVersion: { type: 'string' },
    cron: { type: 'string' }, interval: { type: 'string' }, timezone: { type: 'string' }, input: {}, labels,
    overlap: { type: 'string' }, catchUp: { type: 'string' }, catchUpLimit: { type: 'integer' }, paused: { type: 'boolean' },
    startAt: { type: 'number' }, endAt: { type: 'number' }, nextRunAt: { type: 'number' }, lastRun: runSchema,
    lastInstanceId: { type: 'string' }, lastInstanceStatus: { type: 'string' }, bufferedAt: { type: 'number' },
    revision: { type: 'integer' }, createdAt: { type: 'number' }, updatedAt: { type: 'number' },
  },
} as const;

const emptyBody = { type: 'object', additionalProperties: false, properties: {} } as const;
/** `curl -X POST …/pause` without a body is fine: a missing body is an empty one. */
const bodyOptional = async (req: { body: unknown }) => { if (req.body === undefined || req.body === null) req.body = {}; };

export function scheduleRoutes(ctx: ApiContext): FastifyPluginAsync {
  const { engine } = ctx;
  return async (app) => {
    app.post('/schedules', {
      schema: {
        tags: ['schedules'], summary: 'Create a schedule that starts instances of a definition (cron or interval)',
        body: createBody,
        response: { 201: scheduleSchema, ...errorResponses(400, 409, 413, 415, 422) },
      },
      config: { action: 'schedule.create', resource: 'schedule' },
    }, async (req, reply) => {
      const s = await engine.schedules.create(req.body as ScheduleInput, { namespace: req.caller.namespace });
      return reply.status(201).header('location', `/api/v1/schedules/${encodeURIComponent(s.id)}`).send(s);
    });

    app.get('/schedules', {
      schema: {
        tags: ['schedules'], summary: 'List schedules (ordered by id)',
        querystring: { type: 'object', additionalProperties: false, properties: { definitionId: { type: 'string', minLength: 1 } } },
        response: { 200: { type: 'object', properties: { items: { type: 'array', items: scheduleSchema } } }, ...errorResponses(400) },
      },
      config: { action: 'schedule.list', resource: 'schedule' },
    }, async (req) => {
      const q = req.query as { definitionId?: string };
      return { items: await engine.schedules.list({ namespace: req.caller.namespace, ...(q.definitionId !== undefined && { definitionId: q.definitionId }) }) };
    });

    app.get('/schedules/:id', {
      schema: { tags: ['schedules'], summary: 'A schedule: spec, next run, last run', params: instanceIdParams, response: { 200: scheduleSchema, ...errorResponses(404) } },
      config: { action: 'schedule.read', resource: 'schedule' },
    }, async (req) => {
      const { id } = req.params as { id: string };
      const s = await engine.schedules.get(id, { namespace: req.caller.namespace });
      if (!s) throw new ApiError('not_found', `schedule "${id}" does not exist`);
      return s;
    });

    app.patch('/schedules/:id', {
      schema: {
        tags: ['schedules'], summary: 'Change a schedule (given fields replace; null clears; a new cron/interval/timezone recomputes the next run)',
        params: instanceIdParams, body: updateBody,
        response: { 200: scheduleSchema, ...errorResponses(400, 404, 413, 415, 422) },
      },
      config: { action: 'schedule.update', resource: 'schedule' },
    }, async (req) => {
      const { id } = req.params as { id: string };
      return engine.schedules.update(id, req.body as ScheduleUpdate, { namespace: req.caller.namespace });
    });

    app.delete('/schedules/:id', {
      schema: { tags: ['schedules'], summary: 'Delete a schedule (instances it started keep running)', params: instanceIdParams, response: { 204: { type: 'null' }, ...errorResponses(404) } },
      config: { action: 'schedule.delete', resource: 'schedule' },
    }, async (req, reply) => {
      const { id } = req.params as { id: string };
      await engine.schedules.delete(id, { namespace: req.caller.namespace });
      return reply.status(204).send();
    });

    for (const verb of ['pause', 'resume'] as const) {
      app.post(`/schedules/:id/${verb}`, {
        schema: {
          tags: ['schedules'], summary: verb === 'pause' ? 'Pause a schedule (409 if already paused)' : 'Resume a paused schedule from now; missed times are not caught up (409 if not paused)',
          params: instanceIdParams, body: emptyBody,
          response: { 200: scheduleSchema, ...errorResponses(400, 404, 409) },
        },
        config: { action: `schedule.${verb}`, resource: 'schedule' },
        preValidation: bodyOptional,
      }, async (req) => {
        const { id } = req.params as { id: string };
        return engine.schedules[verb](id, { namespace: req.caller.namespace });
      });
    }

    app.post('/schedules/:id/trigger', {
      schema: {
        tags: ['schedules'], summary: 'Start a run now (overlap: allow unless the body says otherwise)',
        params: instanceIdParams,
        body: { type: 'object', additionalProperties: false, properties: { overlap: { type: 'string', enum: [...OVERLAP_POLICIES] } } },
        response: { 200: runSchema, ...errorResponses(400, 404) },
      },
      config: { action: 'schedule.trigger', resource: 'schedule' },
      preValidation: bodyOptional,
    }, async (req) => {
      const { id } = req.params as { id: string };
      const b = req.body as { overlap?: ScheduleOverlap };
      return engine.schedules.trigger(id, { namespace: req.caller.namespace, ...(b.overlap !== undefined && { overlap: b.overlap }) });
    });
  };
}
