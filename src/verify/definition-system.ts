/**
 * A definition's state space, explored with THE ENGINE CORE (principle 2: what is proved is what
 * runs). A verifier state is the core's own `InstanceState` with data abstracted away; its
 * successors are what `execute` makes of every command the outside world could send in that
 * state — an activity completes or fails (with every error code the definition routes on), a
 * timer fires, an awaited event arrives, a person answers, a child finishes, an operator cancels.
 * Conditions (`when`, loop `while`, wait `match`) are answered by an oracle (`DecideContext.
 * oracle`) and every combination of answers is tried, so each routing choice the engine could
 * make is one edge, decided by the engine's own routing rule.
 *
 * Data abstraction: input/output/form schemas are dropped (data is not modelled), activities
 * return `{}`, foreach steps get one item. Time abstraction: any pending timer may fire next.
 *
 * Partial-order reduction (`reduce`, default on): in a state where some run's every command is
 * *local* — it moves only that run's token, through instant steps, into tasks/waits/all-joins,
 * never ending, failing, cancelling or compensating the instance and never reaching an any/n
 * join — only that run's commands are expanded. Such commands commute with every other command
 * up to the canonical final states (see docs/verification.md for the argument), so every final
 * state (ended or stuck) reachable in the full graph is reachable in the reduced one, by a
 * permutation of the same commands (hence traces stay shortest).
 */
import { compileDefinition, type CompiledDefinition } from '../core/compiled.js';
import { execute } from '../core/engine.js';
import { CommandRejected } from '../core/errors.js';
import type { ChoiceOracle, ChoiceSite, Command, EngineEvent, InstanceState } from '../core/types.js';
import { TERMINAL_STATUSES } from '../core/types.js';
import type { Definition, Step } from '../model/schema.js';
import { DEFAULT_MAX_SIGNALS } from '../core/machine.js';
import type { InputClass, InputClasses } from './conditions.js';
import type { Successor, TransitionSystem } from './graph.js';

export const VERIFY_T0 = Date.UTC(2030, 0, 7, 9, 0, 0);
const INSTANCE = 'verify';

export interface DefinitionSystemOptions {
  /** Activities, children and humans may fail/reject; the workflow timeout may fire (default true). */
  failures?: boolean;
  /** Partial-order reduction (default true). Off for CTL and resource analysis. */
  reduce?: boolean;
  /** Keep which steps have completed in the state key (needed for CTL atoms `completed`). */
  history?: boolean;
  /**
   * Verified summaries of child workflows by definition id: how a child can finish. A
   * subworkflow (or foreach over a workflow) whose child has a summary completes only if the
   * child can complete and fails only if it can fail; without one, both.
   */
  children?: ReadonlyMap<string, ChildSummary>;
  /**
   * Simple conditions decided per input class (see conditions.ts): the instance is started once
   * per class with its representative input, and the oracle answers the decided conditions with
   * their value on that class. Without classes (or none decided) every condition is a free choice.
   */
  inputClasses?: InputClasses;
  /**
   * `early`: signals may also be sent before a wait for them starts (the core buffers them,
   * `SignalBuffered`, and a wait consumes one when it starts); at most `maxEarlySignals` buffered
   * per event name (default 1), and never more than the core's buffer. Wait `match` conditions
   * are then answered both ways (a signal that does not match stays buffered). Default `awaited`:
   * events arrive only while awaited, and always match.
   */
  signals?: 'awaited' | 'early';
  maxEarlySignals?: number;
}

export interface ChildSummary { completes: boolean; fails: boolean }

/** One edge: a command of the outside world and what the engine made of it, in step terms. */
export interface Move {
  /** Plain words: "`charge` completes", "`review` answered reject". */
  text: string;
  /** The step the command was addressed to. */
  stepId?: string;
  /** Routing choices made by the engine during the command ("decision `big` → `express`"). */
  choices: string[];
  /** Steps that got a token during the command. */
  started: string[];
  /** Steps that completed during the command. */
  completed: string[];
  /** End steps reached while other tokens still live (not `terminate`). */
  endsWithTokens: string[];
  /** The error the instance failed with, if it did. */
  failure?: { code: string; message: string };
}

/** `null` is the moment before the instance starts (so the start's own choices are edges too). */
export type VState = InstanceState | null;

