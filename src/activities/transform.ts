/**
 * `transform`: evaluates an expression (JSONata, the same language as conditions and mappings)
 * over `{data, input}` and returns the value. Without `expression` the input — already shaped by
 * the step's `input` mapping — is the result, so `transform` doubles as a pure mapping step.
 */
import { ActivityFailure, type ActivityHandler } from '../runtime/activity.js';
import { evaluate } from '../model/expressions.js';
import { isRecord, toJson } from './util.js';

export interface TransformInput {
  /** A JSONata expression; write it without `${…}` so the engine does not evaluate it while mapping. */
  expression?: string;
  data?: unknown;
}

export const transform: ActivityHandler<TransformInput | unknown, unknown> = async (input) => {
  if (!isRecord(input) || input.expression === undefined) return input ?? {};
  const { expression, data } = input;
  if (typeof expression !== 'string' || expression.trim() === '') {
    throw new ActivityFailure('invalid_input', 'transform: "expression" must be a non-empty string', { nonRetryable: true });
  }
  try {
    return toJson(await evaluate(expression, { data, input }));
  } catch (err) {
    throw new ActivityFailure('transform_error', (err as Error).message, { nonRetryable: true });
  }
};
