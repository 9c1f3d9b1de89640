/**
 * `verifyDefinition`: the soundness verdict on a workflow definition, with the problems in plain
 * words and, for each, the shortest sequence of steps that leads into it. Browser-safe.
 *
 * Checks (on the state space of `DefinitionSystem`, i.e. the engine core's own semantics):
 * - deadlock: a run reaches a state where every token waits in a join that can never fire (the
 *   engine fails such an instance with code `deadlock`), or nothing the world can do moves it;
 * - livelock / option to end: from every reachable state some end is reachable;
 * - completion: some run completes;
 * - dead steps: every step runs in some execution;
 * - proper completion: the core only completes an instance when no token is left, so it holds by
 *   construction; ends reached while other branches still run are listed as information.
 */
import type { Definition } from '../model/schema.js';
import { DefinitionSystem, type ChildSummary, type Move, type VState } from './definition-system.js';
import { canReach, explore, sccs, traceTo, trappedCycles, type StateGraph } from './graph.js';
import { BUILTIN_PROPERTIES, checkFormulas, declaredProperties, needsHistory, parseCtl, type PropertyResult } from './ctl.js';
import { analyseResourcesOnGraph, usesResources, type ResourceReport } from './resources.js';
import { analyseTime, type TimeReport } from './time.js';
import { DEFAULT_MAX_INPUT_CLASSES, inputClasses, type InputClasses } from './conditions.js';

export type ProblemKind =
  | 'deadlock' | 'stuck' | 'livelock' | 'dead-step' | 'no-completion' | 'implicit-end'
  | 'routing-failure' | 'state-space' | 'unbounded' | 'improper-completion' | 'property'
  | 'resource' | 'deadline' | 'conditions';

export interface TraceEntry {
  /** What the world did ("`charge` completes"). */
  text: string;
  /** What the engine decided on the way ("decision `big` → `express`"). */
  choices: string[];
}

export interface Problem {
  kind: ProblemKind;
  severity: 'error' | 'warning' | 'info';
  message: string;
  steps?: string[];
  /** Shortest sequence of moves from the start into the problem. */
  trace?: TraceEntry[];
}

export interface VerifyStats {
  states: number;
  edges: number;
  finalStates: number;
  /** `execute` calls made (each is one command run by the core). */
  commands: number;
  ms: number;
  reduced: boolean;
  /** States of the unreduced graph used for CTL properties and resources, when one was built. */
  fullStates?: number;
}

export interface VerificationReport {
  kind: 'definition' | 'net';
  id: string;
  verdict: 'sound' | 'unsound' | 'unknown';
  sound: boolean;
  problems: Problem[];
  /** How runs can end, with a shortest example each. */
  ends: Array<{ outcome: string; trace: TraceEntry[] }>;
  stats: VerifyStats;
  properties?: PropertyResult[];
  resources?: ResourceReport;
  time?: TimeReport;
  /** With `conditions: 'simple'`: the input classes explored and the conditions they decide. */
  conditions?: { mode: 'simple'; classes: string[]; decided: string[]; note?: string };
  /** `early` when signals sent before their wait starts were explored. */
  signals?: 'early';
  /** For nets: bounded, safe, reachable markings. */
  net?: { bounded: boolean; safe: boolean; maxTokens: number; deadTransitions: string[]; workflowNet: boolean };
}

export interface VerifyOptions {
  maxStates?: number;
  /** Partial-order reduction for the soundness checks (default true). */
  reduce?: boolean;
  /** Explore failures of activities, children, humans and the workflow timeout (default true). */
  failures?: boolean;
  /** Skip CTL, resource and time analyses (default false). */
  soundnessOnly?: boolean;
  /** Child definitions by id, for subworkflow summaries (their possible outcomes) and time. */
  children?: Record<string, Definition>;
  /** Definition ids being verified further up (cuts recursive subworkflows). */
  visiting?: string[];
  /**
   * `free` (default): every condition is a free choice. `simple`: comparisons of `input.<path>`
   * with literals are decided per input class (see conditions.ts and docs/verification.md).
   */
  conditions?: 'free' | 'simple';
  /** Bound on input classes for `conditions: 'simple'` (default 64); beyond it, free choices with a note. */
  maxInputClasses?: number;
  /** `early`: signals may be sent before their wait starts (buffered by the core). Default `awaited`. */
  signals?: 'awaited' | 'early';
  /** Buffered early signals per event name (default 1). */
  maxEarlySignals?: number;
}

