/**
 * Plain data of the engine core: instance state, commands in, events out (SPEC C2).
 * Everything here is JSON-serialisable; nothing here does I/O.
 */

export type InstanceStatus =
  | 'pending' | 'running' | 'paused' | 'waiting'
  | 'completed' | 'failed' | 'cancelled' | 'terminated'
  | 'compensating' | 'compensated';

export const TERMINAL_STATUSES: ReadonlySet<InstanceStatus> = new Set([
  'completed', 'failed', 'cancelled', 'terminated', 'compensated',
]);

export type RunStatus =
  | 'pending' | 'scheduled' | 'running'
  | 'waiting_event' | 'waiting_timer' | 'waiting_human'
  | 'completed' | 'failed' | 'retrying' | 'skipped' | 'cancelled' | 'compensated';

/** A serialisable failure: crosses processes, carries a stable code. */
export interface ErrorInfo {
  code: string;
  message: string;
  /** When true the retry policy is ignored. */
  nonRetryable?: boolean;
  details?: unknown;
}

/** One activation of a step: a token sitting on (or having passed) the step. */
export interface StepRun {
  id: string;
  stepId: string;
  status: RunStatus;
  /** Transition id that brought the token here (`start`, `reset:<step>`, `resume`… for synthetic). */
  via: string;
  input?: unknown;
  output?: unknown;
  error?: ErrorInfo;
  startedAt: number;
  endedAt?: number;
  /** Task steps: current attempt (1-based). */
  attempt?: number;
  /** Wait steps: what is awaited. */
  wait?: { event: string; key?: unknown };
  /** Timer steps / waits / humans: the timer that ends (or times out) this run. */
  timerId?: string;
  /** Human steps: the task presented to people. */
  human?: HumanTaskInfo;
  /** Subworkflow steps: the child instance id. */
  childId?: string;
  /** Join runs: branches arrived and branches needed. */
  join?: { arrived: number; expected: number; needed: number; from: string[] };
  /** Foreach runs. */
  foreach?: ForeachProgress;
  /** Manual intervention pending on this failed run. */
  manualTaskId?: string;
}

export interface HumanTaskInfo {
  taskId: string;
  title?: string;
  users: string[];
  groups: string[];
  actions: string[];
  form?: unknown;
  deadline?: number;
  /** `manual` tasks are created by the `manual` error policy, not by a human step. */
  kind: 'human' | 'manual';
}

export interface ForeachProgress {
  items: unknown[];
  next: number;
  running: number;
  done: number;
  results: unknown[];
}

/** An activity task the core wants executed (active only; removed when done). */
export interface ActiveTask {
  taskId: string;
  runId: string;
  activity: string;
  input: unknown;
  attempt: number;
  status: 'scheduled' | 'retrying';
  purpose: 'step' | 'item' | 'compensate';
  /** Foreach item index. */
  index?: number;
}

export interface TimerInfo {
  dueAt: number;
  kind: 'retry' | 'wait-timeout' | 'timer' | 'human-deadline' | 'workflow-timeout';
  runId?: string;
  taskId?: string;
  /** Fired while paused: acted on at resume. */
  deferred?: boolean;
}

/** Per step: the latest run and what expressions may read as `steps.<id>`. */
export interface StepSummary {
  status: RunStatus;
  runId: string;
  output?: unknown;
  error?: ErrorInfo;
  /** How many runs of this step have started. */
  runs: number;
  /** Loop steps: completed iterations. */
  iteration?: number;
}

