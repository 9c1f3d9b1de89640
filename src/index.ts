/**
 * Weft's public API: what `import … from 'weft'` gives a program.
 *
 * - model: the canonical definition schema (zod: type + validator), loading YAML/JSON with line
 *   numbers, validation rules, the `workflow()` builder, the expression language.
 * - core: the pure engine core (commands, events, state, decide/evolve) and its types.
 * - runtime: `openEngine` (the embedded engine), its contract, activities.
 * - activities: the built-ins (`noop`, `log`, `http`, `transform`, `script`).
 */

// model (schema, loading with line numbers, validation, builder, expressions)
export * from './model/index.js';

// core
export * from './core/index.js';

// runtime
export { openEngine } from './runtime/engine.js';
export type {
  Engine, EngineOptions, StartOptions, InstanceSummary, HumanTaskRow, CommittedBatch, ActivityNotice, EngineEventMap,
} from './runtime/api.js';
export { ActivityRegistry, ActivityFailure, toErrorInfo, type ActivityContext, type ActivityHandler } from './runtime/activity.js';

// activities
export {
  registerBuiltins, builtinActivities, BUILTIN_ACTIVITIES as BUILTIN_ACTIVITY_NAMES, type BuiltinActivity, type BuiltinOptions,
  noop, log, http, createHttpActivity, transform, script, createScriptActivity,
  type HttpInput, type HttpOutput, type HttpActivityOptions, type LogInput, type TransformInput, type ScriptInput, type ScriptActivityOptions,
} from './activities/index.js';
