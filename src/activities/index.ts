/**
 * The built-in activities every engine knows by name: `noop`, `log`, `http`, `transform`, `script`.
 * `registerBuiltins(registry)` adds them; activities registered later under the same name win.
 */
import type { ActivityHandler, ActivityRegistry } from '../runtime/activity.js';
import { createHttpActivity, type HttpActivityOptions } from './http.js';
import { createScriptActivity, type ScriptActivityOptions } from './script.js';
import { log } from './log.js';
import { noop } from './noop.js';
import { transform } from './transform.js';

export const BUILTIN_ACTIVITIES = ['noop', 'log', 'http', 'transform', 'script'] as const;
export type BuiltinActivity = (typeof BUILTIN_ACTIVITIES)[number];

export interface BuiltinOptions {
  http?: HttpActivityOptions;
  script?: ScriptActivityOptions;
  /** Built-ins to leave out (e.g. `['http']` where workflows must not reach the network). */
  exclude?: BuiltinActivity[];
}

export function builtinActivities(opts: BuiltinOptions = {}): Record<BuiltinActivity, ActivityHandler> {
  return {
    noop,
    log,
    http: createHttpActivity(opts.http),
    transform,
    script: createScriptActivity(opts.script),
  };
}

export function registerBuiltins(registry: ActivityRegistry, opts: BuiltinOptions = {}): ActivityRegistry {
  const handlers = builtinActivities(opts);
  for (const name of BUILTIN_ACTIVITIES) {
    if (!opts.exclude?.includes(name)) registry.register(name, handlers[name]);
  }
  return registry;
}

export { noop } from './noop.js';
export { log, LOG_LEVELS, type LogInput, type LogLevel } from './log.js';
export { http, createHttpActivity, isRetryableStatus, type HttpInput, type HttpOutput, type HttpActivityOptions } from './http.js';
export { transform, type TransformInput } from './transform.js';
export { script, createScriptActivity, loadSandbox, SCRIPT_DEFAULTS, type ScriptInput, type ScriptActivityOptions } from './script.js';
