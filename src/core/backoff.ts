import type { RetrySettings } from './compiled.js';

/**
 * Delay before attempt `failedAttempt + 1`: initial × coefficient^(failedAttempt−1), capped at the
 * max interval, then spread by ±jitter using `random` (from the command, so replay is exact).
 */
export function backoffDelay(retry: RetrySettings, failedAttempt: number, random: number): number {
  const base = Math.min(retry.initialIntervalMs * retry.backoffCoefficient ** (failedAttempt - 1), retry.maxIntervalMs);
  const spread = base * retry.jitter * (2 * random - 1);
  return Math.max(0, Math.round(base + spread));
}
