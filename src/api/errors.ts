/**
 * The API's error catalogue: every `error` code a response can carry, its HTTP status and what it
 * means. Every error body is `{error: CODE, message, details?}`. docs/api.md lists each code
 * (a test checks), so clients can rely on them.
 */
import { CommandRejected } from '../core/errors.js';
import { DefinitionError } from '../model/errors.js';
import { UnsoundDefinitionError } from '../runtime/definitions.js';
import { ScheduleError } from '../runtime/schedules.js';
import { DefinitionConflictError } from '../store/errors.js';

export const ERRORS = {
  invalid_input: { status: 400, description: 'The request body, a parameter or a command field is wrong; `details.field` names it.' },
  malformed_json: { status: 400, description: 'The body is not valid JSON (or YAML for definitions).' },
  unauthorized: { status: 401, description: 'No valid credentials (reserved: the default hook allows everyone).' },
  forbidden: { status: 403, description: 'The authorization hook refused the call.' },
  not_found: { status: 404, description: 'The instance, definition, task, step or route does not exist.' },
  invalid_state: { status: 409, description: 'The target is not in a state that allows the command (e.g. resume a running instance).' },
  stale: { status: 409, description: 'The command refers to an attempt or lease that is no longer current (a late worker completion).' },
  not_allowed: { status: 409, description: 'The definition forbids the command (e.g. skipping a step that is not `skippable`).' },
  conflict: { status: 409, description: 'The resource already exists with other content (same definition id and version, different content).' },
  in_use: { status: 409, description: 'The definition version is used by instances and cannot be deleted.' },
  already_exists: { status: 409, description: 'A resource with this id already exists (a schedule id).' },
  payload_too_large: { status: 413, description: 'The body is over the server limit (`--body-limit`), or a payload over the engine limit.' },
  unsupported_media_type: { status: 415, description: 'The Content-Type is not accepted by the route (JSON everywhere; YAML for definitions).' },
  definition_invalid: { status: 422, description: 'The definition fails validation; `details.issues` lists every issue with rule, path, line and column.' },
  unsound_definition: { status: 422, description: 'The verifier proved the definition unsound (deadlock, livelock, dead step…); `details.report` has the problems with their shortest traces. Deploy with `?force=true` to accept it anyway.' },
  unknown_definition: { status: 422, description: 'The definition (or version) a schedule names is not deployed in the caller\'s namespace; `details.field` names the field.' },
  not_implemented: { status: 501, description: 'The operation is not supported by this server or store backend.' },
  unavailable: { status: 503, description: 'The server is shutting down or not ready.' },
  internal: { status: 500, description: 'An unexpected server error (logged with the request id).' },
} as const;

export type ErrorCode = keyof typeof ERRORS;

export class ApiError extends Error {
  constructor(readonly code: ErrorCode, message: string, readonly details?: unknown) {
    super(message);
    this.name = 'ApiError';
  }
  get status(): number {
    return ERRORS[this.code].status;
  }
}

export interface ErrorBody {
  error: ErrorCode;
  message: string;
  details?: unknown;
}

interface FastifyishError {
  code?: string;
  statusCode?: number;
  message: string;
  validation?: Array<{ instancePath?: string; keyword?: string; params?: Record<string, unknown>; message?: string }>;
  validationContext?: string;
}

/** Any thrown value → status + uniform body. */
export function toErrorBody(err: unknown): { status: number; body: ErrorBody } {
  const make = (code: ErrorCode, message: string, details?: unknown) =>
    ({ status: ERRORS[code].status, body: { error: code, message, ...(details !== undefined && { details }) } });
  if (err instanceof ApiError) return make(err.code, err.message, err.details);
  if (err instanceof CommandRejected) return make(err.code, err.message, err.details);
  if (err instanceof DefinitionError) {
    return make('definition_invalid', `the definition has ${err.issues.filter((i) => i.severity === 'error').length} error(s)`, { issues: err.issues });
  }
  if (err instanceof UnsoundDefinitionError) return make('unsound_definition', err.message, { report: err.report });
  if (err instanceof ScheduleError) return make(err.code, err.message, err.details);
  if (err instanceof DefinitionConflictError) return make('conflict', err.message);
  const e = err as FastifyishError;
  if (e && Array.isArray(e.validation)) {
    const v = e.validation[0] ?? {};
    const where = e.validationContext ?? 'body';
    let field = (v.instancePath ?? '').replace(/^\//, '').replace(/\//g, '.');
    if (v.keyword === 'required' && typeof v.params?.missingProperty === 'string') field = field ? `${field}.${v.params.missingProperty}` : v.params.missingProperty;
    if (v.keyword === 'additionalProperties' && typeof v.params?.additionalProperty === 'string') {
      const f = field ? `${field}.${v.params.additionalProperty}` : v.params.additionalProperty;
      return make('invalid_input', `${where}: unknown field "${f}"`, { in: where, field: f });
    }
    const name = field || '(root)';
    return make('invalid_input', `${where}.${name} ${v.message ?? 'is invalid'}`, { in: where, field: name });
  }
  switch (e?.code) {
    case 'FST_ERR_CTP_INVALID_JSON_BODY':
    case 'FST_ERR_CTP_EMPTY_JSON_BODY':
      return make('malformed_json', e.message);
    case 'FST_ERR_CTP_BODY_TOO_LARGE':
      return make('payload_too_large', e.message);
    case 'FST_ERR_CTP_INVALID_MEDIA_TYPE':
    case 'FST_ERR_CTP_INVALID_CONTENT_LENGTH':
      return e.code === 'FST_ERR_CTP_INVALID_MEDIA_TYPE' ? make('unsupported_media_type', e.message) : make('invalid_input', e.message);
  }
  if (e instanceof SyntaxError) return make('malformed_json', e.message);
  if (typeof e?.statusCode === 'number' && e.statusCode >= 400 && e.statusCode < 500) {
    const code: ErrorCode = e.statusCode === 404 ? 'not_found' : e.statusCode === 413 ? 'payload_too_large' : e.statusCode === 415 ? 'unsupported_media_type' : 'invalid_input';
    return make(code, e.message);
  }
  return make('internal', 'internal server error');
}

/** JSON Schema of the error body (OpenAPI). */
export const ErrorSchema = {
  $id: 'Error',
  type: 'object',
  required: ['error', 'message'],
  properties: {
    error: { type: 'string', enum: Object.keys(ERRORS) },
    message: { type: 'string' },
    details: {},
  },
} as const;
