/**
 * Leader election for singleton duties (dead-node sweep, retention, the outbox relay, cron
 * schedules). On PostgreSQL the leader is the node holding a session-level advisory lock on a
 * dedicated connection: `pg_try_advisory_lock` every `retryMs` while not leader; while leader the
 * connection is probed at the same pace, and the connection breaking (or failing a probe) means
 * leadership is lost — duties stop at once, and PostgreSQL frees the lock when the session ends,
 * so another node takes over on its next try. Without a lock (SQLite) the node is always leader.
 */
import type pg from 'pg';
import { endQuietly, openDedicatedConnection } from './pg-connection.js';

/** A singleton duty: started when this node becomes leader, stopped when it stops being leader. */
export interface LeaderDuty {
  readonly name?: string;
  start(): void;
  stop(): void;
}

/** The lock a leader holds; `undefined` lock = always leader (embedded). */
export interface LeaderLock {
  /** Tries to take the lock (connecting if needed); false when another node holds it. */
  tryAcquire(onLost: () => void): Promise<boolean>;
  /** While held: does the session still answer? */
  probe(): Promise<boolean>;
  release(): Promise<void>;
}

/** The advisory-lock key of leadership (shared by every node; distinct from the migration lock). */
export const LEADER_LOCK_KEY = 0x77656674_02; // 'weft' + 2

/** The lock connection's `application_name` carries the node id, so anyone can see who leads. */
const LEADER_APP_PREFIX = 'weft-leader:';

/**
 * The node holding the leader lock now, read from `pg_locks` (any connection of the database).
 * Advisory locks are per database but `pg_locks` shows the whole server: filter on ours.
 */
export async function currentLeader(query: (text: string, values: unknown[]) => Promise<Array<{ app: string | null }>>, key = LEADER_LOCK_KEY): Promise<string | undefined> {
  const rows = await query(`SELECT a.application_name AS app FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid
    WHERE l.locktype = 'advisory' AND l.granted AND ((l.classid::bigint << 32) | l.objid::bigint) = $1
      AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database())`, [key]);
  const app = rows[0]?.app;
  return app?.startsWith(LEADER_APP_PREFIX) ? app.slice(LEADER_APP_PREFIX.length) : undefined;
}

export class PgLeaderLock implements LeaderLock {
  private client?: pg.Client;

  constructor(private readonly url: string, private readonly nodeId: string, private readonly key = LEADER_LOCK_KEY) {}

  async tryAcquire(onLost: () => void): Promise<boolean> {
    if (!this.client) {
      let client: pg.Client | undefined;
      client = await openDedicatedConnection({
        url: this.url, applicationName: `${LEADER_APP_PREFIX}${this.nodeId}`.slice(0, 63),
        onLost: () => { if (this.client === client) { this.client = undefined; void endQuietly(client); onLost(); } },
      });
      this.client = client;
    }
    try {
      const { rows } = await this.client.query<{ ok: boolean }>('SELECT pg_try_advisory_lock($1) AS ok', [this.key]);
      return rows[0]?.ok === true;
    } catch (err) {
      await this.drop();
      throw err;
    }
  }

  async probe(): Promise<boolean> {
    const c = this.client;
    if (!c) return false;
    try {
      // Also confirms the lock is still ours (an administrator may have terminated the backend).
      const { rows } = await c.query<{ held: boolean }>(`SELECT EXISTS (SELECT 1 FROM pg_locks WHERE locktype = 'advisory'
        AND pid = pg_backend_pid() AND granted AND ((classid::bigint << 32) | objid::bigint) = $1) AS held`, [this.key]);
      return rows[0]?.held === true;
    } catch {
      await this.drop();
      return false;
    }
  }

  async release(): Promise<void> {
    const c = this.client;
    this.client = undefined;
    if (!c) return;
    await Promise.race([c.query('SELECT pg_advisory_unlock($1)', [this.key]).catch(() => undefined), new Promise((r) => setTimeout(r, 1_000).unref())]);
    await endQuietly(c);
  }

  private async drop(): Promise<void> {
    const c = this.client;
    this.client = undefined;
    await endQuietly(c);
  }
}

export interface LeaderElectionOptions {
  lock?: LeaderLock;
  /** How often a follower tries the lock and a leader probes it, ms (default 3,000). */
  retryMs?: number;
  log: (level: 'debug' | 'info' | 'warn' | 'error', message: string, fields?: Record<string, unknown>) => void;
  onChange?: (leader: boolean) => void;
}

export class LeaderElection {
  private readonly duties: LeaderDuty[] = [];
  private leader = false;
  private timer?: NodeJS.Timeout;
  private ticking?: Promise<void>;
  private closed = false;

  constructor(private readonly o: LeaderElectionOptions) {}

  get isLeader(): boolean {
    return this.leader;
  }

  /** Registers a duty; started at once if this node leads now. */
  add(duty: LeaderDuty): () => void {
    this.duties.push(duty);
    if (this.leader) this.startDuty(duty);
    return () => {
      const i = this.duties.indexOf(duty);
      if (i < 0) return;
      this.duties.splice(i, 1);
      if (this.leader) this.stopDuty(duty);
    };
  }

  /** Embedded: leader now. PostgreSQL: first try now, then every `retryMs`. */
  async start(): Promise<void> {
    if (!this.o.lock) { this.become(true); return; }
    await this.tick();
    this.schedule();
  }

  async close(): Promise<void> {
    this.closed = true;
    if (this.timer) clearTimeout(this.timer);
    await this.ticking?.catch(() => undefined);
    this.become(false);
    await this.o.lock?.release();
  }

  private schedule(): void {
    if (this.closed) return;
    this.timer = setTimeout(() => { void this.tick().finally(() => this.schedule()); }, this.o.retryMs ?? 3_000);
    this.timer.unref();
  }

  private tick(): Promise<void> {
    this.ticking = (async () => {
      const lock = this.o.lock!;
      try {
        if (this.leader) {
          if (!(await lock.probe())) {
            this.o.log('warn', 'leadership lost (the lock connection no longer answers)');
            this.become(false);
          }
        } else if (await lock.tryAcquire(() => this.lockLost())) {
          if (this.closed) { await lock.release(); return; }
          this.o.log('info', 'this node is now the leader');
          this.become(true);
        }
      } catch (err) {
        if (this.leader) this.become(false);
        this.o.log('debug', 'leader election: could not reach the database', { error: String(err) });
      }
    })();
    return this.ticking;
  }

  private lockLost(): void {
    if (!this.leader) return;
    this.o.log('warn', 'leadership lost (the lock connection broke)');
    this.become(false);
  }

  private become(leader: boolean): void {
    if (this.leader === leader) return;
    this.leader = leader;
    for (const d of this.duties) if (leader) this.startDuty(d); else this.stopDuty(d);
    try { this.o.onChange?.(leader); } catch { /* a listener must not break the election */ }
  }

  private startDuty(d: LeaderDuty): void {
    try { d.start(); } catch (err) { this.o.log('error', 'a leader duty failed to start', { duty: d.name, error: String(err) }); }
  }

  private stopDuty(d: LeaderDuty): void {
    try { d.stop(); } catch (err) { this.o.log('error', 'a leader duty failed to stop', { duty: d.name, error: String(err) }); }
  }
}
