import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { compareVersions, maxSatisfying, satisfies } from './versions.js';

describe('version ranges', () => {
  it('matches exact versions, carets, tildes, wildcards, comparators and alternatives', () => {
    const cases: Array<[string, string, boolean]> = [
      ['1.2.3', '1.2.3', true], ['1.2.4', '1.2.3', false],
      ['1.9.0', '^1.2', true], ['2.0.0', '^1.2', false], ['1.1.0', '^1.2', false],
      ['0.2.5', '^0.2.3', true], ['0.3.0', '^0.2.3', false], ['0.0.3', '^0.0.3', true], ['0.0.4', '^0.0.3', false],
      ['1.2.9', '~1.2.3', true], ['1.3.0', '~1.2.3', false], ['1.9.9', '~1', true],
      ['1.4.0', '1.x', true], ['2.0.0', '1.x', false], ['1.2.7', '1.2.*', true], ['5.0.0', '*', true], ['3.1.0', '3', true],
      ['1.5.0', '>=1.2.0 <2.0.0', true], ['2.0.0', '>=1.2.0 <2.0.0', false], ['1.2.0', '>1.2.0', false], ['1.3.0', '>1.2', true],
      ['1.2.9', '<=1.2', true], ['1.3.0', '<=1.2', false],
      ['3.0.0', '^1 || ^3', true], ['2.0.0', '^1 || ^3', false],
      ['2.0.0-beta.1', '^1', false], ['2.0.0-beta.2', '>=2.0.0-beta.1', true], ['2.0.0-beta.1', '*', false],
    ];
    for (const [v, range, expected] of cases) assert.equal(satisfies(v, range), expected, `${v} ${range}`);
    assert.throws(() => satisfies('1.0.0', '^banana'), /invalid version range/);
  });

  it('orders versions and picks the highest match (latest skips pre-releases unless that is all)', () => {
    assert.ok(compareVersions('1.10.0', '1.9.0') > 0);
    assert.ok(compareVersions('2.0.0-rc.1', '2.0.0') < 0);
    const versions = ['1.0.0', '1.4.2', '2.0.0', '2.1.0-beta.1', '1.10.0'];
    assert.equal(maxSatisfying(versions), '2.0.0');
    assert.equal(maxSatisfying(versions, '^1'), '1.10.0');
    assert.equal(maxSatisfying(versions, '~1.4'), '1.4.2');
    assert.equal(maxSatisfying(versions, '^3'), undefined);
    assert.equal(maxSatisfying(['0.1.0-alpha'], undefined), '0.1.0-alpha');
  });
});
