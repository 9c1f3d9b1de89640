/**
 * The verifier off the main thread: exploring a state space can take long enough to stall typing.
 * Messages: `{ready: true}` once loaded; `{seq, definition, options}` in, `{seq, report}` or
 * `{seq, error}` out (the page keeps the latest `seq` only).
 */
import { verifyDefinition } from '../../../src/verify/verify.js';
import type { VerifyRequest, VerifyResponse } from './verify-client.js';

self.onmessage = async (e: MessageEvent<VerifyRequest>) => {
  const { seq, definition, options } = e.data;
  let out: VerifyResponse;
  try {
    out = { seq, report: await verifyDefinition(definition, options) };
  } catch (err) {
    out = { seq, error: (err as Error).message };
  }
  (self as unknown as Worker).postMessage(out);
};
// Tells the page the worker is running (see verify-client.ts: a worker that never starts is replaced).
(self as unknown as Worker).postMessage({ ready: true });
