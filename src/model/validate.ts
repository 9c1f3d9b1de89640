/**
 * Semantic validation of a normalised definition (SPEC C1). The zod schema checks shape; this
 * checks everything that needs the whole definition: ids, endpoints, reachability, splits and
 * joins, loops, expressions, JSON Schemas, resources, references. Every rule has a stable id
 * (listed in `RULES` and in docs/definitions.md); issues carry a path into the definition so the
 * loader can attach a line number.
 */
import { Ajv2020 } from 'ajv/dist/2020.js';
import { Ajv as AjvDraft7 } from 'ajv';
import addFormats from 'ajv-formats';
import { CronExpressionParser } from 'cron-parser';
import jsonata from 'jsonata';
import type { Definition, Step, Transition } from './schema.js';
import { DURATION_PATTERN } from './schema.js';
import { checkExpression, expressionsInMapping, unwrapExpression } from './expressions.js';
import { analyseGraph, type GraphInfo, type ResolvedTransition } from './graph.js';
import type { DefinitionIssue, IssueSeverity } from './errors.js';
import { isNormalised, normaliseDefinition } from './normalise.js';

export const BUILTIN_ACTIVITIES: ReadonlySet<string> = new Set(['noop', 'log', 'http', 'transform', 'script']);

export interface ValidateOptions {
  /** Known activities (deploy time). Built-ins always exist. Not checked when absent. */
  activities?: Set<string> | ((name: string) => boolean);
  /** Known workflow ids for subworkflows and foreach (deploy time). Not checked when absent. */
  workflows?: Set<string> | ((id: string) => boolean);
  /** A graph already computed for this definition. */
  graph?: GraphInfo;
}

/** Every rule id the loader and the validator can report, with its default severity. */
export const RULES: Readonly<Record<string, { severity: IssueSeverity; summary: string }>> = {
  // loader (load.ts)
  'too-large': { severity: 'error', summary: 'definition text is over the size limit' },
  syntax: { severity: 'error', summary: 'malformed YAML or JSON' },
  file: { severity: 'error', summary: 'the definition file cannot be read' },
  'empty-definition': { severity: 'error', summary: 'the document is empty' },
  'unknown-step-type': { severity: 'error', summary: 'a step has an unknown or missing `type`' },
  'unknown-field': { severity: 'error', summary: 'a field that the format does not define (often a typo)' },
  'missing-field': { severity: 'error', summary: 'a required field is absent' },
  'invalid-type': { severity: 'error', summary: 'a field has the wrong type' },
  'invalid-value': { severity: 'error', summary: 'a field has a value outside what it accepts' },
  // validator (this file)
  'duplicate-step-id': { severity: 'error', summary: 'two steps share an id' },
  'duplicate-transition-id': { severity: 'error', summary: 'two transitions share an id' },
  'unknown-step': { severity: 'error', summary: 'a transition starts or ends at a step that does not exist' },
  'missing-start': { severity: 'error', summary: 'no `start` step' },
  'multiple-starts': { severity: 'error', summary: 'more than one `start` step' },
  'start-has-incoming': { severity: 'error', summary: 'a transition leads into the start step' },
  'end-has-outgoing': { severity: 'error', summary: 'a transition leaves an end step' },
  'unreachable-step': { severity: 'error', summary: 'a step cannot be reached from start' },
  'dead-end-step': { severity: 'error', summary: 'a non-end step has no normal outgoing transition' },
  'no-path-to-end': { severity: 'error', summary: 'no end step can be reached from a step' },
  'missing-default': { severity: 'error', summary: 'a decision/inclusive has neither a default nor provably exhaustive conditions (warning on other steps)' },
  'multiple-defaults': { severity: 'error', summary: 'more than one `default` transition leaves a step' },
  'invalid-default': { severity: 'error', summary: '`default` combined with `when` or `on`' },
  'shadowed-transition': { severity: 'warning', summary: 'a transition can never be taken because an unconditional one is evaluated first' },
  'ambiguous-transitions': { severity: 'error', summary: 'a non-split step has more than one unconditional outgoing transition' },
  'parallel-branches': { severity: 'error', summary: 'a parallel step needs at least two branches (inclusive: warning)' },
  'parallel-condition': { severity: 'error', summary: '`when`/`default` on a transition leaving a parallel step' },
  'unmatched-join': { severity: 'error', summary: 'a join that closes no split' },
  'join-claimed-twice': { severity: 'error', summary: 'two splits meet at the same join' },
  'split-paired-twice': { severity: 'error', summary: 'two joins name the same split' },
  'invalid-join-split': { severity: 'error', summary: 'a join\'s `split` is not a parallel/inclusive step' },
  'split-without-join': { severity: 'warning', summary: 'the branches of a split meet at a step that is not a join' },
  'join-n': { severity: 'error', summary: '`mode: n` without `n`, or `n` larger than the number of branches' },
  'join-single-incoming': { severity: 'warning', summary: 'a join with fewer than two incoming transitions' },
  'cycle-without-loop': { severity: 'error', summary: 'a cycle that does not go through a loop step' },
  'loop-body': { severity: 'error', summary: 'a loop\'s `body` is not the target of one of its transitions' },
  'loop-exit': { severity: 'error', summary: 'a loop needs exactly one outgoing transition besides the body' },
  'loop-not-closed': { severity: 'warning', summary: 'a loop body never leads back to the loop step' },
  'foreach-target': { severity: 'error', summary: 'a foreach needs exactly one of `activity` and `workflow`' },
  'timer-spec': { severity: 'error', summary: 'a timer needs exactly one of `delay`, `at`, `cron`' },
  'invalid-cron': { severity: 'error', summary: 'a cron expression does not parse' },
  'invalid-time': { severity: 'error', summary: 'an absolute time is not an ISO 8601 date-time' },
  'invalid-timezone': { severity: 'error', summary: 'an unknown IANA time zone' },
  'invalid-expression': { severity: 'error', summary: 'an expression does not parse' },
  'invalid-schema': { severity: 'error', summary: 'a JSON Schema does not compile' },
  'variable-default-type': { severity: 'error', summary: 'a variable default does not match its type' },
  'undeclared-variable': { severity: 'warning', summary: '`set` assigns a variable that `variables` does not declare' },
  'error-codes-need-on-error': { severity: 'error', summary: '`error:` codes on a transition that is not `on: error`' },
  'timeout-transition-unused': { severity: 'warning', summary: '`on: timeout` from a step that has no timeout' },
  'human-timeout': { severity: 'error', summary: 'a human `onTimeout` that cannot work' },
  'invalid-resource-capacity': { severity: 'error', summary: '`metadata.resource.<r>` is not a positive integer' },
  'undeclared-resource': { severity: 'error', summary: 'a step `uses` a resource the workflow does not declare' },
  'resource-over-capacity': { severity: 'error', summary: 'a step uses more units than the resource has' },
  'unknown-activity': { severity: 'error', summary: 'an activity that is not registered (deploy time)' },
  'unknown-workflow': { severity: 'error', summary: 'a workflow that is not deployed (deploy time)' },
  'recursive-subworkflow': { severity: 'warning', summary: 'a workflow starts itself as a child' },
};

