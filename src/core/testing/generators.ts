/**
 * Random VALID workflow definitions for property tests, valid by construction: a definition is a
 * block-structured program (sequences, decisions, parallel/inclusive blocks with their join,
 * bounded loops, waits, timers, humans, tasks, foreach, subworkflows) compiled to steps and
 * transitions. Every branch of a split ends at its join, every loop body leads back to its loop
 * step, and `end` steps appear only at the top level, so the split/join pairing is always clean.
 */
import fc from 'fast-check';
import type { Definition } from '../../model/schema.js';

export type ErrorActionName = 'fail' | 'continue' | 'compensate' | 'manual';

export type Item =
  | { kind: 'task'; maxAttempts: number; onError?: ErrorActionName; errorEdge: boolean; cancelEdge: boolean; compensate: boolean; skippable: boolean }
  | { kind: 'wait'; event: string; timeout: boolean; timeoutEdge: boolean }
  | { kind: 'timer'; minutes: number }
  | { kind: 'human'; deadline: boolean; onTimeout?: 'approve' | 'reject' | 'escalate' | 'transition'; errorEdge: boolean }
  | { kind: 'foreach'; concurrency: number; children: boolean }
  | { kind: 'child'; timeout: boolean }
  | { kind: 'decision'; branches: Item[][] }
  | { kind: 'parallel'; branches: Item[][]; mode: 'all' | 'any' | 'n'; n: number }
  | { kind: 'inclusive'; branches: Item[][]; mode: 'all' | 'any' }
  | { kind: 'loop'; body: Item[]; max: number; withWhile: boolean }
  | { kind: 'exit'; terminate: boolean };

export interface Program {
  body: Item[];
  /** A last parallel step whose branches each end at their own end step (some may terminate). */
  fork?: { branches: Item[][]; terminate: boolean[] };
  errorPolicy?: ErrorActionName;
  timeout: boolean;
}

export const EVENTS = ['e1', 'e2'];

const leaf = (): fc.Arbitrary<Item> => fc.oneof(
  { weight: 5, arbitrary: fc.record({
    kind: fc.constant('task' as const),
    maxAttempts: fc.integer({ min: 1, max: 3 }),
    onError: fc.option(fc.constantFrom<ErrorActionName>('fail', 'continue', 'compensate', 'manual'), { nil: undefined }),
    errorEdge: fc.boolean(),
    cancelEdge: fc.boolean(),
    compensate: fc.boolean(),
    skippable: fc.boolean(),
  }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('wait' as const), event: fc.constantFrom(...EVENTS), timeout: fc.boolean(), timeoutEdge: fc.boolean() }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('timer' as const), minutes: fc.integer({ min: 1, max: 30 }) }) },
  { weight: 2, arbitrary: fc.record({
    kind: fc.constant('human' as const),
    deadline: fc.boolean(),
    onTimeout: fc.option(fc.constantFrom('approve' as const, 'reject' as const, 'escalate' as const, 'transition' as const), { nil: undefined }),
    errorEdge: fc.boolean(),
  }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('foreach' as const), concurrency: fc.integer({ min: 1, max: 2 }), children: fc.boolean() }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('child' as const), timeout: fc.boolean() }) },
);

/** Programs up to `maxDepth` nested blocks. */
export function programArb(maxDepth = 3): fc.Arbitrary<Program> {
  const { block, branch } = fc.letrec<{ block: Item[]; item: Item; branch: Item[] }>((tie) => ({
    block: fc.array(tie('item'), { minLength: 1, maxLength: 3 }),
    // A branch of a parallel/inclusive block may be empty (split → join directly).
    branch: fc.array(tie('item'), { minLength: 0, maxLength: 2 }),
    item: fc.oneof(
      { maxDepth, depthIdentifier: 'block' },
      leaf(),
      fc.record({ kind: fc.constant('decision' as const), branches: fc.array(tie('block'), { minLength: 2, maxLength: 3 }) }),
      fc.record({
        kind: fc.constant('parallel' as const),
        branches: fc.array(tie('branch'), { minLength: 2, maxLength: 3 }),
        mode: fc.constantFrom('all' as const, 'any' as const, 'n' as const),
        n: fc.integer({ min: 1, max: 3 }),
      }),
      fc.record({ kind: fc.constant('inclusive' as const), branches: fc.array(tie('branch'), { minLength: 2, maxLength: 3 }), mode: fc.constantFrom('all' as const, 'any' as const) }),
      fc.record({ kind: fc.constant('loop' as const), body: tie('block'), max: fc.integer({ min: 1, max: 3 }), withWhile: fc.boolean() }),
    ),
  }));
  const top = fc.array(fc.oneof({ weight: 6, arbitrary: block.map((b) => b[0]) }, { weight: 1, arbitrary: fc.record({ kind: fc.constant('exit' as const), terminate: fc.boolean() }) }), { minLength: 1, maxLength: 5 });
  const fork = fc.record({
    branches: fc.array(branch, { minLength: 2, maxLength: 3 }),
    terminate: fc.array(fc.boolean(), { minLength: 3, maxLength: 3 }),
  });
  return fc.record({
    body: top,
    fork: fc.option(fork, { nil: undefined, freq: 3 }),
    errorPolicy: fc.option(fc.constantFrom<ErrorActionName>('fail', 'continue', 'compensate', 'manual'), { nil: undefined }),
    timeout: fc.boolean(),
  });
}

