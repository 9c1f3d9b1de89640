/**
 * Human tasks: the inbox (by user and/or group, or instance), claim, release, complete (data
 * validated by the core against the step's form schema → 400 naming the field), reject, reassign.
 * Claims and reassignments are durable (store columns, migration 002): they survive a restart.
 */
import type { FastifyPluginAsync } from 'fastify';
import { ApiError } from '../errors.js';
import { commandResult, errorResponses, objectResponse } from '../schemas.js';
import type { ApiContext } from '../server.js';
import { runCommand } from './instances.js';

const taskParams = {
  type: 'object', required: ['instanceId', 'taskId'], additionalProperties: false,
  properties: { instanceId: { type: 'string', minLength: 1 }, taskId: { type: 'string', minLength: 1 } },
} as const;

export function humanTaskRoutes(ctx: ApiContext): FastifyPluginAsync {
  const { engine } = ctx;
  async function openTask(instanceId: string, taskId: string) {
    const row = await engine.getHumanTask(instanceId, taskId);
    if (!row || row.status !== 'open') throw new ApiError('not_found', `no open human task "${taskId}" in instance "${instanceId}"`);
    return row;
  }
  /** Only the claimant may act on a claimed task. */
  function checkActor(row: { claimedBy?: string; task: { taskId: string } }, user: string): void {
    if (row.claimedBy !== undefined && row.claimedBy !== user) throw new ApiError('invalid_state', `task ${row.task.taskId} is claimed by ${row.claimedBy}`, { claimedBy: row.claimedBy });
  }
  return async (app) => {
    // Namespaces: tasks of another namespace's instances do not exist for the caller (404).
    app.addHook('preHandler', async (req) => {
      const instanceId = (req.params as { instanceId?: string } | undefined)?.instanceId;
      if (instanceId === undefined) return;
      const info = await engine.getInstanceInfo(instanceId);
      if (info && (info.namespace ?? 'default') !== req.caller.namespace) throw new ApiError('not_found', `no open human task in instance "${instanceId}"`);
    });

    app.get('/human-tasks', {
      schema: {
        tags: ['human-tasks'], summary: 'Inbox: open tasks for a user and/or group (either matches), or of one instance',
        querystring: {
          type: 'object', additionalProperties: false,
          properties: {
            user: { type: 'string' }, group: { type: 'string' }, instanceId: { type: 'string' },
            status: { type: 'string', enum: ['open', 'closed'], default: 'open' },
            limit: { type: 'integer', minimum: 1, maximum: 1000, default: 100 },
          },
        },
        response: { 200: { type: 'object', properties: { items: { type: 'array', items: { type: 'object', additionalProperties: true } } } }, ...errorResponses(400) },
      },
      config: { action: 'human-task.list', resource: 'human-task' },
    }, async (req) => {
      const q = req.query as { user?: string; group?: string; instanceId?: string; status: 'open' | 'closed'; limit: number };
      const rows = await engine.listHumanTasks({ status: q.status, namespace: req.caller.namespace, ...(q.instanceId !== undefined && { instanceId: q.instanceId }) });
      const items = rows.filter((r) => (q.user === undefined && q.group === undefined)
        || (q.user !== undefined && (r.task.users.includes(q.user) || r.claimedBy === q.user))
        || (q.group !== undefined && r.task.groups.includes(q.group)));
      return { items: items.slice(0, q.limit) };
    });

    app.get('/human-tasks/:instanceId/:taskId', {
      schema: { tags: ['human-tasks'], summary: 'One open human task', params: taskParams, response: { 200: objectResponse('The inbox row'), ...errorResponses(404) } },
      config: { action: 'human-task.read', resource: 'human-task' },
    }, async (req) => {
      const { instanceId, taskId } = req.params as { instanceId: string; taskId: string };
      return openTask(instanceId, taskId);
    });

    app.post('/human-tasks/:instanceId/:taskId/claim', {
      schema: {
        tags: ['human-tasks'], summary: 'Claim a task (for the caller, or `user`)', params: taskParams,
        body: { type: 'object', additionalProperties: false, properties: { user: { type: 'string', minLength: 1 } } },
        response: { 200: objectResponse('The inbox row, claimed'), ...errorResponses(400, 404, 409) },
      },
      config: { action: 'human-task.claim', resource: 'human-task' },
    }, async (req) => {
      const { instanceId, taskId } = req.params as { instanceId: string; taskId: string };
      const user = (req.body as { user?: string } | undefined)?.user ?? req.caller.identity;
      return engine.claimHumanTask(instanceId, taskId, user);
    });

    app.post('/human-tasks/:instanceId/:taskId/release', {
      schema: {
        tags: ['human-tasks'], summary: 'Drop the caller\'s claim on a task', params: taskParams,
        body: { type: 'object', additionalProperties: false, properties: {} },
        response: { 200: objectResponse('The inbox row, unclaimed'), ...errorResponses(400, 404, 409) },
      },
      config: { action: 'human-task.release', resource: 'human-task' },
    }, async (req) => {
      const { instanceId, taskId } = req.params as { instanceId: string; taskId: string };
      return engine.releaseHumanTask(instanceId, taskId, req.caller.identity);
    });

    app.post('/human-tasks/:instanceId/:taskId/complete', {
      schema: {
        tags: ['human-tasks'], summary: 'Complete with an action and form data', params: taskParams,
        body: { type: 'object', required: ['action'], additionalProperties: false, properties: { action: { type: 'string', minLength: 1 }, data: {} } },
        response: { 200: commandResult, ...errorResponses(400, 404, 409, 413) },
      },
      config: { action: 'human-task.complete', resource: 'human-task' },
    }, async (req) => {
      const { instanceId, taskId } = req.params as { instanceId: string; taskId: string };
      const b = req.body as { action: string; data?: unknown };
      checkActor(await openTask(instanceId, taskId), req.caller.identity);
      return runCommand(ctx, req.caller, { type: 'CompleteHumanTask', instanceId, taskId, action: b.action, ...(b.data !== undefined && { data: b.data }) });
    });

    app.post('/human-tasks/:instanceId/:taskId/reject', {
      schema: {
        tags: ['human-tasks'], summary: 'Reject (fails the step with code `rejected`)', params: taskParams,
        body: { type: 'object', additionalProperties: false, properties: { reason: { type: 'string' } } },
        response: { 200: commandResult, ...errorResponses(400, 404, 409) },
      },
      config: { action: 'human-task.reject', resource: 'human-task' },
    }, async (req) => {
      const { instanceId, taskId } = req.params as { instanceId: string; taskId: string };
      const b = (req.body ?? {}) as { reason?: string };
      checkActor(await openTask(instanceId, taskId), req.caller.identity);
      return runCommand(ctx, req.caller, { type: 'RejectHumanTask', instanceId, taskId, ...(b.reason !== undefined && { reason: b.reason }) });
    });

    app.post('/human-tasks/:instanceId/:taskId/reassign', {
      schema: {
        tags: ['human-tasks'], summary: 'Reassign to other users/groups (drops any claim)', params: taskParams,
        body: {
          type: 'object', additionalProperties: false, minProperties: 1,
          properties: { users: { type: 'array', items: { type: 'string', minLength: 1 } }, groups: { type: 'array', items: { type: 'string', minLength: 1 } } },
        },
        response: { 200: objectResponse('The inbox row with its new assignees'), ...errorResponses(400, 404) },
      },
      config: { action: 'human-task.reassign', resource: 'human-task' },
    }, async (req) => {
      const { instanceId, taskId } = req.params as { instanceId: string; taskId: string };
      return engine.reassignHumanTask(instanceId, taskId, req.body as { users?: string[]; groups?: string[] });
    });
  };
}