type Path = (string | number)[];

export function validateDefinition(input: Definition, opts: ValidateOptions = {}): DefinitionIssue[] {
  const def = isNormalised(input) ? input : normaliseDefinition(input);
  const v = new Validator(def, opts.graph ?? analyseGraph(def), opts);
  v.run();
  return v.issues;
}

class Validator {
  readonly issues: DefinitionIssue[] = [];
  private readonly stepIndex = new Map<string, number>();
  private readonly transitions: Transition[];

  constructor(
    private readonly def: Definition,
    private readonly g: GraphInfo,
    private readonly opts: ValidateOptions,
  ) {
    def.steps.forEach((s, i) => { if (!this.stepIndex.has(s.id)) this.stepIndex.set(s.id, i); });
    this.transitions = def.transitions ?? [];
  }

  run(): void {
    this.ids();
    this.endpoints();
    this.startAndEnd();
    this.reachability();
    for (const step of this.g.steps.values()) this.outgoing(step);
    for (const p of this.g.problems) this.add(p.rule, p.message, p.path, p.severity ?? 'error');
    for (const step of this.g.steps.values()) this.stepRules(step);
    this.transitionRules();
    this.expressions();
    this.schemas();
    this.variables();
    this.resources();
    this.references();
  }

  private add(rule: string, message: string, path: Path, severity: IssueSeverity = 'error'): void {
    this.issues.push({ rule, message, path, severity });
  }

  private stepPath(id: string, ...rest: Path): Path {
    return ['steps', this.stepIndex.get(id)!, ...rest];
  }

  private tPath(t: ResolvedTransition | { index: number }, ...rest: Path): Path {
    return ['transitions', t.index, ...rest];
  }

