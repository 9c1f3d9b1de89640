/**
 * Helpers for the example activities: they simulate the outside world deterministically
 * (no network, no clock-dependent results, short delays) so runs and tests are repeatable.
 */
import { ActivityFailure, type ActivityHandler } from '../../src/runtime/activity.js';

/** Waits `ms` (kept ≤ 50 ms by the examples), rejecting early when the task is cancelled. */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(cancelled());
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, Math.min(ms, 50));
    const onAbort = () => {
      clearTimeout(timer);
      reject(cancelled());
    };
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

function cancelled(): ActivityFailure {
  return new ActivityFailure('cancelled', 'the task was cancelled');
}

/** Small, stable string hash (FNV-1a, 32 bit) for deterministic fake ids and values. */
export function stableHash(text: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return h >>> 0;
}

/**
 * True when the run asked for a failure at `point` (`input.failAt`, a string or a list).
 * Injected failures are non-retryable unless stated otherwise, so a run does not sit through
 * real backoff intervals.
 */
export function failureRequested(failAt: unknown, point: string): boolean {
  if (typeof failAt === 'string') return failAt === point;
  if (Array.isArray(failAt)) return failAt.includes(point);
  return false;
}

export function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Fails the step with a chosen error code: `{code, message, details?}`. Used to end a path as a workflow failure. */
export const failActivity: ActivityHandler<{ code?: string; message?: string; details?: unknown }, never> = (input) => {
  const code = typeof input?.code === 'string' && input.code ? input.code : 'failed';
  const message = typeof input?.message === 'string' && input.message ? input.message : `failed with ${code}`;
  throw new ActivityFailure(code, message, { nonRetryable: true, details: input?.details });
};

/** A fixed instant plus an offset, so simulated timestamps do not depend on the clock. */
export function simulatedTime(offsetMs: number): string {
  return new Date(Date.UTC(2024, 0, 1) + offsetMs).toISOString();
}
