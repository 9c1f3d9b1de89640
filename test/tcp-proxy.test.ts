/**
 * The TCP proxy of the partition test (test/helpers/tcp-proxy.ts), against a real echo server:
 * it forwards both ways, `cut()` closes live connections and refuses new ones, `restore()` heals,
 * and bad arguments get a clear error.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { createConnection, createServer, type Server, type Socket } from 'node:net';
import { TcpProxy } from './helpers/tcp-proxy.js';

let echo: Server;
let echoPort: number;

/** Connects through the proxy; resolves with the socket once connected. */
function connect(port: number): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const s = createConnection({ host: '127.0.0.1', port }, () => { s.off('error', reject); resolve(s); });
    s.once('error', reject);
  });
}

/** Sends `text` and resolves with what comes back, or with `closed` if the socket closes first. */
function roundTrip(s: Socket, text: string): Promise<string> {
  return new Promise((resolve) => {
    let got = '';
    const onData = (d: Buffer) => {
      got += d.toString();
      if (got.length >= text.length) { s.off('data', onData); s.off('close', onClose); resolve(got); }
    };
    const onClose = () => { s.off('data', onData); resolve(got === '' ? 'closed' : got); };
    s.on('data', onData).once('close', onClose);
    s.on('error', () => undefined);
    s.write(text);
  });
}

const closed = (s: Socket) => new Promise<void>((resolve) => { if (s.destroyed) resolve(); else s.once('close', () => resolve()); });

describe('TcpProxy', () => {
  before(async () => {
    echo = createServer((s) => { s.on('error', () => undefined); s.pipe(s); });
    await new Promise<void>((r) => echo.listen(0, '127.0.0.1', () => r()));
    echoPort = (echo.address() as { port: number }).port;
  });
  after(async () => { await new Promise((r) => echo.close(r)); });

  it('forwards bytes both ways', async () => {
    const proxy = await TcpProxy.start({ host: '127.0.0.1', port: echoPort });
    try {
      assert.notEqual(proxy.port, echoPort);
      const s = await connect(proxy.port);
      assert.equal(await roundTrip(s, 'hello through the proxy'), 'hello through the proxy');
      assert.equal(proxy.stats().open, 1);
      s.destroy();
      await closed(s);
    } finally {
      await proxy.close();
    }
  });

  it('cut() closes live connections and refuses new ones; restore() heals', async () => {
    const proxy = await TcpProxy.start({ host: '127.0.0.1', port: echoPort });
    try {
      const live = await connect(proxy.port);
      assert.equal(await roundTrip(live, 'before'), 'before');
      live.on('error', () => undefined);
      proxy.cut();
      assert.equal(proxy.cutOff, true);
      await closed(live); // the open connection is gone, as after a network failure

      // A new connection is accepted by the kernel, then closed before any byte gets through.
      const refused = await connect(proxy.port).catch(() => undefined);
      if (refused) assert.equal(await roundTrip(refused, 'during'), 'closed');
      assert.ok(proxy.stats().dropped >= 2, `dropped ${proxy.stats().dropped}`);

      proxy.restore();
      const again = await connect(proxy.port);
      assert.equal(await roundTrip(again, 'after'), 'after');
      again.destroy();
    } finally {
      await proxy.close();
    }
  });

  it('a target that is down closes the client connection (no hang)', async () => {
    const down = createServer();
    await new Promise<void>((r) => down.listen(0, '127.0.0.1', () => r()));
    const deadPort = (down.address() as { port: number }).port;
    await new Promise((r) => down.close(r));
    const proxy = await TcpProxy.start({ host: '127.0.0.1', port: deadPort });
    try {
      const s = await connect(proxy.port);
      assert.equal(await roundTrip(s, 'anyone?'), 'closed');
    } finally {
      await proxy.close();
    }
  });

  it('rewrites a database URL to go through the proxy', async () => {
    const proxy = await TcpProxy.start({ host: '127.0.0.1', port: echoPort });
    try {
      assert.equal(proxy.rewrite('postgres://postgres@db.example:5432/weft_x'), `postgres://postgres@127.0.0.1:${proxy.port}/weft_x`);
    } finally {
      await proxy.close();
    }
  });

  it('rejects bad arguments with a message naming them', async () => {
    await assert.rejects(TcpProxy.start({ host: '127.0.0.1', port: 0 }), /target\.port must be an integer 1-65535, got 0/);
    await assert.rejects(TcpProxy.start({ host: '', port: 5432 }), /target\.host must be a host name/);
    await assert.rejects(TcpProxy.start({ host: '127.0.0.1', port: 5432 }, 70_000), /listenPort must be an integer 0-65535, got 70000/);
  });
});
