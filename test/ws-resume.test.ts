/**
 * WebSocket resume for definition and all subscriptions: a client that reconnects with its cursor
 * ({since, seqs}) gets exactly the events it missed — per instance, after the seq it has, in order,
 * nothing twice — including instances started while it was away; then live events.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import WebSocket from 'ws';
import { startServer, type RunningServer } from '../src/api/start.js';
import type { Definition } from '../src/model/schema.js';
import { WeftClient } from '../src/sdk/client.js';

const DEF: Definition = {
  id: 'ask2', version: '1.0.0',
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
type Msg = Record<string, any>;

async function open(): Promise<{ ws: WebSocket; msgs: Msg[]; until: (p: (m: Msg[]) => boolean) => Promise<void> }> {
  const ws = new WebSocket(server.url.replace(/^http/, 'ws') + '/api/v1/ws');
  const msgs: Msg[] = [];
  ws.on('message', (d) => msgs.push(JSON.parse(String(d))));
  await new Promise((resolve, reject) => { ws.once('open', resolve); ws.once('error', reject); });
  const until = async (p: (m: Msg[]) => boolean) => {
    const end = Date.now() + 5000;
    while (!p(msgs)) {
      if (Date.now() > end) assert.fail(`timed out; got ${JSON.stringify(msgs).slice(0, 1500)}`);
      await new Promise((r) => setTimeout(r, 20));
    }
  };
  return { ws, msgs, until };
}

async function waitFor(p: () => Promise<boolean>): Promise<void> {
  const end = Date.now() + 5000;
  while (!(await p())) {
    if (Date.now() > end) assert.fail('timed out');
    await new Promise((r) => setTimeout(r, 20));
  }
}

const waiting = (id: string) => waitFor(async () => (await client.getInstance(id)).status === 'waiting');
async function approve(id: string): Promise<void> {
  const [t] = await client.inbox({ instanceId: id });
  await client.completeTask(id, t!.task.taskId, 'approve');
  await waitFor(async () => (await client.getInstance(id)).status === 'completed');
}
/** Per instance: the seqs received, in arrival order. */
function perInstance(msgs: Msg[], sub: string): Map<string, number[]> {
  const out = new Map<string, number[]>();
  for (const m of msgs) {
    if (m.type !== 'events' || m.sub !== sub) continue;
    const list = out.get(m.instanceId) ?? [];
    list.push(...m.events.map((e: { seq: number }) => e.seq));
    out.set(m.instanceId, list);
  }
  return out;
}
const range = (from: number, to: number) => Array.from({ length: to - from + 1 }, (_, i) => from + i);

