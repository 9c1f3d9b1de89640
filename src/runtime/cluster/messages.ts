/**
 * What nodes tell each other over LISTEN/NOTIFY. One notice per flush, sent inside the commit
 * transaction, so a node hears about a commit only once it is visible. Kept small: instance ids
 * with the seq range written, and two hints (tasks left unclaimed, the earliest timer set).
 */

/** PostgreSQL refuses NOTIFY payloads of 8,000 bytes or more; stay clear of it. */
export const MAX_PAYLOAD_BYTES = 7_900;

export interface ClusterNotice {
  /** The sending node (a node ignores its own notices). */
  n: string;
  /** Commits: [instance id, first seq, last seq] per instance of the flush. */
  c?: Array<[string, number, number]>;
  /** Tasks were written that the sender did not lease to itself: idle nodes and worker long-polls should claim. */
  t?: 1;
  /** The activities of those tasks (a node without a handler for any of them need not look); absent: any. */
  a?: string[];
  /** The earliest timer due time written (nodes re-arm their one timeout when it is earlier). */
  tm?: number;
}

/**
 * The notice as one or more payloads, each under the limit: a flush of hundreds of instances is
 * split by instance (the hints ride on the first), never truncated, so no commit goes unheard.
 */
export function encodeNotice(notice: ClusterNotice): string[] {
  const whole = JSON.stringify(notice);
  if (Buffer.byteLength(whole, 'utf8') <= MAX_PAYLOAD_BYTES) return [whole];
  const out: string[] = [];
  const { c = [], ...hints } = notice;
  let part: ClusterNotice = { ...hints, c: [] };
  let size = Buffer.byteLength(JSON.stringify(part), 'utf8');
  for (const entry of c) {
    const add = Buffer.byteLength(JSON.stringify(entry), 'utf8') + 1;
    if (size + add > MAX_PAYLOAD_BYTES && part.c!.length > 0) {
      out.push(JSON.stringify(part));
      part = { n: notice.n, c: [] };
      size = Buffer.byteLength(JSON.stringify(part), 'utf8');
    }
    part.c!.push(entry);
    size += add;
  }
  out.push(JSON.stringify(part));
  return out;
}

/** Parses a payload; anything malformed (another program on the channel) → undefined. */
export function decodeNotice(payload: string | undefined): ClusterNotice | undefined {
  if (!payload) return undefined;
  let v: unknown;
  try { v = JSON.parse(payload); } catch { return undefined; }
  if (typeof v !== 'object' || v === null || typeof (v as ClusterNotice).n !== 'string') return undefined;
  const n = v as ClusterNotice;
  const out: ClusterNotice = { n: n.n };
  if (Array.isArray(n.c)) {
    out.c = n.c.filter((e): e is [string, number, number] => Array.isArray(e) && typeof e[0] === 'string' && Number.isInteger(e[1]) && Number.isInteger(e[2]));
  }
  if (n.t === 1) out.t = 1;
  if (Array.isArray(n.a) && n.a.every((x) => typeof x === 'string')) out.a = n.a;
  if (typeof n.tm === 'number' && Number.isFinite(n.tm)) out.tm = n.tm;
  return out;
}
