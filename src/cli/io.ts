/**
 * What every command writes to and how it fails. Commands take a `CliIO` instead of touching
 * `process` so tests can run them in-process, and throw `CliError` (a message plus an exit code)
 * for every expected failure: bad flags, missing files, invalid definitions.
 */

export interface CliIO {
  stdout: NodeJS.WritableStream & { isTTY?: boolean; columns?: number };
  stderr: NodeJS.WritableStream;
  /** Whether questions may be asked (stdin is a terminal). */
  interactive: boolean;
  /** Calls `handler` on Ctrl+C (once); returns a function that removes it. */
  onInterrupt?(handler: () => void): () => void;
}

/** Exit codes, documented in docs/cli.md. */
export const EXIT = {
  ok: 0,
  /** The workflow failed / was cancelled, terminated or compensated; an invalid definition; a missing file or activity. */
  failure: 1,
  /** Bad command-line usage: unknown flag, malformed `--input`. */
  usage: 2,
  /** The run stopped while the instance still waits for a person or an outside event. */
  waiting: 3,
  /** Interrupted with Ctrl+C (the instance stays in the database). */
  interrupted: 130,
} as const;

export class CliError extends Error {
  constructor(message: string, readonly exitCode: number = EXIT.failure) {
    super(message);
    this.name = 'CliError';
  }
}

export function processIO(): CliIO {
  return {
    stdout: process.stdout,
    stderr: process.stderr,
    interactive: Boolean(process.stdin.isTTY),
    onInterrupt(handler) {
      process.once('SIGINT', handler);
      return () => process.off('SIGINT', handler);
    },
  };
}

export function writeLine(stream: NodeJS.WritableStream, text = ''): void {
  stream.write(text + '\n');
}
