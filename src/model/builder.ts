/**
 * Fluent TypeScript builder. It produces the same canonical, normalised `Definition` object that
 * loading the equivalent YAML produces, and validates it on `build()`.
 *
 * ```ts
 * const def = workflow('order', { version: '1.0.0' })
 *   .start()
 *   .task('reserve', 'inventory.reserve', { input: { sku: '${input.sku}' } })
 *   .decision('big')
 *     .when('big', 'ship', 'input.total > 100')
 *     .otherwise('big', 'small')
 *   .task('ship', 'shipping.express')
 *   .task('small', 'shipping.standard')
 *   .end('done', { after: ['ship', 'small'] })
 *   .build();
 * ```
 *
 * Auto-connect rule: each step call links the step added just before it (the "cursor") to the
 * new step with an unconditional transition, except when
 *   1. the call passes `after` — then exactly those steps link to it (`after: []` or `null`: none);
 *   2. a transition already leads to the new step (declared earlier with `when`, `otherwise`,
 *      `connect`, `onError`, … or a loop's `body`) — routing was explicit;
 *   3. the previous step is an `end` or a `decision` (a decision only routes through `when`/`otherwise`);
 *   4. there is no previous step (the first call), or `from(null)` cleared it.
 * `from(id)` moves the cursor to an existing step, so the next step call continues from there.
 * A `loop` step adds its `body` transition itself. Everything else is `connect`.
 */
import type { Definition, EventHandler, RetryPolicy, Step, StepOf, StepType, Transition, Variable, ErrorAction, JsonSchema } from './schema.js';
import { DefinitionError, hasErrors } from './errors.js';
import { checkDefinitionShape } from './load.js';
import { normaliseDefinition } from './normalise.js';
import { validateDefinition, type ValidateOptions } from './validate.js';

/** Where a new step is linked from; see the auto-connect rule. */
export interface Link {
  after?: string | string[] | null;
}

export type StepFields<T extends StepType, K extends string = never> = Omit<StepOf<T>, 'id' | 'type' | 'next' | K> & Link;
export type WorkflowFields = Omit<Definition, 'id' | 'steps' | 'transitions'>;
export type TransitionFields = Omit<Transition, 'from' | 'to'>;
type Property = NonNullable<Definition['properties']>[number];

export function workflow(id: string, fields: WorkflowFields = {}): WorkflowBuilder {
  return new WorkflowBuilder(id, fields);
}

export class WorkflowBuilder {
  private fields: WorkflowFields;
  private readonly steps: Step[] = [];
  private readonly transitions: Transition[] = [];
  private cursor: string | undefined;

  constructor(private readonly id: string, fields: WorkflowFields = {}) {
    this.fields = { ...fields };
  }

  // ---- workflow fields -----------------------------------------------------------------------

  /** Sets (merges) workflow-level fields. */
  set(fields: WorkflowFields): this {
    this.fields = { ...this.fields, ...fields };
    return this;
  }
  name(name: string): this { return this.set({ name }); }
  version(version: string): this { return this.set({ version }); }
  description(description: string): this { return this.set({ description }); }
  namespace(namespace: string): this { return this.set({ namespace }); }
  /** JSON Schema of the workflow input. */
  input(schema: JsonSchema): this { return this.set({ input: schema }); }
  /** JSON Schema of the workflow output. */
  output(schema: JsonSchema): this { return this.set({ output: schema }); }
  variable(name: string, variable: Variable): this {
    return this.set({ variables: { ...this.fields.variables, [name]: variable } });
  }
  retry(policy: RetryPolicy): this { return this.set({ retry: policy }); }
  errorPolicy(action: ErrorAction): this { return this.set({ errorPolicy: action }); }
  timeout(timeout: NonNullable<Definition['timeout']>): this { return this.set({ timeout }); }
  /** Output mapping used when an end step has no `output` of its own. */
  result(mapping: unknown): this { return this.set({ result: mapping }); }
  tags(...tags: string[]): this { return this.set({ tags: [...(this.fields.tags ?? []), ...tags] }); }
  metadata(key: string, value: unknown): this {
    return this.set({ metadata: { ...this.fields.metadata, [key]: value } });
  }
  /** Declares a resource (`metadata["resource.<name>"] = capacity`) that steps can `uses`. */
  resource(name: string, capacity: number): this { return this.metadata(`resource.${name}`, capacity); }
  eventHandler(handler: EventHandler): this {
    return this.set({ eventHandlers: [...(this.fields.eventHandlers ?? []), handler] });
  }
  property(property: Property): this {
    return this.set({ properties: [...(this.fields.properties ?? []), property] });
  }

  // ---- steps ---------------------------------------------------------------------------------

