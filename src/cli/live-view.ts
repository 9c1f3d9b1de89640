/**
 * The run view. On a terminal it redraws a block per instance in place (log-update): every step
 * with its state, attempts and durations, and a progress line. Elsewhere (pipes, CI, `--no-live`)
 * it prints one line per step state change, plus a progress line every few seconds.
 */
import { createLogUpdate } from 'log-update';
import { colors, formatDuration, padEnd } from './format.js';
import type { CliIO } from './io.js';
import { describeStep, stepIcon } from './step-describe.js';
import type { StepTracker } from './step-tracker.js';

export type ViewMode = 'live' | 'plain' | 'silent';

export interface WatchedInstance {
  tracker: StepTracker;
  title: string;
}

export interface RunView {
  update(): void;
  /** A line printed above the live area (answers given, notes). */
  note(text: string): void;
  /** Stops redrawing (while a question is asked); `resume()` starts again. */
  pause(): void;
  resume(): void;
  /** Leaves the final picture on screen. */
  stop(): void;
}

export function createRunView(mode: ViewMode, io: CliIO, instances: () => WatchedInstance[]): RunView {
  if (mode === 'silent') return { update() {}, note() {}, pause() {}, resume() {}, stop() {} };
  return mode === 'live' ? new LiveTerminalView(io, instances) : new PlainLogView(io, instances);
}

export function renderInstanceBlock(instance: WatchedInstance, now: number = Date.now()): string {
  const { tracker } = instance;
  const idWidth = Math.max(4, ...[...tracker.rows.keys()].map((id) => id.length));
  const lines = [`${colors.bold(instance.title)}  ${statusWord(tracker.status)}`];
  const finished = tracker.endedAt !== undefined;
  for (const row of tracker.rows.values()) {
    const text = finished && row.state === 'pending' ? colors.dim('not reached') : describeStep(row, now);
    lines.push(`  ${stepIcon(row.state)} ${padEnd(row.stepId, idWidth)}  ${text}`);
  }
  lines.push(colors.dim(`  ${progressLine(tracker, now)}`));
  return lines.join('\n');
}

export function progressLine(tracker: StepTracker, now: number = Date.now()): string {
  const { total, done, active } = tracker.counts();
  const elapsed = tracker.startedAt === undefined ? 0 : (tracker.endedAt ?? now) - tracker.startedAt;
  if (tracker.endedAt !== undefined) return `${tracker.status} · ${done} steps ran, ${total - done - active} not reached · ${formatDuration(elapsed)}`;
  return `${done}/${total} steps done · ${active} active · ${formatDuration(elapsed)} elapsed`;
}

function statusWord(status: string): string {
  if (status === 'completed') return colors.green(status);
  if (status === 'failed' || status === 'terminated') return colors.red(status);
  if (status === 'cancelled' || status === 'compensated' || status === 'compensating') return colors.yellow(status);
  return colors.cyan(status);
}

class LiveTerminalView implements RunView {
  private readonly log;
  private timer?: NodeJS.Timeout;
  private paused = false;

  constructor(private readonly io: CliIO, private readonly instances: () => WatchedInstance[]) {
    this.log = createLogUpdate(io.stdout as NodeJS.WriteStream, { showCursor: false });
    this.timer = setInterval(() => this.update(), 250);
    this.timer.unref();
  }
  update(): void {
    if (this.paused) return;
    const now = Date.now();
    this.log(this.instances().map((i) => renderInstanceBlock(i, now)).join('\n\n'));
  }
  note(text: string): void {
    this.log.clear();
    this.io.stdout.write(text + '\n');
    this.update();
  }
  pause(): void {
    this.paused = true;
    this.log.clear();
  }
  resume(): void {
    this.paused = false;
    this.update();
  }
  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.paused = false;
    this.update();
    this.log.done();
  }
}

const PLAIN_PROGRESS_EVERY_MS = 5_000;

class PlainLogView implements RunView {
  private readonly printed = new Map<string, string>();
  private readonly timer: NodeJS.Timeout;
  private lastOutputAt = Date.now();

  constructor(private readonly io: CliIO, private readonly instances: () => WatchedInstance[]) {
    this.timer = setInterval(() => this.progress(), 1_000);
    this.timer.unref();
  }
  update(): void {
    const now = Date.now();
    const all = this.instances();
    for (const { tracker } of all) {
      const prefix = all.length > 1 ? `${tracker.instanceId} ` : '';
      for (const row of tracker.rows.values()) {
        if (row.state === 'pending') continue;
        const key = `${tracker.instanceId}#${row.stepId}`;
        const signature = `${row.state}|${row.attempt}|${row.runs}|${row.nextRetryAt ?? ''}|${row.join?.arrived ?? ''}`;
        if (this.printed.get(key) === signature) continue;
        this.printed.set(key, signature);
        this.line(`${stamp(tracker, now)} ${prefix}${row.stepId}: ${describeStep(row, now, { elapsed: false })}`);
      }
      const statusKey = `${tracker.instanceId}#status`;
      if (this.printed.get(statusKey) !== tracker.status) {
        this.printed.set(statusKey, tracker.status);
        this.line(`${stamp(tracker, now)} ${prefix}instance ${tracker.status}`);
      }
    }
  }
  note(text: string): void {
    this.line(text);
  }
  pause(): void {}
  resume(): void {}
  stop(): void {
    clearInterval(this.timer);
    this.update();
  }
  private progress(): void {
    const now = Date.now();
    if (now - this.lastOutputAt < PLAIN_PROGRESS_EVERY_MS) return;
    for (const { tracker } of this.instances()) {
      if (tracker.endedAt === undefined) this.line(`${stamp(tracker, now)} ${tracker.instanceId}: ${progressLine(tracker, now)}`);
    }
  }
  private line(text: string): void {
    this.lastOutputAt = Date.now();
    this.io.stdout.write(text + '\n');
  }
}

function stamp(tracker: StepTracker, now: number): string {
  const at = tracker.lastEventAt ?? now;
  const offset = tracker.startedAt === undefined ? 0 : Math.max(0, at - tracker.startedAt);
  return colors.dim(`[+${formatDuration(offset)}]`);
}
