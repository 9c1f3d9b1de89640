/**
 * Errors that mean "the database could not be reached or is restarting" rather than "this write
 * is wrong": worth retrying with back-off for as long as it takes (the engine's own commands),
 * never worth giving up on work for.
 */
const NODE_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EPIPE', 'ENOTFOUND', 'EHOSTUNREACH', 'ENETUNREACH', 'EAI_AGAIN', 'SQLITE_BUSY', 'SQLITE_LOCKED']);
/** SQLSTATE classes 08 (connection exception) and 57P (operator intervention: shutdown, restart), 53 (insufficient resources), 40 (rollbacks). */
const SQLSTATE = /^(08|57P|53|40)/;
const MESSAGES = /connection terminated|connection timeout|timeout exceeded when trying to connect|query read timeout|client has encountered a connection error|not queryable|the database system is (starting up|shutting down)|terminating connection/i;

export function isTransientStoreError(err: unknown): boolean {
  if (typeof err !== 'object' || err === null) return false;
  const code = (err as { code?: unknown }).code;
  if (typeof code === 'string' && (NODE_CODES.has(code) || SQLSTATE.test(code))) return true;
  const message = (err as { message?: unknown }).message;
  return typeof message === 'string' && MESSAGES.test(message);
}
