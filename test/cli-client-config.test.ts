/** `weft server --config FILE`: YAML settings, precedence file < env WEFT_* < flags, errors naming the key. */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { after, before, describe, it } from 'node:test';
import { runCli } from '../src/cli/program.js';
import { resolveServerSettings } from '../src/cli/server.js';

let dir: string;
const write = (name: string, text: string) => { const f = join(dir, name); writeFileSync(f, text); return f; };
const usage = (fn: () => unknown, re: RegExp) => assert.throws(fn, (e: Error & { exitCode?: number }) => { assert.match(e.message, re); assert.equal(e.exitCode, 2); return true; });

describe('weft server --config', { timeout: 30_000 }, () => {
  before(() => { dir = mkdtempSync(join(tmpdir(), 'weft-config-')); });
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('reads every setting from the file; paths are relative to the file', () => {
    const f = write('a.yaml', 'db: data/weft.db\nport: 9191\nhost: 0.0.0.0\nbodyLimit: 2mib\nlease-ms: 5000\nactivities: ./acts.mjs\n');
    const s = resolveServerSettings({ config: f }, {});
    assert.deepEqual({ ...s, sources: undefined }, {
      db: join(dir, 'data/weft.db'), port: 9191, host: '0.0.0.0', bodyLimit: 2 * 1024 * 1024, leaseMs: 5000, activities: join(dir, 'acts.mjs'), sources: undefined,
    });
    assert.equal(s.sources.port, f);
  });

  it('precedence: file < env WEFT_* < flags; defaults otherwise', () => {
    const f = write('b.yaml', 'port: 9000\nhost: filehost\ndb: ":memory:"\n');
    const env = { WEFT_PORT: '9001', WEFT_LEASE_MS: '700' };
    const s = resolveServerSettings({ config: f, host: 'flaghost' }, env);
    assert.deepEqual([s.port, s.host, s.db, s.leaseMs, s.bodyLimit], [9001, 'flaghost', ':memory:', 700, undefined]);
    assert.deepEqual([s.sources.port, s.sources.host, s.sources.leaseMs], ['WEFT_PORT', '--host', 'WEFT_LEASE_MS']);
    assert.equal(resolveServerSettings({ config: f, port: '9002' }, env).port, 9002);
    const d = resolveServerSettings({}, {});
    assert.deepEqual([d.db, d.port, d.host], ['.weft/weft.db', 8080, '127.0.0.1']);
    assert.equal(resolveServerSettings({}, { WEFT_CONFIG: f }).port, 9000, 'WEFT_CONFIG names the file');
  });

  it('clear errors naming the key and where it came from', () => {
    usage(() => resolveServerSettings({ config: write('c.yaml', 'port: eighty\n') }, {}), /c\.yaml: port: expected an integer 0-65535, got "eighty"/);
    usage(() => resolveServerSettings({ config: write('d.yaml', 'prot: 80\n') }, {}), /d\.yaml: unknown key "prot"/);
    usage(() => resolveServerSettings({ config: write('e.yaml', 'leaseMs: 5\n') }, {}), /leaseMs: expected an integer number of milliseconds, at least 100/);
    usage(() => resolveServerSettings({ config: write('f.yaml', 'bodyLimit: lots\n') }, {}), /bodyLimit: expected a size/);
    usage(() => resolveServerSettings({ config: write('g.yaml', '- port\n') }, {}), /expected a mapping/);
    usage(() => resolveServerSettings({ config: write('h.yaml', 'port: [1\n') }, {}), /not valid YAML/);
    usage(() => resolveServerSettings({ config: join(dir, 'missing.yaml') }, {}), /cannot read the file \(ENOENT\)/);
    usage(() => resolveServerSettings({}, { WEFT_PORT: '70000' }), /WEFT_PORT: expected an integer 0-65535/);
    usage(() => resolveServerSettings({ port: '-1' }, {}), /--port: expected an integer/);
    usage(() => resolveServerSettings({ config: write('i.yaml', 'host: ""\n') }, {}), /host: expected an interface/);
  });

  it('weft server --config starts on the configured port and stops on interrupt', async () => {
    const f = write('run.yaml', 'db: ":memory:"\nport: 0\nhost: 127.0.0.1\nbodyLimit: 1kb\n');
    const stdout = new PassThrough();
    const stderr = new PassThrough();
    let out = '';
    stdout.on('data', (d) => { out += String(d); });
    let stop: (() => void) | undefined;
    const done = runCli(['server', '--config', f], { stdout, stderr, interactive: false, onInterrupt: (h) => { stop = h; return () => undefined; } });
    try {
      const deadline = Date.now() + 10_000;
      while (!/listening on (\S+)/.test(out) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
      const url = /listening on (\S+)/.exec(out)![1]!;
      assert.equal((await fetch(`${url}/healthz`, { signal: AbortSignal.timeout(5000) })).status, 200);
      const big = await fetch(`${url}/api/v1/events`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ name: 'x', payload: 'y'.repeat(2000) }), signal: AbortSignal.timeout(5000) });
      assert.equal(big.status, 413, 'bodyLimit from the file applies');
    } finally {
      stop?.();
      assert.equal(await done, 0);
    }
  });
});
