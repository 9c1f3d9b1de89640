/**
 * The canonical workflow definition: one zod declaration is both the TypeScript type and the
 * validator (SPEC C1). YAML, JSON and the builder all produce an object of this shape.
 *
 * The schema checks *shape*; graph rules (one start, endpoints exist, joins match splits, …)
 * live in `validate.ts` because they need the whole definition at once.
 */
import { z } from 'zod';

/** `500ms`, `30s`, `5m`, `1h30m`, `2d`, or a number of milliseconds. */
export const DURATION_PATTERN = /^(\d+(\.\d+)?(ms|s|m|h|d|w))+$/;
export const Duration = z.union([
  z.string().regex(DURATION_PATTERN, { message: 'expected a duration such as "500ms", "30s", "5m", "1h30m" or "2d"' }),
  z.number().int().nonnegative(),
]);
export type Duration = z.infer<typeof Duration>;

export const IDENTIFIER_PATTERN = /^[A-Za-z_][A-Za-z0-9_.-]*$/;
const Identifier = z.string().regex(IDENTIFIER_PATTERN, {
  message: 'expected an identifier: a letter or _ followed by letters, digits, _, - or .',
});

/** An expression in the expression language (JSONata). May be wrapped in `${…}`. */
export const Expression = z.string().min(1, { message: 'expression must not be empty' });
export type Expression = z.infer<typeof Expression>;

/**
 * A mapping: any JSON value in which strings of the form `${expr}` are evaluated (a string that
 * is exactly one `${expr}` yields the raw value; otherwise the parts are interpolated as text).
 */
export const Mapping = z.unknown();
export type Mapping = unknown;

/** A JSON Schema document (draft 2020-12 or 07), checked by Ajv when the definition compiles. */
export const JsonSchema = z.union([z.record(z.string(), z.unknown()), z.boolean()]);
export type JsonSchema = z.infer<typeof JsonSchema>;

export const RetryPolicy = z.strictObject({
  /** Total attempts including the first. 1 = no retry. */
  maxAttempts: z.number().int().min(1).optional(),
  initialInterval: Duration.optional(),
  backoffCoefficient: z.number().min(1).optional(),
  maxInterval: Duration.optional(),
  /** Fraction of the interval added or removed at random (0 = none, 0.2 = ±20 %). */
  jitter: z.number().min(0).max(1).optional(),
  /** Error codes that are never retried. */
  nonRetryableErrors: z.array(z.string()).optional(),
});
export type RetryPolicy = z.infer<typeof RetryPolicy>;

/** What happens when a step fails for good and no `on: error` transition matches. */
export const ErrorAction = z.enum(['fail', 'continue', 'compensate', 'manual']);
export type ErrorAction = z.infer<typeof ErrorAction>;

const ResourceUses = z.record(z.string(), z.number().int().positive());

const stepBase = {
  id: Identifier,
  name: z.string().optional(),
  description: z.string().optional(),
  /** A `skip` command may complete this step without running it. */
  skippable: z.boolean().optional(),
  /** Variable assignments evaluated when the step completes (`output` is the step output). */
  set: z.record(z.string(), Expression).optional(),
  /** Sugar for transitions: `next: b` is `{from: this, to: b}`. Normalised away by the loader. */
  next: z.union([Identifier, z.array(Identifier)]).optional(),
  /** Resource units this step holds while active (`uses: {db: 1}`), see `metadata: resource.*`. */
  uses: ResourceUses.optional(),
  /** Expected duration, a hint for the verifier's time analysis. */
  duration: Duration.optional(),
  onError: ErrorAction.optional(),
  tags: z.array(z.string()).optional(),
  metadata: z.record(z.string(), z.unknown()).optional(),
};

export const StartStep = z.strictObject({ ...stepBase, type: z.literal('start') });
export const EndStep = z.strictObject({
  ...stepBase,
  type: z.literal('end'),
  /** End the whole instance at once, cancelling every other branch. */
  terminate: z.boolean().optional(),
  /** The workflow output when the instance ends here (overrides the workflow's `result`). */
  output: Mapping.optional(),
});

export const Compensation = z.strictObject({
  activity: z.string().min(1),
  input: Mapping.optional(),
});
export type Compensation = z.infer<typeof Compensation>;

export const TaskStep = z.strictObject({
  ...stepBase,
  type: z.literal('task'),
  /** Activity name: in-process handler, remote worker, or built-in (`noop`, `log`, `http`, `transform`, `script`). */
  activity: z.string().min(1),
  input: Mapping.optional(),
  /** Mapping applied to the activity result (available as `result`) to form the step output. */
  output: Mapping.optional(),
  retry: RetryPolicy.optional(),
  /** Start-to-close timeout of one attempt. */
  timeout: Duration.optional(),
  scheduleToStartTimeout: Duration.optional(),
  heartbeatTimeout: Duration.optional(),
  priority: z.number().int().optional(),
  /** Task queue (worker group) that must run it. */
  queue: z.string().optional(),
  compensate: Compensation.optional(),
});

