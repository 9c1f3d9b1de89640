import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { CtlParseError, formatCtl, parseCtl } from './ctl.js';

describe('CTL parser', () => {
  it('parses every operator with the usual precedence', () => {
    assert.equal(formatCtl(parseCtl('AG (active(a) -> AF completed(a))')), 'AG (active(a) -> AF completed(a))');
    assert.equal(formatCtl(parseCtl('EF ended & !failed | completed -> EX true')), '(((EF ended & !failed) | completed) -> EX true)');
    assert.equal(formatCtl(parseCtl('E [ !ended U active(b-1) ] && A(true U ended)')), '(E[!ended U active(b-1)] & A[true U ended])');
    assert.equal(formatCtl(parseCtl('AX EG not completed(x)')), 'AX EG !completed(x)');
    assert.equal(formatCtl(parseCtl('active(a)->ended')), '(active(a) -> ended)');
  });

  it('reports the formula and the position of a parse error', () => {
    const bad: Array<[string, RegExp, number]> = [
      ['AG (active(a) -> ', /expected a formula but the formula ended/, 17],
      ['EF active(nope)', /unknown step "nope"/, 10],
      ['AG done', /unknown atom "done"/, 3],
      ['E [ ended ]', /expected "U"/, 10],
      ['EF ended )', /unexpected "\)"/, 9],
      ['EF ended # x', /unexpected character "#"/, 9],
    ];
    for (const [src, re, pos] of bad) {
      assert.throws(() => parseCtl(src, new Set(['a', 'b'])), (err: unknown) => {
        assert.ok(err instanceof CtlParseError, String(err));
        assert.match(err.message, re);
        assert.equal(err.position, pos, `${src}: ${err.message}`);
        assert.ok(err.message.includes(src));
        return true;
      });
    }
  });
});
