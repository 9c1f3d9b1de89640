/** Shared JSON Schemas for routes (OpenAPI comes from these). */
export function errorResponses(...statuses: number[]): Record<number, { $ref: string }> {
  const out: Record<number, { $ref: string }> = {};
  for (const s of statuses) out[s] = { $ref: 'Error#' };
  return out;
}

export const instanceIdParams = {
  type: 'object', required: ['id'], additionalProperties: false,
  properties: { id: { type: 'string', minLength: 1 } },
} as const;

export const ErrorInfoSchema = {
  type: 'object', required: ['code', 'message'], additionalProperties: false,
  properties: { code: { type: 'string', minLength: 1 }, message: { type: 'string' }, nonRetryable: { type: 'boolean' }, details: {} },
} as const;

/** Free JSON (objects kept whole by the response serializer). */
export const anyJson = {} as const;

export const commandResult = {
  type: 'object',
  properties: {
    instanceId: { type: 'string' },
    status: { type: 'string' },
    events: { type: 'array', items: { type: 'object', additionalProperties: true } },
  },
} as const;

/** A success response whose body is a whole JSON object (instance state, definition, task row). */
export function objectResponse(description: string) {
  return { type: 'object', additionalProperties: true, description } as const;
}