  private ids(): void {
    const seen = new Map<string, number>();
    this.def.steps.forEach((s, i) => {
      const first = seen.get(s.id);
      if (first === undefined) seen.set(s.id, i);
      else this.add('duplicate-step-id', `duplicate step id "${s.id}" (first used by steps[${first}])`, ['steps', i, 'id']);
    });
    const seenT = new Map<string, number>();
    this.transitions.forEach((t, i) => {
      if (t.id === undefined) return;
      const first = seenT.get(t.id);
      if (first === undefined) seenT.set(t.id, i);
      else this.add('duplicate-transition-id', `duplicate transition id "${t.id}" (first used by transitions[${first}])`, ['transitions', i, 'id']);
    });
  }

  private endpoints(): void {
    const known = [...this.g.steps.keys()];
    this.transitions.forEach((t, i) => {
      for (const end of ['from', 'to'] as const) {
        if (this.g.steps.has(t[end])) continue;
        const hint = closest(t[end], known);
        this.add(
          'unknown-step',
          `transition "${t.id ?? `${t.from}->${t.to}`}" ${end === 'from' ? 'starts at' : 'leads to'} "${t[end]}", which is not a step${hint ? ` (did you mean "${hint}"?)` : ''}`,
          ['transitions', i, end],
        );
      }
    });
  }

  private startAndEnd(): void {
    const starts = this.def.steps.map((s, i) => ({ s, i })).filter(({ s }) => s.type === 'start');
    if (starts.length === 0) this.add('missing-start', 'the workflow has no start step (a step with type: start)', ['steps']);
    for (const { s, i } of starts.slice(1)) {
      this.add('multiple-starts', `step "${s.id}" is a second start step (the first is "${starts[0].s.id}"); a workflow has exactly one`, ['steps', i, 'type']);
    }
    for (const step of this.g.steps.values()) {
      if (step.type === 'start') {
        for (const t of this.g.incoming.get(step.id)!) {
          this.add('start-has-incoming', `transition "${t.id}" leads into the start step "${step.id}"; nothing may lead back to start`, this.tPath(t, 'to'));
        }
      } else if (step.type === 'end') {
        for (const t of [...this.g.outgoing.get(step.id)!, ...this.g.exceptional.get(step.id)!].sort((a, b) => a.index - b.index)) {
          this.add('end-has-outgoing', `transition "${t.id}" leaves end step "${step.id}"; an end step has no outgoing transitions`, this.tPath(t, 'from'));
        }
      }
    }
  }

  private successors = (id: string): string[] =>
    [...this.g.outgoing.get(id)!, ...this.g.exceptional.get(id)!].map((t) => t.to);

  private reachability(): void {
    const starts = [...this.g.steps.values()].filter((s) => s.type === 'start').map((s) => s.id);
    const reachable = starts.length ? closure(starts, this.successors) : undefined;
    const deadEnds = new Set<string>();
    for (const step of this.g.steps.values()) {
      if (step.type === 'end' || this.g.outgoing.get(step.id)!.length > 0) continue;
      deadEnds.add(step.id);
      const exceptional = this.g.exceptional.get(step.id)!;
      this.add(
        'dead-end-step',
        exceptional.length
          ? `step "${step.id}" only has on: ${[...new Set(exceptional.map((t) => t.on))].join('/')} transitions; add a normal transition for when it completes`
          : `step "${step.id}" has no outgoing transition; add a transition (or "next:") to the step that follows, or to an end step`,
        this.stepPath(step.id),
      );
    }
    const ends = [...this.g.steps.values()].filter((s) => s.type === 'end').map((s) => s.id);
    const canFinish = closure([...ends, ...deadEnds], (id) => this.g.incoming.get(id)!.map((t) => t.from));
    for (const step of this.g.steps.values()) {
      if (reachable && !reachable.has(step.id)) {
        this.add('unreachable-step', `step "${step.id}" cannot be reached from the start step`, this.stepPath(step.id));
      } else if (!canFinish.has(step.id)) {
        this.add('no-path-to-end', `no end step can be reached from step "${step.id}"; every path from it loops forever`, this.stepPath(step.id));
      }
    }
  }