export const DecisionStep = z.strictObject({ ...stepBase, type: z.literal('decision') });
export const InclusiveStep = z.strictObject({ ...stepBase, type: z.literal('inclusive') });
export const ParallelStep = z.strictObject({ ...stepBase, type: z.literal('parallel') });

export const JoinMode = z.enum(['all', 'any', 'n']);
export const JoinStep = z.strictObject({
  ...stepBase,
  type: z.literal('join'),
  /** `all` (default): every activated branch; `any`: first wins, others cancelled; `n`: the n-th wins. */
  mode: JoinMode.optional(),
  n: z.number().int().min(1).optional(),
  /** The parallel/inclusive step this join closes; inferred from the graph when omitted. */
  split: Identifier.optional(),
});

export const WaitStep = z.strictObject({
  ...stepBase,
  type: z.literal('wait'),
  /** Event or signal name to wait for. */
  event: z.string().min(1),
  /** Evaluated when the wait begins; an event matches when its correlation key equals this value. */
  correlation: Expression.optional(),
  /** Predicate over `event` that must also hold. */
  match: Expression.optional(),
  timeout: Duration.optional(),
  output: Mapping.optional(),
});

export const TimerStep = z.strictObject({
  ...stepBase,
  type: z.literal('timer'),
  /** Relative delay: a duration, or an expression yielding one. */
  delay: z.union([Duration, Expression]).optional(),
  /** Absolute time: ISO 8601, or an expression yielding one. */
  at: z.string().optional(),
  /** Cron expression: waits until its next occurrence. */
  cron: z.string().optional(),
  timezone: z.string().optional(),
});

export const BusinessCalendar = z.strictObject({
  /** ISO weekdays that are working days (1 = Monday … 7 = Sunday). Default Monday–Friday. */
  workdays: z.array(z.number().int().min(1).max(7)).optional(),
  /** Dates (YYYY-MM-DD) that are not working days. */
  holidays: z.array(z.string().regex(/^\d{4}-\d{2}-\d{2}$/)).optional(),
});
export const Deadline = z.union([
  Duration,
  z.strictObject({ at: z.string() }),
  z.strictObject({ businessDays: z.number().int().positive(), calendar: BusinessCalendar.optional() }),
]);
export type Deadline = z.infer<typeof Deadline>;

export const HumanTimeout = z.strictObject({
  action: z.enum(['approve', 'reject', 'escalate', 'transition']),
  /** For `escalate`: the groups the task is reassigned to. */
  groups: z.array(z.string()).optional(),
  /** For `escalate`: a new deadline. */
  deadline: Deadline.optional(),
});

export const HumanStep = z.strictObject({
  ...stepBase,
  type: z.literal('human'),
  title: z.string().optional(),
  assignees: z.strictObject({ users: z.array(z.string()).optional(), groups: z.array(z.string()).optional() }).optional(),
  /** Allowed actions; default `[approve, reject]`. `reject` fails the step with code `rejected`. */
  actions: z.array(z.string().min(1)).optional(),
  /** JSON Schema of the data the person submits. */
  form: JsonSchema.optional(),
  /** Data shown to the person (a mapping). */
  input: Mapping.optional(),
  deadline: Deadline.optional(),
  onTimeout: HumanTimeout.optional(),
  priority: z.number().int().optional(),
});

export const SubworkflowStep = z.strictObject({
  ...stepBase,
  type: z.literal('subworkflow'),
  workflow: z.string().min(1),
  /** Semver range of acceptable versions; default: latest. */
  version: z.string().optional(),
  input: Mapping.optional(),
  output: Mapping.optional(),
  /** `propagate` (default): cancelling the parent cancels the child and a cancelled child fails the step. */
  cancel: z.enum(['propagate', 'abandon']).optional(),
  timeout: Duration.optional(),
});

export const LoopStep = z.strictObject({
  ...stepBase,
  type: z.literal('loop'),
  /** Checked on every entry (with `loop.iteration`); the body runs while it holds. Default: true. */
  while: Expression.optional(),
  /** Hard bound on iterations; the loop exits when reached. */
  maxIterations: z.number().int().min(1),
  /** First step of the body; the other outgoing transition is the exit. */
  body: Identifier,
});

