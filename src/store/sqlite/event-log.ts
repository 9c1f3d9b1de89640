/**
 * The event log, in one of two layouts (see docs/storage.md for the measurements):
 *  - `chunk`: one row per (instance, commit), `body` = JSON array of events first_seq..last_seq;
 *  - `row`:   one row per event.
 * Both give the same answers; the store uses one per database.
 */
import type Database from 'better-sqlite3';
import type { EngineEvent } from '../../core/types.js';

export type EventLayout = 'chunk' | 'row';

export interface EventLog {
  /** Appends events already numbered expectedSeq+1… (the caller checked the seq). */
  append(instanceId: string, events: EngineEvent[]): void;
  /** Events with fromSeq ≤ seq ≤ toSeq, in order, at most `limit`. */
  read(instanceId: string, fromSeq: number, toSeq: number, limit: number): EngineEvent[];
}

export function createEventLog(db: Database.Database, layout: EventLayout): EventLog {
  return layout === 'chunk' ? chunkLog(db) : rowLog(db);
}

function chunkLog(db: Database.Database): EventLog {
  const insert = db.prepare('INSERT INTO event_chunks (instance_id, first_seq, last_seq, body) VALUES (?, ?, ?, ?)');
  const select = db.prepare(
    'SELECT first_seq, body FROM event_chunks WHERE instance_id = ? AND last_seq >= ? AND first_seq <= ? ORDER BY last_seq',
  ).raw(true);
  return {
    append(instanceId, events) {
      if (events.length === 0) return;
      insert.run(instanceId, events[0].seq, events[events.length - 1].seq, JSON.stringify(events));
    },
    read(instanceId, fromSeq, toSeq, limit) {
      const out: EngineEvent[] = [];
      for (const [firstSeq, body] of select.iterate(instanceId, fromSeq, toSeq) as Iterable<[number, string]>) {
        const chunk = JSON.parse(body) as EngineEvent[];
        const start = Math.max(0, fromSeq - firstSeq);
        for (let i = start; i < chunk.length; i++) {
          const e = chunk[i];
          if (e.seq > toSeq || out.length >= limit) break;
          out.push(e);
        }
        if (out.length >= limit) break;
      }
      return out;
    },
  };
}

function rowLog(db: Database.Database): EventLog {
  const insert = db.prepare('INSERT INTO events (instance_id, seq, body) VALUES (?, ?, ?)');
  const select = db.prepare(
    'SELECT body FROM events WHERE instance_id = ? AND seq >= ? AND seq <= ? ORDER BY seq LIMIT ?',
  ).pluck(true);
  return {
    append(instanceId, events) {
      for (const e of events) insert.run(instanceId, e.seq, JSON.stringify(e));
    },
    read(instanceId, fromSeq, toSeq, limit) {
      return (select.all(instanceId, fromSeq, toSeq, limit) as string[]).map((b) => JSON.parse(b) as EngineEvent);
    },
  };
}