export interface InstanceState {
  id: string;
  definitionId: string;
  definitionVersion: string;
  namespace?: string;
  status: InstanceStatus;
  input: unknown;
  vars: Record<string, unknown>;
  env: Record<string, unknown>;
  output?: unknown;
  error?: ErrorInfo;
  parent?: { instanceId: string; runId: string };
  correlationId?: string;
  labels?: Record<string, string>;
  createdAt: number;
  updatedAt: number;
  endedAt?: number;
  /** Sequence number of the last event applied (events are numbered from 1). */
  seq: number;
  /** Counter behind deterministic run ids. */
  runCounter: number;
  /** Runs holding a token, by run id. */
  active: Record<string, StepRun>;
  /** Latest run per step id. */
  steps: Record<string, StepSummary>;
  tasks: Record<string, ActiveTask>;
  timers: Record<string, TimerInfo>;
  /** Activations deferred while paused. */
  parked: Array<{ stepId: string; via: string }>;
  /** Completed runs with a compensation, in completion order. */
  compensable: Array<{ runId: string; stepId: string }>;
  /** Runs left to compensate, next first. */
  compensating?: string[];
  /** Signals that arrived with nobody waiting (bounded). */
  signals: Array<{ name: string; payload: unknown }>;
  /** Set when a cancel is in progress through `on: cancel` paths. */
  cancelRequested?: boolean;
  /** Runs cancelled because the instance failed; restored by `RetryStep`. */
  suspended?: Array<{ stepId: string; via: string }>;
  /** Joins opened by a split and how many branches they wait for. */
  expecting: Record<string, number>;
  /** The run whose unhandled failure failed the instance (for `RetryStep`/`SkipStep`). */
  failedRun?: { runId: string; stepId: string; via: string };
}

// ---------------------------------------------------------------------------------- commands

interface CommandBase {
  instanceId: string;
  /** Who asked (user id, `system`, `worker:<id>`); recorded in events where it matters. */
  by?: string;
}

export interface StartWorkflow extends CommandBase {
  type: 'StartWorkflow';
  input?: unknown;
  vars?: Record<string, unknown>;
  env?: Record<string, unknown>;
  parent?: { instanceId: string; runId: string };
  correlationId?: string;
  labels?: Record<string, string>;
}
export interface CompleteActivity extends CommandBase { type: 'CompleteActivity'; taskId: string; attempt: number; output?: unknown }
export interface FailActivity extends CommandBase { type: 'FailActivity'; taskId: string; attempt: number; error: ErrorInfo }
export interface FireTimer extends CommandBase { type: 'FireTimer'; timerId: string }
export interface DeliverEvent extends CommandBase {
  type: 'DeliverEvent';
  /** Event name; matched against `wait.event`. */
  name: string;
  /** Matched against the correlation value a wait computed; omitted = signal to this instance. */
  key?: unknown;
  payload?: unknown;
}
export interface Signal extends CommandBase { type: 'Signal'; name: string; payload?: unknown }
export interface CompleteHumanTask extends CommandBase { type: 'CompleteHumanTask'; taskId: string; action: string; data?: unknown }
export interface RejectHumanTask extends CommandBase { type: 'RejectHumanTask'; taskId: string; reason?: string }
export interface ChildFinished extends CommandBase {
  type: 'ChildFinished';
  childId: string;
  status: InstanceStatus;
  output?: unknown;
  error?: ErrorInfo;
}
export interface Pause extends CommandBase { type: 'Pause'; reason?: string }
export interface Resume extends CommandBase { type: 'Resume' }
export interface Cancel extends CommandBase { type: 'Cancel'; reason?: string }
export interface Terminate extends CommandBase { type: 'Terminate'; reason?: string }
export interface SkipStep extends CommandBase { type: 'SkipStep'; stepId: string; output?: unknown }
export interface RetryStep extends CommandBase { type: 'RetryStep'; stepId: string }
export interface RetryFrom extends CommandBase { type: 'RetryFrom'; stepId: string }
export interface UpdateVariables extends CommandBase { type: 'UpdateVariables'; vars: Record<string, unknown> }
export interface Compensate extends CommandBase { type: 'Compensate'; reason?: string }

export type Command =
  | StartWorkflow | CompleteActivity | FailActivity | FireTimer | DeliverEvent | Signal
  | CompleteHumanTask | RejectHumanTask | ChildFinished
  | Pause | Resume | Cancel | Terminate | SkipStep | RetryStep | RetryFrom | UpdateVariables | Compensate;
export type CommandType = Command['type'];

/** What the shell supplies with every command: the core never reads a clock or a random source. */
export interface DecideContext {
  now: number;
  /** Uniform in [0, 1): jitter and any other choice that must replay identically. */
  random: number;
  limits?: { maxPayloadBytes?: number; maxSignalsBuffered?: number };
  /**
   * Verification hook (src/verify): when set, the core asks it instead of evaluating conditions
   * (transition `when`, loop `while`, wait `match`) and foreach `items`, so the verifier can
   * explore every routing choice with the engine's own routing rule. Unset in production: the
   * engine's behaviour is unchanged. An answer of `undefined` means "evaluate as usual".
   */
  oracle?: ChoiceOracle;
}

