import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import {
  ExpressionError, checkExpression, evaluate, evaluateCondition, evaluateMapping, expressionsInMapping,
  mappingHasExpressions, unwrapExpression,
} from './expressions.js';

const scope = {
  input: { orderId: 'A-1', total: 120, lines: [{ sku: 'x', qty: 2 }, { sku: 'y', qty: 1 }], tags: ['a', 'b'] },
  vars: { count: 3, note: null },
  steps: { charge: { output: { receipt: 'r-9' }, status: 'completed' } },
  env: { REGION: 'eu' },
};

describe('unwrapExpression and checkExpression', () => {
  test('strips exactly one whole ${…} wrapper', () => {
    assert.equal(unwrapExpression('${input.a}'), 'input.a');
    assert.equal(unwrapExpression('  ${ input.a }  '), ' input.a ');
    assert.equal(unwrapExpression('input.a'), 'input.a');
    assert.equal(unwrapExpression('${a} and ${b}'), '${a} and ${b}');
    assert.equal(unwrapExpression('${ {"k": 1}.k }'), ' {"k": 1}.k ');
  });
  test('valid expressions give null; invalid ones a message naming the expression', () => {
    assert.equal(checkExpression('input.total > 100 and $count(input.lines) > 0'), null);
    assert.equal(checkExpression('${input.a}'), null);
    const message = checkExpression('input.total >');
    assert.ok(message);
    assert.match(message, /^invalid expression "input\.total >": /);
    assert.match(checkExpression('(((')!, /invalid expression/);
  });
});

describe('evaluate', () => {
  test('conditions and values over the scope', async () => {
    assert.equal(await evaluate('input.total > 100', scope), true);
    assert.equal(await evaluateCondition('${vars.count = 3}', scope), true);
    assert.equal(await evaluateCondition('input.missing', scope), false);
    assert.deepEqual(await evaluate('input.lines.sku', scope), ['x', 'y']);
    assert.equal(await evaluate('$sum(input.lines.qty)', scope), 3);
    assert.equal(await evaluate('steps.charge.output.receipt', scope), 'r-9');
    assert.equal(await evaluate('env.REGION', scope), 'eu');
  });
  test('functions are not JSON values and are dropped', async () => {
    assert.equal(await evaluate('function($x){ $x }', scope), undefined);
  });
  test('runtime errors are ExpressionErrors naming the expression', async () => {
    await assert.rejects(evaluate('$number("abc") + {}', scope), (err: unknown) => {
      assert.ok(err instanceof ExpressionError);
      assert.equal(err.code, 'expression_error');
      assert.match(err.message, /^expression "\$number\("abc"\) \+ \{\}" failed: /);
      return true;
    });
  });
  test('syntax errors surface as ExpressionErrors with a position', async () => {
    await assert.rejects(evaluate('a +', scope), (err: unknown) => err instanceof ExpressionError && /invalid expression/.test(err.message));
  });
  test('expressions cannot reach the host', async () => {
    assert.equal(await evaluate('process', scope), undefined);
    assert.equal(await evaluate('$globalThis', scope), undefined);
    await assert.rejects(evaluate('$require("fs")', scope), ExpressionError);
    // $eval evaluates JSONata, not JavaScript
    assert.equal(await evaluate('$eval("1 + 1")', scope), 2);
  });
});

describe('evaluation-step bound', () => {
  test('a runaway recursion is stopped', async () => {
    await assert.rejects(
      evaluate('($f := function($n){ $f($n + 1) }; $f(0))', scope),
      (err: unknown) => err instanceof ExpressionError && /exceeded 1000000 evaluation steps/.test(err.message),
    );
  });
  test('a huge mapping over a range is stopped', async () => {
    await assert.rejects(evaluate('$count([1..5000000].($ * 2))', scope), /evaluation steps/);
  });
  test('the count is per evaluation, even for one cached expression run concurrently', async () => {
    const source = '$count([1..100000].($ + 1))'; // ~300k steps: under the bound alone, over it if shared
    const results = await Promise.all([1, 2, 3, 4, 5].map(() => evaluate(source, scope)));
    assert.deepEqual(results, [100000, 100000, 100000, 100000, 100000]);
    assert.equal(await evaluate(source, scope), 100000);
  });
});

describe('mappings', () => {
  test('a string that is exactly one ${…} yields the raw value', async () => {
    assert.equal(await evaluateMapping('${input.total}', scope), 120);
    assert.deepEqual(await evaluateMapping('${input.lines[0]}', scope), { sku: 'x', qty: 2 });
    assert.deepEqual(await evaluateMapping('${input.tags}', scope), ['a', 'b']);
    assert.equal(await evaluateMapping('${vars.note}', scope), null);
  });
  test('other strings with ${…} are interpolated as text', async () => {
    assert.equal(await evaluateMapping('order ${input.orderId} costs ${input.total}', scope), 'order A-1 costs 120');
    assert.equal(await evaluateMapping('tags: ${input.tags}', scope), 'tags: ["a","b"]');
    assert.equal(await evaluateMapping('[${vars.note}][${input.nothing}]', scope), '[][]');
    assert.equal(await evaluateMapping('${input.orderId}!', scope), 'A-1!');
  });
  test('nested braces and quotes inside ${…}', async () => {
    assert.equal(await evaluateMapping('${ {"a": "}"}.a }', scope), '}');
    assert.deepEqual(await evaluateMapping('${ {"n": input.total} }', scope), { n: 120 });
  });
  test('constants pass through; objects and arrays are walked; undefined keys dropped', async () => {
    const mapping = { id: '${input.orderId}', fixed: 'plain', n: 5, flag: true, none: null, list: ['${vars.count}', 'x'], gone: '${input.nope}' };
    assert.deepEqual(await evaluateMapping(mapping, scope), { id: 'A-1', fixed: 'plain', n: 5, flag: true, none: null, list: [3, 'x'] });
    assert.equal(await evaluateMapping('no expressions here', scope), 'no expressions here');
  });
  test('mappingHasExpressions and expressionsInMapping', () => {
    assert.equal(mappingHasExpressions({ a: ['x', { b: 'y' }] }), false);
    assert.equal(mappingHasExpressions({ a: ['x', { b: '${y}' }] }), true);
    assert.deepEqual(expressionsInMapping({ a: 'x ${one} y ${two}', b: ['${three}'], c: 4 }), ['one', 'two', 'three']);
  });
  test('an unclosed ${ is an error', async () => {
    assert.throws(() => expressionsInMapping('a ${b'), (err: unknown) => err instanceof ExpressionError && /unclosed/.test(err.message));
    await assert.rejects(evaluateMapping('a ${b', scope), ExpressionError);
  });
});
