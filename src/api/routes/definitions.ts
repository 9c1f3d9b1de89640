/**
 * Definitions: deploy (create a version, YAML or JSON, validated with line numbers), update (the
 * same under `PUT /definitions/:id`), list with versions, get, validate without deploying, delete.
 * Versions are immutable: deploying the same id+version with other content is a 409 `conflict`.
 */
import type { FastifyPluginAsync, FastifyRequest } from 'fastify';
import { hasErrors } from '../../model/errors.js';
import { parseDefinition } from '../../model/load.js';
import { z } from 'zod';
import { Definition as DefinitionSchema, type Definition } from '../../model/schema.js';
import { ApiError } from '../errors.js';
import type { VerificationReport, VerifyOptions } from '../../verify/verify.js';
import { errorResponses, objectResponse } from '../schemas.js';
import type { ApiContext } from '../server.js';

const YAML_TYPES = ['application/yaml', 'application/x-yaml', 'text/yaml', 'text/x-yaml'];
const idParam = { type: 'object', required: ['id'], properties: { id: { type: 'string', minLength: 1 } }, additionalProperties: false } as const;
const versionParams = {
  type: 'object', required: ['id', 'version'], additionalProperties: false,
  properties: { id: { type: 'string', minLength: 1 }, version: { type: 'string', minLength: 1 } },
} as const;
const deployed = {
  type: 'object', required: ['id', 'version', 'created'],
  properties: {
    id: { type: 'string' }, version: { type: 'string' }, created: { type: 'boolean' },
    verdict: { type: 'string', enum: ['sound', 'unsound', 'unknown', 'skipped'] }, forced: { type: 'boolean' },
    warnings: { type: 'array', items: {} },
  },
} as const;
const forceQuery = {
  type: 'object', additionalProperties: false,
  properties: { force: { type: 'boolean', description: 'Deploy even when the verifier proves the definition unsound.' } },
} as const;
/** The verifier's report (docs/verification.md); problems carry shortest traces. */
const reportSchema = { type: 'object', additionalProperties: true } as const;
let definitionJsonSchema: Record<string, unknown> | undefined;
/**
 * The OpenAPI request body of the routes that take a definition: the real definition JSON Schema
 * (`z.toJSONSchema` of `src/model/schema.ts`'s `Definition`, every field) for JSON, text for YAML.
 * Documentation only: the body is checked by the definition parser (422 with lines and columns).
 */
export function definitionRequestBody(): Record<string, unknown> {
  definitionJsonSchema ??= z.toJSONSchema(DefinitionSchema, { target: 'openapi-3.0', unrepresentable: 'any', io: 'input' }) as Record<string, unknown>;
  const yaml = { schema: { type: 'string', description: 'The same definition as YAML' } };
  return {
    required: true,
    description: 'A workflow definition (docs/definitions.md) as JSON (`application/json`) or YAML (`application/yaml`).',
    content: { 'application/json': { schema: definitionJsonSchema }, ...Object.fromEntries(YAML_TYPES.map((t) => [t, yaml])) },
  };
}

/** The routes whose body is a definition (OpenAPI paths, method). */
export const DEFINITION_BODY_ROUTES: Array<[string, 'post' | 'put']> = [
  ['/api/v1/definitions', 'post'], ['/api/v1/definitions/{id}', 'put'], ['/api/v1/definitions/validate', 'post'], ['/api/v1/definitions/verify', 'post'],
];

function formatOf(req: FastifyRequest): 'yaml' | 'json' {
  const ct = String(req.headers['content-type'] ?? '').split(';')[0]!.trim().toLowerCase();
  return YAML_TYPES.includes(ct) ? 'yaml' : 'json';
}

/** Text → definition, or the right error (400 syntax, 422 validation). */
function parse(text: unknown, format: 'yaml' | 'json'): { definition: Definition; warnings: unknown[] } {
  if (typeof text !== 'string' || text.trim() === '') throw new ApiError('invalid_input', 'the body must be a definition (JSON or YAML)', { field: 'body' });
  const { definition, issues } = parseDefinition(text, { format });
  const syntax = issues.filter((i) => i.rule === 'syntax' || i.rule === 'empty-definition');
  if (syntax.length > 0) throw new ApiError('malformed_json', syntax[0]!.message, { issues: syntax });
  if (issues.some((i) => i.rule === 'too-large')) throw new ApiError('payload_too_large', issues[0]!.message);
  if (!definition || hasErrors(issues)) {
    throw new ApiError('definition_invalid', `the definition has ${issues.filter((i) => i.severity === 'error').length} error(s)`, { issues });
  }
  return { definition, warnings: issues.filter((i) => i.severity === 'warning') };
}

