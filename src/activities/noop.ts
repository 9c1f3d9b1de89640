/** `noop`: does nothing and returns its input (or `{}`), handy for joins, placeholders and benchmarks. */
import type { ActivityHandler } from '../runtime/activity.js';

export const noop: ActivityHandler<unknown, unknown> = (input) => (input === undefined || input === null ? {} : input);