export class DefinitionSystem implements TransitionSystem<VState, Move> {
  readonly compiled: CompiledDefinition;
  readonly failures: boolean;
  readonly reduce: boolean;
  readonly history: boolean;
  readonly children: ReadonlyMap<string, ChildSummary>;
  readonly classes: InputClass[];
  readonly decided: ReadonlySet<string>;
  readonly earlySignals: boolean;
  readonly maxEarlySignals: number;
  /** Event names of wait steps (the signals the world may send early). */
  private readonly waitEvents: string[];
  private readonly classIndex = new Map<string, number>();
  /** Per step: the wait events of the steps reachable from it (itself included), over every transition. */
  private readonly eventsAhead = new Map<string, Set<string>>();
  /** Steps inside the block of an any/n join: their runs can be cancelled by another branch. */
  private readonly racy = new Set<string>();
  private readonly hasCancelPaths: boolean;
  /** Activity failures explored per step: the codes its error transitions route on, plus a generic one. */
  private readonly codes = new Map<string, string[]>();
  /** Executions of `execute` so far (for figures). */
  commands = 0;

  constructor(readonly definition: Definition, opts: DefinitionSystemOptions = {}) {
    this.compiled = compileDefinition(abstractDefinition(definition));
    this.failures = opts.failures ?? true;
    this.reduce = opts.reduce ?? true;
    this.history = opts.history ?? false;
    this.children = opts.children ?? new Map();
    this.classes = opts.inputClasses?.decided.size ? opts.inputClasses.classes : [];
    this.decided = this.classes.length ? opts.inputClasses!.decided : new Set();
    this.classes.forEach((c, i) => this.classIndex.set(JSON.stringify(c.input), i));
    this.earlySignals = opts.signals === 'early';
    this.maxEarlySignals = Math.min(opts.maxEarlySignals ?? 1, DEFAULT_MAX_SIGNALS);
    if (this.earlySignals) this.computeEventsAhead();
    this.waitEvents = [...new Set([...this.compiled.steps.values()].filter((cs) => cs.type === 'wait').map((cs) => (cs.step as { event: string }).event))];
    for (const cs of this.compiled.steps.values()) {
      if (cs.type === 'join') {
        const mode = (cs.step as Step & { mode?: string }).mode ?? 'all';
        if (mode !== 'all') for (const id of cs.region ?? []) this.racy.add(id);
      }
      const codes = new Set<string>();
      for (const t of cs.exceptional) {
        if (t.on === 'error' && t.error !== undefined) for (const c of Array.isArray(t.error) ? t.error : [t.error]) codes.add(c);
        if (t.on === 'timeout' && (cs.type === 'task' || cs.type === 'subworkflow' || cs.type === 'foreach')) codes.add('timeout');
      }
      codes.add('error');
      this.codes.set(cs.id, [...codes]);
    }
    this.hasCancelPaths = [...this.compiled.steps.values()].some((cs) => cs.exceptional.some((t) => t.on === 'cancel'));
  }

  initial(): VState[] {
    return [null];
  }

  isFinal(s: VState): boolean {
    return s !== null && TERMINAL_STATUSES.has(s.status);
  }

  key(s: VState): string {
    if (s === null) return 'init';
    if (TERMINAL_STATUSES.has(s.status)) {
      const base = `T|${s.status}|${s.status === 'failed' ? s.error?.code ?? '' : ''}`;
      return this.history ? `${base}|${completedSteps(s)}` : base;
    }
    const stepOf = (runId: string | undefined) => (runId && s.active[runId]?.stepId) || (runId ? runId.slice(0, runId.lastIndexOf('#')) : '');
    const runs: string[] = [];
    for (const r of Object.values(s.active)) {
      let k = `${r.stepId}:${r.status}`;
      if (r.join) k += `:j${r.join.arrived}/${r.join.needed}/${r.join.expected}`;
      if (r.foreach) k += `:f${r.foreach.next}/${r.foreach.running}/${r.foreach.done}`;
      if (r.manualTaskId) k += ':m';
      runs.push(k);
    }
    runs.sort();
    const tasks = Object.values(s.tasks).map((t) => `${stepOf(t.runId)}:${t.purpose}:${t.status}:${t.index ?? ''}`).sort();
    const timers = Object.values(s.timers).map((t) => `${t.kind}:${stepOf(t.runId)}`).sort();
    const parts = [
      s.status, s.cancelRequested ? 'C' : '', runs.join(','), tasks.join(','), timers.join(','),
      s.parked.map((p) => p.stepId).sort().join(','),
      [...new Set(s.compensable.map((c) => c.stepId))].sort().join(','),
      (s.compensating ?? []).map((id) => stepOf(id)).join(','),
      Object.entries(s.expecting).map(([j, n]) => `${j}=${n}`).sort().join(','),
      this.loopIterations(s), s.signals.map((x) => x.name).sort().join(','),
    ];
    if (this.classes.length) parts.unshift(`c${this.classOf(s) ?? '?'}`);
    if (this.history) parts.push(completedSteps(s));
    return parts.join('|');
  }

