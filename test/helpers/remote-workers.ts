/** Shared by the remote-worker tests (long-poll and WebSocket transports). */
import assert from 'node:assert/strict';
import type { Definition } from '../../src/model/schema.js';

/** One task run by a remote worker; quick retries so a lost lease is retried at once. */
export const REMOTE: Definition = {
  id: 'remote', version: '1.0.0',
  retry: { maxAttempts: 3, initialInterval: '10ms', maxInterval: '20ms' },
  steps: [
    { id: 'start', type: 'start', next: 'w' },
    { id: 'w', type: 'task', activity: 'slow.work', next: 'end' },
    { id: 'end', type: 'end' },
  ],
} as Definition;

/** Polls `check` until it returns something truthy; fails after `timeoutMs` (no timing is asserted). */
export async function waitFor<T>(check: () => Promise<T | undefined | false>, timeoutMs = 10_000): Promise<T> {
  const end = Date.now() + timeoutMs;
  while (Date.now() < end) {
    const v = await check();
    if (v) return v;
    await new Promise((r) => setTimeout(r, 20));
  }
  assert.fail('condition not met in time');
}
