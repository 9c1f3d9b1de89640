/**
 * Definitions' `eventHandlers`, run when an event is published through the API.
 * - `action: start`: a published event starts an instance of every (latest) definition that
 *   subscribes to it, when its `when` holds; `input` maps the event to the input.
 * - `signal`, `pause`, `resume`, `cancel`, `terminate`: act on the running instances the event
 *   correlates to — instances of the definition version that declares the handler whose
 *   correlation id equals `correlation` evaluated over the event (default: the event's key).
 *   A command the instance's state refuses (pausing a paused instance, …) is skipped.
 * With `namespace` (the API passes the caller's), only that namespace's definitions.
 */
import { CommandRejected } from '../core/errors.js';
import { TERMINAL_STATUSES, type Command } from '../core/types.js';
import { evaluate, evaluateCondition, evaluateMapping } from '../model/expressions.js';
import type { EventHandler } from '../model/schema.js';
import type { Engine } from '../runtime/api.js';

function matches(pattern: string, name: string): boolean {
  if (!pattern.includes('*')) return pattern === name;
  const re = new RegExp('^' + pattern.split('*').map((p) => p.replace(/[.+?^${}()|[\]\\]/g, '\\$&')).join('.*') + '$');
  return re.test(name);
}

type Scope = Record<string, unknown>;
const scopeOf = (name: string, key: unknown, payload: unknown): Scope => ({ event: { name, key, payload }, input: {}, vars: {}, steps: {}, env: {} });

type DefinitionList = Awaited<ReturnType<Engine['listDefinitions']>>;

/** Both kinds of handlers for one published event, from one read of the definition list. */
export async function runEventHandlers(engine: Engine, name: string, key: unknown, payload: unknown, namespace?: string): Promise<{ started: string[]; handled: HandledAction[] }> {
  const definitions = (await engine.listDefinitions()).filter((d) => namespace === undefined || d.namespace === namespace);
  const started = await startSubscribers(engine, definitions, name, key, payload, namespace);
  const handled = await actOnCorrelated(engine, definitions, name, key, payload, namespace);
  return { started, handled };
}

async function startSubscribers(engine: Engine, definitions: DefinitionList, name: string, key: unknown, payload: unknown, namespace?: string): Promise<string[]> {
  const ids = new Set(definitions.map((d) => d.id));
  const started: string[] = [];
  for (const id of ids) {
    // The version `start` would pick (highest semver; compiled definitions are cached per version).
    const def = await engine.getDefinition(id);
    const version = def?.version;
    for (const h of def?.eventHandlers ?? []) {
      if (h.action !== 'start' || !matches(h.event, name)) continue;
      const scope = scopeOf(name, key, payload);
      if (h.when !== undefined && !(await evaluateCondition(h.when, scope))) continue;
      const input = h.input !== undefined ? await evaluateMapping(h.input, scope) : payload ?? {};
      started.push(await engine.start(id, input, { ...(version !== undefined && { version }), ...(typeof key === 'string' && { correlationId: key }), ...(namespace !== undefined && { namespace }) }));
    }
  }
  return started;
}

export interface HandledAction {
  instanceId: string;
  action: Exclude<EventHandler['action'], 'start'>;
}

/** Runs the instance-directed handlers (`signal`, `pause`, …) of every deployed version. */
async function actOnCorrelated(engine: Engine, definitions: DefinitionList, name: string, key: unknown, payload: unknown, namespace?: string): Promise<HandledAction[]> {
  const done: HandledAction[] = [];
  for (const d of definitions) {
    const def = await engine.getDefinition(d.id, d.version);
    const handlers = (def?.eventHandlers ?? []).filter((h) => h.action !== 'start' && matches(h.event, name));
    for (const h of handlers) {
      const scope = scopeOf(name, key, payload);
      if (h.when !== undefined && !(await evaluateCondition(h.when, scope))) continue;
      const correlation = h.correlation !== undefined ? await evaluate(h.correlation, scope) : key;
      if (correlation === undefined || correlation === null || typeof correlation === 'object') continue;
      const instances = await engine.listInstances({
        definitionId: d.id, correlationId: String(correlation), limit: 10_000, ...(namespace !== undefined && { namespace }),
      });
      for (const inst of instances) {
        if (inst.definitionVersion !== d.version || TERMINAL_STATUSES.has(inst.status)) continue;
        const command = await commandFor(h, inst.id, name, scope, payload);
        try {
          await engine.send(command);
          done.push({ instanceId: inst.id, action: h.action as HandledAction['action'] });
        } catch (err) {
          if (!(err instanceof CommandRejected)) throw err; // refused by the state: nothing to do
        }
      }
    }
  }
  return done;
}

async function commandFor(h: EventHandler, instanceId: string, event: string, scope: Scope, payload: unknown): Promise<Command> {
  const reason = `event "${event}"`;
  switch (h.action) {
    case 'signal': return { type: 'Signal', instanceId, name: h.signal ?? event, payload: h.input !== undefined ? await evaluateMapping(h.input, scope) : payload };
    case 'pause': return { type: 'Pause', instanceId, reason };
    case 'resume': return { type: 'Resume', instanceId };
    case 'cancel': return { type: 'Cancel', instanceId, reason };
    case 'terminate': return { type: 'Terminate', instanceId, reason };
    default: throw new Error(`not an instance action: ${h.action}`);
  }
}