  /** Iterations of loops whose body holds a token: they bound the loop, so they are state. */
  private loopIterations(s: InstanceState): string {
    const out: string[] = [];
    for (const [loop, body] of this.compiled.graph.loopBody) {
      const inside = Object.values(s.active).some((r) => body.has(r.stepId)) || s.parked.some((p) => body.has(p.stepId));
      if (!inside) continue;
      const iteration = s.steps[loop]?.iteration ?? 0;
      const step = this.compiled.steps.get(loop)!.step as { while?: string; maxIterations: number };
      // With a `while` (answered both ways by the oracle) every iteration behaves alike: the loop
      // may exit on any entry, and the forced exit at maxIterations is one of those exits. So the
      // count is left out (a self-loop with an exit); without a `while` the count decides.
      // A `while` decided per input class has one value throughout a run: the count decides too.
      if (step.while === undefined || this.decided.has(step.while)) out.push(`${loop}=${iteration}`);
    }
    return out.join(',');
  }

  /** Commands the outside world can send now, grouped by the run they address. */
  commandsOf(s: InstanceState): Map<string, Command[]> {
    const units = new Map<string, Command[]>();
    const add = (unit: string, cmd: DistributiveOmit<Command, 'instanceId'>) => {
      const list = units.get(unit) ?? [];
      list.push({ ...cmd, instanceId: s.id } as Command);
      units.set(unit, list);
    };
    if (TERMINAL_STATUSES.has(s.status)) return units;
    for (const t of Object.values(s.tasks)) {
      if (t.status !== 'scheduled') continue;
      const unit = t.purpose === 'compensate' ? 'global' : t.runId;
      add(unit, { type: 'CompleteActivity', taskId: t.taskId, attempt: t.attempt, output: {} });
      if (this.failures) {
        const stepId = t.purpose === 'compensate' ? undefined : s.active[t.runId]?.stepId;
        for (const code of stepId ? this.codes.get(stepId) ?? ['error'] : ['error']) {
          add(unit, { type: 'FailActivity', taskId: t.taskId, attempt: t.attempt, error: { code, message: `abstract failure ${code}`, nonRetryable: true } });
        }
      }
    }
    for (const [timerId, t] of Object.entries(s.timers)) {
      if (t.kind === 'workflow-timeout') {
        if (this.failures) add('global', { type: 'FireTimer', timerId });
      } else add(t.runId ?? 'global', { type: 'FireTimer', timerId });
    }
    const deliveries = new Map<string, { name: string; key: unknown; runs: string[] }>();
    for (const run of Object.values(s.active)) {
      if (run.status === 'waiting_event' && run.wait) {
        const k = `${run.wait.event}\u0000${JSON.stringify(run.wait.key ?? null)}`;
        const d = deliveries.get(k) ?? { name: run.wait.event, key: run.wait.key, runs: [] };
        d.runs.push(run.id);
        deliveries.set(k, d);
      }
      if (run.human && run.status === 'waiting_human') {
        for (const action of run.human.actions) {
          if (action === 'reject') {
            if (this.failures) add(run.id, { type: 'RejectHumanTask', taskId: run.human.taskId });
          } else add(run.id, { type: 'CompleteHumanTask', taskId: run.human.taskId, action, data: {} });
        }
      }
      if (run.manualTaskId && run.status === 'failed') {
        for (const action of ['retry', 'skip', 'fail']) add(run.id, { type: 'CompleteHumanTask', taskId: run.manualTaskId, action, data: {} });
      }
      const summary = this.childSummary(run.stepId);
      if (run.childId && run.status === 'running') {
        if (summary.completes) add(run.id, { type: 'ChildFinished', childId: run.childId, status: 'completed', output: {} });
        if (this.failures && summary.fails) add(run.id, { type: 'ChildFinished', childId: run.childId, status: 'failed', error: { code: 'child_failed', message: 'the child failed' } });
      }
      if (run.foreach && this.compiled.steps.get(run.stepId)?.step.type === 'foreach' && (this.compiled.steps.get(run.stepId)!.step as { workflow?: string }).workflow !== undefined) {
        for (let i = 0; i < run.foreach.next; i++) {
          if (i in run.foreach.results) continue;
          const childId = `${s.id}/${run.id}[${i}]`;
          if (summary.completes) add(run.id, { type: 'ChildFinished', childId, status: 'completed', output: {} });
          if (this.failures && summary.fails) add(run.id, { type: 'ChildFinished', childId, status: 'failed', error: { code: 'child_failed', message: 'the child failed' } });
        }
      }
    }
    for (const d of deliveries.values()) {
      const unit = d.runs.length === 1 ? d.runs[0] : `event:${d.name}`;
      add(unit, d.key === undefined ? { type: 'Signal', name: d.name, payload: {} } : { type: 'DeliverEvent', name: d.name, key: d.key, payload: {} });
    }
    if (this.earlySignals) {
      const ahead = this.consumable(s);
      for (const name of this.waitEvents) {
        if (!ahead.has(name)) continue;
        if (deliveries.has(`${name}\u0000null`)) continue; // a Signal now is the delivery above
        const buffered = s.signals.filter((x) => x.name === name).length;
        if (buffered < this.maxEarlySignals && s.signals.length < DEFAULT_MAX_SIGNALS) add(`signal:${name}`, { type: 'Signal', name, payload: {} });
      }
    }
    if (this.hasCancelPaths && !s.cancelRequested && (s.status === 'running' || s.status === 'waiting')) add('global', { type: 'Cancel' });
    return units;
  }

