import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { ActivityFailure } from '../runtime/activity.js';
import { createScriptActivity, script } from './script.js';
import { failure, fakeContext } from './testing.js';

describe('script', () => {
  it('runs a function body with args and returns its JSON result', async () => {
    const out = await script({ code: 'return { total: args.items.reduce((s, i) => s + i.price * i.qty, 0), n: args.items.length }', args: { items: [{ price: 2, qty: 3 }, { price: 1, qty: 4 }] } }, fakeContext());
    assert.deepEqual(out, { total: 10, n: 2 });
  });

  it('turns undefined and functions into null and drops undefined fields', async () => {
    assert.equal(await script({ code: 'return undefined' }, fakeContext()), null);
    assert.equal(await script({ code: 'args.x = 1' }, fakeContext()), null);
    assert.deepEqual(await script({ code: 'return { a: 1, b: undefined, f() {} }' }, fakeContext()), { a: 1 });
  });

  it('settles a returned promise', async () => {
    assert.equal(await script({ code: 'return (async () => { const v = await Promise.resolve(20); return v + 1 })()' }, fakeContext()), 21);
  });

  it('forwards console output to ctx.log', async () => {
    const ctx = fakeContext();
    await script({ code: 'console.log("n =", 3, { a: 1 }); console.warn("careful"); return 0' }, ctx);
    assert.deepEqual(ctx.logs, [
      { message: 'n = 3 {"a":1}', fields: { level: 'info', source: 'script' } },
      { message: 'careful', fields: { level: 'warn', source: 'script' } },
    ]);
  });

  it('reports thrown errors, rejected promises and syntax errors as non-retryable script_error', async () => {
    for (const code of ['throw new TypeError("bad input")', 'return Promise.reject(new Error("nope"))', 'return (', 'return 1n', 'return missingVariable']) {
      const err = await failure(script({ code }, fakeContext()));
      assert.equal(err.code, 'script_error', code);
      assert.equal(err.options.nonRetryable, true);
    }
    const err = await failure(script({ code: 'throw new TypeError("bad input")' }, fakeContext()));
    assert.equal(err.message, 'TypeError: bad input');
  });

  it('stops an infinite loop at the CPU-time limit (script_timeout)', async () => {
    const started = Date.now();
    const err = await failure(script({ code: 'while (true) {}', timeoutMs: 100 }, fakeContext()));
    assert.equal(err.code, 'script_timeout');
    assert.equal(err.options.nonRetryable, true);
    const elapsed = Date.now() - started;
    assert.ok(elapsed >= 90 && elapsed < 1000, `stopped after ${elapsed} ms`);
    // the sandbox is still usable afterwards
    assert.equal(await script({ code: 'return 1 + 1' }, fakeContext()), 2);
  });

  it('uses a 1 s CPU budget by default', async () => {
    const started = Date.now();
    const err = await failure(script({ code: 'for (;;) {}' }, fakeContext()));
    assert.equal(err.code, 'script_timeout');
    assert.ok(Date.now() - started < 3000);
  });

  it('stops a memory bomb at the memory limit (script_memory), without growing the host', async () => {
    const rssBefore = process.memoryUsage().rss;
    for (const code of [
      'const a = []; while (true) a.push("x".repeat(1000) + a.length)',
      'const a = []; while (true) a.push(new Array(100000).fill(1.5))',
      'const a = []; while (true) a.push(new Uint8Array(1 << 20))',
      'const a = []; while (true) a.push("y".repeat(1 << 24))',
    ]) {
      const err = await failure(script({ code, memoryLimitBytes: 8 * 1024 * 1024, timeoutMs: 5000 }, fakeContext()));
      assert.equal(err.code, 'script_memory', code);
      assert.equal(err.options.nonRetryable, true);
    }
    assert.ok(process.memoryUsage().rss - rssBefore < 200 * 1024 * 1024, 'host memory grew by more than 200 MiB');
    assert.equal(await script({ code: 'return "still alive"', memoryLimitBytes: 8 * 1024 * 1024 }, fakeContext()), 'still alive');
  });

  it('reports deep recursion as an error, not a crash', async () => {
    const err = await failure(script({ code: 'function f(n) { return f(n + 1) + 1 } return f(0)' }, fakeContext()));
    assert.equal(err.code, 'script_error');
    assert.equal(await script({ code: 'return 3' }, fakeContext()), 3);
  });

  it('has no host objects in scope', async () => {
    const out = await script({
      code: `return {
        require: typeof require, process: typeof process, fetch: typeof fetch, module: typeof module,
        setTimeout: typeof setTimeout, std: typeof std, os: typeof os, Deno: typeof Deno, Buffer: typeof Buffer,
        importResult: (() => { try { new Function('return import("fs")')(); return 'no error' } catch (e) { return 'error' } })(),
        leaked: typeof globalThis.__weft_args,
      }`,
    }, fakeContext());
    assert.deepEqual(out, {
      require: 'undefined', process: 'undefined', fetch: 'undefined', module: 'undefined', setTimeout: 'undefined',
      std: 'undefined', os: 'undefined', Deno: 'undefined', Buffer: 'undefined', importResult: (out as { importResult: string }).importResult, leaked: 'undefined',
    });
    // a dynamic import has nothing to load: it rejects instead of reaching the file system
    const err = await failure(script({ code: 'return import("fs")' }, fakeContext()));
    assert.equal(err.code, 'script_error');
  });

  it('isolates calls from each other', async () => {
    await script({ code: 'globalThis.secret = 42; Object.prototype.polluted = true; return 0' }, fakeContext());
    assert.deepEqual(await script({ code: 'return [typeof secret, ({}).polluted === undefined]' }, fakeContext()), ['undefined', true]);
  });

  it('validates its input and bounds the limits', async () => {
    const limited = createScriptActivity({ maxTimeoutMs: 2000, maxMemoryLimitBytes: 64 * 1024 * 1024 });
    for (const input of [{}, { code: '' }, { code: 1 }, { code: 'return 1', timeoutMs: -1 }, { code: 'return 1', timeoutMs: 5000 }, { code: 'return 1', memoryLimitBytes: 1e12 }]) {
      const err = await failure(limited(input as never, fakeContext()));
      assert.equal(err.code, 'invalid_input', JSON.stringify(input));
      assert.equal(err.options.nonRetryable, true);
    }
  });

  it('does not start when the task is already cancelled', async () => {
    const ctx = fakeContext();
    ctx.controller.abort();
    const err = await failure(script({ code: 'return 1' }, ctx));
    assert.equal(err.code, 'script_aborted');
  });
});
