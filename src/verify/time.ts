/**
 * Time analysis over the definition graph: how long a run takes at least and at most, the
 * critical path (the steps that make up the longest run), and deadline violations.
 *
 * Step durations come from `duration` hints; without one, per type (DEFAULT_DURATIONS):
 * task and foreach 1 s, timer its literal `delay` (else 1 min), wait 1 h or its `timeout` if
 * shorter, human 1 h or its `deadline` if shorter, subworkflow the child's own min…max when the
 * child definition is supplied (else 1 min), control steps (start, end, decision, inclusive,
 * parallel, join, loop) 0.
 *
 * A step's token arrives at [lo, hi]: at a join `all` after a parallel split, the latest branch
 * (max of lo, max of hi); after an inclusive split, any subset may run (min of lo, max of hi); at
 * `any`, the first branch (min, min); at `n`, the n-th arrival; elsewhere a token comes by one of
 * the incoming transitions (min of lo, max of hi). Error and timeout transitions count as ways on
 * (after the step's duration; a wait's timeout after its `timeout`). A loop's body runs
 * `maxIterations` times without `while`, 0…`maxIterations` times with one. Other cycles (e.g. an
 * error transition back to an earlier step) are cut at their back edge: counted once.
 */
import { compileDefinition, type CompiledDefinition } from '../core/compiled.js';
import { parseDuration } from '../core/duration.js';
import type { Definition, Step } from '../model/schema.js';
import { abstractDefinition } from './definition-system.js';
import type { Problem } from './verify.js';

export interface TimeReport {
  minMs: number;
  maxMs: number;
  /** The steps of a longest run, in order (a loop's body appears once, followed by the loop again). */
  criticalPath: string[];
  /** Duration assumed per step ([min, max] ms) and where it came from. */
  steps: Record<string, { minMs: number; maxMs: number; source: 'hint' | 'default' | 'child' | 'timeout' | 'deadline' }>;
  loops: Array<{ loop: string; iterations: [number, number]; bodyMs: [number, number] }>;
  /** Workflow timeout in ms, when it is a duration. */
  timeoutMs?: number;
  problems: Problem[];
}

export const DEFAULT_DURATIONS: Record<Step['type'], number> = {
  start: 0, end: 0, decision: 0, inclusive: 0, parallel: 0, join: 0, loop: 0,
  task: 1000, foreach: 1000, timer: 60_000, wait: 3_600_000, human: 3_600_000, subworkflow: 60_000,
};

const DAY = 86_400_000;

type Iv = [number, number];

function deadlineMs(d: unknown): number | undefined {
  if (typeof d === 'number' || typeof d === 'string') return parseDuration(d);
  if (d && typeof d === 'object' && 'businessDays' in d) return (d as { businessDays: number }).businessDays * DAY;
  return undefined;
}

export interface TimeOptions {
  children?: Record<string, Definition>;
  /** Definitions on the way here (guards recursive subworkflows). */
  visiting?: Set<string>;
}

