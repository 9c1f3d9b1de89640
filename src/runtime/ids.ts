/** Ids the runtime mints: instance ids that sort by creation time, lease tokens, node ids. */
import { randomBytes } from 'node:crypto';

let lastMs = 0;
let counter = 0;
const nodePart = randomBytes(3).toString('hex');
let pool = Buffer.alloc(0);
let poolAt = 0;

/** Six random hex digits from a pooled buffer (one crypto call per 1,024 ids). */
function randomHex6(): string {
  if (poolAt + 3 > pool.length) { pool = randomBytes(3 * 1024); poolAt = 0; }
  poolAt += 3;
  return pool.toString('hex', poolAt - 3, poolAt);
}

/** `<time base36, 9 chars><counter base36, 4><random hex, 6>`: unique, sortable by creation. */
export function newInstanceId(now = Date.now()): string {
  if (now === lastMs) counter++;
  else { lastMs = now; counter = 0; }
  return `${now.toString(36).padStart(9, '0')}${counter.toString(36).padStart(4, '0')}${nodePart}${randomHex6()}`;
}

export function newNodeId(): string {
  return `node-${process.pid}-${randomBytes(3).toString('hex')}`;
}

/** Lease tokens: unique per claim, cheap (no randomness per call). */
export function leaseTokens(nodeId: string): () => string {
  const prefix = `${nodeId}.${randomBytes(3).toString('hex')}.`;
  let n = 0;
  return () => prefix + (++n).toString(36);
}