/** Where the core needs a condition's value (see `DecideContext.oracle`). */
export type ChoiceSite =
  | { kind: 'transition'; stepId: string; transitionId: string; expression: string }
  | { kind: 'loop'; stepId: string; iteration: number; expression: string }
  | { kind: 'match'; stepId: string; expression: string };

export interface ChoiceOracle {
  condition(site: ChoiceSite): boolean | undefined;
  /** Foreach items (abstract data); `undefined` evaluates `items` as usual. */
  items?(stepId: string): unknown[] | undefined;
}

// ---------------------------------------------------------------------------------- events

interface EventBase {
  /** 1-based position in the instance's log. */
  seq: number;
  /** `now` of the command that produced it. */
  at: number;
}

export interface WorkflowStarted extends EventBase {
  type: 'WorkflowStarted';
  instanceId: string;
  definitionId: string;
  definitionVersion: string;
  namespace?: string;
  input: unknown;
  vars: Record<string, unknown>;
  env: Record<string, unknown>;
  parent?: { instanceId: string; runId: string };
  correlationId?: string;
  labels?: Record<string, string>;
}
export interface StepStarted extends EventBase {
  type: 'StepStarted';
  runId: string;
  stepId: string;
  via: string;
  status: RunStatus;
  input?: unknown;
  /** Task steps: the first attempt is scheduled with the step. */
  task?: ActiveTask;
  wait?: { event: string; key?: unknown };
  human?: HumanTaskInfo;
  childId?: string;
  /** For `childId`: what to start. */
  child?: { workflow: string; version?: string; input: unknown };
  join?: { expected: number; needed: number };
  foreach?: { items: unknown[] };
}
export interface JoinArrived extends EventBase { type: 'JoinArrived'; runId: string; via: string }
export interface ActivityScheduled extends EventBase { type: 'ActivityScheduled'; task: ActiveTask }
export interface ActivityCompleted extends EventBase {
  type: 'ActivityCompleted';
  taskId: string;
  runId: string;
  attempt: number;
  output?: unknown;
}
export interface ActivityFailed extends EventBase {
  type: 'ActivityFailed';
  taskId: string;
  runId: string;
  attempt: number;
  error: ErrorInfo;
  /** Set when another attempt follows at that time. */
  retryAt?: number;
}
export interface ActivityCancelled extends EventBase { type: 'ActivityCancelled'; taskId: string; runId: string }
export interface TimerScheduled extends EventBase { type: 'TimerScheduled'; timerId: string; timer: TimerInfo }
export interface TimerCancelled extends EventBase { type: 'TimerCancelled'; timerId: string }
export interface TimerFired extends EventBase { type: 'TimerFired'; timerId: string }
export interface TimerDeferred extends EventBase { type: 'TimerDeferred'; timerId: string }
export interface ForeachChildStarted extends EventBase {
  type: 'ForeachChildStarted';
  runId: string;
  index: number;
  childId: string;
  child: { workflow: string; version?: string; input: unknown };
}
export interface StepCompleted extends EventBase {
  type: 'StepCompleted';
  runId: string;
  stepId: string;
  output?: unknown;
  /**
   * Task steps: the task and attempt that produced the output. This IS the activity completion
   * for task steps (no separate ActivityCompleted is written for them, to keep the hot path to
   * two events per task step: StepStarted + StepCompleted). Foreach items and compensations do
   * use ActivityCompleted.
   */
  taskId?: string;
  attempt?: number;
  /** The step declares a compensation: remember it for the saga. */
  compensable?: boolean;
  /** Transition ids the token(s) leave by. */
  taken: string[];
  /** Split steps: the join they open and how many branches it must wait for. */
  split?: { join: string; expected: number };
  /** Loop steps: iterations completed after this pass. */
  iteration?: number;
  /** Variables assigned by the step's `set`. */
  vars?: Record<string, unknown>;
  by?: string;
}
export interface StepFailed extends EventBase {
  type: 'StepFailed';
  runId: string;
  stepId: string;
  error: ErrorInfo;
  /** How the failure is handled: a transition, `continue`, `manual`, or nothing (`unhandled`). */
  handling: 'transition' | 'continue' | 'manual' | 'unhandled';
  taken: string[];
  manualTask?: HumanTaskInfo;
}
export interface StepSkipped extends EventBase { type: 'StepSkipped'; runId: string; stepId: string; output?: unknown; taken: string[]; by?: string }
export interface StepCancelled extends EventBase {
  type: 'StepCancelled';
  runId: string;
  stepId: string;
  reason: string;
  taken: string[];
}
/** A run gave up its child instance (per the step's cancel policy): the child is cancelled or terminated. */
export interface ChildCancelRequested extends EventBase { type: 'ChildCancelRequested'; runId: string; childId: string; terminate: boolean }
export interface StepRetried extends EventBase { type: 'StepRetried'; runId: string; stepId: string; by?: string }
export interface TokenParked extends EventBase { type: 'TokenParked'; stepId: string; via: string }
export interface SignalBuffered extends EventBase { type: 'SignalBuffered'; name: string; payload?: unknown }
export interface SignalConsumed extends EventBase { type: 'SignalConsumed'; index: number }
export interface HumanTaskCompleted extends EventBase {
  type: 'HumanTaskCompleted';
  runId: string;
  taskId: string;
  action: string;
  data?: unknown;
  by?: string;
}
export interface HumanTaskEscalated extends EventBase { type: 'HumanTaskEscalated'; runId: string; groups: string[]; deadline?: number }
export interface ForeachItemDone extends EventBase { type: 'ForeachItemDone'; runId: string; index: number; output?: unknown }
export interface VariablesUpdated extends EventBase { type: 'VariablesUpdated'; vars: Record<string, unknown>; by?: string }
export interface WorkflowPaused extends EventBase { type: 'WorkflowPaused'; reason?: string; by?: string }
export interface WorkflowResumed extends EventBase { type: 'WorkflowResumed'; by?: string }
export interface CancelRequested extends EventBase { type: 'CancelRequested'; reason?: string; by?: string }
export interface WorkflowReset extends EventBase { type: 'WorkflowReset'; stepId: string; by?: string }
export interface WorkflowReopened extends EventBase { type: 'WorkflowReopened'; by?: string }
export interface CompensationStarted extends EventBase { type: 'CompensationStarted'; reason: string; runs: string[] }
export interface StepCompensated extends EventBase { type: 'StepCompensated'; runId: string; stepId: string; output?: unknown }
export interface WorkflowCompleted extends EventBase { type: 'WorkflowCompleted'; output?: unknown }
export interface WorkflowFailed extends EventBase { type: 'WorkflowFailed'; error: ErrorInfo }
export interface WorkflowCancelled extends EventBase { type: 'WorkflowCancelled'; reason?: string; by?: string }
export interface WorkflowTerminated extends EventBase { type: 'WorkflowTerminated'; reason?: string; by?: string }
export interface WorkflowCompensated extends EventBase { type: 'WorkflowCompensated' }

export type EngineEvent =
  | WorkflowStarted | StepStarted | JoinArrived | ActivityScheduled | ActivityCompleted | ActivityFailed
  | ActivityCancelled | TimerScheduled | TimerCancelled | TimerFired | TimerDeferred | ForeachChildStarted | StepCompleted | StepFailed
  | StepSkipped | StepCancelled | ChildCancelRequested | StepRetried | TokenParked | SignalBuffered | SignalConsumed
  | HumanTaskCompleted | HumanTaskEscalated | ForeachItemDone | VariablesUpdated
  | WorkflowPaused | WorkflowResumed | CancelRequested | WorkflowReset | WorkflowReopened
  | CompensationStarted | StepCompensated
  | WorkflowCompleted | WorkflowFailed | WorkflowCancelled | WorkflowTerminated | WorkflowCompensated;
export type EventType = EngineEvent['type'];

/** An event before the core numbers and stamps it. */
export type NewEvent = EngineEvent extends infer E ? (E extends EngineEvent ? Omit<E, 'seq' | 'at'> : never) : never;
