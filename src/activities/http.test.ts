import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { ActivityFailure } from '../runtime/activity.js';
import { createHttpActivity, http, isRetryableStatus } from './http.js';
import { failure, fakeContext } from './testing.js';

interface Seen {
  method: string;
  url: string;
  headers: IncomingMessage['headers'];
  body: string;
}

let server: Server;
let base: string;
const seen: Seen[] = [];

before(async () => {
  server = createServer((req, res) => {
    let body = '';
    req.on('data', (c) => (body += c));
    req.on('end', () => {
      seen.push({ method: req.method!, url: req.url!, headers: req.headers, body });
      const url = new URL(req.url!, 'http://x');
      const status = Number(url.searchParams.get('status') ?? 200);
      switch (url.pathname) {
        case '/json':
          res.writeHead(status, { 'content-type': 'application/json', 'x-trace': 't-1' });
          res.end(JSON.stringify({ ok: status < 400, method: req.method, echo: body ? JSON.parse(body) : null }));
          return;
        case '/text':
          res.writeHead(status, { 'content-type': 'text/plain' });
          res.end('plain text');
          return;
        case '/slow':
          setTimeout(() => {
            res.writeHead(200, { 'content-type': 'text/plain' });
            res.end('late');
          }, 2000).unref();
          return;
        case '/retry-after':
          res.writeHead(429, { 'retry-after': '3', 'content-type': 'text/plain' });
          res.end('slow down');
          return;
        case '/big':
          res.writeHead(200, { 'content-type': 'text/plain' });
          res.end('x'.repeat(5000));
          return;
        case '/bad-json':
          res.writeHead(200, { 'content-type': 'application/json' });
          res.end('{not json');
          return;
        case '/empty':
          res.writeHead(204);
          res.end();
          return;
        default:
          res.writeHead(404, { 'content-type': 'application/json' });
          res.end(JSON.stringify({ error: 'not found' }));
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

after(async () => {
  server.closeAllConnections();
  await new Promise<void>((resolve) => server.close(() => resolve()));
});

describe('http', () => {
  it('GETs JSON and returns status, headers and the parsed body', async () => {
    const out = await http({ url: `${base}/json`, query: { a: 1, tag: ['x', 'y'], skip: null } }, fakeContext());
    assert.equal(out.status, 200);
    assert.equal(out.headers['x-trace'], 't-1');
    assert.deepEqual(out.body, { ok: true, method: 'GET', echo: null });
    assert.equal(seen.at(-1)!.url, '/json?a=1&tag=x&tag=y');
  });

  it('POSTs a JSON body (the default method when a body is given)', async () => {
    const out = await http({ url: `${base}/json`, body: { orderId: 'A-1', n: 2 } }, fakeContext());
    assert.deepEqual(out.body, { ok: true, method: 'POST', echo: { orderId: 'A-1', n: 2 } });
    const req = seen.at(-1)!;
    assert.equal(req.headers['content-type'], 'application/json');
    assert.equal(req.body, '{"orderId":"A-1","n":2}');
  });

  it('sends a string body as text, with custom headers and auth', async () => {
    await http({ url: `${base}/text`, method: 'put', body: 'raw', headers: { 'x-id': 7 }, auth: { bearer: 'tok' } }, fakeContext());
    const req = seen.at(-1)!;
    assert.equal(req.method, 'PUT');
    assert.equal(req.body, 'raw');
    assert.match(String(req.headers['content-type']), /^text\/plain/);
    assert.equal(req.headers['x-id'], '7');
    assert.equal(req.headers.authorization, 'Bearer tok');
    await http({ url: `${base}/text`, auth: { basic: { user: 'ann', password: 's3cret' } } }, fakeContext());
    assert.equal(seen.at(-1)!.headers.authorization, `Basic ${Buffer.from('ann:s3cret').toString('base64')}`);
  });

  it('returns text for non-JSON responses, or when responseType is text', async () => {
    assert.equal((await http({ url: `${base}/text` }, fakeContext())).body, 'plain text');
    const out = await http({ url: `${base}/json`, responseType: 'text' }, fakeContext());
    assert.equal(typeof out.body, 'string');
    assert.equal((await http({ url: `${base}/empty` }, fakeContext())).status, 204);
  });

  it('maps 5xx, 408 and 429 to retryable http_<status>', async () => {
    for (const status of [500, 503, 408]) {
      const err = await failure(http({ url: `${base}/json?status=${status}` }, fakeContext()));
      assert.equal(err.code, `http_${status}`);
      assert.equal(err.options.nonRetryable, false);
      assert.equal((err.options.details as { status: number }).status, status);
    }
    const err = await failure(http({ url: `${base}/retry-after` }, fakeContext()));
    assert.equal(err.code, 'http_429');
    assert.equal(err.options.nonRetryable, false);
    assert.equal((err.options.details as { retryAfterMs: number }).retryAfterMs, 3000);
  });

  it('maps other 4xx to non-retryable http_<status> and keeps the body in the details', async () => {
    const err = await failure(http({ url: `${base}/missing` }, fakeContext()));
    assert.equal(err.code, 'http_404');
    assert.equal(err.options.nonRetryable, true);
    assert.deepEqual((err.options.details as { body: unknown }).body, { error: 'not found' });
    const err2 = await failure(http({ url: `${base}/json?status=422` }, fakeContext()));
    assert.equal(err2.code, 'http_422');
    assert.equal(err2.options.nonRetryable, true);
  });

  it('honours expectStatus', async () => {
    const out = await http({ url: `${base}/missing`, expectStatus: [200, 404] }, fakeContext());
    assert.equal(out.status, 404);
    const err = await failure(http({ url: `${base}/json?status=201`, expectStatus: [200] }, fakeContext()));
    assert.equal(err.code, 'http_201');
    assert.equal(err.options.nonRetryable, true);
  });

  it('times out with retryable http_timeout', async () => {
    const started = Date.now();
    const err = await failure(http({ url: `${base}/slow`, timeout: '100ms' }, fakeContext()));
    assert.equal(err.code, 'http_timeout');
    assert.notEqual(err.options.nonRetryable, true);
    assert.ok(Date.now() - started < 1500);
    const err2 = await failure(http({ url: `${base}/slow`, timeout: 50 }, fakeContext()));
    assert.equal(err2.code, 'http_timeout');
  });

  it('stops when the task is cancelled (http_aborted)', async () => {
    const ctx = fakeContext();
    setTimeout(() => ctx.controller.abort(), 50);
    const err = await failure(http({ url: `${base}/slow` }, ctx));
    assert.equal(err.code, 'http_aborted');
  });

  it('reports connection failures as retryable http_network', async () => {
    const probe = createServer();
    await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
    const port = (probe.address() as AddressInfo).port;
    await new Promise<void>((resolve) => probe.close(() => resolve()));
    const err = await failure(http({ url: `http://127.0.0.1:${port}/` }, fakeContext()));
    assert.equal(err.code, 'http_network');
    assert.notEqual(err.options.nonRetryable, true);
  });

  it('refuses non-http(s) URLs and malformed input, non-retryably', async () => {
    for (const input of [
      { url: 'file:///etc/passwd' },
      { url: 'ftp://example.com/x' },
      { url: 'not a url' },
      { url: '' },
      { url: `${base}/json`, method: 'BREW' },
      { url: `${base}/json`, method: 'GET', body: { a: 1 } },
      { url: `${base}/json`, timeout: 'soon' },
      { url: `${base}/json`, auth: { token: 'x' } },
      { url: `${base}/json`, expectStatus: 200 },
    ]) {
      const err = await failure(http(input as never, fakeContext()));
      assert.equal(err.code, 'invalid_input', JSON.stringify(input));
      assert.equal(err.options.nonRetryable, true);
    }
  });

  it('fails on invalid JSON when JSON was required, and on oversized bodies', async () => {
    const err = await failure(http({ url: `${base}/bad-json`, responseType: 'json' }, fakeContext()));
    assert.equal(err.code, 'http_invalid_json');
    assert.equal((await http({ url: `${base}/bad-json` }, fakeContext())).body, '{not json');
    const small = createHttpActivity({ maxResponseBytes: 1000 });
    const err2 = await failure(small({ url: `${base}/big` }, fakeContext()));
    assert.equal(err2.code, 'http_response_too_large');
  });

  it('classifies statuses', () => {
    assert.deepEqual([400, 404, 408, 429, 500, 502, 599].map(isRetryableStatus), [false, false, true, true, true, true, true]);
  });
});
