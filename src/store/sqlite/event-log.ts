/**
 * The event log: one row per (instance, commit) whose `body` is the JSON array of the events
 * first_seq..last_seq. Measured against one row per event (docs/storage.md): fewer B-tree
 * inserts and one JSON.stringify per instance per commit make the hot path ~25 % cheaper in the
 * store, while range reads decode a few extra events at the edges.
 * The primary key (instance_id, last_seq) finds the first chunk of a range with one seek.
 */
import type Database from 'better-sqlite3';
import type { EngineEvent } from '../../core/types.js';

export class EventLog {
  private readonly insert: Database.Statement;
  private readonly select: Database.Statement;

  constructor(db: Database.Database) {
    this.insert = db.prepare('INSERT INTO event_chunks (instance_id, first_seq, last_seq, body) VALUES (?, ?, ?, ?)');
    this.select = db.prepare(
      'SELECT first_seq, body FROM event_chunks WHERE instance_id = ? AND last_seq >= ? AND first_seq <= ? ORDER BY last_seq',
    ).raw(true);
  }

  /** Appends events already numbered (the caller checked the seq). */
  append(instanceId: string, events: EngineEvent[]): void {
    if (events.length === 0) return;
    this.insert.run(instanceId, events[0].seq, events[events.length - 1].seq, JSON.stringify(events));
  }

  /** Events with fromSeq ≤ seq ≤ toSeq, in order, at most `limit`. */
  read(instanceId: string, fromSeq: number, toSeq: number, limit: number): EngineEvent[] {
    const out: EngineEvent[] = [];
    for (const [firstSeq, body] of this.select.iterate(instanceId, fromSeq, toSeq) as Iterable<[number, string]>) {
      const chunk = JSON.parse(body) as EngineEvent[];
      for (let i = Math.max(0, fromSeq - firstSeq); i < chunk.length; i++) {
        if (chunk[i].seq > toSeq || out.length >= limit) return out;
        out.push(chunk[i]);
      }
      if (out.length >= limit) break;
    }
    return out;
  }
}
