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
import type { Problem, VerificationReport } from '../verify/verify.js';
import { maxSatisfying } from './versions.js';

/**
 * A deploy refused because the verifier proved the definition unsound (SPEC C5: "a deploy of an
 * unsound definition is refused unless forced"). `report` is the verifier's report: the problems
 * with their shortest traces.
 */
export class UnsoundDefinitionError extends Error {
  readonly code = 'unsound_definition';
  constructor(readonly report: VerificationReport) {
    const first = report.problems.find((p) => p.severity === 'error');
    super(`workflow "${report.id}" is not sound: ${first?.message ?? 'see the report'} (deploy with force to accept it anyway)`);
    this.name = 'UnsoundDefinitionError';
  }
  get problems(): Problem[] { return this.report.problems.filter((p) => p.severity === 'error'); }
}

export interface DeployVerification {
  /** `skipped`: identical content was already deployed (it was checked then), or verification was not asked for. */
  verdict: VerificationReport['verdict'] | 'skipped';
  /** The deploy went through although the definition is unsound. */
  forced?: boolean;
  /** Plain-words notes: an `unknown` verdict (state space too large), a forced unsound deploy. */
  warnings: string[];
  report?: VerificationReport;
}

export const DEFAULT_VERSION = '1.0.0';
export const DEFAULT_NAMESPACE = 'default';

export class Definitions {
  private readonly compiled = new Map<string, CompiledDefinition>();
  private readonly versions = new Map<string, string[]>();
  /** Definition id → its namespace (all versions of an id are in one namespace). */
  private readonly namespaces = new Map<string, string>();

  /** The namespace of a deployed (and resolved or deployed in this process) definition id. */
  namespaceOf(id: string): string | undefined { return this.namespaces.get(id); }

  constructor(private readonly store: Store, private readonly clock: () => number, private readonly verifyMaxStates?: number) {}

  /**
   * Normalises, validates (throws `DefinitionError` listing every issue), verifies when `verify`
   * is set (throws `UnsoundDefinitionError` unless `force`), stores; idempotent per content.
   */
  async deploy(input: Definition, opts: { verify?: boolean; force?: boolean; namespace?: string } = {}): Promise<{ id: string; version: string; compiled: CompiledDefinition; created: boolean; verification: DeployVerification }> {
    const shape = checkDefinitionShape(input);
    if (!shape.definition) throw new DefinitionError(shape.issues);
    const def = normaliseDefinition(shape.definition);
    const all = await this.store.listDefinitions();
    const known = new Set(all.map((d) => d.id));
    known.add(def.id);
    const issues = validateDefinition(def, { workflows: known });
    if (hasErrors(issues)) throw new DefinitionError(issues);
    const version = def.version ?? DEFAULT_VERSION;
    // The namespace: the caller's (API), else the definition's own `namespace`, else `default`.
    if (opts.namespace !== undefined && def.namespace !== undefined && def.namespace !== opts.namespace) {
      throw new CommandRejected('invalid_input', `the definition declares namespace "${def.namespace}" but is deployed in namespace "${opts.namespace}"`, { field: 'namespace' });
    }
    const namespace = opts.namespace ?? def.namespace ?? DEFAULT_NAMESPACE;
    const owner = all.find((d) => d.id === def.id)?.namespace;
    if (owner !== undefined && owner !== namespace) {
      throw new CommandRejected('not_allowed', `definition id "${def.id}" belongs to another namespace; choose another id`);
    }
    const stored: Definition = { ...def, version };
    const hash = createHash('sha256').update(canonicalJson(stored)).digest('hex');
    const key = `${def.id}@${version}`;
    let verification: DeployVerification = { verdict: 'skipped', warnings: [] };
    if (opts.verify) {
      const existing = await this.store.getDefinition(def.id, version);
      if (!existing || existing.hash !== hash) verification = await verifyForDeploy(stored, opts.force === true, this.verifyMaxStates);
    }
    const cached = this.compiled.get(key);
    const compiled = cached && hashOf(cached) === hash ? cached : compileDefinition(stored);
    const { created } = await this.store.putDefinition({ id: def.id, version, definition: stored, hash, createdAt: this.clock(), namespace });
    this.namespaces.set(def.id, namespace);
    hashes.set(compiled, hash);
    this.compiled.set(key, compiled);
    const list = this.versions.get(def.id);
    if (list && !list.includes(version)) list.push(version);
    return { id: def.id, version, compiled, created, verification };
  }

  /** Deletes a version no instance uses (the store checks atomically); forgets it from the caches first. */
  async delete(id: string, version: string): Promise<{ status: 'deleted' | 'not_found' } | { status: 'in_use'; instances: string[] }> {
    const key = `${id}@${version}`;
    const cached = this.compiled.get(key);
    this.compiled.delete(key);
    this.versions.delete(id);
    const r = await this.store.deleteDefinition(id, version);
    if (r.status === 'in_use' && cached) this.compiled.set(key, cached);
    return r;
  }

  /** The compiled definition `id` at the highest version satisfying `range` (latest when omitted). */
  async resolve(id: string, range?: string): Promise<CompiledDefinition> {
    let versions = this.versions.get(id) ?? [];
    let version = pick(versions, range);
    if (version === undefined) {
      const rows = await this.store.listDefinitions(id);
      versions = rows.map((d) => d.version);
      this.versions.set(id, versions);
      if (rows[0]) this.namespaces.set(id, rows[0].namespace);
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
    this.namespaces.set(id, rec.namespace ?? DEFAULT_NAMESPACE);
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

/** Runs the soundness check; refuses an unsound definition unless forced. A verifier crash is an `unknown` verdict. */
async function verifyForDeploy(def: Definition, force: boolean, maxStates?: number): Promise<DeployVerification> {
  let report: VerificationReport;
  try {
    // Loaded on first deploy: the engine does not depend on the verifier to open or run.
    const { verifyDefinition } = await import('../verify/verify.js');
    report = await verifyDefinition(def, { soundnessOnly: true, ...(maxStates !== undefined && { maxStates }) });
  } catch (err) {
    return { verdict: 'unknown', warnings: [`the verifier could not check this definition: ${(err as Error).message}`] };
  }
  const warnings: string[] = [];
  if (report.verdict === 'unsound') {
    if (!force) throw new UnsoundDefinitionError(report);
    const first = report.problems.find((p) => p.severity === 'error');
    warnings.push(`deployed although not sound (forced): ${first?.message ?? 'see the report'}`);
    return { verdict: 'unsound', forced: true, warnings, report };
  }
  if (report.verdict === 'unknown') {
    const why = report.problems.find((p) => p.kind === 'state-space');
    warnings.push(`soundness unknown: ${why?.message ?? 'the state space is too large'}`);
  }
  return { verdict: report.verdict, warnings, report };
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
