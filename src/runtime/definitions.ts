/**
 * Deployed definitions: validation at deploy (shape, normalisation, graph rules), content-hashed
 * versions in the store, compiled definitions cached per (id, version), version ranges resolved.
 */
import { createHash } from 'node:crypto';
import { compileDefinition, type CompiledDefinition } from '../core/compiled.js';
import { CommandRejected } from '../core/errors.js';
import { DefinitionError, hasErrors } from '../model/errors.js';
import { checkDefinitionShape } from '../model/load.js';
import { normaliseDefinition } from '../model/normalise.js';
import type { Definition } from '../model/schema.js';
import { validateDefinition } from '../model/validate.js';
import { canonicalJson } from '../store/json.js';
import type { Store } from '../store/types.js';
import { maxSatisfying } from './versions.js';

export const DEFAULT_VERSION = '1.0.0';

export class Definitions {
  private readonly compiled = new Map<string, CompiledDefinition>();
  private readonly versions = new Map<string, string[]>();

  constructor(private readonly store: Store, private readonly clock: () => number) {}

  /** Normalises, validates (throws `DefinitionError` listing every issue), stores; idempotent per content. */
  async deploy(input: Definition): Promise<{ id: string; version: string; compiled: CompiledDefinition; created: boolean }> {
    const shape = checkDefinitionShape(input);
    if (!shape.definition) throw new DefinitionError(shape.issues);
    const def = normaliseDefinition(shape.definition);
    const known = new Set((await this.store.listDefinitions()).map((d) => d.id));
    known.add(def.id);
    const issues = validateDefinition(def, { workflows: known });
    if (hasErrors(issues)) throw new DefinitionError(issues);
    const version = def.version ?? DEFAULT_VERSION;
    const stored: Definition = { ...def, version };
    const hash = createHash('sha256').update(canonicalJson(stored)).digest('hex');
    const key = `${def.id}@${version}`;
    const cached = this.compiled.get(key);
    const compiled = cached && hashOf(cached) === hash ? cached : compileDefinition(stored);
    const { created } = await this.store.putDefinition({ id: def.id, version, definition: stored, hash, createdAt: this.clock() });
    hashes.set(compiled, hash);
    this.compiled.set(key, compiled);
    const list = this.versions.get(def.id);
    if (list && !list.includes(version)) list.push(version);
    return { id: def.id, version, compiled, created };
  }

  /** The compiled definition `id` at the highest version satisfying `range` (latest when omitted). */
  async resolve(id: string, range?: string): Promise<CompiledDefinition> {
    let versions = this.versions.get(id) ?? [];
    let version = pick(versions, range);
    if (version === undefined) {
      versions = (await this.store.listDefinitions(id)).map((d) => d.version);
      this.versions.set(id, versions);
      version = pick(versions, range);
    }
    if (version === undefined) {
      throw new CommandRejected('not_found', versions.length === 0
        ? `workflow "${id}" is not deployed`
        : `workflow "${id}" has no version matching "${range}" (deployed: ${versions.join(', ')})`);
    }
    return this.get(id, version);
  }

  /** The compiled definition at exactly `version`. */
  async get(id: string, version: string): Promise<CompiledDefinition> {
    const key = `${id}@${version}`;
    const hit = this.compiled.get(key);
    if (hit) return hit;
    const rec = await this.store.getDefinition(id, version);
    if (!rec) throw new CommandRejected('not_found', `workflow "${id}" version ${version} is not deployed`);
    const compiled = compileDefinition(rec.definition as Definition);
    hashes.set(compiled, rec.hash);
    this.compiled.set(key, compiled);
    return compiled;
  }

  async getDefinition(id: string, version?: string): Promise<Definition | undefined> {
    try {
      return (version === undefined ? await this.resolve(id) : await this.get(id, version)).def;
    } catch (err) {
      if (err instanceof CommandRejected && err.code === 'not_found') return undefined;
      throw err;
    }
  }
}

const hashes = new WeakMap<CompiledDefinition, string>();
const hashOf = (c: CompiledDefinition) => hashes.get(c);

function pick(versions: string[], range: string | undefined): string | undefined {
  try {
    return maxSatisfying(versions, range);
  } catch (err) {
    throw new CommandRejected('invalid_input', (err as Error).message);
  }
}
