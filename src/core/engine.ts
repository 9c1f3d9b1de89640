// STUB — being written by the lead. Signatures are final.
import type { CompiledDefinition } from './compiled.js';
import type { Command, DecideContext, EngineEvent, InstanceState } from './types.js';

/** The runtime's fast path: runs `command` against `state` (mutated in place; null for StartWorkflow). */
export async function execute(def: CompiledDefinition, state: InstanceState | null, command: Command, ctx: DecideContext): Promise<{ state: InstanceState; events: EngineEvent[] }> {
  throw new Error('not implemented');
}
/** Pure: the events `command` produces; `state` is not touched. */
export async function decide(def: CompiledDefinition, state: InstanceState | null, command: Command, ctx: DecideContext): Promise<EngineEvent[]> {
  throw new Error('not implemented');
}
/** Mutating fold step: applies one event to `state` (null before WorkflowStarted) and returns it. */
export function apply(state: InstanceState | null, event: EngineEvent): InstanceState { throw new Error('not implemented'); }
/** Pure fold step. */
export function evolve(state: InstanceState | null, event: EngineEvent): InstanceState { throw new Error('not implemented'); }
/** Folds a log (optionally on top of a snapshot). */
export function fold(events: Iterable<EngineEvent>, from: InstanceState | null = null): InstanceState | null { throw new Error('not implemented'); }
export function initialState(): null { return null; }
export function cloneState(state: InstanceState): InstanceState { return structuredClone(state); }
