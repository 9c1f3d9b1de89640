/**
 * Contract tests of the REST API: every route's happy path and each error status, bad input
 * (malformed JSON, wrong content type, oversized bodies, unknown fields, unknown ids, commands in
 * the wrong state) getting the documented error and changing nothing; idempotent starts.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { after, before, describe, it } from 'node:test';
import { ERRORS } from '../src/api/errors.js';
import { startServer, type RunningServer } from '../src/api/start.js';
import type { Definition } from '../src/model/schema.js';
import { WeftApiError, WeftClient } from '../src/sdk/client.js';

const FLOW: Definition = {
  id: 'flow', version: '1.0.0',
  steps: [
    { id: 'start', type: 'start', next: 'a' },
    { id: 'a', type: 'task', activity: 'noop', next: 'approve' },
    { id: 'approve', type: 'human', assignees: { users: ['ann'], groups: ['ops'] }, form: { type: 'object', required: ['ok'], properties: { ok: { type: 'boolean' } } }, next: 'wait' },
    { id: 'wait', type: 'wait', event: 'paid', correlation: 'input.order', next: 'end' },
    { id: 'end', type: 'end' },
  ],
} as Definition;

const SLOW: Definition = {
  id: 'slow', version: '1.0.0',
  steps: [
    { id: 'start', type: 'start', next: 'w' },
    { id: 'w', type: 'task', activity: 'remote.only', skippable: true, next: 'end' },
    { id: 'end', type: 'end' },
  ],
} as Definition;

let server: RunningServer;
let client: WeftClient;

async function raw(method: string, path: string, body?: string, headers: Record<string, string> = {}) {
  const res = await fetch(server.url + path, { method, headers, ...(body !== undefined && { body }), signal: AbortSignal.timeout(10_000) });
  const text = await res.text();
  let json: any;
  try { json = JSON.parse(text); } catch { json = text; }
  return { status: res.status, body: json, headers: res.headers };
}

async function expectError(p: Promise<unknown>, status: number, code: string): Promise<WeftApiError> {
  try {
    await p;
  } catch (err) {
    assert.ok(err instanceof WeftApiError, String(err));
    assert.equal(err.code, code, err.message);
    assert.equal(err.status, status);
    return err;
  }
  assert.fail(`expected ${status} ${code}`);
}

describe('REST API', { timeout: 60_000 }, () => {
  before(async () => {
    server = await startServer({ db: ':memory:', port: 0, bodyLimit: 256 * 1024 });
    client = new WeftClient(server.url, { timeoutMs: 10_000 });
    await client.deploy(FLOW);
    await client.deploy(SLOW);
  });
  after(async () => { await server?.close(); });

  it('health, readiness, OpenAPI and docs', async () => {
    assert.deepEqual(await client.health(), { status: 'ok' });
    assert.deepEqual(await client.ready(), { status: 'ready' });
    const doc = await client.openapi();
    assert.equal((doc.openapi as string).slice(0, 2), '3.');
    const paths = Object.keys(doc.paths as object);
    for (const p of ['/api/v1/instances', '/api/v1/definitions', '/api/v1/human-tasks', '/api/v1/events', '/api/v1/workers/{id}/poll', '/api/v1/instances/{id}/pause']) {
      assert.ok(paths.includes(p), `${p} in OpenAPI`);
    }
    const docs = await raw('GET', '/api/v1/docs/');
    assert.equal(docs.status, 200);
  });

  it('every error code is documented in docs/api.md', () => {
    const doc = readFileSync(new URL('../docs/api.md', import.meta.url), 'utf8');
    for (const code of Object.keys(ERRORS)) assert.ok(doc.includes(`\`${code}\``), `docs/api.md documents ${code}`);
  });

  describe('definitions', () => {
    it('deploys JSON and YAML, lists versions, gets one', async () => {
      const yaml = 'id: yml\nversion: 1.0.0\nsteps:\n  - { id: start, type: start, next: end }\n  - { id: end, type: end }\n';
      const r = await client.deploy(yaml, 'yaml');
      assert.deepEqual(r, { id: 'yml', version: '1.0.0', created: true, verdict: 'sound' });
      assert.equal((await client.deploy(yaml, 'yaml')).created, false, 'same content again: idempotent');
      await client.deploy(yaml.replace('1.0.0', '1.1.0'), 'yaml');
      const list = await client.listDefinitions();
      const yml = list.find((d) => d.id === 'yml')!;
      assert.deepEqual(yml.versions.map((v) => v.version), ['1.0.0', '1.1.0']);
      assert.equal(yml.latest, '1.1.0');
      assert.equal((await client.getDefinition('yml')).version, '1.1.0');
      assert.equal((await client.getDefinition('yml', '1.0.0')).version, '1.0.0');
      const put = await raw('PUT', '/api/v1/definitions/yml', yaml.replace('1.0.0', '2.0.0'), { 'content-type': 'application/yaml' });
      assert.equal(put.status, 201);
    });

    it('422 with issues and lines for an invalid definition; 400 for bad syntax; 409 for a changed version', async () => {
      const bad = 'id: bad\nsteps:\n  - id: start\n    type: start\n    next: nowhere\n';
      const e = await expectError(client.deploy(bad, 'yaml'), 422, 'definition_invalid');
      const issues = (e.details as { issues: Array<{ line?: number }> }).issues;
      assert.ok(issues.length > 0 && issues.every((i) => typeof i.line === 'number'));
      await expectError(client.deploy('{"id": "x", ', 'json'), 400, 'malformed_json');
      await expectError(client.deploy({ ...FLOW, description: 'changed' } as Definition), 409, 'conflict');
      const v = await client.validate(bad, 'yaml');
      assert.equal(v.valid, false);
      assert.equal((await client.validate(FLOW)).valid, true);
      assert.ok(!(await client.listDefinitions()).some((d) => d.id === 'bad'), 'nothing deployed');
    });

    it('404 unknown definition; PUT with a mismatched id is 400; delete of a used version is 409', async () => {
      await expectError(client.getDefinition('nope'), 404, 'not_found');
      await expectError(client.getDefinition('flow', '9.9.9'), 404, 'not_found');
      const put = await raw('PUT', '/api/v1/definitions/other', JSON.stringify(FLOW), { 'content-type': 'application/json' });
      assert.equal(put.status, 400);
      assert.equal(put.body.details.field, 'id');
      await client.start({ definitionId: 'flow', input: { order: 'o-del' } });
      await expectError(client.deleteDefinition('flow', '1.0.0'), 409, 'in_use');
      await expectError(client.deleteDefinition('nope', '1.0.0'), 404, 'not_found');
    });
  });

  describe('instances', () => {
    it('starts, gets, lists with filters and cursors, history, state at a seq', async () => {
      const { id } = await client.start({ definitionId: 'flow', input: { order: 'o-1' }, labels: { team: 'red' }, correlationId: 'c-1' });
      await waitFor(async () => (await client.getInstance(id)).status === 'waiting');
      const state = await client.getInstance(id);
      assert.equal(state.definitionId, 'flow');
      const h = await client.history(id);
      assert.equal(h.events[0]!.type, 'WorkflowStarted');
      assert.deepEqual(h.events.map((e) => e.seq), h.events.map((_, i) => i + 1));
      const at2 = await client.stateAt(id, 2);
      assert.equal(at2.seq, 2);
      await expectError(client.stateAt(id, 10_000), 400, 'invalid_input');
      const page1 = await client.history(id, { limit: 2 });
      assert.equal(page1.events.length, 2);
      assert.equal(page1.nextSeq, 3);

      assert.deepEqual((await client.listInstances({ labels: { team: 'red' } })).items.map((i) => i.id), [id]);
      assert.deepEqual((await client.listInstances({ correlationId: 'c-1' })).items.map((i) => i.id), [id]);
      assert.equal((await client.listInstances({ labels: { team: 'blue' } })).items.length, 0);
      assert.ok((await client.listInstances({ status: ['waiting'], definitionId: 'flow' })).items.some((i) => i.id === id));
      assert.equal((await client.listInstances({ createdAfter: Date.now() + 60_000 })).items.length, 0);

      for (let i = 0; i < 5; i++) await client.start({ definitionId: 'slow', labels: { page: 'yes' } });
      const seen: string[] = [];
      let cursor: string | undefined;
      do {
        const p = await client.listInstances({ definitionId: 'slow', limit: 2, ...(cursor && { cursor }) });
        assert.ok(p.items.length <= 2);
        seen.push(...p.items.map((i) => i.id));
        cursor = p.nextCursor;
      } while (cursor);
      assert.equal(seen.length, new Set(seen).size);
      assert.ok(seen.length >= 5);
      assert.deepEqual(seen, [...seen].sort());
      const all: string[] = [];
      for await (const s of client.instances({ labels: { page: 'yes' }, limit: 2 })) all.push(s.id);
      assert.equal(all.length, 5);
    });

    it('400 naming the field, unknown fields, bad cursors, 404 unknown ids', async () => {
      const missing = await raw('POST', '/api/v1/instances', JSON.stringify({ input: {} }), { 'content-type': 'application/json' });
      assert.equal(missing.status, 400);
      assert.equal(missing.body.error, 'invalid_input');
      assert.equal(missing.body.details.field, 'definitionId');
      const unknown = await raw('POST', '/api/v1/instances', JSON.stringify({ definitionId: 'flow', colour: 'red' }), { 'content-type': 'application/json' });
      assert.equal(unknown.status, 400);
      assert.equal(unknown.body.details.field, 'colour');
      const badStatus = await raw('GET', '/api/v1/instances?status=sleeping');
      assert.equal(badStatus.status, 400);
      assert.match(badStatus.body.details.field, /status/);
      assert.equal((await raw('GET', '/api/v1/instances?cursor=%%%')).status, 400);
      assert.equal((await raw('GET', '/api/v1/instances?limit=0')).status, 400);
      await expectError(client.start({ definitionId: 'nope' }), 404, 'not_found');
      await expectError(client.getInstance('nope'), 404, 'not_found');
      await expectError(client.history('nope'), 404, 'not_found');
      await expectError(client.stateAt('nope', 1), 404, 'not_found');
      await expectError(client.pause('nope'), 404, 'not_found');
      const route = await raw('GET', '/api/v1/nothing-here');
      assert.deepEqual([route.status, route.body.error], [404, 'not_found']);
    });

    it('malformed JSON, wrong content type, oversized body: documented errors, nothing created', async () => {
      const before = (await client.listInstances({ limit: 1000 })).items.length;
      const malformed = await raw('POST', '/api/v1/instances', '{"definitionId": "flow",', { 'content-type': 'application/json' });
      assert.deepEqual([malformed.status, malformed.body.error], [400, 'malformed_json']);
      const text = await raw('POST', '/api/v1/instances', 'definitionId=flow', { 'content-type': 'text/plain' });
      assert.deepEqual([text.status, text.body.error], [415, 'unsupported_media_type']);
      const form = await raw('POST', '/api/v1/instances', 'definitionId=flow', { 'content-type': 'application/x-www-form-urlencoded' });
      assert.equal(form.status, 415);
      const big = JSON.stringify({ definitionId: 'flow', input: { blob: 'x'.repeat(10 * 1024 * 1024) } });
      const huge = await raw('POST', '/api/v1/instances', big, { 'content-type': 'application/json' });
      assert.deepEqual([huge.status, huge.body.error], [413, 'payload_too_large']);
      const hugeDef = await raw('POST', '/api/v1/definitions', big, { 'content-type': 'application/json' });
      assert.equal(hugeDef.status, 413);
      assert.equal((await client.listInstances({ limit: 1000 })).items.length, before, 'nothing created');
    });

    it('50 concurrent identical starts with one Idempotency-Key give one instance', async () => {
      const ids = await Promise.all(Array.from({ length: 50 }, () => client.start({ definitionId: 'slow', idempotencyKey: 'same-key', labels: { idem: '1' } })));
      assert.equal(new Set(ids.map((r) => r.id)).size, 1);
      assert.equal((await client.listInstances({ labels: { idem: '1' } })).items.length, 1);
      const again = await client.start({ definitionId: 'slow', idempotencyKey: 'same-key' });
      assert.equal(again.id, ids[0]!.id);
    });

    it('control commands: pause, resume, variables, skip, cancel, terminate; wrong state is 409 and changes nothing', async () => {
      const { id } = await client.start({ definitionId: 'slow' });
      await waitFor(async () => (await client.getInstance(id)).status === 'running');
      await expectError(client.resume(id), 409, 'invalid_state');
      const seqBefore = (await client.getInstance(id)).seq;
      await expectError(client.resume(id), 409, 'invalid_state');
      assert.equal((await client.getInstance(id)).seq, seqBefore, 'a refused command writes nothing');
      assert.equal((await client.pause(id, 'maintenance')).status, 'paused');
      await expectError(client.pause(id), 409, 'invalid_state');
      assert.equal((await client.resume(id)).status, 'running');
      const vars = await client.updateVariables(id, { n: 1 });
      assert.ok(vars.events.some((e) => e.type === 'VariablesUpdated'));
      await expectError(client.skip(id, 'nope'), 404, 'not_found');
      await expectError(client.retryStep(id, 'w'), 409, 'invalid_state');
      const skipped = await client.skip(id, 'w', { skipped: true });
      assert.equal(skipped.status, 'completed');
      await expectError(client.cancel(id), 409, 'invalid_state');

      const b = await client.start({ definitionId: 'slow' });
      await waitFor(async () => (await client.getInstance(b.id)).status === 'running');
      const cancelled = await client.cancel(b.id, 'no longer needed');
      assert.ok(['cancelled', 'running'].includes(cancelled.status));
      await waitFor(async () => (await client.getInstance(b.id)).status === 'cancelled');
      const c = await client.start({ definitionId: 'slow' });
      await waitFor(async () => (await client.getInstance(c.id)).status === 'running');
      assert.equal((await client.terminate(c.id)).status, 'terminated');
      const generic = await raw('POST', `/api/v1/instances/${c.id}/commands`, JSON.stringify({ type: 'FireTimer', timerId: 'x' }), { 'content-type': 'application/json' });
      assert.equal(generic.status, 400, 'runtime-only commands are refused');
      await expectError(client.command(c.id, { type: 'Resume' }), 409, 'invalid_state');
      const badBody = await raw('POST', `/api/v1/instances/${c.id}/pause`, JSON.stringify({ reason: 'x', force: true }), { 'content-type': 'application/json' });
      assert.deepEqual([badBody.status, badBody.body.details.field], [400, 'force']);
    });
  });

  describe('human tasks and events', () => {
    it('inbox by user and group, claim, complete with form validation, events by correlation', async () => {
      const { id } = await client.start({ definitionId: 'flow', input: { order: 'o-42' } });
      await waitFor(async () => (await client.inbox({ instanceId: id })).length === 1);
      const [task] = await client.inbox({ user: 'ann', instanceId: id });
      assert.ok(task);
      assert.equal((await client.inbox({ group: 'ops', instanceId: id })).length, 1);
      assert.equal((await client.inbox({ user: 'bob', instanceId: id })).length, 0);
      const taskId = task.task.taskId;
      await expectError(client.completeTask(id, 'nope', 'approve'), 404, 'not_found');
      const claimed = await client.claimTask(id, taskId, 'ann');
      assert.equal(claimed.claimedBy, 'ann');
      await expectError(client.claimTask(id, taskId, 'bob'), 409, 'invalid_state');
      const reassigned = await client.reassignTask(id, taskId, { users: ['bob'] });
      assert.deepEqual(reassigned.task.users, ['bob']);
      assert.equal((await client.inbox({ user: 'bob', instanceId: id })).length, 1);
      const bad = await expectError(client.completeTask(id, taskId, 'approve', { ok: 'yes' }), 400, 'invalid_input');
      assert.ok(bad.message.length > 0);
      await expectError(client.completeTask(id, taskId, 'dance', { ok: true }), 400, 'invalid_input');
      await client.completeTask(id, taskId, 'approve', { ok: true });
      await waitFor(async () => (await client.getInstance(id)).status === 'waiting' && (await client.inbox({ instanceId: id })).length === 0);
      assert.equal((await client.publishEvent('paid', 'someone-else')).delivered, 0);
      assert.equal((await client.publishEvent('paid', 'o-42', { amount: 1 })).delivered, 1);
      await waitFor(async () => (await client.getInstance(id)).status === 'completed');
      const noName = await raw('POST', '/api/v1/events', JSON.stringify({ key: 'x' }), { 'content-type': 'application/json' });
      assert.deepEqual([noName.status, noName.body.details.field], [400, 'name']);
    });

    it('rejecting a human task fails its step; signals reach one instance', async () => {
      const { id } = await client.start({ definitionId: 'flow', input: { order: 'o-43' } });
      await waitFor(async () => (await client.inbox({ instanceId: id })).length === 1);
      const [task] = await client.inbox({ instanceId: id });
      await client.rejectTask(id, task!.task.taskId, 'no');
      await waitFor(async () => (await client.getInstance(id)).status === 'failed');
      await expectError(client.rejectTask(id, task!.task.taskId), 404, 'not_found');
      await expectError(client.signal('nope', 'go'), 404, 'not_found');
      const s = await client.start({ definitionId: 'slow' });
      await waitFor(async () => (await client.getInstance(s.id)).status === 'running');
      const sig = await client.signal(s.id, 'go', { x: 1 });
      assert.ok(sig.events.length >= 1);
    });

    it('workers and queues are listed', async () => {
      const queues = await client.queues();
      assert.ok(queues.some((q) => q.activity === 'remote.only' && q.queued > 0));
      assert.ok(Array.isArray(await client.workers()));
    });
  });
});

async function waitFor(check: () => Promise<boolean>, timeoutMs = 5000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (Date.now() < end) {
    if (await check()) return;
    await new Promise((r) => setTimeout(r, 10));
  }
  assert.fail('condition not met in time');
}
