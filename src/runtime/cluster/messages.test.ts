import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { decodeNotice, encodeNotice, MAX_PAYLOAD_BYTES, type ClusterNotice } from './messages.js';
import { isTransientStoreError } from './transient.js';

describe('cluster notices', () => {
  it('a small notice is one payload that decodes to itself', () => {
    const n: ClusterNotice = { n: 'node-1', c: [['i1', 1, 3]], t: 1, a: ['charge', 'ship'], tm: 1_700_000_000_000 };
    const out = encodeNotice(n);
    assert.equal(out.length, 1);
    assert.deepEqual(decodeNotice(out[0]), n);
  });

  it('a flush of many instances is split under the NOTIFY limit, losing no instance; hints ride on the first part', () => {
    const c = Array.from({ length: 1000 }, (_, i): [string, number, number] => [`instance-${String(i).padStart(20, '0')}`, i, i + 5]);
    const out = encodeNotice({ n: 'node-1', c, t: 1, tm: 42 });
    assert.ok(out.length > 1);
    for (const p of out) assert.ok(Buffer.byteLength(p, 'utf8') <= MAX_PAYLOAD_BYTES, `payload of ${Buffer.byteLength(p)} bytes`);
    const parts = out.map((p) => decodeNotice(p)!);
    assert.deepEqual(parts.flatMap((p) => p.c ?? []), c);
    assert.equal(parts[0].t, 1);
    assert.equal(parts[0].tm, 42);
    assert.ok(parts.slice(1).every((p) => p.t === undefined && p.tm === undefined && p.n === 'node-1'));
  });

  it('ignores payloads that are not notices (another program on the channel)', () => {
    for (const p of ['', 'not json', '[]', '{"c":[]}', 'null', '42']) assert.equal(decodeNotice(p), undefined, p);
    assert.deepEqual(decodeNotice('{"n":"x","c":[["ok",1,2],["bad","1",2],7],"t":2,"tm":"soon"}'), { n: 'x', c: [['ok', 1, 2]] });
  });
});

describe('transient store errors', () => {
  it('connection failures and restarts are transient; conflicts and bad data are not', () => {
    const e = (code: string | undefined, message = 'x') => Object.assign(new Error(message), code ? { code } : {});
    for (const t of [e('ECONNREFUSED'), e('ECONNRESET'), e('57P01'), e('08006'), e('40P01'), e(undefined, 'Connection terminated unexpectedly'),
      e(undefined, 'timeout exceeded when trying to connect'), e('SQLITE_BUSY')]) assert.equal(isTransientStoreError(t), true, String(t));
    for (const t of [e('23505'), e('22P02'), e(undefined, 'invalid input syntax'), 'ECONNREFUSED', undefined, null]) assert.equal(isTransientStoreError(t), false, String(t));
  });
});
