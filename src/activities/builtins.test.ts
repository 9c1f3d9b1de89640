import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { ActivityFailure, ActivityRegistry } from '../runtime/activity.js';
import { BUILTIN_ACTIVITIES, registerBuiltins, log, noop, transform } from './index.js';
import { BUILTIN_ACTIVITIES as VALIDATOR_BUILTINS } from '../model/validate.js';
import { failure, fakeContext } from './testing.js';

describe('registerBuiltins', () => {
  it('registers every built-in under its name', () => {
    const registry = registerBuiltins(new ActivityRegistry());
    assert.deepEqual(registry.names(), [...BUILTIN_ACTIVITIES].sort());
  });

  it('matches the names the validator treats as always present', () => {
    assert.deepEqual([...BUILTIN_ACTIVITIES].sort(), [...VALIDATOR_BUILTINS].sort());
  });

  it('can leave built-ins out', () => {
    const registry = registerBuiltins(new ActivityRegistry(), { exclude: ['http', 'script'] });
    assert.deepEqual(registry.names(), ['log', 'noop', 'transform']);
  });
});

describe('noop', () => {
  it('returns its input, or {} without one', async () => {
    const ctx = fakeContext();
    assert.deepEqual(await noop({ a: 1 }, ctx), { a: 1 });
    assert.deepEqual(await noop(undefined, ctx), {});
    assert.deepEqual(await noop(null, ctx), {});
  });
});

describe('log', () => {
  it('writes the message with its level and fields', async () => {
    const ctx = fakeContext();
    assert.deepEqual(await log({ message: 'hello', level: 'warn', fields: { orderId: 'A-1' } }, ctx), { logged: true });
    assert.deepEqual(ctx.logs, [{ message: 'hello', fields: { orderId: 'A-1', level: 'warn' } }]);
  });

  it('defaults to level info and stringifies non-string messages', async () => {
    const ctx = fakeContext();
    await log({ message: { n: 1 } as unknown as string }, ctx);
    assert.deepEqual(ctx.logs, [{ message: '{"n":1}', fields: { level: 'info' } }]);
  });

  it('rejects a missing message or an unknown level, non-retryably', async () => {
    const ctx = fakeContext();
    for (const input of [{}, { message: 'x', level: 'loud' }, { message: 'x', fields: [1] }, 'text']) {
      const err = await failure((async () => log(input as never, ctx))());
      assert.equal(err.code, 'invalid_input');
      assert.equal(err.options.nonRetryable, true);
    }
  });
});

describe('transform', () => {
  it('evaluates the expression over {data, input}', async () => {
    const ctx = fakeContext();
    const data = { items: [{ price: 2, qty: 3 }, { price: 5, qty: 1 }] };
    assert.equal(await transform({ expression: '$sum(data.items.(price * qty))', data }, ctx), 11);
    assert.deepEqual(await transform({ expression: 'data.items[price > 3]', data }, ctx), { price: 5, qty: 1 });
    assert.equal(await transform({ expression: 'input.extra & "!"', data, extra: 'hi' } as never, ctx), 'hi!');
  });

  it('accepts an expression wrapped in ${…}', async () => {
    assert.equal(await transform({ expression: '${data.a + 1}', data: { a: 1 } }, fakeContext()), 2);
  });

  it('returns null (not undefined) when the expression matches nothing', async () => {
    assert.equal(await transform({ expression: 'data.missing', data: {} }, fakeContext()), null);
  });

  it('without an expression returns the (already mapped) input', async () => {
    assert.deepEqual(await transform({ total: 3 }, fakeContext()), { total: 3 });
    assert.deepEqual(await transform([1, 2], fakeContext()), [1, 2]);
  });

  it('reports bad expressions as non-retryable transform_error', async () => {
    const err = await failure(transform({ expression: 'data.(', data: {} }, fakeContext()));
    assert.equal(err.code, 'transform_error');
    assert.equal(err.options.nonRetryable, true);
    const err2 = await failure(transform({ expression: '$error("boom")', data: {} }, fakeContext()));
    assert.equal(err2.code, 'transform_error');
    assert.match(err2.message, /boom/);
    const err3 = await failure(transform({ expression: 42 } as never, fakeContext()));
    assert.equal(err3.code, 'invalid_input');
  });
});
