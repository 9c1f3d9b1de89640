/**
 * Activities: the code a task step runs. Handlers are registered by name in-process
 * (`engine.registerActivity('inventory.reserve', async (input, ctx) => …)`) or run by remote
 * workers with the same contract.
 */
import type { ErrorInfo } from '../core/types.js';

export interface ActivityContext {
  instanceId: string;
  stepId: string;
  runId: string;
  taskId: string;
  /** 1-based attempt number. */
  attempt: number;
  activity: string;
  /** Aborted when the task is cancelled, times out, or the engine shuts down. */
  signal: AbortSignal;
  /** Tells the engine the activity is alive (resets the heartbeat timeout); details are kept for the next attempt. */
  heartbeat(details?: unknown): void;
  /** Details of the last heartbeat of the previous attempt, to resume long work. */
  lastHeartbeat?: unknown;
  log(message: string, fields?: Record<string, unknown>): void;
}

export type ActivityHandler<I = any, O = unknown> = (input: I, ctx: ActivityContext) => O | Promise<O>;

/** Throw this from an activity to fail with a stable error code (optionally never retried). */
export class ActivityFailure extends Error {
  constructor(
    readonly code: string,
    message: string,
    readonly options: { nonRetryable?: boolean; details?: unknown } = {},
  ) {
    super(message);
    this.name = 'ActivityFailure';
  }
  toErrorInfo(): ErrorInfo {
    return { code: this.code, message: this.message, nonRetryable: this.options.nonRetryable, details: this.options.details };
  }
}

/** Turns anything an activity threw into a serialisable failure. */
export function toErrorInfo(err: unknown): ErrorInfo {
  if (err instanceof ActivityFailure) return err.toErrorInfo();
  // An ActivityFailure from another copy of this module (e.g. a user's module importing the
  // sources while the engine runs from dist/) fails `instanceof`; recognise it by shape.
  if (err instanceof Error && err.name === 'ActivityFailure' && typeof (err as Partial<ActivityFailure>).toErrorInfo === 'function') {
    return (err as ActivityFailure).toErrorInfo();
  }
  if (err instanceof Error) {
    const code = (err as { code?: unknown }).code;
    return { code: typeof code === 'string' ? code : 'activity_error', message: err.message };
  }
  return { code: 'activity_error', message: String(err) };
}

export class ActivityRegistry {
  private readonly handlers = new Map<string, ActivityHandler>();

  register(name: string, handler: ActivityHandler): this {
    if (!name) throw new Error('activity name must not be empty');
    this.handlers.set(name, handler);
    return this;
  }
  get(name: string): ActivityHandler | undefined {
    return this.handlers.get(name);
  }
  has(name: string): boolean {
    return this.handlers.has(name);
  }
  names(): string[] {
    return [...this.handlers.keys()].sort();
  }
}