export const DEFAULT_VERIFY_MAX_STATES = 100_000;

const toEntry = (m: Move): TraceEntry => ({ text: m.text, choices: m.choices });

export async function verifyDefinition(def: Definition, opts: VerifyOptions = {}): Promise<VerificationReport> {
  const t0 = now();
  const maxStates = opts.maxStates ?? DEFAULT_VERIFY_MAX_STATES;
  const reduce = opts.reduce ?? true;
  const childProblems: Problem[] = [];
  const children = await childSummaries(def, opts, childProblems);
  let inputs: InputClasses | undefined;
  if (opts.conditions === 'simple') inputs = await inputClasses(def, opts.maxInputClasses ?? DEFAULT_MAX_INPUT_CLASSES);
  const sysOpts = { failures: opts.failures, children, inputClasses: inputs, signals: opts.signals, maxEarlySignals: opts.maxEarlySignals };
  const sys = new DefinitionSystem(def, { reduce, ...sysOpts });
  let g = await explore(sys, { maxStates });
  let usedReduction = reduce;
  // Reduction preserves every final state; livelocks only need cycles, which Weft definitions
  // have only through operator retries and escalations. If the reduced graph has a cycle, the
  // livelock check is redone on the full graph.
  if (reduce && !g.truncated && hasCycle(g)) {
    const full = new DefinitionSystem(def, { reduce: false, ...sysOpts });
    const fg = await explore(full, { maxStates });
    if (!fg.truncated) {
      g = fg;
      usedReduction = false;
      sys.commands += full.commands;
    }
  }
  const report = analyseDefinitionGraph(def, sys, g, maxStates);
  report.stats.reduced = usedReduction;
  if (opts.signals === 'early') report.signals = 'early';
  if (inputs) {
    report.conditions = { mode: 'simple', classes: sys.classes.map((c) => c.label), decided: [...sys.decided], ...(inputs.note && { note: inputs.note }) };
    if (inputs.note) report.problems.push({ kind: 'conditions', severity: 'info', message: `conditions: ${inputs.note}` });
  }
  report.problems.push(...childProblems);
  if (!opts.soundnessOnly) {
    const declared = declaredProperties(def);
    const stepIds = new Set(def.steps.map((s) => s.id));
    const wantResources = usesResources(def);
    let full: StateGraph<VState, Move> | undefined;
    if (declared.length || wantResources) {
      const history = declared.some((p) => { try { return needsHistory(parseCtl(p.formula, stepIds)); } catch { return false; } });
      if (!usedReduction && !history) full = g;
      else {
        const fs = new DefinitionSystem(def, { reduce: false, ...sysOpts, history });
        full = await explore(fs, { maxStates });
        sys.commands += fs.commands;
      }
    }
    const builtins = BUILTIN_PROPERTIES.map((b) => ({ ...b, builtin: true }));
    if (full && !full.truncated) {
      report.properties = checkFormulas(full, [...builtins, ...declared], stepIds);
      report.stats.fullStates = full.states.length;
    } else {
      report.properties = [...builtinsFromSoundness(report, g.truncated), ...declared.map((p): PropertyResult => {
        try {
          parseCtl(p.formula, stepIds);
          return { ...p, holds: false, status: 'unknown', error: `not checked: the unreduced state space exceeds ${maxStates} states` };
        } catch (err) {
          return { ...p, holds: false, status: 'unknown', error: (err as Error).message };
        }
      })];
    }
    for (const p of report.properties) {
      if (p.builtin) continue;
      if (p.status === 'fails') {
        report.problems.push({ kind: 'property', severity: 'error', message: `property ${p.name} does not hold: ${p.formula}${p.traceNote ? ` (the counterexample: ${p.traceNote})` : ''}`, ...(p.trace && { trace: p.trace }) });
      } else if (p.status === 'unknown') {
        const parse = !p.error?.startsWith('not checked');
        report.problems.push({ kind: parse ? 'property' : 'state-space', severity: 'error', message: `property ${p.name} ${parse ? `is not a valid CTL formula: ${p.error}` : `could not be checked: ${p.error}`}` });
      }
    }
    if (full) {
      report.resources = analyseResourcesOnGraph(def, full);
      for (const p of report.resources.problems) report.problems.push(p);
    }
    report.time = analyseTime(def, { children: opts.children });
    for (const p of report.time.problems) report.problems.push(p);
  }
  finishVerdict(report);
  report.stats.ms = Math.round((now() - t0) * 100) / 100;
  report.stats.commands = sys.commands;
  return report;
}

