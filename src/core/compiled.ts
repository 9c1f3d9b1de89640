// STUB — being written by the lead. The exported names are final.
import type { Definition, Step } from '../model/schema.js';

export interface CompiledStep {
  id: string;
  step: Step;
}

/** A definition prepared for execution: graph analysed, expressions and schemas compiled. Immutable; cache it per (id, version). */
export interface CompiledDefinition {
  def: Definition;
  id: string;
  version: string;
  steps: Map<string, CompiledStep>;
}

/** Compiles a (normalised, validated) definition. Throws if it is not executable. */
export function compileDefinition(def: Definition): CompiledDefinition {
  throw new Error('not implemented');
}
