/**
 * Normalisation: turns the sugar a person writes into the one canonical shape the engine reads.
 *
 * - `next: b` / `next: [b, c]` on a step becomes transitions `{from: step, to: b}` appended after
 *   the explicit transitions (in step order, then in `next` order); `next` is removed.
 * - Every transition gets an `id`: its own when set, else `${from}->${to}`, with `#2`, `#3`, …
 *   appended to later duplicates (ids written by hand are reserved first so a generated id never
 *   collides with one).
 *
 * Deterministic and idempotent: normalising a normalised definition returns an equal object.
 */
import type { Definition, Step, Transition } from './schema.js';

/** Where a normalised transition came from, so issues can point at the source text. */
export type TransitionOrigin =
  | { kind: 'transition'; index: number }
  | { kind: 'next'; step: number; /** index inside a `next` list; absent for `next: b` */ item?: number };

export interface NormalisedWithOrigins {
  definition: Definition;
  /** One entry per transition of the normalised definition, same order. */
  origins: TransitionOrigin[];
}

export function normaliseDefinition(def: Definition): Definition {
  return normaliseWithOrigins(def).definition;
}

/** Like {@link normaliseDefinition}, also telling where each transition came from. */
export function normaliseWithOrigins(def: Definition): NormalisedWithOrigins {
  const explicit = def.transitions ?? [];
  const raw: Transition[] = explicit.map((t) => ({ ...t }));
  const origins: TransitionOrigin[] = explicit.map((_, index) => ({ kind: 'transition', index }));

  const steps: Step[] = def.steps.map((step, stepIndex) => {
    if (step.next === undefined) return { ...step };
    const { next, ...rest } = step;
    if (Array.isArray(next)) {
      next.forEach((to, item) => {
        raw.push({ from: step.id, to });
        origins.push({ kind: 'next', step: stepIndex, item });
      });
    } else {
      raw.push({ from: step.id, to: next });
      origins.push({ kind: 'next', step: stepIndex });
    }
    return rest as Step;
  });

  const used = new Set<string>();
  for (const t of raw) if (t.id !== undefined) used.add(t.id);
  const transitions = raw.map((t) => {
    if (t.id !== undefined) return t;
    const { id: _unset, ...rest } = t;
    const base = `${t.from}->${t.to}`;
    let id = base;
    for (let n = 2; used.has(id); n++) id = `${base}#${n}`;
    used.add(id);
    return { id, ...rest };
  });

  return { definition: { ...def, steps, transitions }, origins };
}

/** True when the definition is already in canonical form (no `next`, every transition has an id). */
export function isNormalised(def: Definition): boolean {
  return def.transitions !== undefined
    && def.steps.every((s) => s.next === undefined)
    && def.transitions.every((t) => t.id !== undefined);
}
