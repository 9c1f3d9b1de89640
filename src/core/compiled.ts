/**
 * A definition prepared for execution: the graph analysed once (outgoing transitions in priority
 * order, split/join pairs, loop back edges), durations parsed, retry defaults applied, JSON
 * Schemas compiled. Immutable; the runtime caches one per (id, version).
 */
import { Ajv2020, type ValidateFunction } from 'ajv/dist/2020.js';
import addFormatsModule from 'ajv-formats';
import type { Definition, ErrorAction, RetryPolicy, Step, StepType } from '../model/schema.js';
import { analyseGraph, type GraphInfo, type ResolvedTransition } from '../model/graph.js';
import { normaliseDefinition } from '../model/normalise.js';
import { parseDuration } from './duration.js';

export interface RetrySettings {
  maxAttempts: number;
  initialIntervalMs: number;
  backoffCoefficient: number;
  maxIntervalMs: number;
  jitter: number;
  nonRetryable: ReadonlySet<string>;
}

/** Documented in docs/definitions.md: three attempts, 1 s doubling up to 1 min, ±20 % jitter. */
export const DEFAULT_RETRY: RetrySettings = {
  maxAttempts: 3,
  initialIntervalMs: 1000,
  backoffCoefficient: 2,
  maxIntervalMs: 60_000,
  jitter: 0.2,
  nonRetryable: new Set(),
};

export interface CompiledStep {
  id: string;
  step: Step;
  type: StepType;
  /** Normal transitions, highest priority first. */
  outgoing: ResolvedTransition[];
  /** `on: error|timeout|cancel` transitions. */
  exceptional: ResolvedTransition[];
  retry: RetrySettings;
  timeoutMs?: number;
  heartbeatTimeoutMs?: number;
  scheduleToStartMs?: number;
  /** Split steps: the join that closes them. */
  join?: string;
  /** Join steps: the steps between their split and them, cancelled when an any/n join fires. */
  region?: ReadonlySet<string>;
  /** Loop steps: ids of the transitions that come back from the body. */
  backEdges?: ReadonlySet<string>;
  formValidator?: ValidateFunction;
}

export interface CompiledDefinition {
  def: Definition;
  id: string;
  version: string;
  steps: Map<string, CompiledStep>;
  graph: GraphInfo;
  startId: string;
  errorPolicy: ErrorAction;
  timeoutMs?: number;
  timeoutAt?: number;
  inputValidator?: ValidateFunction;
  outputValidator?: ValidateFunction;
}

const addFormats = addFormatsModule as unknown as (ajv: Ajv2020) => Ajv2020;
let ajv: Ajv2020 | undefined;
function schemaCompiler(): Ajv2020 {
  if (!ajv) {
    ajv = new Ajv2020({ strict: false, allErrors: true });
    addFormats(ajv);
  }
  return ajv;
}

export function compileSchema(schema: unknown): ValidateFunction | undefined {
  if (schema === undefined) return undefined;
  return schemaCompiler().compile(schema as object);
}

/** Ajv errors as one readable line: `/items/0/qty must be >= 1; …`. */
export function describeSchemaErrors(validate: ValidateFunction): string {
  return (validate.errors ?? [])
    .map((e) => `${e.instancePath || '(root)'} ${e.message ?? 'is invalid'}`)
    .join('; ');
}

function retrySettings(...policies: Array<RetryPolicy | undefined>): RetrySettings {
  const merged: RetryPolicy = Object.assign({}, ...policies.filter(Boolean));
  return {
    maxAttempts: merged.maxAttempts ?? DEFAULT_RETRY.maxAttempts,
    initialIntervalMs: merged.initialInterval !== undefined ? parseDuration(merged.initialInterval) : DEFAULT_RETRY.initialIntervalMs,
    backoffCoefficient: merged.backoffCoefficient ?? DEFAULT_RETRY.backoffCoefficient,
    maxIntervalMs: merged.maxInterval !== undefined ? parseDuration(merged.maxInterval) : DEFAULT_RETRY.maxIntervalMs,
    jitter: merged.jitter ?? DEFAULT_RETRY.jitter,
    nonRetryable: new Set(merged.nonRetryableErrors ?? []),
  };
}

const optionalMs = (d: string | number | undefined) => (d === undefined ? undefined : parseDuration(d));

/** Compiles a validated definition. Throws if it cannot be executed (no start step). */
export function compileDefinition(input: Definition): CompiledDefinition {
  const def = normaliseDefinition(input);
  const graph = analyseGraph(def);
  const steps = new Map<string, CompiledStep>();
  let startId: string | undefined;
  for (const step of def.steps) {
    if (step.type === 'start') startId = step.id;
    const compiled: CompiledStep = {
      id: step.id,
      step,
      type: step.type,
      outgoing: graph.outgoing.get(step.id) ?? [],
      exceptional: graph.exceptional.get(step.id) ?? [],
      retry: retrySettings(def.retry, 'retry' in step ? step.retry : undefined),
    };
    if (step.type === 'task' || step.type === 'subworkflow' || step.type === 'foreach') compiled.timeoutMs = optionalMs(step.timeout);
    if (step.type === 'task') {
      compiled.heartbeatTimeoutMs = optionalMs(step.heartbeatTimeout);
      compiled.scheduleToStartMs = optionalMs(step.scheduleToStartTimeout);
    }
    if (step.type === 'parallel' || step.type === 'inclusive') compiled.join = graph.joinOfSplit.get(step.id);
    if (step.type === 'join') compiled.region = graph.region.get(step.id) ?? new Set();
    if (step.type === 'loop') {
      compiled.backEdges = new Set((graph.incoming.get(step.id) ?? []).filter((t) => graph.backEdges.has(t.id)).map((t) => t.id));
    }
    if (step.type === 'human' && step.form !== undefined) compiled.formValidator = compileSchema(step.form);
    steps.set(step.id, compiled);
  }
  if (!startId) throw new Error(`workflow "${def.id}" has no start step`);
  const timeout = def.timeout;
  return {
    def,
    id: def.id,
    version: def.version ?? '1.0.0',
    steps,
    graph,
    startId,
    errorPolicy: def.errorPolicy ?? 'fail',
    timeoutMs: timeout !== undefined && typeof timeout !== 'object' ? parseDuration(timeout) : undefined,
    timeoutAt: timeout !== undefined && typeof timeout === 'object' ? Date.parse(timeout.at) : undefined,
    inputValidator: compileSchema(def.input),
    outputValidator: compileSchema(def.output),
  };
}
