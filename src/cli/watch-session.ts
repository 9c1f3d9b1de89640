/**
 * Wires a driver (answers, settling) to a view (live, plain or silent) for `run` and `resume`.
 * In `--json` mode notes are collected for the result object instead of printed.
 */
import type { Engine } from '../runtime/api.js';
import type { AnswerBook } from './answers.js';
import type { CliIO } from './io.js';
import { InstanceDriver } from './instance-driver.js';
import { createRunView, type RunView, type ViewMode } from './live-view.js';

/** Wait timeouts and human deadlines due within this window are waited out by `run`/`resume`. */
export const PATIENCE_MS = 60_000;

export interface WatchSessionOptions {
  json: boolean;
  /** `--no-live` turns the redrawing view into a line-per-change log. */
  live: boolean;
  answersFor?(instanceId: string): AnswerBook | undefined;
  /** Title shown above an instance's block. */
  titleOf(instanceId: string, definitionId?: string): string;
}

export interface WatchSession {
  driver: InstanceDriver;
  view: RunView;
  notes: string[];
}

export function createWatchSession(engine: Engine, io: CliIO, options: WatchSessionOptions): WatchSession {
  const mode: ViewMode = options.json ? 'silent' : options.live && isRealTerminal(io.stdout) ? 'live' : 'plain';
  const notes: string[] = [];
  let view: RunView | undefined;
  const driver = new InstanceDriver(engine, {
    answersFor: options.answersFor,
    interactive: io.interactive && !options.json,
    patienceMs: PATIENCE_MS,
    note: (text) => {
      notes.push(text);
      view?.note(text);
    },
    beforeQuestion: () => view?.pause(),
    afterQuestion: () => view?.resume(),
    onChange: () => view?.update(),
  });
  view = createRunView(mode, io, () =>
    [...driver.trackers.values()].map((tracker) => ({
      tracker,
      title: options.titleOf(tracker.instanceId, driver.states.get(tracker.instanceId)?.definitionId),
    })),
  );
  return { driver, view, notes };
}

/** A terminal with a known size: redrawing in place needs both (a pty without a size has 0×0). */
function isRealTerminal(stream: CliIO['stdout']): boolean {
  const tty = stream as CliIO['stdout'] & { rows?: number };
  return Boolean(tty.isTTY && tty.columns && tty.rows);
}