  private computeEventsAhead(): void {
    const g = this.compiled.graph;
    for (const from of this.compiled.steps.keys()) {
      const seen = new Set([from]);
      const todo = [from];
      const events = new Set<string>();
      while (todo.length) {
        const id = todo.pop()!;
        const cs = this.compiled.steps.get(id);
        if (cs?.type === 'wait') events.add((cs.step as { event: string }).event);
        for (const t of [...(g.outgoing.get(id) ?? []), ...(g.exceptional.get(id) ?? [])]) {
          if (!seen.has(t.to)) {
            seen.add(t.to);
            todo.push(t.to);
          }
        }
      }
      this.eventsAhead.set(from, events);
    }
  }

  /**
   * Events a wait could still consume from the buffer: those of wait steps reachable from a live
   * token. A signal no wait can consume any more changes nothing but the buffer, so it is not sent.
   */
  private consumable(s: InstanceState): Set<string> {
    const out = new Set<string>();
    const from = [...Object.values(s.active).map((r) => r.stepId), ...s.parked.map((p) => p.stepId), ...(s.suspended ?? []).map((p) => p.stepId)];
    for (const id of from) for (const e of this.eventsAhead.get(id) ?? []) out.add(e);
    return out;
  }

  /** The input class a state (or a start command) belongs to: its input is the class's representative. */
  classOf(s: { input?: unknown }): number | undefined {
    return this.classIndex.get(JSON.stringify(s.input ?? {}));
  }

  /** The input class of a state in words ("input.total >= 1000"), when classes are used. */
  classLabel(s: VState): string | undefined {
    if (!s || !this.classes.length) return undefined;
    const i = this.classOf(s);
    return i === undefined ? undefined : this.classes[i].label;
  }

  private childSummary(stepId: string): ChildSummary {
    const wf = (this.compiled.steps.get(stepId)?.step as { workflow?: string } | undefined)?.workflow;
    return (wf !== undefined && this.children.get(wf)) || { completes: true, fails: true };
  }

