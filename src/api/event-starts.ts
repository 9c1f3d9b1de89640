/**
 * `eventHandlers` with `action: start`: a published event starts an instance of every (latest)
 * definition that subscribes to it, when its `when` holds; `input` maps the event to the input.
 * With `namespace` (the API passes the caller's), only that namespace's definitions.
 */
import { evaluateCondition, evaluateMapping } from '../model/expressions.js';
import type { Engine } from '../runtime/api.js';

function matches(pattern: string, name: string): boolean {
  if (!pattern.includes('*')) return pattern === name;
  const re = new RegExp('^' + pattern.split('*').map((p) => p.replace(/[.+?^${}()|[\]\\]/g, '\\$&')).join('.*') + '$');
  return re.test(name);
}

export async function startSubscribers(engine: Engine, name: string, key: unknown, payload: unknown, namespace?: string): Promise<string[]> {
  const ids = new Set<string>();
  for (const d of await engine.listDefinitions()) if (namespace === undefined || d.namespace === namespace) ids.add(d.id);
  const started: string[] = [];
  for (const id of ids) {
    // The version `start` would pick (highest semver; compiled definitions are cached per version).
    const def = await engine.getDefinition(id);
    const version = def?.version;
    for (const h of def?.eventHandlers ?? []) {
      if (h.action !== 'start' || !matches(h.event, name)) continue;
      const scope = { event: { name, key, payload }, input: {}, vars: {}, steps: {}, env: {} };
      if (h.when !== undefined && !(await evaluateCondition(h.when, scope as never))) continue;
      const input = h.input !== undefined ? await evaluateMapping(h.input, scope as never) : payload ?? {};
      started.push(await engine.start(id, input, { ...(version !== undefined && { version }), ...(typeof key === 'string' && { correlationId: key }), ...(namespace !== undefined && { namespace }) }));
    }
  }
  return started;
}
