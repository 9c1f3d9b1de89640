/**
 * A pure in-memory driver for the core: holds one instance's state and log, runs commands with
 * a virtual clock, and can play the world (complete tasks with handlers, fire due timers). Used by
 * unit and property tests, and by the verifier's agreement tests. No I/O.
 */
import { compileDefinition, type CompiledDefinition } from './compiled.js';
import { execute, fold } from './engine.js';
import type { Definition } from '../model/schema.js';
import type { ActiveTask, Command, DecideContext, EngineEvent, ErrorInfo, InstanceState } from './types.js';
import { TERMINAL_STATUSES } from './types.js';

/** A command without its instance id (the simulator fills it in). */
export type CommandInput = Command extends infer C ? (C extends Command ? Omit<C, 'instanceId'> & { instanceId?: string } : never) : never;

export type SimHandler = (input: unknown, task: ActiveTask) => unknown;
/** A handler may throw `SimFailure` to fail the attempt with a code. */
export class SimFailure extends Error {
  constructor(readonly info: ErrorInfo) {
    super(info.message);
  }
}

export interface SimOptions {
  now?: number;
  random?: () => number;
  limits?: DecideContext['limits'];
}

export class Simulator {
  readonly def: CompiledDefinition;
  state: InstanceState | null = null;
  readonly log: EngineEvent[] = [];
  now: number;
  private readonly random: () => number;

  constructor(definition: Definition | CompiledDefinition, readonly instanceId = 'i-1', private readonly options: SimOptions = {}) {
    this.def = 'steps' in definition && definition.steps instanceof Map ? (definition as CompiledDefinition) : compileDefinition(definition as Definition);
    this.now = options.now ?? Date.UTC(2026, 0, 5, 9, 0, 0);
    this.random = options.random ?? (() => 0.5);
  }

  async send(command: CommandInput): Promise<EngineEvent[]> {
    const cmd = { instanceId: this.instanceId, ...command } as Command;
    const { state, events } = await execute(this.def, this.state, cmd, { now: this.now, random: this.random(), limits: this.options.limits });
    this.state = state;
    this.log.push(...events);
    return events;
  }

  start(input: unknown = {}, extra: Partial<Command> = {}): Promise<EngineEvent[]> {
    return this.send({ type: 'StartWorkflow', input, ...extra } as Command);
  }

  get s(): InstanceState {
    if (!this.state) throw new Error('not started');
    return this.state;
  }

  tasks(): ActiveTask[] {
    return Object.values(this.s.tasks).filter((t) => t.status === 'scheduled');
  }

  async complete(taskId: string, output?: unknown): Promise<EngineEvent[]> {
    const t = this.s.tasks[taskId];
    return this.send({ type: 'CompleteActivity', taskId, attempt: t?.attempt ?? 1, output } as Command);
  }

  async fail(taskId: string, error: ErrorInfo): Promise<EngineEvent[]> {
    const t = this.s.tasks[taskId];
    return this.send({ type: 'FailActivity', taskId, attempt: t?.attempt ?? 1, error } as Command);
  }

  /** Fires the earliest timer (advancing the clock to it); false when none is pending. */
  async fireNextTimer(): Promise<boolean> {
    const timers = Object.entries(this.s.timers).filter(([, t]) => !t.deferred).sort((a, b) => a[1].dueAt - b[1].dueAt);
    if (timers.length === 0) return false;
    const [id, t] = timers[0];
    this.now = Math.max(this.now, t.dueAt);
    await this.send({ type: 'FireTimer', timerId: id } as Command);
    return true;
  }

  /**
   * Plays the world until the instance is terminal or waits only on events/humans:
   * scheduled tasks run through `handlers` (default: echo input), then due timers fire.
   */
  async run(handlers: Record<string, SimHandler> = {}, maxSteps = 10_000): Promise<InstanceState> {
    for (let i = 0; i < maxSteps; i++) {
      if (TERMINAL_STATUSES.has(this.s.status) || this.s.status === 'paused') return this.s;
      const task = this.tasks()[0];
      if (task) {
        const handler = handlers[task.activity];
        try {
          const output = handler ? handler(task.input, task) : task.input;
          await this.complete(task.taskId, output);
        } catch (err) {
          const info = err instanceof SimFailure ? err.info : { code: 'error', message: String(err) };
          await this.fail(task.taskId, info);
        }
        continue;
      }
      const hasTimers = Object.values(this.s.timers).some((t) => t.kind !== 'workflow-timeout' && !t.deferred);
      if (hasTimers && (await this.fireNextTimer())) continue;
      return this.s;
    }
    throw new Error(`simulation did not settle in ${maxSteps} steps`);
  }

  /** The state folded from the log — must equal `state`. */
  replay(): InstanceState | null {
    return fold(this.log);
  }
}