  async successors(s: VState): Promise<Successor<VState, Move>[]> {
    if (s === null) {
      const out: Successor<VState, Move>[] = [];
      for (const input of this.classes.length ? this.classes.map((c) => c.input) : [{}]) {
        const start: Command = { type: 'StartWorkflow', instanceId: INSTANCE, input: structuredClone(input) };
        for (const r of await this.run(null, start)) out.push({ state: r.state, label: this.describe(null, start, r) });
      }
      return out;
    }
    const units = this.commandsOf(s);
    const done = new Map<string, Successor<VState, Move>[]>();
    const expand = async (unit: string) => {
      let list = done.get(unit);
      if (!list) {
        list = [];
        for (const cmd of units.get(unit)!) {
          for (const r of await this.run(s, cmd)) list.push({ state: r.state, label: this.describe(s, cmd, r), local: r.local } as Successor<VState, Move> & { local: Locality });
        }
        done.set(unit, list);
      }
      return list as Array<Successor<VState, Move> & { local?: Locality }>;
    };
    const canReduce = this.reduce && units.size > 1 && (!units.has('global') || onlyTimeout(units));
    if (canReduce) {
      for (const unit of units.keys()) {
        if (unit === 'global' || unit.startsWith('event:') || unit.startsWith('signal:')) continue;
        const run = s.active[unit];
        if (!run || this.racy.has(run.stepId)) continue;
        const list = await expand(unit);
        // Every move of this run is local or ends the instance outright, and one is local.
        if (list.some((x) => x.local === 'local') && list.every((x) => x.local !== 'other')) return strip(list);
      }
    }
    const all: Successor<VState, Move>[] = [];
    for (const unit of units.keys()) all.push(...(await expand(unit)));
    return strip(all);
  }

  /** Executes `cmd` on a copy of `s` once per combination of condition answers. */
  async run(s: VState, cmd: Command): Promise<Array<{ state: InstanceState; events: EngineEvent[]; local: Locality }>> {
    const results: Array<{ state: InstanceState; events: EngineEvent[]; local: Locality }> = [];
    const scripts: boolean[][] = [[]];
    const seen = new Set<string>();
    while (scripts.length) {
      const script = scripts.pop()!;
      const cls = this.classes.length ? this.classes[this.classOf(s ?? (cmd as { input?: unknown })) ?? -1] : undefined;
      const oracle = new ScriptOracle(this.compiled, script, cls?.truth, this.earlySignals);
      const copy = s ? structuredClone(s) : null;
      this.commands++;
      try {
        const r = await execute(this.compiled, copy, cmd, { now: VERIFY_T0, random: 0.5, oracle });
        const sig = this.key(r.state) + '#' + r.events.map((e) => e.type === 'StepCompleted' ? `${e.stepId}>${e.taken.join('+')}` : '').join('');
        // The early-signal bound holds for every way into the buffer (also a signal `match` rejected).
        const within = !this.earlySignals || !overBuffered(r.state, this.maxEarlySignals);
        if (within && !seen.has(sig)) {
          seen.add(sig);
          results.push({ state: r.state, events: r.events, local: locality(r.events, this.compiled) });
        }
      } catch (err) {
        if (!(err instanceof CommandRejected)) throw err;
      }
      for (const p of oracle.open) scripts.push([...oracle.answers.slice(0, p), !oracle.answers[p]]);
    }
    return results;
  }

