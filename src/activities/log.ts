/** `log`: writes one structured line through the activity context and returns `{logged: true}`. */
import type { ActivityHandler } from '../runtime/activity.js';
import { invalidInput, isRecord } from './util.js';

export const LOG_LEVELS = ['debug', 'info', 'warn', 'error'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

export interface LogInput {
  message: string;
  level?: LogLevel;
  fields?: Record<string, unknown>;
}

export const log: ActivityHandler<LogInput, { logged: true }> = (input, ctx) => {
  if (!isRecord(input)) throw invalidInput('log', 'input must be an object {message, level?, fields?}');
  const { message, level = 'info', fields } = input;
  if (message === undefined || message === null) throw invalidInput('log', '"message" is required');
  if (!LOG_LEVELS.includes(level)) throw invalidInput('log', `"level" must be one of ${LOG_LEVELS.join(', ')}`);
  if (fields !== undefined && !isRecord(fields)) throw invalidInput('log', '"fields" must be an object');
  const text = typeof message === 'string' ? message : JSON.stringify(message);
  ctx.log(text, { ...(fields ?? {}), level });
  return { logged: true };
};