  /** Rules about the normal transitions leaving one step. */
  private outgoing(step: Step): void {
    const out = this.g.outgoing.get(step.id)!;
    const defaults = out.filter((t) => t.default);
    for (const t of defaults.slice(1)) {
      this.add('multiple-defaults', `step "${step.id}" has more than one default transition ("${defaults[0].id}" and "${t.id}")`, this.tPath(t, 'default'));
    }
    const unconditional = out.filter((t) => t.when === undefined && !t.default);
    const conditional = out.filter((t) => t.when !== undefined && !t.default);

    if (step.type === 'parallel') {
      for (const t of out) {
        if (t.when !== undefined || t.default) {
          this.add('parallel-condition', `transition "${t.id}" leaves parallel step "${step.id}" with a ${t.when !== undefined ? 'condition' : 'default flag'}; every branch of a parallel step always runs (use an inclusive step for conditional branches)`, this.tPath(t, t.when !== undefined ? 'when' : 'default'));
        }
      }
      if (out.length === 1) this.add('parallel-branches', `parallel step "${step.id}" has one branch; it needs at least two`, this.stepPath(step.id));
      return;
    }
    if (step.type === 'inclusive') {
      if (out.length === 1) this.add('parallel-branches', `inclusive step "${step.id}" has one branch; it is not a choice`, this.stepPath(step.id), 'warning');
      if (out.length > 0 && defaults.length === 0 && unconditional.length === 0 && !provablyExhaustive(conditional.map((t) => t.when!))) {
        this.add('missing-default', `inclusive step "${step.id}" has no default transition and its conditions are not provably exhaustive; when none holds the instance would be stuck: add "default: true" to one transition`, this.stepPath(step.id));
      }
      return;
    }
    if (step.type === 'loop') return; // body and exit are checked by the loop rules

    if (step.type === 'decision') {
      if (out.length > 0 && defaults.length === 0 && unconditional.length === 0 && !provablyExhaustive(conditional.map((t) => t.when!))) {
        this.add('missing-default', `decision "${step.id}" has no default transition and its conditions are not provably exhaustive: add "default: true" to one transition (or make the last one unconditional)`, this.stepPath(step.id));
      }
    } else {
      if (unconditional.length > 1) {
        this.add(
          'ambiguous-transitions',
          `step "${step.id}" has ${unconditional.length} unconditional transitions (to ${unconditional.map((t) => `"${t.to}"`).join(', ')}); a ${step.type} step takes one: use a "parallel" step to run them all, or a "decision" to choose`,
          this.tPath(unconditional[1]),
        );
      } else if (conditional.length > 0 && defaults.length === 0 && unconditional.length === 0 && !provablyExhaustive(conditional.map((t) => t.when!))) {
        this.add('missing-default', `every transition leaving step "${step.id}" has a condition and none is the default; the instance fails if none holds`, this.stepPath(step.id), 'warning');
      }
    }
    // Evaluation order: by priority, then declaration; the default is taken last.
    const ordered = out.filter((t) => !t.default);
    const firstAlways = ordered.findIndex((t) => t.when === undefined);
    if (firstAlways >= 0 && (step.type === 'decision' || unconditional.length === 1)) {
      for (const t of [...ordered.slice(firstAlways + 1), ...defaults]) {
        this.add('shadowed-transition', `transition "${t.id}" is never taken: the unconditional transition "${ordered[firstAlways].id}" is evaluated before it`, this.tPath(t), 'warning');
      }
    }
  }