/**
 * Subworkflows by their verified summary: each supplied child definition is verified (soundness
 * only, recursively, a cycle of definitions is cut), and its possible outcomes replace "the child
 * completes or fails". A child that can get stuck or livelock may keep its parent step waiting
 * forever: that is reported on the parent as an error.
 */
async function childSummaries(def: Definition, opts: VerifyOptions, problems: Problem[]): Promise<Map<string, ChildSummary>> {
  const out = new Map<string, ChildSummary>();
  if (!opts.children) return out;
  const visiting = new Set([...(opts.visiting ?? []), def.id]);
  for (const step of def.steps) {
    const wf = (step as { workflow?: string }).workflow;
    if (wf === undefined || out.has(wf) || visiting.has(wf)) continue;
    const child = opts.children[wf];
    if (!child) continue;
    const r = await verifyDefinition(child, { ...opts, soundnessOnly: true, visiting: [...visiting] });
    if (r.verdict === 'unknown') continue;
    const completes = r.ends.some((e) => e.outcome === 'completed');
    const fails = r.ends.some((e) => e.outcome !== 'completed');
    out.set(wf, { completes, fails });
    const users = def.steps.filter((s) => (s as { workflow?: string }).workflow === wf).map((s) => s.id);
    const hang = r.problems.find((p) => p.kind === 'stuck' || p.kind === 'livelock');
    if (hang) problems.push({ kind: 'stuck', severity: 'error', message: `child workflow "${wf}" can run forever without ending (${hang.message}), so ${users.map((u) => `\`${u}\``).join(', ')} may wait for it forever`, steps: users, ...(hang.trace && { trace: hang.trace }) });
    if (!completes) problems.push({ kind: 'dead-step', severity: 'warning', message: `child workflow "${wf}" can never complete: ${users.map((u) => `\`${u}\``).join(', ')} can only fail`, steps: users });
  }
  return out;
}

/**
 * The built-ins from the soundness analysis when no unreduced graph is built: `AG EF ended` fails
 * exactly when a stuck state or a trap is reachable (both preserved by the reduction, see the
 * docs), and under fairness `AF ended` is equivalent to it on a finite graph.
 */
function builtinsFromSoundness(report: VerificationReport, truncated: boolean): PropertyResult[] {
  const bad = report.problems.find((p) => p.kind === 'stuck' || p.kind === 'livelock');
  return BUILTIN_PROPERTIES.map((b) => truncated
    ? { ...b, builtin: true, holds: false, status: 'unknown' as const, error: 'the state space is too large' }
    : { ...b, builtin: true, holds: !bad, status: bad ? 'fails' as const : 'holds' as const, ...(bad?.trace && { trace: bad.trace, traceKind: 'counterexample' as const, traceNote: bad.message }) });
}

function hasCycle<S, L>(g: StateGraph<S, L>): boolean {
  const { count } = sccs(g);
  return count < g.states.length;
}

export function finishVerdict(report: VerificationReport): void {
  const errors = report.problems.some((p) => p.severity === 'error' && p.kind !== 'state-space');
  const unknown = report.problems.some((p) => p.kind === 'state-space');
  report.verdict = errors ? 'unsound' : unknown ? 'unknown' : 'sound';
  report.sound = report.verdict === 'sound';
}

function analyseDefinitionGraph(def: Definition, sys: DefinitionSystem, g: StateGraph<VState, Move>, maxStates: number): VerificationReport {
  const problems: Problem[] = [];
  const n = g.states.length;
  const isFinal = (v: number) => sys.isFinal(g.states[v]);
  const finals: number[] = [];
  for (let v = 0; v < n; v++) if (isFinal(v)) finals.push(v);
  let edges = 0;
  for (const list of g.edges) edges += list.length;
  const trace = (v: number) => traceTo(g, v).map(toEntry);
  const inClass = (v: number) => {
    const label = sys.classLabel(g.states[v]);
    return label ? ` (with ${label})` : '';
  };

  if (g.truncated) {
    problems.push({ kind: 'state-space', severity: 'error', message: `the state space exceeds ${maxStates} states; the verdict is unknown (raise --max-states)` });
  }

  // Deadlocks the engine detects (every token in a join that cannot fire), and other failures
  // that are the definition's fault rather than the world's.
  const ends: VerificationReport['ends'] = [];
  for (const v of finals) {
    const s = g.states[v]!;
    const outcome = s.status === 'failed' ? `failed (${s.error?.code})` : s.status;
    ends.push({ outcome, trace: trace(v) });
    if (s.status === 'failed' && s.error?.code === 'deadlock') {
      problems.push({ kind: 'deadlock', severity: 'error', message: explainDeadlock(sys, s.error.message, traceTo(g, v)) + inClass(v), steps: joinsIn(s.error.message), trace: trace(v) });
    } else if (s.status === 'failed' && s.error?.code === 'no_transition') {
      problems.push({ kind: 'routing-failure', severity: 'warning', message: `the engine can find no transition to take: ${s.error.message} (add a default transition)${inClass(v)}`, trace: trace(v) });
    }
  }

  if (!g.truncated) {
    // Stuck: not ended, and nothing the world can send moves the instance.
    for (let v = 0; v < n; v++) {
      if (!isFinal(v) && g.edges[v].length === 0 && g.states[v] !== null) {
        const s = g.states[v]!;
        const where = Object.values(s.active).map((r) => `\`${r.stepId}\` (${r.status})`).join(', ') || 'no step';
        problems.push({ kind: 'stuck', severity: 'error', message: `the instance can get stuck ${s.status} with tokens at ${where}: nothing can move it on${inClass(v)}`, trace: trace(v) });
      }
    }
    // Livelock: states from which no end can be reached at all.
    const reach = canReach(g, finals);
    const traps = trappedCycles(g, isFinal);
    for (const v of traps) {
      const steps = [...new Set(Object.values(g.states[v]?.active ?? {}).map((r) => r.stepId))];
      problems.push({ kind: 'livelock', severity: 'error', message: `livelock: the instance can cycle forever without ending (tokens at ${steps.map((x) => `\`${x}\``).join(', ')})${inClass(v)}`, steps, trace: trace(v) });
    }
    if (traps.length === 0) {
      let worst = -1;
      for (let v = 0; v < n; v++) if (!reach[v] && !isFinal(v) && g.edges[v].length > 0 && (worst < 0 || g.depth[v] < g.depth[worst])) worst = v;
      if (worst >= 0) problems.push({ kind: 'livelock', severity: 'error', message: `from some reachable state the instance can never end${inClass(worst)}`, trace: trace(worst) });
    }
    // Completion.
    const completes = finals.some((v) => g.states[v]!.status === 'completed');
    if (!completes) problems.push({ kind: 'no-completion', severity: 'error', message: 'no run of this workflow can complete: every run fails, is cancelled or deadlocks' });
    // Dead steps.
    const started = new Set<string>();
    const implicit = new Map<string, number>();
    for (let v = 0; v < n; v++) {
      for (const e of g.edges[v]) {
        for (const id of e.label.started) started.add(id);
        for (const id of e.label.endsWithTokens) if (!implicit.has(id)) implicit.set(id, e.target);
      }
    }
    for (const step of sys.compiled.def.steps) {
      if (!started.has(step.id)) {
        problems.push({ kind: 'dead-step', severity: 'error', message: `step \`${step.id}\` can never run: ${deadReason(sys, step.id, started)}`, steps: [step.id] });
      }
    }
    for (const [id, v] of implicit) {
      problems.push({ kind: 'implicit-end', severity: 'info', message: `end \`${id}\` can be reached while other branches still run; the instance completes when they finish`, steps: [id], trace: trace(v) });
    }
  }
  return {
    kind: 'definition', id: def.id, verdict: 'unknown', sound: false, problems,
    ends: dedupeEnds(ends),
    stats: { states: n, edges, finalStates: finals.length, commands: sys.commands, ms: 0, reduced: sys.reduce },
  };
}