  start(id = 'start', fields: StepFields<'start'> = {}): this { return this.add('start', id, fields); }
  end(id = 'end', fields: StepFields<'end'> = {}): this { return this.add('end', id, fields); }
  task(id: string, activity: string, fields: StepFields<'task', 'activity'> = {}): this {
    return this.add('task', id, { activity, ...fields });
  }
  decision(id: string, fields: StepFields<'decision'> = {}): this { return this.add('decision', id, fields); }
  inclusive(id: string, fields: StepFields<'inclusive'> = {}): this { return this.add('inclusive', id, fields); }
  parallel(id: string, fields: StepFields<'parallel'> = {}): this { return this.add('parallel', id, fields); }
  join(id: string, fields: StepFields<'join'> = {}): this { return this.add('join', id, fields); }
  wait(id: string, event: string, fields: StepFields<'wait', 'event'> = {}): this {
    return this.add('wait', id, { event, ...fields });
  }
  timer(id: string, fields: StepFields<'timer'>): this { return this.add('timer', id, fields); }
  human(id: string, fields: StepFields<'human'> = {}): this { return this.add('human', id, fields); }
  subworkflow(id: string, workflowId: string, fields: StepFields<'subworkflow', 'workflow'> = {}): this {
    return this.add('subworkflow', id, { workflow: workflowId, ...fields });
  }
  /** A loop step; adds the transition to `body`. Close the loop with `connect(lastBodyStep, id)`. */
  loop(id: string, fields: StepFields<'loop'>): this {
    this.add('loop', id, fields);
    this.transitions.push({ from: id, to: fields.body });
    return this;
  }
  foreach(id: string, items: string, fields: StepFields<'foreach', 'items'>): this {
    return this.add('foreach', id, { items, ...fields });
  }

  // ---- transitions ---------------------------------------------------------------------------

  /** An explicit transition. */
  connect(from: string, to: string, fields: TransitionFields = {}): this {
    this.transitions.push(compact({ from, to, ...fields }));
    return this;
  }
  /** A conditional transition (for decisions, inclusive splits, or any step). */
  when(from: string, to: string, condition: string, fields: Omit<TransitionFields, 'when'> = {}): this {
    return this.connect(from, to, { when: condition, ...fields });
  }
  /** The default transition, taken when no condition of `from` holds. */
  otherwise(from: string, to: string, fields: Omit<TransitionFields, 'default'> = {}): this {
    return this.connect(from, to, { default: true, ...fields });
  }
  /** Taken when `from` fails for good; `error` restricts it to these error codes. */
  onError(from: string, to: string, fields: Omit<TransitionFields, 'on'> = {}): this {
    return this.connect(from, to, { on: 'error', ...fields });
  }
  onTimeout(from: string, to: string, fields: Omit<TransitionFields, 'on' | 'error'> = {}): this {
    return this.connect(from, to, { on: 'timeout', ...fields });
  }
  onCancel(from: string, to: string, fields: Omit<TransitionFields, 'on' | 'error'> = {}): this {
    return this.connect(from, to, { on: 'cancel', ...fields });
  }
  /** Moves the cursor: the next step call is linked from `id` (or from nothing with `null`). */
  from(id: string | null): this {
    this.cursor = id ?? undefined;
    return this;
  }

  // ---- output --------------------------------------------------------------------------------

  /** The normalised definition, without validation. */
  toDefinition(): Definition {
    return normaliseDefinition(this.raw());
  }

  /** Validates and returns the canonical definition; throws {@link DefinitionError} on any error. */
  build(opts: Omit<ValidateOptions, 'graph'> = {}): Definition {
    const shape = checkDefinitionShape(this.raw());
    if (!shape.definition) throw new DefinitionError(shape.issues, `invalid workflow definition "${this.id}"`);
    const definition = normaliseDefinition(shape.definition);
    const issues = validateDefinition(definition, opts);
    if (hasErrors(issues)) throw new DefinitionError(issues, `invalid workflow definition "${this.id}"`);
    return definition;
  }

  private raw(): Definition {
    return compact({ id: this.id, ...this.fields, steps: this.steps.map((s) => ({ ...s })), transitions: this.transitions.map((t) => ({ ...t })) }) as Definition;
  }

  private add<F extends Link>(type: StepType, id: string, fields: F): this {
    const { after, ...rest } = fields;
    const step = compact({ id, type, ...rest }) as unknown as Step;
    const sources = after === undefined ? this.autoSource(id) : after === null ? [] : Array.isArray(after) ? after : [after];
    this.steps.push(step);
    for (const from of sources) this.transitions.push({ from, to: id });
    this.cursor = id;
    return this;
  }

  private autoSource(id: string): string[] {
    if (this.cursor === undefined) return [];
    const previous = this.steps.find((s) => s.id === this.cursor);
    if (previous && (previous.type === 'end' || previous.type === 'decision')) return [];
    if (this.transitions.some((t) => t.to === id)) return [];
    return [this.cursor];
  }
}

/** Drops keys whose value is `undefined`, so built objects equal parsed ones. */
function compact<T extends object>(o: T): T {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(o)) if (v !== undefined) out[k] = v;
  return out as T;
}
