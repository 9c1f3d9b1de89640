/** The verifier's library API (browser-safe): see docs/verification.md. */
export { verifyDefinition, type VerificationReport, type Problem, type ProblemKind, type TraceEntry, type VerifyOptions } from './verify.js';
export { DefinitionSystem, abstractDefinition, type Move, type DefinitionSystemOptions } from './definition-system.js';
export { explore, traceTo, StateSpaceTooLarge, type StateGraph, type TransitionSystem } from './graph.js';
export { verifyNet, NetSystem, workflowNetEnds, type PetriNet, type Place, type Arc, type NetTransition } from './petri.js';
export { parsePnml, toPnml, PnmlError } from './pnml.js';
export { definitionToDot, netToDot } from './dot.js';
export { definitionToNet, type DefinitionNetOptions } from './net-export.js';
export { parseCtl, formatCtl, CtlParseError, CtlChecker, checkFormulas, propertyParseErrors, BUILTIN_PROPERTIES, type Formula, type PropertyResult } from './ctl.js';
export { analyseResourcesOnGraph, declaredResources, type ResourceReport, type ResourceUse } from './resources.js';
export { analyseTime, DEFAULT_DURATIONS, type TimeReport } from './time.js';
export { formatReport, formatTrace } from './report.js';
export { wideDefinition } from './samples.js';
export { inputClasses, simpleCondition, conditionsOf, DEFAULT_MAX_INPUT_CLASSES, type InputClass, type InputClasses } from './conditions.js';
