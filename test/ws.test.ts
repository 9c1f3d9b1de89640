/**
 * The WebSocket: a snapshot then every event in order with sequence numbers; resuming from a seq
 * gives exactly the missed events; commands over the socket; errors; the SDK's watch().
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import WebSocket from 'ws';
import { startServer, type RunningServer } from '../src/api/start.js';
import type { EngineEvent } from '../src/core/types.js';
import type { Definition } from '../src/model/schema.js';
import { WeftClient } from '../src/sdk/client.js';

const DEF: Definition = {
  id: 'ask', version: '1.0.0',
  steps: [
    { id: 'start', type: 'start', next: 'a' },
    { id: 'a', type: 'task', activity: 'noop', next: 'h' },
    { id: 'h', type: 'human', assignees: { users: ['ann'] }, next: 'b' },
    { id: 'b', type: 'task', activity: 'noop', next: 'end' },
    { id: 'end', type: 'end' },
  ],
} as Definition;

let server: RunningServer;
let client: WeftClient;

class Socket {
  readonly messages: Array<Record<string, any>> = [];
  private waiters: Array<() => void> = [];
  constructor(readonly ws: WebSocket) {
    ws.on('message', (d) => { this.messages.push(JSON.parse(String(d))); for (const w of this.waiters.splice(0)) w(); });
  }
  static async open(url: string): Promise<Socket> {
    const ws = new WebSocket(url.replace(/^http/, 'ws') + '/api/v1/ws');
    const s = new Socket(ws);
    await new Promise((resolve, reject) => { ws.once('open', resolve); ws.once('error', reject); });
    return s;
  }
  send(m: unknown): void { this.ws.send(typeof m === 'string' ? m : JSON.stringify(m)); }
  async until(pred: (msgs: Array<Record<string, any>>) => boolean, timeoutMs = 5000): Promise<void> {
    const end = Date.now() + timeoutMs;
    while (!pred(this.messages)) {
      if (Date.now() > end) assert.fail(`timed out; got ${JSON.stringify(this.messages).slice(0, 2000)}`);
      await new Promise<void>((r) => { this.waiters.push(r); setTimeout(r, 50); });
    }
  }
  events(sub: string): EngineEvent[] { return this.messages.filter((m) => m.type === 'events' && m.sub === sub).flatMap((m) => m.events); }
  close(): void { this.ws.terminate(); }
}

describe('WebSocket', { timeout: 30_000 }, () => {
  before(async () => {
    server = await startServer({ db: ':memory:', port: 0, ws: { pingMs: 200 } });
    client = new WeftClient(server.url, { timeoutMs: 10_000 });
    await client.deploy(DEF);
  });
  after(async () => { await server?.close(); });

  it('snapshot then ordered increments; resume from a seq gives exactly what was missed', async () => {
    const { id } = await client.start({ definitionId: 'ask' });
    await waitFor(async () => (await client.inbox({ instanceId: id })).length === 1);
    const s = await Socket.open(server.url);
    try {
      s.send({ type: 'subscribe', id: 'one', instanceId: id });
      await s.until((m) => m.some((x) => x.type === 'snapshot'));
      const snap = s.messages.find((x) => x.type === 'snapshot')!;
      assert.equal(snap.state.status, 'waiting');
      const snapSeq = snap.seq as number;
      const [task] = await client.inbox({ instanceId: id });
      await client.completeTask(id, task!.task.taskId, 'approve');
      await s.until(() => s.events('one').some((e) => e.type === 'WorkflowCompleted'));
      const seqs = s.events('one').map((e) => e.seq);
      assert.deepEqual(seqs, seqs.map((_, i) => snapSeq + 1 + i), 'contiguous, in order, after the snapshot');

      // A client that saw up to `mid` reconnects: it gets exactly mid+1 … last.
      const mid = snapSeq + 2;
      const r = await Socket.open(server.url);
      try {
        r.send({ type: 'subscribe', id: 'again', instanceId: id, afterSeq: mid });
        const last = seqs[seqs.length - 1]!;
        await r.until(() => r.events('again').some((e) => e.seq === last));
        assert.deepEqual(r.events('again').map((e) => e.seq), Array.from({ length: last - mid }, (_, i) => mid + 1 + i));
        assert.ok(!r.messages.some((x) => x.type === 'snapshot'), 'no snapshot on resume');
        const full = (await client.history(id)).events.filter((e) => e.seq > mid);
        assert.deepEqual(r.events('again'), full, 'the same events as the history');
      } finally { r.close(); }
    } finally { s.close(); }
  });

  it('definition and all subscriptions; commands over the socket; errors', async () => {
    const s = await Socket.open(server.url);
    try {
      s.send({ type: 'subscribe', id: 'def', definitionId: 'ask' });
      s.send({ type: 'subscribe', id: 'all', all: true });
      await s.until((m) => m.filter((x) => x.type === 'snapshot').length === 2);
      const { id } = await client.start({ definitionId: 'ask' });
      await s.until(() => s.events('def').some((e) => e.type === 'WorkflowStarted' && (e as { instanceId?: string }).instanceId === id));
      await s.until(() => s.events('all').some((e) => e.type === 'WorkflowStarted' && (e as { instanceId?: string }).instanceId === id));
      await waitFor(async () => (await client.getInstance(id)).status === 'waiting');

      s.send({ type: 'command', requestId: 'c1', command: { type: 'Pause', instanceId: id } });
      await s.until((m) => m.some((x) => x.requestId === 'c1'));
      assert.equal(s.messages.find((x) => x.requestId === 'c1')!.status, 'paused');
      s.send({ type: 'command', requestId: 'c2', command: { type: 'Pause', instanceId: id } });
      await s.until((m) => m.some((x) => x.requestId === 'c2'));
      assert.deepEqual(pick(s.messages.find((x) => x.requestId === 'c2')!), { type: 'error', error: 'invalid_state' });
      s.send({ type: 'command', requestId: 'c3', command: { type: 'FireTimer', instanceId: id } });
      s.send('{not json');
      s.send({ type: 'subscribe', id: 'x', instanceId: 'nope' });
      s.send({ type: 'dance' });
      s.send({ type: 'ping' });
      await s.until((m) => m.some((x) => x.type === 'pong') && m.filter((x) => x.type === 'error').length >= 5);
      const errors = s.messages.filter((x) => x.type === 'error').map((x) => x.error);
      assert.deepEqual(errors.sort(), ['invalid_input', 'invalid_input', 'invalid_state', 'malformed_json', 'not_found'].sort());
      assert.equal((await client.getInstance(id)).status, 'paused');
    } finally { s.close(); }
  });

  it('SDK watch: snapshot, events, and resume after the connection drops', async () => {
    const { id } = await client.start({ definitionId: 'ask' });
    await waitFor(async () => (await client.inbox({ instanceId: id })).length === 1);
    const seen: number[] = [];
    let snapshotSeq = -1;
    const w = client.watch({ instanceId: id }, {
      minDelayMs: 20,
      onSnapshot: (s) => { snapshotSeq = s.seq!; },
      onEvents: (b) => seen.push(...b.events.map((e) => e.seq)),
    });
    try {
      await w.ready;
      assert.ok(snapshotSeq > 0);
      // Drop every server-side socket: the watcher reconnects and resumes from its last seq.
      for (const c of server.app.websocketServer.clients) c.terminate();
      const [task] = await client.inbox({ instanceId: id });
      await client.completeTask(id, task!.task.taskId, 'approve');
      await waitFor(async () => (await client.getInstance(id)).status === 'completed');
      const last = (await client.getInstance(id)).seq;
      await waitFor(async () => seen[seen.length - 1] === last);
      assert.deepEqual(seen, Array.from({ length: last - snapshotSeq }, (_, i) => snapshotSeq + 1 + i), 'every event exactly once, in order');
    } finally { w.close(); }
  });

  it('closes a socket that stops answering pings', async () => {
    const ws = new WebSocket(server.url.replace(/^http/, 'ws') + '/api/v1/ws', { autoPong: false } as never);
    await new Promise((resolve, reject) => { ws.once('open', resolve); ws.once('error', reject); });
    const closed = await Promise.race([new Promise((r) => ws.once('close', () => r(true))), new Promise((r) => setTimeout(() => r(false), 3000))]);
    assert.equal(closed, true);
  });
});

function pick(m: Record<string, unknown>) { return { type: m.type, error: m.error }; }

async function waitFor(check: () => Promise<boolean>, timeoutMs = 5000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (Date.now() < end) {
    if (await check()) return;
    await new Promise((r) => setTimeout(r, 10));
  }
  assert.fail('condition not met in time');
}