  describe(s: VState, cmd: Command, r: { state: InstanceState; events: EngineEvent[] }): Move {
    const run = (runId?: string) => (runId && s?.active[runId]) || undefined;
    let text = '';
    let stepId: string | undefined;
    switch (cmd.type) {
      case 'StartWorkflow': {
        const i = this.classes.length ? this.classOf(cmd) : undefined;
        text = i === undefined ? 'the instance starts' : `the instance starts with ${this.classes[i].label}`;
        break;
      }
      case 'CompleteActivity':
      case 'FailActivity': {
        const task = s?.tasks[cmd.taskId];
        const owner = task?.purpose === 'compensate' ? s?.compensable.find((c) => c.runId === task.runId)?.stepId : run(task?.runId)?.stepId;
        stepId = owner;
        const what = task?.purpose === 'compensate' ? `the compensation of \`${owner}\`` : task?.purpose === 'item' ? `an item of \`${owner}\`` : `\`${owner}\``;
        text = cmd.type === 'CompleteActivity' ? `${what} completes` : `${what} fails (${cmd.error.code})`;
        break;
      }
      case 'FireTimer': {
        const t = s?.timers[cmd.timerId];
        stepId = run(t?.runId)?.stepId;
        text = t?.kind === 'timer' ? `timer \`${stepId}\` fires` : t?.kind === 'wait-timeout' ? `\`${stepId}\` times out`
          : t?.kind === 'human-deadline' ? `the deadline of \`${stepId}\` passes` : t?.kind === 'workflow-timeout' ? 'the workflow times out' : `timer ${cmd.timerId} fires`;
        break;
      }
      case 'DeliverEvent':
      case 'Signal': {
        const waiting = Object.values(s?.active ?? {}).filter((x) => x.status === 'waiting_event' && x.wait?.event === cmd.name).map((x) => x.stepId);
        stepId = waiting[0];
        text = r.events.some((e) => e.type === 'SignalBuffered')
          ? `signal "${cmd.name}" is sent${waiting.length ? ` (not matching ${waiting.map((w) => `\`${w}\``).join(', ')})` : ' before anything waits for it'} and is buffered`
          : `event "${cmd.name}" arrives at ${waiting.map((w) => `\`${w}\``).join(', ')}`;
        break;
      }
      case 'CompleteHumanTask':
      case 'RejectHumanTask': {
        const h = Object.values(s?.active ?? {}).find((x) => x.human?.taskId === cmd.taskId || x.manualTaskId === cmd.taskId);
        stepId = h?.stepId;
        const action = cmd.type === 'RejectHumanTask' ? 'reject' : cmd.action;
        text = h?.manualTaskId === cmd.taskId ? `an operator chooses ${action} for failed \`${stepId}\`` : `\`${stepId}\` is answered: ${action}`;
        break;
      }
      case 'ChildFinished': {
        const owner = Object.values(s?.active ?? {}).find((x) => x.childId === cmd.childId || cmd.childId.startsWith(`${s?.id}/${x.id}[`));
        stepId = owner?.stepId;
        text = `the child of \`${stepId}\` ${cmd.status === 'completed' ? 'completes' : 'fails'}`;
        break;
      }
      case 'Cancel': text = 'the instance is cancelled'; break;
      default: text = cmd.type;
    }
    const choices: string[] = [];
    const started: string[] = [];
    const completed: string[] = [];
    const endsWithTokens: string[] = [];
    let failure: Move['failure'];
    for (const e of r.events) {
      if (e.type === 'StepStarted') started.push(e.stepId);
      else if (e.type === 'StepCompleted') {
        completed.push(e.stepId);
        const cs = this.compiled.steps.get(e.stepId);
        if (!cs) continue;
        const choiceful = cs.type === 'decision' || cs.type === 'inclusive' || cs.type === 'loop' || cs.outgoing.some((t) => t.when !== undefined);
        if (choiceful && e.taken.length) {
          const to = e.taken.map((id) => `\`${this.compiled.graph.transitions.get(id)?.to ?? id}\``).join(' and ');
          choices.push(`${cs.type === 'loop' ? 'loop' : cs.type} \`${e.stepId}\` → ${to}`);
        }
        if (cs.type === 'end' && !(cs.step as { terminate?: boolean }).terminate && Object.keys(r.state.active).length > 0) endsWithTokens.push(e.stepId);
      } else if (e.type === 'StepFailed' && e.handling === 'transition') {
        choices.push(`\`${e.stepId}\` failed (${e.error.code}) → \`${this.compiled.graph.transitions.get(e.taken[0])?.to}\``);
      } else if (e.type === 'WorkflowFailed') failure = { code: e.error.code, message: e.error.message };
    }
    return { text, ...(stepId && { stepId }), choices, started, completed, endsWithTokens, ...(failure && { failure }) };
  }
}

type DistributiveOmit<T, K extends PropertyKey> = T extends unknown ? Omit<T, K> : never;

function overBuffered(s: InstanceState, max: number): boolean {
  if (s.signals.length <= max) return false;
  const count = new Map<string, number>();
  for (const x of s.signals) {
    const n = (count.get(x.name) ?? 0) + 1;
    if (n > max) return true;
    count.set(x.name, n);
  }
  return false;
}

function onlyTimeout(units: Map<string, Command[]>): boolean {
  const g = units.get('global');
  return !!g && g.every((c) => c.type === 'FireTimer' && c.timerId === 'workflow/timeout');
}

function strip(list: Array<Successor<VState, Move> & { local?: Locality }>): Successor<VState, Move>[] {
  return list.map((x) => ({ state: x.state, label: x.label }));
}

function completedSteps(s: InstanceState): string {
  return Object.entries(s.steps).filter(([, v]) => v.status === 'completed').map(([k]) => k).sort().join(',');
}

