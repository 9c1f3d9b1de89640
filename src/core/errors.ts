/**
 * Why the core refused a command. Rejections change nothing: no event is produced.
 * Codes are stable; the API maps them to HTTP statuses (invalid_state → 409, not_found → 404, …).
 */
export type RejectionCode =
  | 'invalid_input'      // the command's data is wrong (bad form data, wrong variable type, unknown action)
  | 'invalid_state'      // the instance or step is not in a state that allows the command
  | 'not_found'          // the step, task, timer or child named does not exist
  | 'stale'              // refers to an attempt or task that is no longer current (duplicate or late)
  | 'not_allowed'        // the definition forbids it (e.g. skipping a step that is not skippable)
  | 'payload_too_large'; // input or data over the configured limit

export class CommandRejected extends Error {
  constructor(readonly code: RejectionCode, message: string, readonly details?: unknown) {
    super(message);
    this.name = 'CommandRejected';
  }
}

export function reject(code: RejectionCode, message: string, details?: unknown): never {
  throw new CommandRejected(code, message, details);
}
