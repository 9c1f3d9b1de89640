/**
 * Weft's public API: what `import … from 'weft'` gives a program.
 *
 * - model: the canonical definition schema (zod: type + validator), loading YAML/JSON with line
 *   numbers, validation rules, the `workflow()` builder, the expression language.
 * - core: the pure engine core (commands, events, state, decide/evolve) and its types.
 * - runtime: `openEngine` (the embedded engine), its contract, activities.
 * - activities: the built-ins (`noop`, `log`, `http`, `transform`, `script`).
 * - verify: soundness and counterexamples on definitions, PNML nets, DOT.
 * - api / sdk: `startServer`, `WeftClient`, `watch`, `Worker` for remote activity workers.
 */

// model (schema, loading with line numbers, validation, builder, expressions)
export * from './model/index.js';

// core
export * from './core/index.js';

// runtime
export { openEngine } from './runtime/engine.js';
export { UnsoundDefinitionError } from './runtime/definitions.js';
export type {
  Engine, EngineOptions, StartOptions, DeployOptions, DeployResult, InstanceSummary, HumanTaskRow, CommittedBatch, ActivityNotice, EngineEventMap,
} from './runtime/api.js';
export { ActivityRegistry, ActivityFailure, toErrorInfo, type ActivityContext, type ActivityHandler } from './runtime/activity.js';

// activities
export {
  registerBuiltins, builtinActivities, BUILTIN_ACTIVITIES as BUILTIN_ACTIVITY_NAMES, type BuiltinActivity, type BuiltinOptions,
  noop, log, http, createHttpActivity, transform, script, createScriptActivity,
  type HttpInput, type HttpOutput, type HttpActivityOptions, type LogInput, type TransformInput, type ScriptInput, type ScriptActivityOptions,
} from './activities/index.js';

// lifecycle messages (transactional outbox)
export type { LifecycleMessage } from './runtime/lifecycle.js';

// verifier (runs in the browser too)
export {
  verifyDefinition, verifyNet, parsePnml, toPnml, PnmlError, definitionToDot, netToDot, formatReport, StateSpaceTooLarge,
  type VerificationReport, type Problem, type ProblemKind, type TraceEntry, type VerifyOptions, type PetriNet,
} from './verify/index.js';

// server, SDK, remote workers
export { buildServer, API_PREFIX, type ServerOptions } from './api/server.js';
export { startServer, type StartServerOptions, type RunningServer } from './api/start.js';
export { ERRORS, ApiError, type ErrorCode } from './api/errors.js';
export type { AuthHooks, Caller, Resource } from './api/auth.js';
export {
  WeftClient, WeftApiError, watch, Worker,
  type ClientOptions, type Watcher, type WatchOptions, type WorkerOptions, type StartRequest, type ListInstancesQuery, type CommandResult,
} from './sdk/index.js';
export type { RemoteTask, WorkerInfo, QueueInfo, HeartbeatAnswer } from './runtime/remote-tasks.js';