function dedupeEnds(ends: VerificationReport['ends']): VerificationReport['ends'] {
  const seen = new Map<string, VerificationReport['ends'][number]>();
  for (const e of ends) {
    const prev = seen.get(e.outcome);
    if (!prev || e.trace.length < prev.trace.length) seen.set(e.outcome, e);
  }
  return [...seen.values()];
}

function joinsIn(message: string): string[] {
  return [...message.matchAll(/join "([^"]+)"/g)].map((m) => m[1]);
}

/** "join `j1` waits forever for 1 of 2 branches; the branch was lost at decision `d` → `x`". */
function explainDeadlock(sys: DefinitionSystem, message: string, moves: Move[]): string {
  const parts: string[] = [];
  for (const m of message.matchAll(/join "([^"]+)" has (\d+) of (\d+) branches/g)) {
    const [, join, arrived, needed] = m;
    const region = sys.compiled.graph.region.get(join) ?? new Set<string>();
    const split = sys.compiled.graph.splitOfJoin.get(join);
    const lost: string[] = [];
    for (const mv of moves) {
      for (const c of mv.choices) {
        const step = /`([^`]+)`/.exec(c)?.[1];
        if (step && (region.has(step) || step === split)) lost.push(c);
      }
    }
    const feeders = new Set((sys.compiled.graph.incoming.get(join) ?? []).map((t) => t.from));
    const lostAt = new Set(lost.map((c) => /`([^`]+)`/.exec(c)?.[1]));
    const arrivedFrom = moves.flatMap((mv) => mv.completed).filter((id) => feeders.has(id) && !lostAt.has(id));
    let text = `join \`${join}\` waits forever: ${arrived} of ${needed} branches arrived`;
    if (arrivedFrom.length) text += ` (from ${unique(arrivedFrom).map((x) => `\`${x}\``).join(', ')})`;
    text += lost.length ? `; the missing branch was skipped by ${unique(lost).join('; ')}` : '; the missing branch never started';
    parts.push(text);
  }
  return parts.length ? `deadlock: ${parts.join('; ')}` : `deadlock: ${message}`;
}

function unique<T>(xs: T[]): T[] {
  return [...new Set(xs)];
}

function deadReason(sys: DefinitionSystem, stepId: string, started: Set<string>): string {
  const incoming = sys.compiled.graph.incoming.get(stepId) ?? [];
  if (incoming.length === 0) return 'no transition leads to it';
  const live = incoming.filter((t) => started.has(t.from));
  if (live.length === 0) return `every step leading to it (${unique(incoming.map((t) => `\`${t.from}\``)).join(', ')}) can never run either`;
  const kinds = live.map((t) => (t.on ? `\`${t.from}\` on ${t.on}${t.error ? ` ${[t.error].flat().join('/')}` : ''}` : `\`${t.from}\``));
  return `no execution takes its incoming transitions (from ${kinds.join(', ')})`;
}

function now(): number {
  return typeof performance !== 'undefined' ? performance.now() : Date.now();
}
