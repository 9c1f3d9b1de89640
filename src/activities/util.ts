/** Small helpers shared by the built-in activities. */
import { ActivityFailure } from '../runtime/activity.js';

/** The step's input is wrong: retrying cannot help, so the failure is non-retryable. */
export function invalidInput(activity: string, message: string): ActivityFailure {
  return new ActivityFailure('invalid_input', `${activity}: ${message}`, { nonRetryable: true });
}

export function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Makes a value JSON-safe the way the store will see it (undefined → null, functions dropped). */
export function toJson(value: unknown): unknown {
  if (value === undefined) return null;
  return JSON.parse(JSON.stringify(value) ?? 'null');
}
