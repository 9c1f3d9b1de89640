/** The definition model: schema, loading, validation, normalisation, builder, expressions, graph. */
export * from './schema.js';
export * from './errors.js';
export {
  parseDefinition, parseDefinitionOrThrow, checkDefinitionShape,
  DEFAULT_MAX_DEFINITION_BYTES, type ParseOptions, type ParseResult,
} from './load.js';
export { loadDefinitionFile, loadDefinitionOrThrow } from './load-file.js';
export {
  validateDefinition, provablyExhaustive, compileSchema, BUILTIN_ACTIVITIES, RULES, type ValidateOptions,
} from './validate.js';
export { normaliseDefinition, normaliseWithOrigins, isNormalised, type TransitionOrigin, type NormalisedWithOrigins } from './normalise.js';
export { workflow, WorkflowBuilder, type Link, type StepFields, type WorkflowFields, type TransitionFields } from './builder.js';
export {
  ExpressionError, unwrapExpression, checkExpression, evaluate, evaluateCondition, evaluateMapping,
  mappingHasExpressions, expressionsInMapping,
} from './expressions.js';
export { analyseGraph, type GraphInfo, type GraphProblem, type ResolvedTransition } from './graph.js';