/**
 * `local`: the command moved only its own run's token (into tasks, waits, all-joins, ends);
 * `kill`: it ended the instance or started its compensation, whatever else was running;
 * `other`: it touched other runs (cancelled them, an any/n join, a parked token, a signal).
 */
export type Locality = 'local' | 'kill' | 'other';

const KILL_EVENTS = new Set<string>(['WorkflowCompleted', 'WorkflowFailed', 'WorkflowCancelled', 'WorkflowTerminated', 'WorkflowCompensated', 'CompensationStarted']);
const OTHER_EVENTS = new Set<string>(['StepCancelled', 'ChildCancelRequested', 'TokenParked', 'SignalBuffered', 'SignalConsumed', 'CancelRequested']);

function locality(events: EngineEvent[], def: CompiledDefinition): Locality {
  let other = false;
  for (const e of events) {
    if (KILL_EVENTS.has(e.type)) return 'kill';
    if (OTHER_EVENTS.has(e.type)) other = true;
    if (e.type === 'JoinArrived') {
      const join = def.steps.get(e.runId.slice(0, e.runId.lastIndexOf('#')));
      if (join && ((join.step as { mode?: string }).mode ?? 'all') !== 'all') other = true;
    }
  }
  return other ? 'other' : 'local';
}

/**
 * Answers conditions from a script of booleans; past its end it answers `false` and records the
 * position as open (the other answer is still to be tried). A decision or inclusive split without
 * a default must take some branch (the validator demands exhaustive conditions), so its last
 * condition is forced true when all before it were false.
 */
class ScriptOracle implements ChoiceOracle {
  readonly answers: boolean[] = [];
  readonly open: number[] = [];
  private routing: { stepId: string; anyTrue: boolean } | undefined;

  constructor(
    private readonly def: CompiledDefinition,
    private readonly script: boolean[],
    /** Values of the conditions decided by the input class (absent: all are free choices). */
    private readonly decided?: ReadonlyMap<string, boolean | 'error'>,
    /** Wait `match` is a free choice too (signals may arrive early and not match). */
    private readonly freeMatch = false,
  ) {}

  condition(site: ChoiceSite): boolean | undefined {
    const known = this.decided?.get(site.expression);
    if (known === 'error') return undefined; // the core evaluates it, and fails the step as it would
    if (site.kind === 'match' && known === undefined && !this.freeMatch) return true;
    let forced: boolean | undefined;
    if (site.kind === 'transition') {
      const cs = this.def.steps.get(site.stepId)!;
      const conditional = cs.outgoing.filter((t) => !t.default);
      const asked = conditional.filter((t) => t.when !== undefined);
      if (asked[0]?.id === site.transitionId || this.routing?.stepId !== site.stepId) this.routing = { stepId: site.stepId, anyTrue: false };
      const mustChoose = (cs.type === 'decision' || cs.type === 'inclusive')
        && !cs.outgoing.some((t) => t.default) && conditional.every((t) => t.when !== undefined);
      if (mustChoose && !this.routing.anyTrue && asked[asked.length - 1]?.id === site.transitionId) forced = true;
    }
    let answer: boolean;
    if (known !== undefined) answer = known;
    else if (forced !== undefined) answer = forced;
    else {
      const p = this.answers.length;
      if (p < this.script.length) answer = this.script[p];
      else {
        answer = false;
        this.open.push(p);
      }
      this.answers.push(answer);
    }
    if (site.kind === 'transition' && answer && this.routing) this.routing.anyTrue = true;
    return answer;
  }

  items(): unknown[] {
    return [{}];
  }
}

/** The definition with data left out: schemas are not checked, since data is not modelled. */
export function abstractDefinition(def: Definition): Definition {
  const copy = { ...def } as Definition & { input?: unknown; output?: unknown; result?: unknown };
  delete copy.input;
  delete copy.output;
  delete copy.result;
  copy.steps = def.steps.map((s) => {
    if (s.type === 'human' && s.form !== undefined) {
      const h = { ...s } as Step & { form?: unknown };
      delete h.form;
      return h as Step;
    }
    if (s.type === 'end' && s.output !== undefined) {
      const e = { ...s } as Step & { output?: unknown };
      delete e.output;
      return e as Step;
    }
    return s;
  });
  return copy;
}