  private stepRules(step: Step): void {
    const path = (...rest: Path) => this.stepPath(step.id, ...rest);
    switch (step.type) {
      case 'join': {
        const incoming = this.g.incoming.get(step.id)!.filter((t) => !t.on);
        const split = this.g.splitOfJoin.get(step.id);
        const branches = split !== undefined ? this.g.outgoing.get(split)!.length : incoming.length;
        if (step.mode === 'n') {
          if (step.n === undefined) this.add('join-n', `join "${step.id}" has mode n but no "n" (how many branches must finish)`, path('mode'));
          else if (step.n > branches) this.add('join-n', `join "${step.id}" waits for ${step.n} branches but only ${branches} lead into it`, path('n'));
        } else if (step.n !== undefined) {
          this.add('join-n', `join "${step.id}" sets n: ${step.n} but its mode is ${step.mode ?? 'all'}; n is only read with mode: n`, path('n'), 'warning');
        }
        if (incoming.length < 2 && split === undefined) {
          this.add('join-single-incoming', `join "${step.id}" has ${incoming.length} incoming transition${incoming.length === 1 ? '' : 's'}; a join merges at least two branches`, path(), 'warning');
        }
        break;
      }
      case 'loop': {
        const out = this.g.outgoing.get(step.id)!;
        if (step.body === step.id) {
          this.add('loop-body', `loop "${step.id}" names itself as its body`, path('body'));
        } else if (!this.g.steps.has(step.body)) {
          const hint = closest(step.body, [...this.g.steps.keys()]);
          this.add('loop-body', `the body of loop "${step.id}" is "${step.body}", which is not a step${hint ? ` (did you mean "${hint}"?)` : ''}`, path('body'));
        } else if (!out.some((t) => t.to === step.body)) {
          this.add('loop-body', `loop "${step.id}" has no transition to its body "${step.body}"; add one (e.g. next: [${step.body}, <exit step>])`, path('body'));
        }
        const exits = out.filter((t) => t.to !== step.body);
        if (exits.length !== 1) {
          this.add('loop-exit', exits.length === 0
            ? `loop "${step.id}" has no exit: it needs one outgoing transition besides the one to its body "${step.body}"`
            : `loop "${step.id}" has ${exits.length} exits (to ${exits.map((t) => `"${t.to}"`).join(', ')}); it needs exactly one outgoing transition besides its body`, exits.length ? this.tPath(exits[1]) : path());
        }
        if (this.g.steps.has(step.body) && step.body !== step.id && ![...this.g.incoming.get(step.id)!].some((t) => this.g.backEdges.has(t.id))) {
          this.add('loop-not-closed', `the body of loop "${step.id}" never leads back to it, so it runs at most once; add a transition from the last body step to "${step.id}"`, path('body'), 'warning');
        }
        break;
      }
      case 'foreach': {
        if ((step.activity === undefined) === (step.workflow === undefined)) {
          this.add('foreach-target', step.activity === undefined
            ? `foreach "${step.id}" needs "activity" (run per item) or "workflow" (start per item)`
            : `foreach "${step.id}" has both "activity" and "workflow"; choose one`, path());
        }
        break;
      }
      case 'timer': {
        const given = (['delay', 'at', 'cron'] as const).filter((k) => step[k] !== undefined);
        if (given.length !== 1) {
          this.add('timer-spec', given.length === 0
            ? `timer "${step.id}" needs one of "delay", "at" or "cron"`
            : `timer "${step.id}" has ${given.map((k) => `"${k}"`).join(' and ')}; give exactly one`, given.length ? path(given[1]) : path());
        }
        if (step.cron !== undefined) {
          try {
            CronExpressionParser.parse(step.cron, step.timezone ? { tz: step.timezone } : {});
          } catch (err) {
            this.add('invalid-cron', `timer "${step.id}" has an invalid cron expression "${step.cron}": ${(err as Error).message}`, path('cron'));
          }
        }
        if (typeof step.delay === 'string' && !DURATION_PATTERN.test(step.delay) && !isTemplate(step.delay)) {
          this.add('timer-spec', `timer "${step.id}" delay "${step.delay}" is neither a duration (such as "30s", "5m", "1h30m") nor a \${…} expression`, path('delay'));
        }
        if (step.at !== undefined && !isTemplate(step.at) && !isIsoDateTime(step.at)) {
          this.add('invalid-time', `timer "${step.id}" at "${step.at}" is not an ISO 8601 date-time (e.g. 2030-01-31T09:00:00Z) nor a \${…} expression`, path('at'));
        }
        if (step.timezone !== undefined && !isTimeZone(step.timezone)) {
          this.add('invalid-timezone', `timer "${step.id}" has an unknown time zone "${step.timezone}" (expected an IANA name such as Europe/Paris)`, path('timezone'));
        }
        break;
      }
      case 'human': {
        const onTimeout = step.onTimeout;
        if (onTimeout) {
          if (step.deadline === undefined) {
            this.add('human-timeout', `human step "${step.id}" has onTimeout but no deadline, so it never times out`, path('onTimeout'), 'warning');
          }
          if (onTimeout.action === 'transition' && !this.g.exceptional.get(step.id)!.some((t) => t.on === 'timeout')) {
            this.add('human-timeout', `human step "${step.id}" has onTimeout action "transition" but no "on: timeout" transition to go to`, path('onTimeout', 'action'));
          }
          if (onTimeout.action === 'escalate' && !onTimeout.groups?.length) {
            this.add('human-timeout', `human step "${step.id}" escalates on timeout but names no groups to escalate to`, path('onTimeout'));
          }
        }
        break;
      }
      case 'subworkflow':
        if (step.workflow === this.def.id) {
          this.add('recursive-subworkflow', `subworkflow step "${step.id}" starts "${step.workflow}", this workflow itself`, path('workflow'), 'warning');
        }
        break;
      default:
        break;
    }
  }