describe('WebSocket resume of definition/all subscriptions', { timeout: 30_000 }, () => {
  before(async () => {
    server = await startServer({ db: ':memory:', port: 0, ws: { pingMs: 1000 } });
    client = new WeftClient(server.url, { timeoutMs: 10_000 });
    await client.deploy(DEF);
  });
  after(async () => { await server?.close(); });

  it('raw protocol: reconnecting with {since, seqs} gives exactly what was missed, then live events', async () => {
    const pre = (await client.start({ definitionId: 'ask2' })).id; // exists before the subscription
    await waiting(pre);
    const s1 = await open();
    let cursor: { since: number; seqs: Record<string, number> };
    let a: string;
    let b: string;
    try {
      s1.ws.send(JSON.stringify({ type: 'subscribe', id: 'd', definitionId: 'ask2' }));
      await s1.until((m) => m.some((x) => x.type === 'snapshot'));
      const snap = s1.msgs.find((x) => x.type === 'snapshot')!;
      assert.equal(typeof snap.at, 'number');
      const preSeq = snap.instances.find((i: { id: string }) => i.id === pre).seq;
      assert.ok(preSeq > 0, 'snapshot items carry their seq');
      a = (await client.start({ definitionId: 'ask2' })).id;
      b = (await client.start({ definitionId: 'ask2' })).id;
      await waiting(a);
      await waiting(b);
      const seqA = (await client.getInstance(a)).seq;
      const seqB = (await client.getInstance(b)).seq;
      await s1.until(() => perInstance(s1.msgs, 'd').get(a)?.at(-1) === seqA && perInstance(s1.msgs, 'd').get(b)?.at(-1) === seqB);
      // The client's cursor: the last `at` it saw and the last seq per instance.
      const got = perInstance(s1.msgs, 'd');
      cursor = { since: Math.max(snap.at, ...s1.msgs.filter((x) => x.type === 'events').map((x) => x.at)), seqs: { [pre]: preSeq } };
      for (const [id, seqs] of got) cursor.seqs[id] = seqs.at(-1)!;
      assert.deepEqual(got.get(a), range(1, seqA));
    } finally { s1.ws.terminate(); }

    // While disconnected: `a` and `pre` move on, `c` starts, `b` does not change.
    await approve(a);
    await approve(pre);
    const c = (await client.start({ definitionId: 'ask2' })).id;
    await waiting(c);
    const other = await client.deploy({ ...DEF, id: 'elsewhere' } as Definition);
    await client.start({ definitionId: other.id }); // another definition: not in scope

    const s2 = await open();
    try {
      s2.ws.send(JSON.stringify({ type: 'subscribe', id: 'd', definitionId: 'ask2', resume: cursor }));
      await s2.until((m) => m.some((x) => x.type === 'resumed'));
      assert.ok(!s2.msgs.some((x) => x.type === 'snapshot'), 'no snapshot on resume');
      const missed = perInstance(s2.msgs, 'd');
      const [fa, fpre, fc] = [(await client.getInstance(a)).seq, (await client.getInstance(pre)).seq, (await client.getInstance(c)).seq];
      assert.deepEqual(missed.get(a), range(cursor.seqs[a]! + 1, fa));
      assert.deepEqual(missed.get(pre), range(cursor.seqs[pre]! + 1, fpre));
      assert.deepEqual(missed.get(c), range(1, fc), 'an instance started while away: all of it');
      assert.equal(missed.has(b), false, 'nothing for an unchanged instance');
      assert.equal(missed.size, 3, 'nothing out of scope');
      // Live after the resume, contiguous.
      await approve(c);
      const fc2 = (await client.getInstance(c)).seq;
      await s2.until(() => perInstance(s2.msgs, 'd').get(c)?.at(-1) === fc2);
      assert.deepEqual(perInstance(s2.msgs, 'd').get(c), range(1, fc2));
      // A bad cursor is refused, naming the field.
      s2.ws.send(JSON.stringify({ type: 'subscribe', id: 'bad', all: true, resume: { since: 'yesterday' } }));
      await s2.until((m) => m.some((x) => x.type === 'error' && x.sub === 'bad'));
      assert.equal(s2.msgs.find((x) => x.type === 'error' && x.sub === 'bad')!.details.field, 'resume.since');
    } finally { s2.ws.terminate(); }
  });

  it('SDK watch({all: true}) resumes with its cursor after the connection drops: every event once, in order', async () => {
    const x = (await client.start({ definitionId: 'ask2' })).id;
    await waiting(x);
    const seen = new Map<string, number[]>();
    let snapSeqs: Record<string, number> = {};
    const w = client.watch({ all: true }, {
      minDelayMs: 20,
      onSnapshot: (s) => { snapSeqs = Object.fromEntries((s.instances ?? []).map((i) => [i.id, i.seq])); },
      onEvents: (bt) => { const l = seen.get(bt.instanceId) ?? []; l.push(...bt.events.map((e) => e.seq)); seen.set(bt.instanceId, l); },
    });
    try {
      await w.ready;
      assert.ok(w.cursor && w.cursor.seqs[x] === snapSeqs[x]);
      for (const sock of server.app.websocketServer.clients) sock.terminate();
      await approve(x); // happens while the watcher is (probably) disconnected
      const y = (await client.start({ definitionId: 'ask2' })).id;
      await waiting(y);
      const [fx, fy] = [(await client.getInstance(x)).seq, (await client.getInstance(y)).seq];
      await waitFor(async () => seen.get(x)?.at(-1) === fx && seen.get(y)?.at(-1) === fy);
      assert.deepEqual(seen.get(x), range(snapSeqs[x]! + 1, fx));
      assert.deepEqual(seen.get(y), range(1, fy));
      assert.equal(w.cursor!.seqs[y], fy);
    } finally { w.close(); }
  });
});