export function analyseTime(def: Definition, opts: TimeOptions = {}): TimeReport {
  let c: CompiledDefinition;
  try {
    c = compileDefinition(abstractDefinition(def));
  } catch (err) {
    return { minMs: 0, maxMs: 0, criticalPath: [], steps: {}, loops: [], problems: [{ kind: 'deadline', severity: 'warning', message: `time analysis skipped: ${(err as Error).message}` }] };
  }
  const problems: Problem[] = [];
  const visiting = new Set(opts.visiting ?? []);
  visiting.add(def.id);
  const stepTimes: TimeReport['steps'] = {};
  for (const cs of c.steps.values()) {
    const s = cs.step as Step & Record<string, unknown>;
    let iv: Iv;
    let source: TimeReport['steps'][string]['source'] = 'default';
    const hint = s.duration !== undefined ? parseDuration(s.duration as string | number) : undefined;
    if (hint !== undefined) { iv = [hint, hint]; source = 'hint'; } else {
      const d = DEFAULT_DURATIONS[cs.type];
      iv = [d, d];
      if (cs.type === 'timer' && (typeof s.delay === 'number' || (typeof s.delay === 'string' && /^(\d+(\.\d+)?(ms|s|m|h|d|w))+$/.test(s.delay)))) { const t = parseDuration(s.delay as string | number); iv = [t, t]; }
      if (cs.type === 'wait' && s.timeout !== undefined) { const t = parseDuration(s.timeout as string | number); if (t < d) { iv = [t, t]; source = 'timeout'; } }
      if (cs.type === 'human') { const t = deadlineMs(s.deadline); if (t !== undefined && t < d) { iv = [t, t]; source = 'deadline'; } }
      if ((cs.type === 'subworkflow') && opts.children?.[s.workflow as string] && !visiting.has(s.workflow as string)) {
        const child = analyseTime(opts.children[s.workflow as string], { children: opts.children, visiting });
        iv = [child.minMs, child.maxMs];
        source = 'child';
      }
    }
    stepTimes[cs.id] = { minMs: iv[0], maxMs: iv[1], source };
    // Hints that contradict the step's own limits.
    if (hint !== undefined) {
      if (cs.type === 'task' && cs.timeoutMs !== undefined && hint > cs.timeoutMs) {
        problems.push({ kind: 'deadline', severity: 'warning', message: `task \`${cs.id}\` is expected to take ${fmt(hint)}, longer than its timeout ${fmt(cs.timeoutMs)}: every attempt would time out`, steps: [cs.id] });
      }
      if (cs.type === 'wait' && s.timeout !== undefined && hint > parseDuration(s.timeout as string | number)) {
        problems.push({ kind: 'deadline', severity: 'warning', message: `wait \`${cs.id}\` is expected to take ${fmt(hint)}, longer than its timeout ${fmt(parseDuration(s.timeout as string | number))}`, steps: [cs.id] });
      }
      if (cs.type === 'human') {
        const dl = deadlineMs(s.deadline);
        if (dl !== undefined && hint > dl) problems.push({ kind: 'deadline', severity: 'warning', message: `human task \`${cs.id}\` is expected to take ${fmt(hint)}, past its deadline ${fmt(dl)}: it will usually time out${(s.onTimeout as { action?: string } | undefined)?.action ? ` (${(s.onTimeout as { action: string }).action})` : ''}`, steps: [cs.id] });
      }
    }
  }

  // Back edges: the loops' own, plus any other cycle found by a depth-first search from the start.
  const back = new Set<string>();
  for (const cs of c.steps.values()) for (const id of cs.backEdges ?? []) back.add(id);
  const out = (id: string) => { const cs = c.steps.get(id)!; return [...cs.outgoing, ...cs.exceptional].filter((t) => !back.has(t.id)); };
  {
    const state = new Map<string, 1 | 2>();
    const stack: Array<[string, number]> = [[c.startId, 0]];
    state.set(c.startId, 1);
    while (stack.length) {
      const top = stack[stack.length - 1];
      const ts = out(top[0]);
      if (top[1] >= ts.length) { state.set(top[0], 2); stack.pop(); continue; }
      const t = ts[top[1]++];
      const st = state.get(t.to);
      if (st === 1) back.add(t.id);
      else if (st === undefined) { state.set(t.to, 1); stack.push([t.to, 0]); }
    }
  }
  const incoming = new Map<string, Array<{ id: string; from: string; to: string; on?: string }>>();
  for (const cs of c.steps.values()) for (const t of [...cs.outgoing, ...cs.exceptional]) {
    if (back.has(t.id)) continue;
    const list = incoming.get(t.to) ?? [];
    list.push(t);
    incoming.set(t.to, list);
  }
  const loopInfo = new Map<string, { iter: Iv; body: Iv; bodyFirst: string; backSources: string[] }>();
  for (const cs of c.steps.values()) {
    if (cs.type !== 'loop') continue;
    const s = cs.step as { while?: string; maxIterations: number; body: string };
    const backSources = [...(cs.backEdges ?? [])].map((id) => c.graph.transitions.get(id)?.from).filter((x): x is string => !!x);
    loopInfo.set(cs.id, { iter: [s.while === undefined ? s.maxIterations : 0, s.maxIterations], body: [0, 0], bodyFirst: s.body, backSources });
  }

  const enter = new Map<string, Iv | null>();
  const hiPred = new Map<string, { from: string; edge: string } | undefined>();
  const finishOf = (id: string): Iv | null => {
    const e = enterOf(id);
    if (!e) return null;
    const d = stepTimes[id];
    return [e[0] + d.minMs, e[1] + d.maxMs];
  };
  const loopExit = (id: string): Iv | null => {
    const e = enterOf(id);
    const info = loopInfo.get(id)!;
    if (!e) return null;
    let lo = Infinity;
    let hi = -Infinity;
    for (const src of info.backSources) {
      const f = finishOf(src);
      if (f) { lo = Math.min(lo, f[0] - e[0]); hi = Math.max(hi, f[1] - e[1]); }
    }
    info.body = Number.isFinite(lo) ? [lo, hi] : [0, 0];
    return [e[0] + info.iter[0] * info.body[0], e[1] + info.iter[1] * info.body[1]];
  };
  const arrival = (t: { from: string; to: string; on?: string }): Iv | null => {
    const from = c.steps.get(t.from)!;
    if (from.type === 'loop' && t.on === undefined && t.to !== loopInfo.get(t.from)!.bodyFirst) return loopExit(t.from);
    if (from.type === 'loop') return enterOf(t.from);
    if (t.on === 'timeout' && from.type === 'wait' && (from.step as { timeout?: string | number }).timeout !== undefined) {
      const e = enterOf(t.from);
      const to = parseDuration((from.step as { timeout: string | number }).timeout);
      return e && [e[0] + to, e[1] + to];
    }
    return finishOf(t.from);
  };
  function enterOf(id: string): Iv | null {
    if (enter.has(id)) return enter.get(id)!;
    enter.set(id, null); // guards against cycles the DFS did not cut (unreachable parts)
    if (id === c.startId) { enter.set(id, [0, 0]); return [0, 0]; }
    const ins = (incoming.get(id) ?? []).map((t) => ({ t, iv: arrival(t) })).filter((x): x is { t: typeof x.t; iv: Iv } => x.iv !== null);
    if (!ins.length) return null;
    const cs = c.steps.get(id)!;
    let best = ins[0];
    for (const x of ins) if (x.iv[1] > best.iv[1]) best = x;
    let iv: Iv;
    if (cs.type === 'join') {
      const mode = (cs.step as { mode?: string }).mode ?? 'all';
      const split = c.graph.splitOfJoin.get(id);
      const los = ins.map((x) => x.iv[0]).sort((a, b) => a - b);
      const his = ins.map((x) => x.iv[1]).sort((a, b) => a - b);
      if (mode === 'any') { iv = [los[0], his[0]]; best = ins.find((x) => x.iv[1] === his[0])!; } else if (mode === 'n') {
        const n = Math.min((cs.step as { n?: number }).n ?? 1, ins.length);
        iv = [los[n - 1], his[n - 1]];
        best = ins.find((x) => x.iv[1] === his[n - 1])!;
      } else if (split && c.steps.get(split)?.type === 'inclusive') iv = [los[0], his[his.length - 1]];
      else iv = [los[los.length - 1], his[his.length - 1]];
    } else iv = [Math.min(...ins.map((x) => x.iv[0])), Math.max(...ins.map((x) => x.iv[1]))];
    enter.set(id, iv);
    hiPred.set(id, { from: best.t.from, edge: (best.t as { id: string }).id });
    return iv;
  }

  let minMs = Infinity;
  let maxMs = 0;
  let lastEnd: string | undefined;
  for (const cs of c.steps.values()) {
    if (cs.type !== 'end') continue;
    const f = finishOf(cs.id);
    if (!f) continue;
    minMs = Math.min(minMs, f[0]);
    if (f[1] >= maxMs) { maxMs = f[1]; lastEnd = cs.id; }
  }
  if (!Number.isFinite(minMs)) minMs = 0;

  const criticalPath: string[] = [];
  const walk = (id: string, depth: number): void => {
    if (depth > 10_000) return;
    const p = hiPred.get(id);
    if (p) {
      const from = c.steps.get(p.from)!;
      const info = loopInfo.get(p.from);
      if (from.type === 'loop' && info && id !== info.bodyFirst && info.iter[1] > 0 && info.backSources.length) {
        let src = info.backSources[0];
        for (const s of info.backSources) if ((finishOf(s)?.[1] ?? -1) > (finishOf(src)?.[1] ?? -1)) src = s;
        walk(src, depth + 1);
        criticalPath.push(p.from);
      } else walk(p.from, depth + 1);
    }
    criticalPath.push(id);
  };
  if (lastEnd) walk(lastEnd, 0);

  let timeoutMs: number | undefined;
  if (def.timeout !== undefined && (typeof def.timeout === 'number' || typeof def.timeout === 'string')) {
    timeoutMs = parseDuration(def.timeout);
    if (minMs > timeoutMs) {
      problems.push({ kind: 'deadline', severity: 'error', message: `even the shortest run takes ${fmt(minMs)}, more than the workflow timeout ${fmt(timeoutMs)}: every run times out`, steps: criticalPath });
    } else if (maxMs > timeoutMs) {
      problems.push({ kind: 'deadline', severity: 'warning', message: `the longest run takes ${fmt(maxMs)}, more than the workflow timeout ${fmt(timeoutMs)} (critical path ${criticalPath.map((s) => `\`${s}\``).join(' → ')})`, steps: criticalPath });
    }
  }
  for (const id of loopInfo.keys()) loopExit(id);
  return {
    minMs, maxMs, criticalPath, steps: stepTimes,
    loops: [...loopInfo].map(([loop, i]) => ({ loop, iterations: i.iter, bodyMs: i.body })),
    ...(timeoutMs !== undefined && { timeoutMs }), problems,
  };
}

function fmt(ms: number): string {
  if (ms < 1000) return `${ms} ms`;
  if (ms < 60_000) return `${+(ms / 1000).toFixed(1)} s`;
  if (ms < 3_600_000) return `${+(ms / 60_000).toFixed(1)} min`;
  if (ms < DAY) return `${+(ms / 3_600_000).toFixed(1)} h`;
  return `${+(ms / DAY).toFixed(1)} d`;
}