  private transitionRules(): void {
    this.transitions.forEach((t, index) => {
      const ref = { index };
      const name = t.id ?? `${t.from}->${t.to}`;
      if (t.default && t.when !== undefined) {
        this.add('invalid-default', `transition "${name}" is the default and also has a condition; a default is taken when nothing else matches, so drop "when"`, this.tPath(ref, 'default'));
      }
      if (t.default && t.on !== undefined) {
        this.add('invalid-default', `transition "${name}" is on: ${t.on} and also the default; "default" only applies to normal transitions`, this.tPath(ref, 'default'));
      }
      if (t.error !== undefined && t.on !== 'error') {
        this.add('error-codes-need-on-error', `transition "${name}" lists error codes but is not an "on: error" transition`, this.tPath(ref, 'error'));
      }
      if (t.on === 'timeout') {
        const from = this.g.steps.get(t.from);
        if (from && !canTimeOut(from)) {
          this.add('timeout-transition-unused', `transition "${name}" is on: timeout but step "${from.id}" has no timeout (or deadline) set`, this.tPath(ref, 'on'), 'warning');
        }
      }
    });
  }

  private expressions(): void {
    const expr = (source: unknown, path: Path) => {
      if (typeof source !== 'string') return;
      const error = checkExpression(source);
      if (error) this.add('invalid-expression', error, path);
    };
    const mapping = (value: unknown, path: Path) => this.mapping(value, path);

    this.transitions.forEach((t, i) => expr(t.when, ['transitions', i, 'when']));
    this.def.steps.forEach((s, i) => {
      const p = (...rest: Path): Path => ['steps', i, ...rest];
      for (const [name, source] of Object.entries(s.set ?? {})) expr(source, p('set', name));
      switch (s.type) {
        case 'end': mapping(s.output, p('output')); break;
        case 'task':
          mapping(s.input, p('input'));
          mapping(s.output, p('output'));
          if (s.compensate) mapping(s.compensate.input, p('compensate', 'input'));
          break;
        case 'wait':
          expr(s.correlation, p('correlation'));
          expr(s.match, p('match'));
          mapping(s.output, p('output'));
          break;
        case 'timer':
          if (typeof s.delay === 'string' && isTemplate(s.delay)) mapping(s.delay, p('delay'));
          if (s.at !== undefined && isTemplate(s.at)) mapping(s.at, p('at'));
          break;
        case 'human': mapping(s.input, p('input')); break;
        case 'subworkflow':
          mapping(s.input, p('input'));
          mapping(s.output, p('output'));
          break;
        case 'loop': expr(s.while, p('while')); break;
        case 'foreach':
          expr(s.items, p('items'));
          mapping(s.input, p('input'));
          mapping(s.output, p('output'));
          break;
        default: break;
      }
    });
    (this.def.eventHandlers ?? []).forEach((h, i) => {
      expr(h.correlation, ['eventHandlers', i, 'correlation']);
      expr(h.when, ['eventHandlers', i, 'when']);
      mapping(h.input, ['eventHandlers', i, 'input']);
    });
    mapping(this.def.result, ['result']);
  }

  /** Checks every `${…}` inside a mapping, reporting at the exact string that holds it. */
  private mapping(value: unknown, path: Path): void {
    if (typeof value === 'string') {
      if (!value.includes('${')) return;
      let found: string[];
      try {
        found = expressionsInMapping(value);
      } catch (err) {
        this.add('invalid-expression', (err as Error).message, path);
        return;
      }
      for (const source of found) {
        const error = checkExpression(source);
        if (error) this.add('invalid-expression', error, path);
      }
    } else if (Array.isArray(value)) {
      value.forEach((v, i) => this.mapping(v, [...path, i]));
    } else if (value && typeof value === 'object') {
      for (const [k, v] of Object.entries(value)) this.mapping(v, [...path, k]);
    }
  }

  private schemas(): void {
    const check = (schema: unknown, path: Path, what: string) => {
      if (schema === undefined) return;
      const error = compileSchema(schema);
      if (error) this.add('invalid-schema', `${what} is not a valid JSON Schema: ${error}`, path);
    };
    check(this.def.input, ['input'], 'the workflow input schema');
    check(this.def.output, ['output'], 'the workflow output schema');
    this.def.steps.forEach((s, i) => {
      if (s.type === 'human') check(s.form, ['steps', i, 'form'], `the form of human step "${s.id}"`);
    });
  }

  private variables(): void {
    const vars = this.def.variables;
    for (const [name, v] of Object.entries(vars ?? {})) {
      if (v.type === undefined || v.default === undefined) continue;
      if (!matchesType(v.default, v.type)) {
        this.add('variable-default-type', `the default of variable "${name}" is ${describeValue(v.default)}, not ${article(v.type)} ${v.type}`, ['variables', name, 'default']);
      }
    }
    if (!vars) return;
    this.def.steps.forEach((s, i) => {
      for (const name of Object.keys(s.set ?? {})) {
        const root = name.split('.')[0];
        if (!(root in vars)) {
          this.add('undeclared-variable', `step "${s.id}" sets variable "${root}", which "variables" does not declare`, ['steps', i, 'set', name], 'warning');
        }
      }
    });
  }

