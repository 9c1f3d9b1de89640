/**
 * Definitions: deploy (create a version, YAML or JSON, validated with line numbers), update (the
 * same under `PUT /definitions/:id`), list with versions, get, validate without deploying, delete.
 * Versions are immutable: deploying the same id+version with other content is a 409 `conflict`.
 */
import type { FastifyPluginAsync, FastifyRequest } from 'fastify';
import { hasErrors } from '../../model/errors.js';
import { parseDefinition } from '../../model/load.js';
import type { Definition } from '../../model/schema.js';
import { ApiError } from '../errors.js';
import { errorResponses } from '../schemas.js';
import type { ApiContext } from '../server.js';

const YAML_TYPES = ['application/yaml', 'application/x-yaml', 'text/yaml', 'text/x-yaml'];
const idParam = { type: 'object', required: ['id'], properties: { id: { type: 'string', minLength: 1 } }, additionalProperties: false } as const;
const versionParams = {
  type: 'object', required: ['id', 'version'], additionalProperties: false,
  properties: { id: { type: 'string', minLength: 1 }, version: { type: 'string', minLength: 1 } },
} as const;
const deployed = {
  type: 'object', required: ['id', 'version', 'created'],
  properties: { id: { type: 'string' }, version: { type: 'string' }, created: { type: 'boolean' }, warnings: { type: 'array', items: { type: 'object', additionalProperties: true } } },
} as const;
const bodyDoc = {
  description: 'A workflow definition (docs/definitions.md) as JSON (`application/json`) or YAML (`application/yaml`).',
  content: { 'application/json': { schema: { type: 'object', additionalProperties: true } }, 'application/yaml': { schema: { type: 'string' } } },
};

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

export function definitionRoutes(ctx: ApiContext): FastifyPluginAsync {
  const { engine } = ctx;
  return async (app) => {
    // Definitions are parsed from text here (line numbers for JSON and YAML alike).
    app.removeAllContentTypeParsers();
    app.addContentTypeParser(['application/json', ...YAML_TYPES], { parseAs: 'string' }, (_req, body, done) => done(null, body));

    async function deploy(text: unknown, format: 'yaml' | 'json', expectId?: string) {
      const { definition, warnings } = parse(text, format);
      if (expectId !== undefined && definition.id !== expectId) {
        throw new ApiError('invalid_input', `the definition's id "${definition.id}" does not match the URL ("${expectId}")`, { field: 'id' });
      }
      const before = await engine.listDefinitions();
      const { id, version } = await engine.deploy(definition);
      const created = !before.some((d) => d.id === id && d.version === version);
      return { id, version, created, ...(warnings.length > 0 && { warnings }) };
    }

    app.post('/definitions', {
      schema: { tags: ['definitions'], summary: 'Deploy a definition version (create)', response: { 201: deployed, 200: deployed, ...errorResponses(400, 409, 413, 415, 422) } },
      config: { action: 'definition.deploy', resource: 'definition' },
      ...({ openapi: { requestBody: bodyDoc } } as object),
    }, async (req, reply) => {
      const out = await deploy(req.body, formatOf(req));
      return reply.status(out.created ? 201 : 200).send(out);
    });

    app.put('/definitions/:id', {
      schema: { tags: ['definitions'], summary: 'Deploy a new version of a definition (update)', params: idParam, response: { 201: deployed, 200: deployed, ...errorResponses(400, 409, 413, 415, 422) } },
      config: { action: 'definition.deploy', resource: 'definition' },
    }, async (req, reply) => {
      const out = await deploy(req.body, formatOf(req), (req.params as { id: string }).id);
      return reply.status(out.created ? 201 : 200).send(out);
    });

    app.post('/definitions/validate', {
      schema: {
        tags: ['definitions'], summary: 'Validate a definition without deploying it',
        response: { 200: { type: 'object', properties: { valid: { type: 'boolean' }, issues: { type: 'array', items: { type: 'object', additionalProperties: true } } } }, ...errorResponses(400, 413, 415) },
      },
      config: { action: 'definition.validate', resource: 'definition' },
    }, async (req) => {
      const text = req.body;
      if (typeof text !== 'string' || text.trim() === '') throw new ApiError('invalid_input', 'the body must be a definition (JSON or YAML)', { field: 'body' });
      const { issues } = parseDefinition(text, { format: formatOf(req) });
      return { valid: !hasErrors(issues), issues };
    });

    app.get('/definitions', {
      schema: {
        tags: ['definitions'], summary: 'List definitions with their versions',
        response: { 200: { type: 'object', properties: { items: { type: 'array', items: { type: 'object', properties: { id: { type: 'string' }, latest: { type: 'string' }, versions: { type: 'array', items: { type: 'object', properties: { version: { type: 'string' }, createdAt: { type: 'number' } } } } } } } } } },
      },
      config: { action: 'definition.list', resource: 'definition' },
    }, async () => {
      const by = new Map<string, Array<{ version: string; createdAt: number }>>();
      for (const d of await engine.listDefinitions()) {
        let list = by.get(d.id);
        if (!list) by.set(d.id, (list = []));
        list.push({ version: d.version, createdAt: d.createdAt });
      }
      const items = [...by].sort(([a], [b]) => a.localeCompare(b)).map(([id, versions]) => ({ id, versions, latest: versions[versions.length - 1]!.version }));
      return { items };
    });

    app.get('/definitions/:id', {
      schema: { tags: ['definitions'], summary: 'The latest version of a definition (`?version=` for a range or exact version)', params: idParam, querystring: { type: 'object', additionalProperties: false, properties: { version: { type: 'string' } } }, response: errorResponses(404) },
      config: { action: 'definition.read', resource: 'definition' },
    }, async (req) => {
      const { id } = req.params as { id: string };
      const { version } = req.query as { version?: string };
      const def = await engine.getDefinition(id, version);
      if (!def) throw new ApiError('not_found', `definition "${id}"${version ? ` version ${version}` : ''} is not deployed`);
      return def;
    });

    app.get('/definitions/:id/versions/:version', {
      schema: { tags: ['definitions'], summary: 'One version of a definition', params: versionParams, response: errorResponses(404) },
      config: { action: 'definition.read', resource: 'definition' },
    }, async (req) => {
      const { id, version } = req.params as { id: string; version: string };
      const def = await engine.getDefinition(id, version);
      if (!def) throw new ApiError('not_found', `definition "${id}" version ${version} is not deployed`);
      return def;
    });

    app.delete('/definitions/:id/versions/:version', {
      schema: { tags: ['definitions'], summary: 'Delete a version no instance uses', params: versionParams, response: errorResponses(404, 409, 501) },
      config: { action: 'definition.delete', resource: 'definition' },
    }, async (req) => {
      const { id, version } = req.params as { id: string; version: string };
      if (!(await engine.listDefinitions()).some((d) => d.id === id && d.version === version)) {
        throw new ApiError('not_found', `definition "${id}" version ${version} is not deployed`);
      }
      const users = (await engine.listInstances({ definitionId: id, limit: 1000 })).filter((i) => i.definitionVersion === version);
      if (users.length > 0) throw new ApiError('in_use', `definition "${id}" version ${version} is used by ${users.length} instance(s)`, { instances: users.slice(0, 10).map((i) => i.id) });
      throw new ApiError('not_implemented', 'the store cannot delete definition versions yet');
    });
  };
}
