/**
 * The contract audit: every route in `/api/v1/openapi.json` has a happy-path test and a test per
 * documented status, in the table `CASES` below ("METHOD /path" → status → test). One test compares
 * the table with the OpenAPI document both ways, so a new route (or a newly documented status)
 * without a test fails the suite, and so does a test for a status the document does not list.
 * Each case checks the status and the uniform error body `{error, message, details?}`.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { ERRORS } from '../src/api/errors.js';
import { startServer, type RunningServer } from '../src/api/start.js';
import { Definition as DefinitionModel, type Definition } from '../src/model/schema.js';
import { openEngineWithStore } from '../src/runtime/engine.js';
import { WeftClient } from '../src/sdk/client.js';
import { SqliteStore } from '../src/store/sqlite/store.js';
import { wideDefinition } from '../src/verify/samples.js';

const BODY_LIMIT = 64 * 1024;

const SLOW: Definition = {
  id: 'slow', version: '1.0.0',
  steps: [
    { id: 'start', type: 'start', next: 'w' },
    { id: 'w', type: 'task', activity: 'remote.only', skippable: true, next: 'end' },
    { id: 'end', type: 'end' },
  ],
} as Definition;

const HOLD: Definition = {
  id: 'hold', version: '1.0.0',
  steps: [
    { id: 'start', type: 'start', next: 'h' },
    { id: 'h', type: 'human', assignees: { users: ['ann'] }, form: { type: 'object', required: ['ok'], properties: { ok: { type: 'boolean' } } }, next: 'end' },
    { id: 'end', type: 'end' },
  ],
} as Definition;

const FAILY: Definition = {
  id: 'faily', version: '1.0.0',
  retry: { maxAttempts: 1 },
  steps: [
    { id: 'start', type: 'start', next: 'f' },
    { id: 'f', type: 'task', activity: 'remote.fail', next: 'end' },
    { id: 'end', type: 'end' },
  ],
} as Definition;

const UNSOUND = wideDefinition(2, 2, { deadlock: true });

let server: RunningServer;
let client: WeftClient;

interface Res { status: number; body: any }
async function call(method: string, path: string, body?: unknown, headers: Record<string, string> = {}): Promise<Res> {
  const h: Record<string, string> = { ...headers };
  let payload: string | undefined;
  if (body !== undefined) {
    payload = typeof body === 'string' ? body : JSON.stringify(body);
    h['content-type'] ??= 'application/json';
  }
  const res = await fetch(server.url + path, { method, headers: h, ...(payload !== undefined && { body: payload }), signal: AbortSignal.timeout(10_000) });
  const text = await res.text();
  let json: any;
  try { json = text ? JSON.parse(text) : undefined; } catch { json = text; }
  return { status: res.status, body: json };
}

/** Checks the status; for errors, the uniform body with a documented code of that status (and `code` when given). */
function expect(r: Res, status: number, code?: string): void {
  assert.equal(r.status, status, JSON.stringify(r.body)?.slice(0, 500));
  if (status >= 400) {
    assert.equal(typeof r.body?.message, 'string');
    assert.ok(r.body.error in ERRORS, `documented code ${r.body.error}`);
    assert.equal(ERRORS[r.body.error as keyof typeof ERRORS].status, status);
    if (code) assert.equal(r.body.error, code, r.body.message);
  }
}