  private resources(): void {
    const capacity = new Map<string, number>();
    for (const [key, value] of Object.entries(this.def.metadata ?? {})) {
      if (!key.startsWith('resource.')) continue;
      const n = typeof value === 'string' && /^\d+$/.test(value) ? Number(value) : value;
      if (typeof n !== 'number' || !Number.isInteger(n) || n < 1) {
        this.add('invalid-resource-capacity', `metadata "${key}" must be a positive integer capacity, got ${describeValue(value)}`, ['metadata', key]);
      } else capacity.set(key.slice('resource.'.length), n);
    }
    this.def.steps.forEach((s, i) => {
      for (const [r, n] of Object.entries(s.uses ?? {})) {
        const cap = capacity.get(r);
        if (cap === undefined) {
          if (!Object.hasOwn(this.def.metadata ?? {}, `resource.${r}`)) {
            this.add('undeclared-resource', `step "${s.id}" uses resource "${r}", which the workflow does not declare: add metadata "resource.${r}: <capacity>"`, ['steps', i, 'uses', r]);
          }
        } else if (n > cap) {
          this.add('resource-over-capacity', `step "${s.id}" uses ${n} units of resource "${r}", which has capacity ${cap}; it could never start`, ['steps', i, 'uses', r]);
        }
      }
    });
  }

  private references(): void {
    const { activities, workflows } = this.opts;
    const hasActivity = (name: string) => BUILTIN_ACTIVITIES.has(name)
      || (typeof activities === 'function' ? activities(name) : activities!.has(name));
    const hasWorkflow = (id: string) => (typeof workflows === 'function' ? workflows(id) : workflows!.has(id));
    this.def.steps.forEach((s, i) => {
      if (activities) {
        const refs: [string | undefined, Path][] = [];
        if (s.type === 'task') refs.push([s.activity, ['steps', i, 'activity']], [s.compensate?.activity, ['steps', i, 'compensate', 'activity']]);
        if (s.type === 'foreach') refs.push([s.activity, ['steps', i, 'activity']]);
        for (const [name, path] of refs) {
          if (name !== undefined && !hasActivity(name)) {
            this.add('unknown-activity', `step "${s.id}" runs activity "${name}", which no worker or handler has registered`, path);
          }
        }
      }
      if (workflows && (s.type === 'subworkflow' || s.type === 'foreach') && s.workflow !== undefined && s.workflow !== this.def.id && !hasWorkflow(s.workflow)) {
        this.add('unknown-workflow', `step "${s.id}" starts workflow "${s.workflow}", which is not deployed`, ['steps', i, 'workflow']);
      }
    });
  }
}

function closure(from: string[], next: (id: string) => string[]): Set<string> {
  const seen = new Set(from);
  const stack = [...from];
  while (stack.length) {
    for (const n of next(stack.pop()!)) {
      if (!seen.has(n)) {
        seen.add(n);
        stack.push(n);
      }
    }
  }
  return seen;
}

function canTimeOut(step: Step): boolean {
  switch (step.type) {
    case 'task': return step.timeout !== undefined || step.scheduleToStartTimeout !== undefined || step.heartbeatTimeout !== undefined;
    case 'wait': case 'subworkflow': case 'foreach': return step.timeout !== undefined;
    case 'human': return step.deadline !== undefined;
    default: return false;
  }
}

// ---------------------------------------------------------------------------------------------
// Exhaustive conditions

type Ast = Record<string, unknown>;

function astOf(source: string): Ast | undefined {
  try {
    return stripPositions(jsonata(unwrapExpression(source)).ast()) as Ast;
  } catch {
    return undefined;
  }
}

function stripPositions(node: unknown): unknown {
  if (Array.isArray(node)) return node.map(stripPositions);
  if (node && typeof node === 'object') {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(node)) if (k !== 'position' && k !== 'keepArray') out[k] = stripPositions(v);
    return out;
  }
  return node;
}

const COMPLEMENT: Record<string, string> = { '>': '<=', '<=': '>', '<': '>=', '>=': '<', '=': '!=', '!=': '=' };

/**
 * True when the conditions provably cover every case. Accepted: exactly two conditions that are
 * `c` and `$not(c)`, or the same comparison with complementary operators (`a > b` / `a <= b`,
 * `a = b` / `a != b`). Anything else needs a default.
 */