export const ForeachStep = z.strictObject({
  ...stepBase,
  type: z.literal('foreach'),
  /** Expression yielding the array to iterate. */
  items: Expression,
  /** Run this activity per item … */
  activity: z.string().min(1).optional(),
  /** … or start this workflow per item. */
  workflow: z.string().min(1).optional(),
  version: z.string().optional(),
  /** Mapping per item, with `item` and `index` in scope. */
  input: Mapping.optional(),
  /** Mapping over `results` (the array of per-item outputs). */
  output: Mapping.optional(),
  /** Items run at once; 1 (default) is sequential. */
  concurrency: z.number().int().min(1).optional(),
  maxItems: z.number().int().min(1).optional(),
  retry: RetryPolicy.optional(),
  timeout: Duration.optional(),
});

export const STEP_TYPES = [
  'start', 'end', 'task', 'decision', 'inclusive', 'parallel', 'join',
  'wait', 'timer', 'human', 'subworkflow', 'loop', 'foreach',
] as const;
export type StepType = (typeof STEP_TYPES)[number];

export const Step = z.discriminatedUnion('type', [
  StartStep, EndStep, TaskStep, DecisionStep, InclusiveStep, ParallelStep, JoinStep,
  WaitStep, TimerStep, HumanStep, SubworkflowStep, LoopStep, ForeachStep,
]);
export type Step = z.infer<typeof Step>;
export type StepOf<T extends StepType> = Extract<Step, { type: T }>;

export const Transition = z.strictObject({
  id: z.string().optional(),
  from: Identifier,
  to: Identifier,
  when: Expression.optional(),
  /** Higher is evaluated first; ties keep declaration order. */
  priority: z.number().int().optional(),
  /** Taken when no other (normal) transition of the step matches. */
  default: z.boolean().optional(),
  /** Taken on the step's failure, timeout or cancellation instead of normal completion. */
  on: z.enum(['error', 'timeout', 'cancel']).optional(),
  /** For `on: error`: only these error codes. */
  error: z.union([z.string(), z.array(z.string())]).optional(),
  name: z.string().optional(),
});
export type Transition = z.infer<typeof Transition>;

export const VariableType = z.enum(['string', 'number', 'integer', 'boolean', 'object', 'array']);
export const Variable = z.strictObject({
  type: VariableType.optional(),
  default: z.unknown().optional(),
  description: z.string().optional(),
});
export type Variable = z.infer<typeof Variable>;

export const EventHandler = z.strictObject({
  /** Event name (exact, or with `*` wildcards). */
  event: z.string().min(1),
  /** Expression over `event`; for instance-directed actions, matched against the instance's correlation id. */
  correlation: Expression.optional(),
  when: Expression.optional(),
  action: z.enum(['start', 'signal', 'pause', 'resume', 'cancel', 'terminate']),
  /** For `start`: the new instance's input; for `signal`: the signal payload. */
  input: Mapping.optional(),
  /** For `signal`: the signal name (default: the event name). */
  signal: z.string().optional(),
});
export type EventHandler = z.infer<typeof EventHandler>;

export const Property = z.union([
  z.string().min(1),
  z.strictObject({ name: z.string().min(1), formula: z.string().min(1), description: z.string().optional() }),
]);

export const SEMVER_PATTERN = /^\d+\.\d+\.\d+(-[0-9A-Za-z.-]+)?(\+[0-9A-Za-z.-]+)?$/;

export const Definition = z.strictObject({
  id: Identifier,
  name: z.string().optional(),
  version: z.string().regex(SEMVER_PATTERN, { message: 'expected a semantic version such as "1.0.0"' }).optional(),
  description: z.string().optional(),
  namespace: z.string().optional(),
  input: JsonSchema.optional(),
  output: JsonSchema.optional(),
  variables: z.record(z.string(), Variable).optional(),
  steps: z.array(Step).min(1, { message: 'a workflow needs at least a start and an end step' }),
  transitions: z.array(Transition).optional(),
  eventHandlers: z.array(EventHandler).optional(),
  /** Default retry policy for task steps. */
  retry: RetryPolicy.optional(),
  errorPolicy: ErrorAction.optional(),
  /** Whole-workflow timeout: a duration from start, or `{at: ISO}`. */
  timeout: z.union([Duration, z.strictObject({ at: z.string() })]).optional(),
  /** Workflow output mapping evaluated when an `end` without its own `output` is reached. */
  result: Mapping.optional(),
  tags: z.array(z.string()).optional(),
  /** Free-form metadata; `resource.<name>: <capacity>` declares a resource for `uses`. */
  metadata: z.record(z.string(), z.unknown()).optional(),
  /** Temporal properties (CTL) the verifier checks. */
  properties: z.array(Property).optional(),
});
export type Definition = z.infer<typeof Definition>;
