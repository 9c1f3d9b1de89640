// STUB — being written by the lead. Signature is final.
import type { CompiledDefinition } from './compiled.js';
import type { Effects } from './effects.js';
import type { EngineEvent, InstanceState } from './types.js';

/** The rows and actions implied by `events` (one command's or one batch's), given the state after them. */
export function deriveEffects(def: CompiledDefinition, events: EngineEvent[], state: InstanceState): Effects {
  throw new Error('not implemented');
}