export function provablyExhaustive(conditions: string[]): boolean {
  if (conditions.length !== 2) return false;
  const [a, b] = conditions.map(astOf);
  if (!a || !b) return false;
  const same = (x: unknown, y: unknown) => JSON.stringify(x) === JSON.stringify(y);
  const negates = (n: Ast, c: Ast) => n.type === 'function'
    && (n.procedure as Ast | undefined)?.type === 'variable' && (n.procedure as Ast).value === 'not'
    && Array.isArray(n.arguments) && n.arguments.length === 1 && same(n.arguments[0], c);
  if (negates(a, b) || negates(b, a)) return true;
  return a.type === 'binary' && b.type === 'binary' && COMPLEMENT[a.value as string] === b.value
    && same(a.lhs, b.lhs) && same(a.rhs, b.rhs);
}

// ---------------------------------------------------------------------------------------------
// Values, schemas, times

let ajv2020: InstanceType<typeof Ajv2020> | undefined;
let ajv07: InstanceType<typeof AjvDraft7> | undefined;

/** Compiles a JSON Schema (2020-12 by default, draft-07 when it says so); returns an error message or null. */
export function compileSchema(schema: unknown): string | null {
  const draft7 = typeof schema === 'object' && schema !== null
    && typeof (schema as { $schema?: unknown }).$schema === 'string'
    && /draft-0[467]/.test((schema as { $schema: string }).$schema);
  try {
    if (draft7) {
      ajv07 ??= addFormatsTo(new AjvDraft7({ strict: false, addUsedSchema: false, allErrors: false }));
      ajv07.compile(schema as object);
    } else {
      ajv2020 ??= addFormatsTo(new Ajv2020({ strict: false, addUsedSchema: false, allErrors: false }));
      ajv2020.compile(schema as object);
    }
    return null;
  } catch (err) {
    return (err as Error).message;
  }
}

function addFormatsTo<T>(ajv: T): T {
  (addFormats as unknown as { default: (a: T) => void }).default(ajv);
  return ajv;
}

function matchesType(value: unknown, type: string): boolean {
  switch (type) {
    case 'string': return typeof value === 'string';
    case 'number': return typeof value === 'number' && Number.isFinite(value);
    case 'integer': return typeof value === 'number' && Number.isInteger(value);
    case 'boolean': return typeof value === 'boolean';
    case 'array': return Array.isArray(value);
    case 'object': return typeof value === 'object' && value !== null && !Array.isArray(value);
    default: return true;
  }
}

export function describeValue(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  if (typeof value === 'object') return 'an object';
  if (typeof value === 'string') return `the string ${JSON.stringify(value.length > 40 ? `${value.slice(0, 40)}…` : value)}`;
  return `${typeof value === 'number' ? 'the number' : typeof value === 'boolean' ? 'the boolean' : typeof value} ${String(value)}`;
}

function article(word: string): string {
  return /^[aeiou]/.test(word) ? 'an' : 'a';
}

/** Strings in `delay`/`at` are evaluated as mappings when they contain `${…}`. */
function isTemplate(s: string): boolean {
  return s.includes('${');
}

const ISO_DATE_TIME = /^\d{4}-\d{2}-\d{2}([T ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:?\d{2})?)?$/;
function isIsoDateTime(s: string): boolean {
  return ISO_DATE_TIME.test(s) && !Number.isNaN(Date.parse(s));
}

function isTimeZone(tz: string): boolean {
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: tz });
    return true;
  } catch {
    return false;
  }
}

/** The most similar candidate within a small edit distance (scaled by length), for "did you mean". */
export function closest(word: string, candidates: Iterable<string>): string | undefined {
  let best: string | undefined;
  let bestDistance = Infinity;
  for (const c of candidates) {
    const d = editDistance(word.toLowerCase(), c.toLowerCase());
    if (d < bestDistance) {
      best = c;
      bestDistance = d;
    }
  }
  const allowed = word.length <= 3 ? 1 : Math.ceil(word.length / 2.5);
  return best !== undefined && bestDistance > 0 && bestDistance <= allowed ? best : undefined;
}

function editDistance(a: string, b: string): number {
  if (Math.abs(a.length - b.length) > 3) return Math.abs(a.length - b.length);
  let prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const cur = [i];
    for (let j = 1; j <= b.length; j++) {
      cur[j] = Math.min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (a[i - 1] === b[j - 1] ? 0 : 1));
    }
    prev = cur;
  }
  return prev[b.length];
}
