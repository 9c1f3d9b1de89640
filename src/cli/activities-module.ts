/**
 * Loads a user's activities module into a registry. The module's default export is either
 * `(registry) => void` (the convention of `examples/*.activities.ts`) or an object of handlers
 * by name; named exports `register`/`activities` work too. TypeScript modules load through tsx.
 */
import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { ActivityHandler, ActivityRegistry } from '../runtime/activity.js';
import type { Definition } from '../model/schema.js';
import { CliError } from './io.js';

export async function loadActivitiesModule(file: string, registry: ActivityRegistry): Promise<string[]> {
  const path = resolve(file);
  if (!existsSync(path)) throw new CliError(`activities module not found: ${file}`);
  const before = new Set(registry.names());
  let mod: Record<string, unknown>;
  try {
    mod = await importModule(path);
  } catch (err) {
    throw new CliError(`cannot load activities module ${file}: ${(err as Error).message}`);
  }
  const entry = pickEntry(mod);
  if (entry === undefined) {
    throw new CliError(
      `activities module ${file} exports nothing usable: export default (registry) => { registry.register('name', handler) }, ` +
        `or an object of handlers by name`,
    );
  }
  try {
    if (typeof entry === 'function') await (entry as (r: ActivityRegistry) => unknown)(registry);
    else for (const [name, handler] of Object.entries(entry as Record<string, unknown>)) {
      if (typeof handler === 'function') registry.register(name, handler as ActivityHandler);
    }
  } catch (err) {
    throw new CliError(`activities module ${file} failed while registering: ${(err as Error).message}`);
  }
  return registry.names().filter((n) => !before.has(n));
}

function pickEntry(mod: Record<string, unknown>): unknown {
  for (const key of ['default', 'register', 'activities']) {
    const value = mod[key];
    if (typeof value === 'function' || (typeof value === 'object' && value !== null)) return value;
  }
  return undefined;
}

/** Plain `import()` when TypeScript already loads (running under tsx), else through tsx's API. */
async function importModule(path: string): Promise<Record<string, unknown>> {
  const url = pathToFileURL(path).href;
  try {
    return (await import(url)) as Record<string, unknown>;
  } catch (err) {
    const isTypeScript = /\.[mc]?ts$/.test(path);
    if (!isTypeScript || (err as NodeJS.ErrnoException).code !== 'ERR_UNKNOWN_FILE_EXTENSION') throw err;
    const { tsImport } = await import('tsx/esm/api');
    return (await tsImport(url, import.meta.url)) as Record<string, unknown>;
  }
}

/** Every activity a definition needs: task steps, foreach items and compensations. */
export function activitiesUsedBy(definition: Definition): Array<{ activity: string; stepId: string; role: string }> {
  const used: Array<{ activity: string; stepId: string; role: string }> = [];
  for (const step of definition.steps) {
    if (step.type === 'task') {
      used.push({ activity: step.activity, stepId: step.id, role: 'task' });
      if (step.compensate) used.push({ activity: step.compensate.activity, stepId: step.id, role: 'compensation' });
    } else if (step.type === 'foreach' && step.activity) {
      used.push({ activity: step.activity, stepId: step.id, role: 'foreach item' });
    }
  }
  return used;
}

/** Fails up front, before anything starts, when a step names an activity nobody registered. */
export function checkActivitiesRegistered(definition: Definition, registry: ActivityRegistry, moduleNote: string): void {
  const missing = activitiesUsedBy(definition).filter((u) => !registry.has(u.activity));
  if (missing.length === 0) return;
  const lines = missing.map((m) => `  step "${m.stepId}" (${m.role}) needs activity "${m.activity}"`);
  throw new CliError(
    `${missing.length === 1 ? 'an activity is' : `${missing.length} activities are`} not registered:\n${lines.join('\n')}\n` +
      `${moduleNote}\n  registered: ${registry.names().join(', ') || '(none)'}`,
  );
}