async function waitFor(check: () => Promise<boolean>, what = 'condition'): Promise<void> {
  const end = Date.now() + 10_000;
  while (!(await check())) {
    if (Date.now() > end) assert.fail(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

const big = () => ({ blob: 'x'.repeat(BODY_LIMIT + 1024) });
/** A running `slow` instance (its task waits for a remote worker that never comes). */
async function running(): Promise<string> {
  const { id } = await client.start({ definitionId: 'slow', version: '1.0.0' });
  await waitFor(async () => (await client.getInstance(id)).status === 'running', 'running');
  return id;
}
async function terminated(): Promise<string> {
  const id = await running();
  await client.terminate(id);
  return id;
}
/** A `hold` instance with its open task. */
async function holding(): Promise<{ id: string; task: string }> {
  const { id } = await client.start({ definitionId: 'hold' });
  await waitFor(async () => (await client.inbox({ instanceId: id })).length === 1, 'the task');
  return { id, task: encodeURIComponent((await client.inbox({ instanceId: id }))[0]!.task.taskId) };
}
/** A `faily` instance whose step failed (a worker failed its only attempt). */
async function failed(): Promise<string> {
  const { id } = await client.start({ definitionId: 'faily' });
  let task: any;
  await waitFor(async () => {
    task = (await call('POST', '/api/v1/workers/cw/poll', { activities: ['remote.fail'], max: 1, waitMs: 0 })).body.tasks.find((t: any) => t.instanceId === id);
    return task !== undefined;
  }, 'the task to claim');
  expect(await call('POST', '/api/v1/workers/cw/fail', { instanceId: id, taskId: task.taskId, token: task.token, attempt: task.attempt, error: { code: 'boom', message: 'no', nonRetryable: true } }), 200);
  await waitFor(async () => (await client.getInstance(id)).status === 'failed', 'failed');
  return id;
}
/** A remote task leased to worker `cw`. */
async function leased(): Promise<any> {
  const { id } = await client.start({ definitionId: 'faily' });
  let task: any;
  await waitFor(async () => {
    task = (await call('POST', '/api/v1/workers/cw/poll', { activities: ['remote.fail'], max: 1, waitMs: 0 })).body.tasks.find((t: any) => t.instanceId === id);
    return task !== undefined;
  }, 'the task to claim');
  return task;
}

/** A fresh schedule of `slow` (yearly: it never comes due during the test). */
let schedules = 0;
async function schedule(): Promise<string> {
  const r = await call('POST', '/api/v1/schedules', { id: `contract-${++schedules}`, definitionId: 'slow', cron: '0 0 1 1 *' });
  expect(r, 201);
  return r.body.id as string;
}

type Case = () => Promise<void>;
type PathOf = (() => Promise<string> | string) | string;
const pathOf = async (p: PathOf) => (typeof p === 'string' ? p : p());

/** Generic cases a route with a JSON body has. */
const tooLarge = (method: string, path: PathOf): Case => async () => expect(await call(method, await pathOf(path), { reason: 'x', ...big() }), 413, 'payload_too_large');
const wrongType = (method: string, path: PathOf): Case => async () => expect(await call(method, await pathOf(path), 'reason=x', { 'content-type': 'text/plain' }), 415, 'unsupported_media_type');
const unknownField = (method: string, path: PathOf, body: Record<string, unknown> = {}): Case => async () => {
  const r = await call(method, await pathOf(path), { ...body, zzz: 1 });
  expect(r, 400, 'invalid_input');
  assert.equal(r.body.details.field, 'zzz');
};

/** A control command route: happy, 400, 404, 409, 413, 415. */
function control(path: (id: string) => string, happy: Case, wrongState: Case, body: Record<string, unknown> = {}, bad?: Case): Record<number, Case> {
  return {
    200: happy,
    400: bad ?? unknownField('POST', async () => path(await running()), body),
    404: async () => expect(await call('POST', path('no-such-instance'), body), 404, 'not_found'),
    409: wrongState,
    413: tooLarge('POST', async () => path(await running())),
    415: wrongType('POST', async () => path(await running())),
  };
}

const CASES: Record<string, Record<number, Case>> = {
  'GET /healthz': { 200: async () => assert.deepEqual((await call('GET', '/healthz')).body, { status: 'ok' }) },
  'GET /readyz': {
    200: async () => assert.deepEqual((await call('GET', '/readyz')).body, { status: 'ready' }),
    503: async () => {
      // A server whose engine (not owned by it) has closed: the store is not ready.
      const engine = await openEngineWithStore(new SqliteStore(':memory:'), {});
      const s = await startServer({ engine, port: 0 });
      try {
        await engine.close();
        const r = await fetch(`${s.url}/readyz`, { signal: AbortSignal.timeout(10_000) });
        expect({ status: r.status, body: await r.json() }, 503, 'unavailable');
      } finally {
        await s.close();
      }
    },
  },

  // ------------------------------------------------------------------ definitions
  'POST /api/v1/definitions': {
    201: async () => expect(await call('POST', '/api/v1/definitions', { ...SLOW, id: 'created' }), 201),
    200: async () => { expect(await call('POST', '/api/v1/definitions', SLOW), 200); },
    400: async () => expect(await call('POST', '/api/v1/definitions', '{"id": ', { 'content-type': 'application/json' }), 400, 'malformed_json'),
    409: async () => expect(await call('POST', '/api/v1/definitions', { ...SLOW, description: 'other content, same version' }), 409, 'conflict'),
    413: async () => expect(await call('POST', '/api/v1/definitions', { ...SLOW, id: 'huge', metadata: big() }), 413, 'payload_too_large'),
    415: wrongType('POST', '/api/v1/definitions'),
    422: async () => {
      expect(await call('POST', '/api/v1/definitions', 'id: bad\nsteps:\n  - { id: start, type: start, next: nowhere }\n', { 'content-type': 'application/yaml' }), 422, 'definition_invalid');
      expect(await call('POST', '/api/v1/definitions', UNSOUND), 422, 'unsound_definition');
    },
  },
  'GET /api/v1/definitions': { 200: async () => assert.ok((await call('GET', '/api/v1/definitions')).body.items.some((d: any) => d.id === 'slow')) },
  'PUT /api/v1/definitions/{id}': {
    201: async () => expect(await call('PUT', '/api/v1/definitions/slow', { ...SLOW, version: '1.1.0' }), 201),
    200: async () => {
      expect(await call('PUT', '/api/v1/definitions/slow', { ...SLOW, version: '1.2.0' }), 201);
      expect(await call('PUT', '/api/v1/definitions/slow', { ...SLOW, version: '1.2.0' }), 200, 'the same content again');
    },
    400: async () => { const r = await call('PUT', '/api/v1/definitions/other-id', SLOW); expect(r, 400, 'invalid_input'); assert.equal(r.body.details.field, 'id'); },
    409: async () => expect(await call('PUT', '/api/v1/definitions/slow', { ...SLOW, description: 'changed' }), 409, 'conflict'),
    413: async () => expect(await call('PUT', '/api/v1/definitions/slow', { ...SLOW, metadata: big() }), 413, 'payload_too_large'),
    415: wrongType('PUT', '/api/v1/definitions/slow'),
    422: async () => expect(await call('PUT', '/api/v1/definitions/bad', { id: 'bad', steps: [{ id: 'start', type: 'start', next: 'nowhere' }] }), 422, 'definition_invalid'),
  },
  'GET /api/v1/definitions/{id}': {
    200: async () => assert.equal((await call('GET', '/api/v1/definitions/slow?version=1.0.0')).body.version, '1.0.0'),
    400: async () => expect(await call('GET', '/api/v1/definitions/slow?colour=red'), 400, 'invalid_input'),
    404: async () => expect(await call('GET', '/api/v1/definitions/nope'), 404, 'not_found'),
  },
  'POST /api/v1/definitions/validate': {
    200: async () => assert.equal((await call('POST', '/api/v1/definitions/validate', SLOW)).body.valid, true),
    400: async () => expect(await call('POST', '/api/v1/definitions/validate', ' ', { 'content-type': 'application/yaml' }), 400, 'invalid_input'),
    413: async () => expect(await call('POST', '/api/v1/definitions/validate', { ...SLOW, metadata: big() }), 413, 'payload_too_large'),
    415: wrongType('POST', '/api/v1/definitions/validate'),
  },
  'POST /api/v1/definitions/verify': {
    200: async () => assert.equal((await call('POST', '/api/v1/definitions/verify?soundnessOnly=true', SLOW)).body.verdict, 'sound'),
    400: async () => expect(await call('POST', '/api/v1/definitions/verify?colour=red', SLOW), 400, 'invalid_input'),
    413: async () => expect(await call('POST', '/api/v1/definitions/verify', { ...SLOW, metadata: big() }), 413, 'payload_too_large'),
    415: wrongType('POST', '/api/v1/definitions/verify'),
    422: async () => expect(await call('POST', '/api/v1/definitions/verify', { id: 'bad', steps: [] }), 422, 'definition_invalid'),
  },
  'GET /api/v1/definitions/{id}/versions/{version}': {
    200: async () => assert.equal((await call('GET', '/api/v1/definitions/slow/versions/1.0.0')).body.id, 'slow'),
    404: async () => expect(await call('GET', '/api/v1/definitions/slow/versions/9.9.9'), 404, 'not_found'),
  },
  'DELETE /api/v1/definitions/{id}/versions/{version}': {
    204: async () => {
      expect(await call('POST', '/api/v1/definitions', { ...SLOW, id: 'doomed' }), 201);
      expect(await call('DELETE', '/api/v1/definitions/doomed/versions/1.0.0'), 204);
      expect(await call('GET', '/api/v1/definitions/doomed'), 404);
    },
    404: async () => expect(await call('DELETE', '/api/v1/definitions/nope/versions/1.0.0'), 404, 'not_found'),
    409: async () => { await running(); expect(await call('DELETE', '/api/v1/definitions/slow/versions/1.0.0'), 409, 'in_use'); },
  },

  // ------------------------------------------------------------------ instances
  'POST /api/v1/instances': {
    201: async () => { const r = await call('POST', '/api/v1/instances', { definitionId: 'slow', labels: { a: 'b' } }); expect(r, 201); assert.equal(typeof r.body.id, 'string'); },
    400: async () => { const r = await call('POST', '/api/v1/instances', { input: {} }); expect(r, 400, 'invalid_input'); assert.equal(r.body.details.field, 'definitionId'); },
    404: async () => expect(await call('POST', '/api/v1/instances', { definitionId: 'nope' }), 404, 'not_found'),
    409: async () => {
      const id = await running();
      expect(await call('POST', '/api/v1/instances', { definitionId: 'slow', instanceId: id }), 409, 'invalid_state');
    },
    413: async () => expect(await call('POST', '/api/v1/instances', { definitionId: 'slow', input: big() }), 413, 'payload_too_large'),
    415: wrongType('POST', '/api/v1/instances'),
  },
  'GET /api/v1/instances': {
    200: async () => assert.ok(Array.isArray((await call('GET', '/api/v1/instances?definitionId=slow&limit=2')).body.items)),
    400: async () => expect(await call('GET', '/api/v1/instances?status=sleeping'), 400, 'invalid_input'),
  },
  'GET /api/v1/instances/{id}': {
    200: async () => { const id = await running(); assert.equal((await call('GET', `/api/v1/instances/${id}`)).body.id, id); },
    404: async () => expect(await call('GET', '/api/v1/instances/nope'), 404, 'not_found'),
  },
  'GET /api/v1/instances/{id}/history': {
    200: async () => { const id = await running(); assert.equal((await call('GET', `/api/v1/instances/${id}/history`)).body.events[0].type, 'WorkflowStarted'); },
    400: async () => { const id = await running(); expect(await call('GET', `/api/v1/instances/${id}/history?fromSeq=0`), 400, 'invalid_input'); },
    404: async () => expect(await call('GET', '/api/v1/instances/nope/history'), 404, 'not_found'),
  },
  'GET /api/v1/instances/{id}/state': {
    200: async () => { const id = await running(); assert.equal((await call('GET', `/api/v1/instances/${id}/state?seq=1`)).body.seq, 1); },
    400: async () => { const id = await running(); expect(await call('GET', `/api/v1/instances/${id}/state?seq=100000`), 400, 'invalid_input'); },
    404: async () => expect(await call('GET', '/api/v1/instances/nope/state?seq=1'), 404, 'not_found'),
  },
  'POST /api/v1/instances/{id}/pause': control((id) => `/api/v1/instances/${id}/pause`,
    async () => { const id = await running(); assert.equal((await call('POST', `/api/v1/instances/${id}/pause`, { reason: 'x' })).body.status, 'paused'); },
    async () => expect(await call('POST', `/api/v1/instances/${await terminated()}/pause`, {}), 409, 'invalid_state')),
  'POST /api/v1/instances/{id}/resume': control((id) => `/api/v1/instances/${id}/resume`,
    async () => { const id = await running(); await client.pause(id); assert.equal((await call('POST', `/api/v1/instances/${id}/resume`, {})).body.status, 'running'); },
    async () => expect(await call('POST', `/api/v1/instances/${await running()}/resume`, {}), 409, 'invalid_state')),
  'POST /api/v1/instances/{id}/cancel': control((id) => `/api/v1/instances/${id}/cancel`,
    async () => { const id = await running(); expect(await call('POST', `/api/v1/instances/${id}/cancel`, { reason: 'x' }), 200); await waitFor(async () => (await client.getInstance(id)).status === 'cancelled', 'cancelled'); },
    async () => expect(await call('POST', `/api/v1/instances/${await terminated()}/cancel`, {}), 409, 'invalid_state')),
  'POST /api/v1/instances/{id}/terminate': control((id) => `/api/v1/instances/${id}/terminate`,
    async () => { const id = await running(); assert.equal((await call('POST', `/api/v1/instances/${id}/terminate`, {})).body.status, 'terminated'); },
    async () => expect(await call('POST', `/api/v1/instances/${await terminated()}/terminate`, {}), 409, 'invalid_state')),
  'POST /api/v1/instances/{id}/compensate': control((id) => `/api/v1/instances/${id}/compensate`,
    async () => { const id = await failed(); expect(await call('POST', `/api/v1/instances/${id}/compensate`, { reason: 'undo' }), 200); },
    async () => expect(await call('POST', `/api/v1/instances/${await terminated()}/compensate`, {}), 409, 'invalid_state')),
  'POST /api/v1/instances/{id}/steps/{stepId}/skip': control((id) => `/api/v1/instances/${id}/steps/w/skip`,
    async () => { const id = await running(); assert.equal((await call('POST', `/api/v1/instances/${id}/steps/w/skip`, { output: { skipped: true } })).body.status, 'completed'); },
    async () => { const { id } = await holding(); expect(await call('POST', `/api/v1/instances/${id}/steps/h/skip`, {}), 409, 'not_allowed'); }),
  'POST /api/v1/instances/{id}/steps/{stepId}/retry': control((id) => `/api/v1/instances/${id}/steps/w/retry`,
    async () => { const id = await failed(); expect(await call('POST', `/api/v1/instances/${id}/steps/f/retry`, {}), 200); assert.notEqual((await client.getInstance(id)).status, 'failed'); },
    async () => expect(await call('POST', `/api/v1/instances/${await running()}/steps/w/retry`, {}), 409, 'invalid_state')),
  'POST /api/v1/instances/{id}/retry-from': control((id) => `/api/v1/instances/${id}/retry-from`,
    async () => { const id = await failed(); expect(await call('POST', `/api/v1/instances/${id}/retry-from`, { stepId: 'f' }), 200); assert.notEqual((await client.getInstance(id)).status, 'failed'); },
    async () => { const id = await running(); await client.skip(id, 'w'); expect(await call('POST', `/api/v1/instances/${id}/retry-from`, { stepId: 'w' }), 409, 'invalid_state'); },
    { stepId: 'w' }),
  'POST /api/v1/instances/{id}/variables': control((id) => `/api/v1/instances/${id}/variables`,
    async () => { const id = await running(); assert.ok((await call('POST', `/api/v1/instances/${id}/variables`, { vars: { n: 1 } })).body.events.some((e: any) => e.type === 'VariablesUpdated')); },
    async () => expect(await call('POST', `/api/v1/instances/${await terminated()}/variables`, { vars: { n: 1 } }), 409, 'invalid_state'),
    { vars: { n: 1 } }),
  'POST /api/v1/instances/{id}/signals': control((id) => `/api/v1/instances/${id}/signals`,
    async () => { const id = await running(); expect(await call('POST', `/api/v1/instances/${id}/signals`, { name: 'go', payload: { x: 1 } }), 200); },
    async () => expect(await call('POST', `/api/v1/instances/${await terminated()}/signals`, { name: 'go' }), 409, 'invalid_state'),
    { name: 'go' }),
  'POST /api/v1/instances/{id}/commands': control((id) => `/api/v1/instances/${id}/commands`,
    async () => { const id = await running(); assert.equal((await call('POST', `/api/v1/instances/${id}/commands`, { type: 'Pause' })).body.status, 'paused'); },
    async () => expect(await call('POST', `/api/v1/instances/${await running()}/commands`, { type: 'Resume' }), 409, 'invalid_state'),
    { type: 'Pause' },
    async () => { const r = await call('POST', `/api/v1/instances/${await running()}/commands`, { type: 'FireTimer', timerId: 'x' }); expect(r, 400, 'invalid_input'); assert.equal(r.body.details.field, 'type'); }),

  // ------------------------------------------------------------------ human tasks
  'GET /api/v1/human-tasks': {
    200: async () => { const { id } = await holding(); assert.equal((await call('GET', `/api/v1/human-tasks?user=ann&instanceId=${id}`)).body.items.length, 1); },
    400: async () => expect(await call('GET', '/api/v1/human-tasks?status=maybe'), 400, 'invalid_input'),
  },
  'GET /api/v1/human-tasks/{instanceId}/{taskId}': {
    200: async () => { const { id, task } = await holding(); assert.equal((await call('GET', `/api/v1/human-tasks/${id}/${task}`)).body.task.taskId, decodeURIComponent(task)); },
    404: async () => { const { id } = await holding(); expect(await call('GET', `/api/v1/human-tasks/${id}/nope`), 404, 'not_found'); },
  },
  'POST /api/v1/human-tasks/{instanceId}/{taskId}/claim': {
    200: async () => { const { id, task } = await holding(); assert.equal((await call('POST', `/api/v1/human-tasks/${id}/${task}/claim`, { user: 'ann' })).body.claimedBy, 'ann'); },
    400: async () => { const { id, task } = await holding(); expect(await call('POST', `/api/v1/human-tasks/${id}/${task}/claim`, { user: '' }), 400, 'invalid_input'); },
    404: async () => expect(await call('POST', '/api/v1/human-tasks/nope/nope/claim', {}), 404, 'not_found'),
    409: async () => { const { id, task } = await holding(); await client.claimTask(id, decodeURIComponent(task), 'ann'); expect(await call('POST', `/api/v1/human-tasks/${id}/${task}/claim`, { user: 'bob' }), 409, 'invalid_state'); },
  },
  'POST /api/v1/human-tasks/{instanceId}/{taskId}/release': {
    200: async () => {
      const { id, task } = await holding();
      await client.claimTask(id, decodeURIComponent(task), 'ann');
      const r = await call('POST', `/api/v1/human-tasks/${id}/${task}/release`, {}, { 'x-weft-user': 'ann' });
      expect(r, 200);
      assert.equal(r.body.claimedBy, undefined);
    },
    400: async () => { const { id, task } = await holding(); expect(await call('POST', `/api/v1/human-tasks/${id}/${task}/release`, { zzz: 1 }), 400, 'invalid_input'); },
    404: async () => expect(await call('POST', '/api/v1/human-tasks/nope/nope/release', {}), 404, 'not_found'),
    409: async () => { const { id, task } = await holding(); await client.claimTask(id, decodeURIComponent(task), 'ann'); expect(await call('POST', `/api/v1/human-tasks/${id}/${task}/release`, {}, { 'x-weft-user': 'bob' }), 409, 'invalid_state'); },
  },
  'POST /api/v1/human-tasks/{instanceId}/{taskId}/complete': {
    200: async () => { const { id, task } = await holding(); expect(await call('POST', `/api/v1/human-tasks/${id}/${task}/complete`, { action: 'approve', data: { ok: true } }), 200); await waitFor(async () => (await client.getInstance(id)).status === 'completed'); },
    400: async () => { const { id, task } = await holding(); const r = await call('POST', `/api/v1/human-tasks/${id}/${task}/complete`, { action: 'approve', data: { ok: 'yes' } }); expect(r, 400, 'invalid_input'); },
    404: async () => expect(await call('POST', '/api/v1/human-tasks/nope/nope/complete', { action: 'approve' }), 404, 'not_found'),
    409: async () => { const { id, task } = await holding(); await client.claimTask(id, decodeURIComponent(task), 'ann'); expect(await call('POST', `/api/v1/human-tasks/${id}/${task}/complete`, { action: 'approve', data: { ok: true } }, { 'x-weft-user': 'bob' }), 409, 'invalid_state'); },
    413: async () => { const { id, task } = await holding(); expect(await call('POST', `/api/v1/human-tasks/${id}/${task}/complete`, { action: 'approve', data: big() }), 413, 'payload_too_large'); },
  },
  'POST /api/v1/human-tasks/{instanceId}/{taskId}/reject': {
    200: async () => { const { id, task } = await holding(); expect(await call('POST', `/api/v1/human-tasks/${id}/${task}/reject`, { reason: 'no' }), 200); await waitFor(async () => (await client.getInstance(id)).status === 'failed'); },
    400: async () => { const { id, task } = await holding(); expect(await call('POST', `/api/v1/human-tasks/${id}/${task}/reject`, { reason: { not: 'text' } }), 400, 'invalid_input'); },
    404: async () => expect(await call('POST', '/api/v1/human-tasks/nope/nope/reject', {}), 404, 'not_found'),
    409: async () => { const { id, task } = await holding(); await client.claimTask(id, decodeURIComponent(task), 'ann'); expect(await call('POST', `/api/v1/human-tasks/${id}/${task}/reject`, {}, { 'x-weft-user': 'bob' }), 409, 'invalid_state'); },
  },
  'POST /api/v1/human-tasks/{instanceId}/{taskId}/reassign': {
    200: async () => { const { id, task } = await holding(); assert.deepEqual((await call('POST', `/api/v1/human-tasks/${id}/${task}/reassign`, { users: ['bob'], groups: ['ops'] })).body.task.users, ['bob']); },
    400: async () => { const { id, task } = await holding(); expect(await call('POST', `/api/v1/human-tasks/${id}/${task}/reassign`, {}), 400, 'invalid_input'); },
    404: async () => expect(await call('POST', '/api/v1/human-tasks/nope/nope/reassign', { users: ['bob'] }), 404, 'not_found'),
  },

  // ------------------------------------------------------------------ events
  'POST /api/v1/events': {
    202: async () => assert.deepEqual((await call('POST', '/api/v1/events', { name: 'nobody.listens', key: 'k' })).body, { delivered: 0, started: [], handled: [] }),
    400: async () => { const r = await call('POST', '/api/v1/events', { key: 'x' }); expect(r, 400, 'invalid_input'); assert.equal(r.body.details.field, 'name'); },
    413: async () => expect(await call('POST', '/api/v1/events', { name: 'e', payload: big() }), 413, 'payload_too_large'),
    415: wrongType('POST', '/api/v1/events'),
  },

  // ------------------------------------------------------------------ metrics
  'GET /metrics': { 200: async () => { const r = await fetch(`${server.url}/metrics`); assert.equal(r.status, 200); assert.match(await r.text(), /^# HELP weft_/m); } },
  'GET /api/v1/metrics': {
    200: async () => { const r = await call('GET', '/api/v1/metrics?limit=10'); expect(r, 200); assert.equal(typeof r.body.totals.instancesStarted, 'number'); assert.ok(Array.isArray(r.body.samples)); },
    400: async () => { const r = await call('GET', '/api/v1/metrics?since=soon'); expect(r, 400, 'invalid_input'); assert.equal(r.body.details.field, 'since'); },
  },

  // ------------------------------------------------------------------ schedules
  'POST /api/v1/schedules': {
    201: async () => { const r = await call('POST', '/api/v1/schedules', { definitionId: 'slow', cron: '0 3 * * *', timezone: 'Europe/Berlin' }); expect(r, 201); assert.equal(typeof r.body.nextRunAt, 'number'); },
    400: async () => { const r = await call('POST', '/api/v1/schedules', { definitionId: 'slow', cron: '0 3 * * *', timezone: 'Nowhere/City' }); expect(r, 400, 'invalid_input'); assert.equal(r.body.details.field, 'timezone'); },
    409: async () => { const id = await schedule(); expect(await call('POST', '/api/v1/schedules', { id, definitionId: 'slow', interval: '1h' }), 409, 'already_exists'); },
    413: async () => expect(await call('POST', '/api/v1/schedules', { definitionId: 'slow', interval: '1h', input: big() }), 413, 'payload_too_large'),
    415: wrongType('POST', '/api/v1/schedules'),
    422: async () => { const r = await call('POST', '/api/v1/schedules', { definitionId: 'nope', interval: '1h' }); expect(r, 422, 'unknown_definition'); assert.equal(r.body.details.field, 'definitionId'); },
  },
  'GET /api/v1/schedules': {
    200: async () => { const id = await schedule(); assert.ok((await call('GET', '/api/v1/schedules?definitionId=slow')).body.items.some((x: any) => x.id === id)); },
    400: async () => expect(await call('GET', '/api/v1/schedules?colour=red'), 400, 'invalid_input'),
  },
  'GET /api/v1/schedules/{id}': {
    200: async () => { const id = await schedule(); assert.equal((await call('GET', `/api/v1/schedules/${id}`)).body.id, id); },
    404: async () => expect(await call('GET', '/api/v1/schedules/nope'), 404, 'not_found'),
  },
  'PATCH /api/v1/schedules/{id}': {
    200: async () => { const id = await schedule(); assert.equal((await call('PATCH', `/api/v1/schedules/${id}`, { cron: '*/5 * * * *' })).body.cron, '*/5 * * * *'); },
    400: async () => { const r = await call('PATCH', `/api/v1/schedules/${await schedule()}`, { cron: 'not a cron' }); expect(r, 400, 'invalid_input'); assert.equal(r.body.details.field, 'cron'); },
    404: async () => expect(await call('PATCH', '/api/v1/schedules/nope', { interval: '2h' }), 404, 'not_found'),
    413: async () => expect(await call('PATCH', `/api/v1/schedules/${await schedule()}`, { input: big() }), 413, 'payload_too_large'),
    415: wrongType('PATCH', async () => `/api/v1/schedules/${await schedule()}`),
    422: async () => expect(await call('PATCH', `/api/v1/schedules/${await schedule()}`, { definitionId: 'nope' }), 422, 'unknown_definition'),
  },
  'DELETE /api/v1/schedules/{id}': {
    204: async () => { const id = await schedule(); expect(await call('DELETE', `/api/v1/schedules/${id}`), 204); expect(await call('GET', `/api/v1/schedules/${id}`), 404); },
    404: async () => expect(await call('DELETE', '/api/v1/schedules/nope'), 404, 'not_found'),
  },
  'POST /api/v1/schedules/{id}/pause': {
    200: async () => assert.equal((await call('POST', `/api/v1/schedules/${await schedule()}/pause`, {})).body.paused, true),
    400: async () => expect(await call('POST', `/api/v1/schedules/${await schedule()}/pause`, { zzz: 1 }), 400, 'invalid_input'),
    404: async () => expect(await call('POST', '/api/v1/schedules/nope/pause', {}), 404, 'not_found'),
    409: async () => { const id = await schedule(); await call('POST', `/api/v1/schedules/${id}/pause`, {}); expect(await call('POST', `/api/v1/schedules/${id}/pause`, {}), 409, 'invalid_state'); },
  },
  'POST /api/v1/schedules/{id}/resume': {
    200: async () => { const id = await schedule(); await call('POST', `/api/v1/schedules/${id}/pause`, {}); assert.equal((await call('POST', `/api/v1/schedules/${id}/resume`, {})).body.paused, false); },
    400: async () => expect(await call('POST', `/api/v1/schedules/${await schedule()}/resume`, { zzz: 1 }), 400, 'invalid_input'),
    404: async () => expect(await call('POST', '/api/v1/schedules/nope/resume', {}), 404, 'not_found'),
    409: async () => expect(await call('POST', `/api/v1/schedules/${await schedule()}/resume`, {}), 409, 'invalid_state'),
  },
  'POST /api/v1/schedules/{id}/trigger': {
    200: async () => { const r = await call('POST', `/api/v1/schedules/${await schedule()}/trigger`, {}); expect(r, 200); assert.equal(r.body.outcome, 'started'); assert.equal((await client.getInstance(r.body.instanceId)).definitionId, 'slow'); },
    400: async () => { const r = await call('POST', `/api/v1/schedules/${await schedule()}/trigger`, { overlap: 'maybe' }); expect(r, 400, 'invalid_input'); assert.equal(r.body.details.field, 'overlap'); },
    404: async () => expect(await call('POST', '/api/v1/schedules/nope/trigger', {}), 404, 'not_found'),
  },

  // ------------------------------------------------------------------ workers and queues
  'GET /api/v1/workers': { 200: async () => { await call('POST', '/api/v1/workers/lister/poll', { activities: ['x'], waitMs: 0 }); assert.ok((await call('GET', '/api/v1/workers')).body.items.some((w: any) => w.id === 'lister')); } },
  'GET /api/v1/nodes': {
    200: async () => {
      const r = await call('GET', '/api/v1/nodes');
      expect(r, 200);
      const me = r.body.items.find((n: any) => n.id === server.engine.nodeId);
      assert.equal(me?.status, 'alive');
      assert.equal(me?.leader, true, 'an embedded engine is its own leader');
      assert.equal(me?.pid, process.pid);
    },
  },
  'GET /api/v1/queues': { 200: async () => { await running(); assert.ok((await call('GET', '/api/v1/queues')).body.items.some((q: any) => q.activity === 'remote.only')); } },
  'POST /api/v1/workers/{id}/poll': {
    200: async () => { const t = await leased(); assert.equal(typeof t.token, 'string'); },
    400: async () => { const r = await call('POST', '/api/v1/workers/w/poll', { capacity: 1 }); expect(r, 400, 'invalid_input'); assert.equal(r.body.details.field, 'activities'); },
  },
  'POST /api/v1/workers/{id}/heartbeat': {
    200: async () => { const t = await leased(); assert.equal((await call('POST', '/api/v1/workers/cw/heartbeat', { tasks: [{ instanceId: t.instanceId, taskId: t.taskId, token: t.token }] })).body.tasks[0].cancel, false); },
    400: async () => expect(await call('POST', '/api/v1/workers/cw/heartbeat', { tasks: [{ instanceId: 'x' }] }), 400, 'invalid_input'),
  },
  'POST /api/v1/workers/{id}/complete': {
    200: async () => { const t = await leased(); expect(await call('POST', '/api/v1/workers/cw/complete', { instanceId: t.instanceId, taskId: t.taskId, token: t.token, attempt: t.attempt, output: {} }), 200); await waitFor(async () => (await client.getInstance(t.instanceId)).status === 'completed'); },
    400: async () => expect(await call('POST', '/api/v1/workers/cw/complete', { instanceId: 'x', taskId: 'y', token: 'z' }), 400, 'invalid_input'),
    404: async () => expect(await call('POST', '/api/v1/workers/cw/complete', { instanceId: 'no-such-instance', taskId: 'y', token: 'z', attempt: 1 }), 404, 'not_found'),
    409: async () => { const t = await leased(); expect(await call('POST', '/api/v1/workers/cw/complete', { instanceId: t.instanceId, taskId: t.taskId, token: 'not-the-token', attempt: t.attempt }), 409, 'stale'); },
    413: async () => { const t = await leased(); expect(await call('POST', '/api/v1/workers/cw/complete', { instanceId: t.instanceId, taskId: t.taskId, token: t.token, attempt: t.attempt, output: big() }), 413, 'payload_too_large'); },
  },
  'POST /api/v1/workers/{id}/fail': {
    200: async () => { await failed(); },
    400: async () => expect(await call('POST', '/api/v1/workers/cw/fail', { instanceId: 'x', taskId: 'y', token: 'z', attempt: 1, error: { message: 'no code' } }), 400, 'invalid_input'),
    404: async () => expect(await call('POST', '/api/v1/workers/cw/fail', { instanceId: 'no-such-instance', taskId: 'y', token: 'z', attempt: 1, error: { code: 'x', message: 'y' } }), 404, 'not_found'),
    409: async () => { const t = await leased(); expect(await call('POST', '/api/v1/workers/cw/fail', { instanceId: t.instanceId, taskId: t.taskId, token: 'not-the-token', attempt: t.attempt, error: { code: 'x', message: 'y' } }), 409, 'stale'); },
  },
  'DELETE /api/v1/workers/{id}': {
    204: async () => {
      await call('POST', '/api/v1/workers/leaver/poll', { activities: ['x'], waitMs: 0 });
      expect(await call('DELETE', '/api/v1/workers/leaver'), 204);
      assert.ok(!(await call('GET', '/api/v1/workers')).body.items.some((w: any) => w.id === 'leaver'));
    },
  },
};

describe('API contract: every OpenAPI route and documented status has a test', { timeout: 120_000 }, () => {
  before(async () => {
    server = await startServer({ db: ':memory:', port: 0, bodyLimit: BODY_LIMIT });
    client = new WeftClient(server.url, { timeoutMs: 10_000 });
    for (const d of [SLOW, HOLD, FAILY]) await client.deploy(d);
  });
  after(async () => { await server?.close(); });

  it('the table covers exactly the routes and statuses of /api/v1/openapi.json', async () => {
    const doc = (await call('GET', '/api/v1/openapi.json')).body as { paths: Record<string, Record<string, { responses?: Record<string, unknown> }>> };
    const documented: string[] = [];
    for (const [path, ops] of Object.entries(doc.paths)) {
      for (const [method, op] of Object.entries(ops)) {
        const statuses = Object.keys(op.responses ?? {});
        assert.ok(statuses.some((s) => s.startsWith('2')), `${method.toUpperCase()} ${path} documents a success status`);
        for (const s of statuses) documented.push(`${method.toUpperCase()} ${path} ${s}`);
      }
    }
    const tested = Object.entries(CASES).flatMap(([route, byStatus]) => Object.keys(byStatus).map((s) => `${route} ${s}`));
    assert.deepEqual(documented.filter((d) => !tested.includes(d)), [], 'documented but not tested: add a case to CASES');
    assert.deepEqual(tested.filter((t) => !documented.includes(t)), [], 'tested but not documented: add the status to the route schema');
  });

  it('routes taking a definition document its real JSON Schema (every field of the model) and YAML', async () => {
    const doc = (await call('GET', '/api/v1/openapi.json')).body;
    const fields = Object.keys(DefinitionModel.shape).sort();
    for (const [path, method] of [['/api/v1/definitions', 'post'], ['/api/v1/definitions/{id}', 'put'], ['/api/v1/definitions/validate', 'post'], ['/api/v1/definitions/verify', 'post']] as const) {
      const body = doc.paths[path][method].requestBody;
      assert.ok(body, `${method} ${path} has a request body`);
      const schema = body.content['application/json'].schema;
      assert.deepEqual(Object.keys(schema.properties).sort(), fields, `${method} ${path}: every Definition field`);
      assert.deepEqual(schema.required, ['id', 'steps']);
      assert.equal(schema.additionalProperties, false);
      assert.ok(schema.properties.steps.items, 'steps are described');
      assert.equal(body.content['application/yaml'].schema.type, 'string');
    }
  });

  for (const [route, byStatus] of Object.entries(CASES)) {
    for (const [status, run] of Object.entries(byStatus)) {
      it(`${route} → ${status}`, run);
    }
  }
});
