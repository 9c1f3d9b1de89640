/**
 * The engine core: pure, deterministic token flow over the workflow net (SPEC C2, principle 2).
 *
 *   decide(def, state, command, ctx) → events      (pure: never mutates its arguments)
 *   evolve(state, event) → state                   (pure)
 *   execute(def, state, command, ctx) → {state, events}   (the runtime's fast path: mutates the
 *                                                           state it is given, which it owns)
 *
 * A rejected command throws `CommandRejected` before anything is changed.
 */
export * from './types.js';
export * from './errors.js';
export * from './effects.js';
export { compileDefinition, type CompiledDefinition, type CompiledStep } from './compiled.js';
export { decide, execute, evolve, apply, fold, initialState, cloneState } from './engine.js';
export { deriveEffects } from './derive.js';
export { parseDuration } from './duration.js';