/** The verifier, loaded when first asked for (the server starts without it). */
async function verifyDefinition(def: Definition, opts: VerifyOptions): Promise<VerificationReport> {
  return (await import('../../verify/verify.js')).verifyDefinition(def, opts);
}

export function definitionRoutes(ctx: ApiContext): FastifyPluginAsync {
  const { engine } = ctx;
  return async (app) => {
    // Definitions are parsed from text here (line numbers for JSON and YAML alike).
    app.removeAllContentTypeParsers();
    app.addContentTypeParser(['application/json', ...YAML_TYPES], { parseAs: 'string' }, (_req, body, done) => done(null, body));

    /** A definition of another namespace than the caller's does not exist for them (404). */
    async function checkNamespace(id: string, namespace: string, version?: string): Promise<void> {
      const owner = (await engine.listDefinitions()).find((d) => d.id === id)?.namespace;
      if (owner !== undefined && owner !== namespace) throw new ApiError('not_found', `definition "${id}"${version ? ` version ${version}` : ''} is not deployed`);
    }

    async function deploy(text: unknown, format: 'yaml' | 'json', force: boolean, namespace: string, expectId?: string) {
      const { definition, warnings } = parse(text, format);
      if (expectId !== undefined && definition.id !== expectId) {
        throw new ApiError('invalid_input', `the definition's id "${definition.id}" does not match the URL ("${expectId}")`, { field: 'id' });
      }
      const r = await engine.deploy(definition, { force, namespace });
      const all: unknown[] = [...warnings, ...(r.warnings ?? []).map((message) => ({ rule: 'verification', severity: 'warning', message }))];
      return { id: r.id, version: r.version, created: r.created, verdict: r.verdict, ...(r.forced && { forced: true }), ...(all.length > 0 && { warnings: all }) };
    }
    const forceOf = (req: FastifyRequest) => (req.query as { force?: boolean }).force === true;

    app.post('/definitions', {
      schema: { tags: ['definitions'], summary: 'Deploy a definition version (create); an unsound one is refused (422 `unsound_definition`) unless `?force=true`', querystring: forceQuery, response: { 201: deployed, 200: deployed, ...errorResponses(400, 409, 413, 415, 422) } },
      config: { action: 'definition.deploy', resource: 'definition' },
    }, async (req, reply) => {
      const out = await deploy(req.body, formatOf(req), forceOf(req), req.caller.namespace);
      return reply.status(out.created ? 201 : 200).send(out);
    });

    app.put('/definitions/:id', {
      schema: { tags: ['definitions'], summary: 'Deploy a new version of a definition (update); `?force=true` as for POST', params: idParam, querystring: forceQuery, response: { 201: deployed, 200: deployed, ...errorResponses(400, 409, 413, 415, 422) } },
      config: { action: 'definition.deploy', resource: 'definition' },
    }, async (req, reply) => {
      const out = await deploy(req.body, formatOf(req), forceOf(req), req.caller.namespace, (req.params as { id: string }).id);
      return reply.status(out.created ? 201 : 200).send(out);
    });

    app.post('/definitions/validate', {
      schema: {
        tags: ['definitions'], summary: 'Validate a definition without deploying it (with the soundness verdict when it passes the rules)',
        response: { 200: { type: 'object', properties: { valid: { type: 'boolean' }, verdict: { type: 'string' }, issues: { type: 'array', items: { type: 'object', additionalProperties: true } }, report: reportSchema } }, ...errorResponses(400, 413, 415) },
      },
      config: { action: 'definition.validate', resource: 'definition' },
    }, async (req) => {
      const text = req.body;
      if (typeof text !== 'string' || text.trim() === '') throw new ApiError('invalid_input', 'the body must be a definition (JSON or YAML)', { field: 'body' });
      const { definition, issues } = parseDefinition(text, { format: formatOf(req) });
      if (!definition || hasErrors(issues)) return { valid: false, issues };
      // As `weft validate`: a definition that passes every rule is also verified; unsound is invalid.
      const report = await verifyDefinition(definition, { soundnessOnly: true });
      const out = [...issues];
      if (report.verdict === 'unsound') {
        const first = report.problems.find((p) => p.severity === 'error');
        out.push({ rule: 'unsound', severity: 'error', path: [], message: `the workflow is not sound: ${first?.message ?? 'see report'}` });
      }
      return { valid: report.verdict !== 'unsound', verdict: report.verdict, issues: out, report };
    });

    app.post('/definitions/verify', {
      schema: {
        tags: ['definitions'], summary: 'Verify a definition (soundness, deadlocks, livelocks, dead steps with shortest traces; CTL properties, resources and time)',
        querystring: { type: 'object', additionalProperties: false, properties: { soundnessOnly: { type: 'boolean' } } },
        response: { 200: reportSchema, ...errorResponses(400, 413, 415, 422) },
      },
      config: { action: 'definition.verify', resource: 'definition' },
    }, async (req) => {
      const { definition } = parse(req.body, formatOf(req));
      return verifyDefinition(definition, { soundnessOnly: (req.query as { soundnessOnly?: boolean }).soundnessOnly === true });
    });

    app.get('/definitions', {
      schema: {
        tags: ['definitions'], summary: 'List definitions with their versions',
        response: { 200: { type: 'object', properties: { items: { type: 'array', items: { type: 'object', properties: { id: { type: 'string' }, latest: { type: 'string' }, versions: { type: 'array', items: { type: 'object', properties: { version: { type: 'string' }, createdAt: { type: 'number' } } } } } } } } } },
      },
      config: { action: 'definition.list', resource: 'definition' },
    }, async (req) => {
      const by = new Map<string, Array<{ version: string; createdAt: number }>>();
      for (const d of await engine.listDefinitions()) {
        if (d.namespace !== req.caller.namespace) continue;
        let list = by.get(d.id);
        if (!list) by.set(d.id, (list = []));
        list.push({ version: d.version, createdAt: d.createdAt });
      }
      const items = [...by].sort(([a], [b]) => a.localeCompare(b)).map(([id, versions]) => ({ id, versions, latest: versions[versions.length - 1]!.version }));
      return { items };
    });

    app.get('/definitions/:id', {
      schema: { tags: ['definitions'], summary: 'The latest version of a definition (`?version=` for a range or exact version)', params: idParam, querystring: { type: 'object', additionalProperties: false, properties: { version: { type: 'string' } } }, response: { 200: objectResponse('The definition (JSON)'), ...errorResponses(400, 404) } },
      config: { action: 'definition.read', resource: 'definition' },
    }, async (req) => {
      const { id } = req.params as { id: string };
      const { version } = req.query as { version?: string };
      await checkNamespace(id, req.caller.namespace, version);
      const def = await engine.getDefinition(id, version);
      if (!def) throw new ApiError('not_found', `definition "${id}"${version ? ` version ${version}` : ''} is not deployed`);
      return def;
    });

    app.get('/definitions/:id/versions/:version', {
      schema: { tags: ['definitions'], summary: 'One version of a definition', params: versionParams, response: { 200: objectResponse('The definition (JSON)'), ...errorResponses(404) } },
      config: { action: 'definition.read', resource: 'definition' },
    }, async (req) => {
      const { id, version } = req.params as { id: string; version: string };
      await checkNamespace(id, req.caller.namespace, version);
      const def = await engine.getDefinition(id, version);
      if (!def) throw new ApiError('not_found', `definition "${id}" version ${version} is not deployed`);
      return def;
    });

    app.delete('/definitions/:id/versions/:version', {
      schema: { tags: ['definitions'], summary: 'Delete a version no instance uses → 204', params: versionParams, response: { 204: { type: 'null', description: 'deleted' }, ...errorResponses(404, 409) } },
      config: { action: 'definition.delete', resource: 'definition' },
    }, async (req, reply) => {
      const { id, version } = req.params as { id: string; version: string };
      await checkNamespace(id, req.caller.namespace, version);
      const r = await engine.deleteDefinition(id, version);
      if (r.status === 'not_found') throw new ApiError('not_found', `definition "${id}" version ${version} is not deployed`);
      if (r.status === 'in_use') throw new ApiError('in_use', `definition "${id}" version ${version} is used by instances (any status); it cannot be deleted`, { instances: r.instances });
      return reply.status(204).send();
    });
  };
}