/** Compiles a program to a canonical definition. */
export function toDefinition(p: Program): Definition {
  const steps: Record<string, unknown>[] = [];
  const transitions: Record<string, unknown>[] = [];
  let counter = 0;
  const id = (kind: string) => `${kind}${++counter}`;
  const tr = (from: string, to: string, extra: Record<string, unknown> = {}) => transitions.push({ from, to, ...extra });

  /** Emits `items` so that they flow into `next`; returns the entry step id. */
  const emitBlock = (items: Item[], next: string): string => {
    let target = next;
    for (let i = items.length - 1; i >= 0; i--) target = emitItem(items[i], target);
    return target;
  };

  const emitItem = (item: Item, next: string): string => {
    switch (item.kind) {
      case 'task': {
        const sid = id('task');
        steps.push({
          id: sid, type: 'task', activity: 'work', retry: { maxAttempts: item.maxAttempts, initialInterval: '1s', jitter: 0.2 },
          set: { c: 'output.c' },
          ...(item.onError && { onError: item.onError }),
          ...(item.compensate && { compensate: { activity: 'undo', input: { of: sid } } }),
          ...(item.skippable && { skippable: true }),
        });
        tr(sid, next);
        if (item.errorEdge) tr(sid, next, { on: 'error', error: ['e1'] });
        // A cleanup path on cancel: the rest of the flow.
        if (item.cancelEdge) tr(sid, next, { on: 'cancel' });
        return sid;
      }
      case 'wait': {
        const sid = id('wait');
        steps.push({ id: sid, type: 'wait', event: item.event, ...(item.timeout && { timeout: '30m' }) });
        tr(sid, next);
        if (item.timeout && item.timeoutEdge) tr(sid, next, { on: 'timeout' });
        return sid;
      }
      case 'timer': {
        const sid = id('timer');
        steps.push({ id: sid, type: 'timer', delay: `${item.minutes}m` });
        tr(sid, next);
        return sid;
      }
      case 'human': {
        const sid = id('human');
        const onTimeout = item.deadline ? item.onTimeout : undefined;
        steps.push({
          id: sid, type: 'human', skippable: true,
          ...(item.deadline && { deadline: '2h' }),
          ...(onTimeout && { onTimeout: { action: onTimeout, ...(onTimeout === 'escalate' && { groups: ['boss'], deadline: '1h' }) } }),
        });
        tr(sid, next);
        if (onTimeout === 'transition') tr(sid, next, { on: 'timeout' });
        if (item.errorEdge) tr(sid, next, { on: 'error', error: 'rejected' });
        return sid;
      }
      case 'foreach': {
        const sid = id('foreach');
        steps.push({
          id: sid, type: 'foreach', items: 'input.items', concurrency: item.concurrency, retry: { maxAttempts: 2 },
          ...(item.children ? { workflow: 'sub' } : { activity: 'item' }),
        });
        tr(sid, next);
        return sid;
      }
      case 'child': {
        const sid = id('child');
        steps.push({ id: sid, type: 'subworkflow', workflow: 'sub', ...(item.timeout && { timeout: '1h' }) });
        tr(sid, next);
        return sid;
      }
      case 'decision': {
        const sid = id('decision');
        steps.push({ id: sid, type: 'decision' });
        const k = item.branches.length;
        item.branches.forEach((b, i) => {
          const entry = emitBlock(b, next);
          tr(sid, entry, i === k - 1 ? { default: true } : { when: `vars.c % ${k} = ${i}` });
        });
        return sid;
      }
      case 'parallel':
      case 'inclusive': {
        const sid = id(item.kind);
        const jid = id('join');
        const k = item.branches.length;
        steps.push({ id: sid, type: item.kind });
        const mode = item.mode;
        steps.push({ id: jid, type: 'join', ...(mode !== 'all' && { mode }), ...(item.kind === 'parallel' && item.mode === 'n' && { n: Math.min(item.n, k) }) });
        tr(jid, next);
        item.branches.forEach((b, i) => {
          const entry = emitBlock(b, jid);
          const cond = item.kind === 'inclusive' ? (i === k - 1 ? { default: true } : { when: `$floor(vars.c / ${i + 1}) % 2 = 0` }) : {};
          tr(sid, entry, cond);
        });
        return sid;
      }
      case 'loop': {
        const sid = id('loop');
        const entry = emitBlock(item.body, sid);
        steps.push({ id: sid, type: 'loop', body: entry, maxIterations: item.max, ...(item.withWhile && { while: 'vars.c % 5 != 4' }) });
        tr(sid, entry);
        tr(sid, next);
        return sid;
      }
      case 'exit': {
        // Only at the top level: a decision that may leave early through an end of its own.
        const did = id('decision');
        const eid = id('end');
        steps.push({ id: did, type: 'decision' });
        steps.push({ id: eid, type: 'end', ...(item.terminate && { terminate: true }) });
        tr(did, eid, { when: 'vars.c % 4 = 3' });
        tr(did, next, { default: true });
        return did;
      }
    }
  };

  steps.push({ id: 'end', type: 'end' });
  let last = 'end';
  if (p.fork) {
    const fid = id('fork');
    steps.push({ id: fid, type: 'parallel' });
    p.fork.branches.forEach((b, i) => {
      const eid = id('end');
      steps.push({ id: eid, type: 'end', ...(p.fork!.terminate[i] && { terminate: true }) });
      tr(fid, emitBlock(b, eid));
    });
    last = fid;
    steps.splice(steps.findIndex((s) => s.id === 'end'), 1);
  }
  const entry = emitBlock(p.body, last);
  steps.unshift({ id: 'start', type: 'start' });
  transitions.unshift({ from: 'start', to: entry });
  return {
    id: 'gen',
    version: '1.0.0',
    variables: { c: { default: 0 } },
    steps,
    transitions,
    ...(p.errorPolicy && { errorPolicy: p.errorPolicy }),
    ...(p.timeout && { timeout: '7d' }),
  } as unknown as Definition;
}

export const definitionArb = (maxDepth = 3): fc.Arbitrary<Definition> => programArb(maxDepth).map(toDefinition);
