import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ActivityFailure, toErrorInfo } from './activity.js';

test('toErrorInfo keeps code and nonRetryable of an ActivityFailure', () => {
  const info = toErrorInfo(new ActivityFailure('card_declined', 'declined', { nonRetryable: true }));
  assert.deepEqual(info, { code: 'card_declined', message: 'declined', nonRetryable: true, details: undefined });
});

test('toErrorInfo recognises an ActivityFailure from another copy of the module by shape', () => {
  // Simulates a user module importing src/ while the engine runs from dist/: instanceof fails.
  class ForeignFailure extends Error {
    constructor() {
      super('gone');
      this.name = 'ActivityFailure';
    }
    toErrorInfo() {
      return { code: 'gone', message: 'gone', nonRetryable: true };
    }
  }
  assert.equal(new ForeignFailure() instanceof ActivityFailure, false);
  assert.deepEqual(toErrorInfo(new ForeignFailure()), { code: 'gone', message: 'gone', nonRetryable: true });
});

test('toErrorInfo maps plain errors and non-errors', () => {
  assert.equal(toErrorInfo(new Error('x')).code, 'activity_error');
  assert.equal(toErrorInfo(Object.assign(new Error('x'), { code: 'EOF' })).code, 'EOF');
  assert.deepEqual(toErrorInfo('boom'), { code: 'activity_error', message: 'boom' });
});
