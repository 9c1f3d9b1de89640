/**
 * Resource analysis on the (unreduced) state space. A workflow declares capacities in its
 * metadata (`resource.db: 2`), steps declare what they hold while they have a token
 * (`uses: {db: 1}`): from the moment the step starts until it completes, fails for good or is
 * cancelled — including while it waits for retries or for an operator. Per resource the analysis
 * reports the peak number of units held at once over every reachable state, an over-allocation
 * (a reachable state holding more than the capacity; error, with a shortest run into it), and
 * leaks (a state in which the instance has ended while a step still holds units). The core
 * cancels every token when an instance ends, so leaks cannot arise in today's engine; the check
 * stands guard over that invariant. Steps using an undeclared resource are reported too.
 */
import type { Definition } from '../model/schema.js';
import { TERMINAL_STATUSES } from '../core/types.js';
import type { Move, VState } from './definition-system.js';
import { traceTo, type StateGraph } from './graph.js';
import type { Problem } from './verify.js';

export interface ResourceUse {
  name: string;
  /** Declared capacity (absent when a step uses an undeclared resource). */
  capacity?: number;
  peak: number;
  /** Steps holding the resource in a state of peak use. */
  peakSteps: string[];
  overAllocated: boolean;
  /** Set when the graph was truncated: `peak` is a lower bound. */
  partial?: boolean;
}

export interface ResourceReport { resources: ResourceUse[]; problems: Problem[] }

/** Capacities declared as `metadata: {resource.<name>: <capacity>}` (or `metadata: {resource: {<name>: <cap>}}`). */
export function declaredResources(def: Definition): { capacities: Map<string, number>; problems: Problem[] } {
  const capacities = new Map<string, number>();
  const problems: Problem[] = [];
  for (const [k, v] of Object.entries(def.metadata ?? {})) {
    const entries: Array<[string, unknown]> = k.startsWith('resource.') ? [[k.slice('resource.'.length), v]]
      : k === 'resource' && v && typeof v === 'object' ? Object.entries(v as Record<string, unknown>) : [];
    for (const [name, cap] of entries) {
      const n = typeof cap === 'string' && /^\d+$/.test(cap) ? Number(cap) : cap;
      if (typeof n !== 'number' || !Number.isInteger(n) || n < 0) {
        problems.push({ kind: 'resource', severity: 'error', message: `metadata resource.${name} must be a non-negative integer capacity, got ${JSON.stringify(cap)}` });
      } else capacities.set(name, n);
    }
  }
  return { capacities, problems };
}

export function usesResources(def: Definition): boolean {
  return declaredResources(def).capacities.size > 0 || def.steps.some((s) => s.uses && Object.keys(s.uses).length > 0);
}

export function analyseResourcesOnGraph(def: Definition, g: StateGraph<VState, Move>): ResourceReport {
  const { capacities, problems } = declaredResources(def);
  const uses = new Map<string, Record<string, number>>();
  for (const s of def.steps) {
    if (!s.uses) continue;
    uses.set(s.id, s.uses);
    for (const r of Object.keys(s.uses)) {
      if (!capacities.has(r)) problems.push({ kind: 'resource', severity: 'warning', message: `step \`${s.id}\` uses resource "${r}", which the workflow does not declare (add metadata resource.${r}: <capacity>)`, steps: [s.id] });
    }
  }
  const names = [...new Set([...capacities.keys(), ...[...uses.values()].flatMap((u) => Object.keys(u))])].sort();
  const peak = new Map<string, { units: number; state: number; steps: string[] }>(names.map((n) => [n, { units: 0, state: -1, steps: [] }]));
  const over = new Map<string, number>();
  const leaks: Array<{ state: number; holders: string[] }> = [];
  for (let v = 0; v < g.states.length; v++) {
    const s = g.states[v];
    if (!s) continue;
    const held = new Map<string, { units: number; steps: string[] }>();
    for (const run of Object.values(s.active)) {
      const u = uses.get(run.stepId);
      if (!u) continue;
      for (const [r, n] of Object.entries(u)) {
        const h = held.get(r) ?? { units: 0, steps: [] };
        h.units += n;
        h.steps.push(run.stepId);
        held.set(r, h);
      }
    }
    if (held.size && TERMINAL_STATUSES.has(s.status)) leaks.push({ state: v, holders: [...new Set([...held.values()].flatMap((h) => h.steps))] });
    for (const [r, h] of held) {
      const p = peak.get(r)!;
      if (h.units > p.units) peak.set(r, { units: h.units, state: v, steps: h.steps });
      const cap = capacities.get(r);
      // States are numbered in BFS order, so the first over-allocating state is a nearest one.
      if (cap !== undefined && h.units > cap && !over.has(r)) over.set(r, v);
    }
  }
  const trace = (v: number) => traceTo(g, v).map((m) => ({ text: m.text, choices: m.choices }));
  for (const [r, v] of over) {
    const s = g.states[v]!;
    const holders = Object.values(s.active).filter((run) => uses.get(run.stepId)?.[r]).map((run) => `\`${run.stepId}\` (${uses.get(run.stepId)![r]})`);
    const units = Object.values(s.active).reduce((n, run) => n + (uses.get(run.stepId)?.[r] ?? 0), 0);
    problems.push({
      kind: 'resource', severity: 'error',
      message: `resource "${r}" is over-allocated: ${units} units held at once by ${holders.join(', ')}, capacity ${capacities.get(r)}`,
      steps: [...new Set(Object.values(s.active).filter((run) => uses.get(run.stepId)?.[r]).map((run) => run.stepId))], trace: trace(v),
    });
  }
  for (const l of leaks.slice(0, 1)) {
    problems.push({ kind: 'resource', severity: 'error', message: `resource leak: the instance ends ${g.states[l.state]!.status} while ${l.holders.map((x) => `\`${x}\``).join(', ')} still hold units`, steps: l.holders, trace: trace(l.state) });
  }
  if (g.truncated && names.length) {
    problems.push({ kind: 'resource', severity: 'warning', message: 'the state space was too large to search completely: resource peaks are lower bounds' });
  }
  return {
    resources: names.map((name) => ({
      name, ...(capacities.has(name) && { capacity: capacities.get(name) }), peak: peak.get(name)!.units, peakSteps: [...new Set(peak.get(name)!.steps)],
      overAllocated: over.has(name), ...(g.truncated && { partial: true }),
    })),
    problems,
  };
}
