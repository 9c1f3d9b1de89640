/**
 * The embedded engine: the composition root of the runtime (SPEC C3). It owns the store, the
 * state cache, the group-commit queue, the in-process activity dispatcher and the timer service,
 * and implements the `Engine` contract of api.ts.
 */
import { registerBuiltins, BUILTIN_ACTIVITIES } from '../activities/index.js';
import { fold } from '../core/engine.js';
import { CommandRejected } from '../core/errors.js';
import { DEFAULT_MAX_PAYLOAD_BYTES } from '../core/machine.js';
import type { Command, EngineEvent, InstanceState } from '../core/types.js';
import { TERMINAL_STATUSES } from '../core/types.js';
import type { Definition } from '../model/schema.js';
import { PostgresStore, NOTIFY_CHANNEL, openPostgresStore } from '../store/postgres/store.js';
import { SqliteStore } from '../store/sqlite/store.js';
import type { InstanceRecord, Store } from '../store/types.js';
import { Coherence } from './cluster/coherence.js';
import { PeriodicDuty, purgeExpired, sweepDeadNodes } from './cluster/duties.js';
import { currentLeader, LeaderElection, PgLeaderLock, type LeaderDuty } from './cluster/leader.js';
import { decodeNotice, encodeNotice, type ClusterNotice } from './cluster/messages.js';
import { NodeRegistry } from './cluster/nodes.js';
import { NotificationListener } from './cluster/notifications.js';
import { ActivityRegistry, type ActivityHandler } from './activity.js';
import type {
  CommittedBatch, NodeInfo, DeployOptions, DeployResult, Engine, EngineEventMap, EngineOptions, HumanTaskRow, InstanceSummary, StartOptions,
} from './api.js';
import { CommitQueue, type CommittedInstance } from './commit-queue.js';
import { Definitions } from './definitions.js';
import { Dispatcher } from './dispatcher.js';
import { Emitter } from './emitter.js';
import { OutboxRelay } from './outbox-relay.js';
import { newInstanceId, newNodeId } from './ids.js';
import { InstanceCache } from './instance-cache.js';
import { TimerService } from './timers.js';
import { Waiters } from './waiters.js';
import { RemoteTasks } from './remote-tasks.js';
import { ScheduleService } from './schedules.js';

export const DEFAULT_DB = '.weft/weft.db';

/** Tuning knobs not in the public options (tests, benchmarks, other store backends). */
export interface EngineInternals {
  /** States kept in memory (default 10,000). */
  cacheSize?: number;
  /** Lease length for tasks and timers this node takes, ms (default 60 s). */
  leaseMs?: number;
  /** Most commands per group commit (default 500). */
  maxBatch?: number;
  /** Lease length of tasks claimed by remote workers, ms (default 30 s). */
  remoteLeaseMs?: number;
  /** State-space bound of the soundness check at deploy (default the verifier's, 100,000). */
  verifyMaxStates?: number;
  /** How often this node writes its heartbeat, ms (default 2,000). */
  heartbeatMs?: number;
  /** A node without a heartbeat for this long is dead: its leases are released (default 10,000). */
  deadAfterMs?: number;
  /** How often a follower tries to become leader and a leader checks its lock, ms (default 3,000). */
  leaderRetryMs?: number;
  /** PostgreSQL: the slow fallback poll (expired leases, due timers, missed notices), ms (default 5,000). */
  pollMs?: number;
  /** How often the leader runs retention when `retentionMs` is set, ms (default 60,000). */
  retentionIntervalMs?: number;
  /** PostgreSQL: LISTEN for other nodes' notices (default true; tests turn it off to force stale caches). */
  listen?: boolean;
}

/** `postgres://…` / `postgresql://…` is a PostgreSQL database; anything else a SQLite file. */
export function isPostgresUrl(db: string | undefined): boolean {
  return db !== undefined && /^postgres(ql)?:\/\//i.test(db);
}

/** Opens the store `db` names: a PostgreSQL URL (migrations applied under the advisory lock) or a SQLite file. */
export async function openStore(db: string = DEFAULT_DB, options: { poolSize?: number } = {}): Promise<Store> {
  if (isPostgresUrl(db)) {
    return openPostgresStore(db, {
      ...(options.poolSize !== undefined && { poolSize: options.poolSize }),
      // A node cut off from the database must fail its statements (and retry) rather than hang
      // its commit queue on a socket that will never answer. Far above any statement's normal time.
      queryTimeoutMs: 60_000,
    });
  }
  // Another scheme's URL must not silently become a file under ./scheme:/…
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(db) && !/^file:/i.test(db)) {
    throw new Error(`unsupported database URL "${db.split('://')[0]}://…": use a SQLite file path or postgres://user@host:5432/db`);
  }
  return new SqliteStore(db);
}

export async function openEngine(options: EngineOptions = {}, internals: EngineInternals = {}): Promise<Engine> {
  const store = await openStore(options.db, { ...(options.poolSize !== undefined && { poolSize: options.poolSize }) });
  return openEngineWithStore(store, options, internals);
}

/** Opens an engine on a store the caller created (any backend); the engine closes it. */
export async function openEngineWithStore(store: Store, options: EngineOptions = {}, internals: EngineInternals = {}): Promise<Engine> {
  const engine = new EmbeddedEngine(store, options, internals);
  await engine.open();
  return engine;
}

class EmbeddedEngine implements Engine {
  readonly activities: ActivityRegistry;
  private readonly clock: () => number;
  private readonly maxPayloadBytes: number;
  private readonly log: NonNullable<EngineOptions['logger']>;
  private readonly cache: InstanceCache;
  private readonly definitions: Definitions;
  private readonly queue: CommitQueue;
  private readonly dispatcher: Dispatcher;
  private readonly timers: TimerService;
  private readonly waiters = new Waiters();
  private readonly emitter = new Emitter<EngineEventMap>();
  private readonly relay: OutboxRelay;
  private readonly starting = new Map<string, Promise<string>>();
  /** Remote workers' claims, heartbeats and guarded completions (runtime/remote-tasks.ts). */
  readonly remote: RemoteTasks;
  /** Cron/interval schedules that start instances (runtime/schedules.ts). */
  readonly schedules: ScheduleService;
  readonly nodeId: string;
  private closed = false;
  private opened = false;
  // ---- cluster (runtime/cluster): every node registers; PostgreSQL adds LISTEN/NOTIFY and the leader lock
  private readonly leader: LeaderElection;
  private readonly nodes: NodeRegistry;
  private readonly coherence: Coherence;
  private listener?: NotificationListener;
  private poller?: NodeJS.Timeout;
  /** Instances someone on this node waits on (`waitUntil`), with how many waiters. */
  private readonly watching = new Map<string, number>();
  private readonly internals: EngineInternals;

  constructor(private readonly store: Store, private readonly options: EngineOptions, internals: EngineInternals) {
    this.internals = internals;
    this.clock = options.clock ?? Date.now;
    const random = options.random ?? Math.random;
    this.nodeId = options.nodeId ?? newNodeId();
    this.maxPayloadBytes = options.maxPayloadBytes ?? DEFAULT_MAX_PAYLOAD_BYTES;
    const logger = options.logger;
    this.log = logger ? (level, message, fields) => { try { logger(level, message, fields); } catch { /* a logger must not break the engine */ } } : () => undefined;
    this.activities = options.activities ?? new ActivityRegistry();
    registerBuiltins(this.activities, { exclude: BUILTIN_ACTIVITIES.filter((n) => this.activities.has(n)) });
    const leaseMs = internals.leaseMs ?? 60_000;
    this.cache = new InstanceCache(internals.cacheSize ?? 10_000);
    this.definitions = new Definitions(store, this.clock, internals.verifyMaxStates);
    this.dispatcher = new Dispatcher({
      store, registry: this.activities, nodeId: this.nodeId, concurrency: options.concurrency ?? 1000, leaseMs, clock: this.clock,
      submit: (command, guard) => this.queue.send(command, guard, { persistent: true }),
      notice: (n) => { if (this.emitter.has('activity')) this.emitter.emit('activity', n); },
      log: this.log,
    });
    this.timers = new TimerService({
      store, nodeId: this.nodeId, clock: this.clock, leaseMs, submit: (c) => this.queue.send(c, undefined, { persistent: true }), log: this.log,
      clustered: store.backend !== 'sqlite',
    });
    this.remote = new RemoteTasks({
      store, clock: this.clock, log: this.log, submit: (command, guard, o) => this.queue.send(command, guard, o),
      ...(internals.remoteLeaseMs !== undefined && { leaseMs: internals.remoteLeaseMs }),
    });
    this.relay = new OutboxRelay(store, (m) => this.emitter.emit('lifecycle', m), this.log);
    // SCHEDULES (1/3): constructed here; `start()` at the end of open(), `stop()` in close().
    this.schedules = new ScheduleService({
      store, clock: this.clock, nodeId: this.nodeId, leaseMs, log: this.log,
      start: (definitionId, input, o) => this.start(definitionId, input, o),
      definitionNamespace: async (id, version) => this.definitions.namespaceOf((await this.definitions.resolve(id, version)).id) ?? 'default',
      onLifecycle: (listener) => this.emitter.on('lifecycle', listener),
    });
    this.queue = new CommitQueue(store, this.cache, this.definitions, {
      now: this.clock,
      random,
      limits: { maxPayloadBytes: this.maxPayloadBytes },
      snapshotEvery: options.snapshotEvery ?? 100,
      maxBatch: internals.maxBatch ?? 500,
      planClaims: (tasks, now) => this.dispatcher.planClaims(tasks, now),
      claimsVoid: () => this.dispatcher.claimsVoid(),
      committed: (instances) => this.committed(instances),
      ...(this.clustered && { notice: (commits, unclaimed, earliestTimer) => this.notice(commits, unclaimed, earliestTimer), verifyRejections: true }),
      log: this.log,
    });
    this.leader = new LeaderElection({
      ...(store instanceof PostgresStore && { lock: new PgLeaderLock(store.url, this.nodeId) }),
      ...(internals.leaderRetryMs !== undefined && { retryMs: internals.leaderRetryMs }),
      log: this.log,
    });
    this.nodes = new NodeRegistry({
      store, nodeId: this.nodeId, capabilities: () => this.activities.names(), capacity: options.concurrency ?? 1000,
      clock: this.clock, heartbeatMs: internals.heartbeatMs ?? 2_000, log: this.log,
    });
    this.coherence = new Coherence({
      store, cache: this.cache,
      settled: (id) => this.queue.settled(id),
      isDirty: (id) => this.queue.isDirty(id),
      load: (id) => this.queue.loader.load(id),
      watched: (id) => this.watching.has(id),
      watchedIds: () => this.watching.keys(),
      listening: () => this.emitter.has('committed'),
      deliver: (instanceId, events, state) => {
        const ns = this.definitions.namespaceOf(state.definitionId);
        this.emitter.emit('committed', { instanceId, events, state, ...(ns !== undefined && { namespace: ns }) });
      },
      notifyWaiters: (id, state) => this.waiters.notify(id, state),
      log: this.log,
    });
  }

  /** Several nodes may share the database (PostgreSQL): notices, leader lock, fallback poll. */
  private get clustered(): boolean {
    return this.store instanceof PostgresStore;
  }

  async open(): Promise<void> {
    // Read-only uses (the CLI's status/history) are not nodes: nothing runs, nothing registers.
    if (this.options.recover === false) {
      if (this.clustered) this.relay.setActive(false); // the leader relays; a reader must not delete rows
      return;
    }
    // Embedded: this process owns the file, so every lease left behind belongs to a dead process.
    // A shared database (PostgreSQL) must not do this: other nodes' leases are released by the
    // leader's dead-node sweep, or run out on their own.
    if (this.store.backend === 'sqlite') {
      const released = await this.store.releaseLeases();
      if (released > 0) this.log('info', 'recovering tasks left running by a previous process', { tasks: released });
    }
    await this.nodes.start();
    // Singleton duties. The outbox relay is one of them: on PostgreSQL one relay reads and deletes
    // rows for the whole cluster (see outbox-relay.ts).
    this.relay.setActive(false);
    this.leader.add({ name: 'outbox relay', start: () => this.relay.setActive(true, this.opened), stop: () => this.relay.setActive(false) });
    const heartbeatMs = this.internals.heartbeatMs ?? 2_000;
    this.leader.add(new PeriodicDuty('dead-node sweep', heartbeatMs, async () => {
      await sweepDeadNodes({
        store: this.store, clock: this.clock, deadAfterMs: this.internals.deadAfterMs ?? 10_000, log: this.log,
        self: this.nodeId, heartbeat: () => this.nodes.heartbeatNow(),
        announce: () => this.announce({ n: this.nodeId, t: 1, tm: this.clock() }),
      });
    }, this.log));
    const retentionMs = this.options.retentionMs;
    if (retentionMs !== undefined) {
      this.leader.add(new PeriodicDuty('retention', this.internals.retentionIntervalMs ?? 60_000, async () => {
        await purgeExpired({ store: this.store, clock: this.clock, retentionMs, log: this.log });
      }, this.log));
    }
    if (this.store instanceof PostgresStore && this.internals.listen !== false) {
      this.listener = new NotificationListener({
        url: this.store.url, channel: NOTIFY_CHANNEL, log: this.log,
        onMessage: (payload) => this.onNotice(payload),
        onReconnect: () => this.missedNotices(),
      });
      try {
        await this.listener.start();
      } catch (err) {
        this.log('warn', 'could not LISTEN for other nodes yet; retrying in the background', { error: String(err) });
        void this.listener.check();
      }
    }
    // SCHEDULES (2/3): fire due schedules while this node is the leader (one firing side per
    // cluster; on SQLite at once). `stop()` when leadership is lost, and in close().
    let schedulesStarted: Promise<void> | undefined;
    this.leader.add({
      name: 'cron schedules',
      start: () => { schedulesStarted = this.schedules.start(); },
      stop: () => { void this.schedules.stop(); },
    });
    await this.leader.start();
    await schedulesStarted; // when this node leads from the start, open() resolves with schedules armed
    if (this.clustered) {
      // The slow fallback: leases that ran out, timers due on a dead node, notices lost in transit.
      this.poller = setInterval(() => this.pollOnce(), this.internals.pollMs ?? 5_000);
      this.poller.unref();
    }
    this.dispatcher.poke();
    await this.timers.start();
    this.opened = true;
    // Lifecycle messages a crash left undelivered: on the next turn, so that listeners attached
    // right after `await openEngine()` receive them.
    setImmediate(() => { if (!this.closed) this.relay.poke(); });
  }

  /** Registers a singleton duty (cron schedules, …): started while this node is the leader, stopped when it stops being leader. */
  onLeadership(duty: LeaderDuty): () => void {
    return this.leader.add(duty);
  }

  isLeader(): boolean {
    return this.leader.isLeader;
  }

  async listNodes(): Promise<NodeInfo[]> {
    const nodes = await this.store.listNodes();
    const store = this.store;
    const leader = store instanceof PostgresStore
      ? await currentLeader(async (text, values) => (await store.pool.query<{ app: string | null }>(text, values)).rows)
      : this.leader.isLeader ? this.nodeId : undefined;
    return nodes.map((n) => ({ ...n, leader: n.id === leader }));
  }

  // ------------------------------------------------------------------ cluster notices

  /** The notification payloads of one flush (PostgreSQL only). */
  private notice(commits: Array<[string, number, number]>, unclaimed: string[], earliestTimer: number | undefined): string[] | undefined {
    if (commits.length === 0 && unclaimed.length === 0 && earliestTimer === undefined) return undefined;
    const n: ClusterNotice = { n: this.nodeId };
    if (commits.length > 0) n.c = commits;
    if (unclaimed.length > 0) { n.t = 1; n.a = unclaimed; }
    if (earliestTimer !== undefined) n.tm = earliestTimer;
    return encodeNotice(n);
  }

  /** A notice outside a commit (released leases): to the other nodes, and acted on here too. */
  private async announce(n: ClusterNotice): Promise<void> {
    this.onNoticeFrom(n, true);
    if (this.store instanceof PostgresStore) await this.store.notify(encodeNotice(n));
  }

  private onNotice(payload: string): void {
    const n = decodeNotice(payload);
    if (!n || n.n === this.nodeId || this.closed) return;
    this.onNoticeFrom(n, false);
  }

  private onNoticeFrom(n: ClusterNotice, own: boolean): void {
    if (n.t) {
      // Claim only when this node runs one of the activities (a claim is a query per notice).
      if (!n.a || n.a.some((a) => this.activities.has(a))) this.dispatcher.poke();
      this.remote.workAvailable();
    }
    if (n.tm !== undefined) this.timers.note(n.tm);
    if (n.c && n.c.length > 0 && !own) {
      this.relay.poke(); // the leader relays every node's outbox rows
      this.coherence.commits(n.c);
    }
  }

  /** The listener was away: anything may have happened. Look once, as after a restart. */
  private missedNotices(): void {
    if (this.closed) return;
    this.coherence.missed();
    this.pollOnce();
  }

  private pollOnce(): void {
    if (this.closed) return;
    // A schedule created or changed through another node re-arms the leader's timer here (at
    // most one poll late; schedules fire with a grace period).
    if (this.leader.isLeader) this.schedules.poke();
    this.dispatcher.poke();
    this.timers.poll();
    this.remote.workAvailable();
    this.relay.poke();
    void this.listener?.check();
  }

  private committed(instances: CommittedInstance[]): void {
    const listening = this.emitter.has('committed');
    for (const c of instances) {
      if (listening) {
        const ns = this.definitions.namespaceOf(c.state.definitionId);
        const batch: CommittedBatch = { instanceId: c.id, events: c.events, state: c.state, ...(ns !== undefined && { namespace: ns }) };
        this.emitter.emit('committed', batch);
      }
      this.waiters.notify(c.id, c.state);
      this.remote.committed(c.events);
    }
    for (const c of instances) {
      this.dispatcher.committed(c.id, c.fx, c.claims);
      c.fx.forEachTimerSet((dueAt) => this.timers.note(dueAt));
    }
    this.dispatcher.afterFlush();
    this.relay.poke();
  }

  // ------------------------------------------------------------------ activities and definitions

  registerActivity(name: string, handler: ActivityHandler): void {
    this.activities.register(name, handler);
    if (!this.closed && this.options.recover !== false) this.dispatcher.poke();
  }

  async deploy(definition: Definition, options: DeployOptions = {}): Promise<DeployResult> {
    this.assertOpen();
    const { id, version, created, verification } = await this.definitions.deploy(definition, {
      verify: true, force: options.force === true, ...(options.namespace !== undefined && { namespace: options.namespace }),
    });
    for (const w of verification.warnings) this.log('warn', w, { definition: id, version });
    return {
      id, version, created, verdict: verification.verdict,
      ...(verification.forced && { forced: true }), ...(verification.warnings.length > 0 && { warnings: verification.warnings }),
    };
  }

  getDefinition(id: string, version?: string): Promise<Definition | undefined> {
    return this.definitions.getDefinition(id, version);
  }

  async listDefinitions(): Promise<Array<{ id: string; version: string; createdAt: number; namespace: string }>> {
    return (await this.store.listDefinitions()).map((d) => ({ id: d.id, version: d.version, createdAt: d.createdAt, namespace: d.namespace }));
  }

  deleteDefinition(id: string, version: string): ReturnType<Engine['deleteDefinition']> {
    this.assertOpen();
    return this.definitions.delete(id, version);
  }

  // ------------------------------------------------------------------ commands

  async start(definition: string | Definition, input?: unknown, options: StartOptions = {}): Promise<string> {
    this.assertOpen();
    const size = payloadBytes(input ?? {});
    if (size > this.maxPayloadBytes) throw new CommandRejected('payload_too_large', `input is ${size} bytes, over the limit of ${this.maxPayloadBytes}`);
    const key = options.idempotencyKey;
    if (key === undefined) return this.startNew(definition, input, options);
    const inflight = this.starting.get(key);
    if (inflight) return inflight;
    const p = (async () => {
      const existing = await this.store.getInstanceByIdempotencyKey(key);
      return existing ? existing.id : this.startNew(definition, input, options);
    })().finally(() => this.starting.delete(key));
    this.starting.set(key, p);
    return p;
  }

  private async startNew(definition: string | Definition, input: unknown, options: StartOptions): Promise<string> {
    const compiled = typeof definition === 'string'
      ? await this.definitions.resolve(definition, options.version)
      : (await this.definitions.deploy(definition, options.namespace !== undefined ? { namespace: options.namespace } : {})).compiled;
    const namespace = this.definitions.namespaceOf(compiled.id);
    if (options.namespace !== undefined && namespace !== options.namespace) {
      throw new CommandRejected('not_found', `workflow "${compiled.id}" is not deployed`);
    }
    const id = options.instanceId ?? newInstanceId(this.clock());
    if (options.instanceId !== undefined && (this.cache.peek(id) || await this.store.getInstance(id))) {
      throw new CommandRejected('invalid_state', `instance "${id}" already exists`);
    }
    const command: Command = {
      type: 'StartWorkflow', instanceId: id, input: input ?? {},
      ...(options.vars && { vars: options.vars }), ...(options.env && { env: options.env }),
      ...(options.labels && { labels: options.labels }), ...(options.correlationId !== undefined && { correlationId: options.correlationId }),
    };
    return new Promise<string>((resolve, reject) => {
      this.queue.submit({
        command,
        resolve: () => resolve(id),
        reject,
        start: {
          compiled,
          create: {
            id, definitionId: compiled.id, definitionVersion: compiled.version, createdAt: this.clock(),
            ...(namespace !== undefined && { namespace }),
            ...(options.idempotencyKey !== undefined && { idempotencyKey: options.idempotencyKey }),
            ...(options.labels && { labels: options.labels }),
            ...(options.correlationId !== undefined && { correlationId: options.correlationId }),
          },
          onDuplicate: resolve,
        },
      });
    });
  }

  async send(command: Command): Promise<EngineEvent[]> {
    this.assertOpen();
    if (typeof command !== 'object' || command === null || typeof command.type !== 'string' || typeof command.instanceId !== 'string') {
      throw new CommandRejected('invalid_input', 'a command needs a string "type" and "instanceId"');
    }
    if (command.type === 'StartWorkflow') throw new CommandRejected('invalid_input', 'start instances with start()');
    return this.queue.send(command);
  }

  async publishEvent(name: string, key: unknown, payload?: unknown, options: { namespace?: string } = {}): Promise<number> {
    this.assertOpen();
    const size = payloadBytes(payload ?? null);
    if (size > this.maxPayloadBytes) throw new CommandRejected('payload_too_large', `event payload is ${size} bytes, over the limit of ${this.maxPayloadBytes}`);
    const waits = await this.store.findWaits(name, key);
    let instances = [...new Set(waits.map((w) => w.instanceId))];
    if (options.namespace !== undefined) {
      const ns = await Promise.all(instances.map(async (id) => (await this.store.getInstance(id))?.namespace ?? 'default'));
      instances = instances.filter((_, i) => ns[i] === options.namespace);
    }
    const results = await Promise.allSettled(instances.map((instanceId) =>
      this.queue.send({ type: 'DeliverEvent', instanceId, name, ...(key !== undefined && { key }), payload, by: 'event' })));
    let delivered = 0;
    for (const r of results) {
      if (r.status === 'fulfilled') delivered++;
      else if (!(r.reason instanceof CommandRejected)) throw r.reason;
    }
    return delivered;
  }

  // ------------------------------------------------------------------ reads

  async getState(instanceId: string): Promise<InstanceState | undefined> {
    const live = await this.liveState(instanceId);
    return live && (JSON.parse(JSON.stringify(live)) as InstanceState); // a copy, exactly as a reload from the log gives
  }

  /** The cached state as committed (never one a flush is half-way through). Do not mutate. */
  private async liveState(instanceId: string): Promise<InstanceState | undefined> {
    for (;;) {
      await this.queue.settled(instanceId);
      const state = (await this.queue.loader.load(instanceId))?.state;
      if (!this.queue.isDirty(instanceId)) return state;
    }
  }

  async getStateAt(instanceId: string, seq: number): Promise<InstanceState | undefined> {
    if (!(seq >= 1)) return undefined;
    const log = await this.store.loadInstance(instanceId, seq);
    if (!log) return undefined;
    return fold(log.events, log.snapshot?.state ?? null) ?? undefined;
  }

  getHistory(instanceId: string, options: { fromSeq?: number; limit?: number } = {}): Promise<EngineEvent[]> {
    return this.store.readEvents(instanceId, options);
  }

  async listInstances(filter: NonNullable<Parameters<Engine['listInstances']>[0]> = {}): Promise<InstanceSummary[]> {
    return (await this.store.listInstances(filter)).map(toSummary);
  }

  async listHumanTasks(filter: NonNullable<Parameters<Engine['listHumanTasks']>[0]> = {}): Promise<HumanTaskRow[]> {
    return this.store.listHumanTasks(filter);
  }

  async getInstanceInfo(instanceId: string): Promise<InstanceSummary | undefined> {
    const r = await this.store.getInstance(instanceId);
    return r && toSummary(r);
  }

  async getHumanTask(instanceId: string, taskId: string): Promise<HumanTaskRow | undefined> {
    return this.store.getHumanTask(instanceId, taskId);
  }

  async claimHumanTask(instanceId: string, taskId: string, user: string): Promise<HumanTaskRow> {
    const r = await this.store.claimHumanTask(instanceId, taskId, user, this.clock());
    if (r.status === 'claimed') return r.task;
    if (r.status === 'taken') throw new CommandRejected('invalid_state', `task ${taskId} is claimed by ${r.claimedBy}`, { claimedBy: r.claimedBy });
    throw new CommandRejected('not_found', `no open human task "${taskId}" in instance "${instanceId}"`);
  }

  async releaseHumanTask(instanceId: string, taskId: string, user?: string): Promise<HumanTaskRow> {
    const row = await this.store.releaseHumanTask(instanceId, taskId, user);
    if (row) return row;
    const now = await this.store.getHumanTask(instanceId, taskId);
    if (now?.status === 'open') throw new CommandRejected('invalid_state', `task ${taskId} is claimed by ${now.claimedBy}`, { claimedBy: now.claimedBy });
    throw new CommandRejected('not_found', `no open human task "${taskId}" in instance "${instanceId}"`);
  }

  async reassignHumanTask(instanceId: string, taskId: string, to: { users?: string[]; groups?: string[] }): Promise<HumanTaskRow> {
    const row = await this.store.reassignHumanTask(instanceId, taskId, to);
    if (!row) throw new CommandRejected('not_found', `no open human task "${taskId}" in instance "${instanceId}"`);
    return row;
  }

  /** Test hook: resolves once notices received so far are applied. */
  coherenceIdle(): Promise<void> {
    return this.coherence.idle();
  }

  waitUntilDone(instanceId: string, options: { timeoutMs?: number } = {}): Promise<InstanceState> {
    return this.waitUntil(instanceId, (s) => TERMINAL_STATUSES.has(s.status), options);
  }

  async waitUntil(instanceId: string, predicate: (state: InstanceState) => boolean, options: { timeoutMs?: number } = {}): Promise<InstanceState> {
    const { promise, check, cancel } = this.waiters.add(instanceId, predicate, options.timeoutMs);
    // Commits by other nodes reach waiters only for instances known to be waited on.
    this.watching.set(instanceId, (this.watching.get(instanceId) ?? 0) + 1);
    let watched = true;
    const unwatch = () => {
      if (!watched) return;
      watched = false;
      const left = (this.watching.get(instanceId) ?? 1) - 1;
      if (left <= 0) this.watching.delete(instanceId); else this.watching.set(instanceId, left);
    };
    promise.then(unwatch, unwatch);
    let state: InstanceState | undefined;
    try {
      state = await this.liveState(instanceId);
    } catch (err) {
      cancel();
      unwatch();
      throw err;
    }
    if (!state) {
      cancel();
      unwatch();
      throw new CommandRejected('not_found', `instance "${instanceId}" does not exist`);
    }
    check(state);
    return promise;
  }

  on<K extends keyof EngineEventMap>(event: K, listener: (payload: EngineEventMap[K]) => void): () => void {
    return this.emitter.on(event, listener);
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    if (this.poller) clearInterval(this.poller);
    this.dispatcher.close();
    this.remote.close();
    this.timers.close();
    await this.schedules.stop(); // SCHEDULES (3/3): before the queue drains, so fires under way can commit
    await this.queue.drain();
    this.queue.close();
    await this.relay.idle();
    this.waiters.rejectAll(new Error('engine closed'));
    try {
      await this.leader.close();
      await this.listener?.close();
      await this.nodes.close();
      const released = await this.store.releaseLeases(this.nodeId);
      // Others may take the released work at once rather than at their next poll.
      if (released > 0 && this.store instanceof PostgresStore) await this.store.notify(encodeNotice({ n: this.nodeId, t: 1, tm: this.clock() })).catch(() => undefined);
    } finally {
      await this.store.close();
    }
  }

  private assertOpen(): void {
    if (this.closed) throw new Error('engine is closed');
  }
}

type InstanceStatusList = NonNullable<Parameters<Engine['listInstances']>[0]>['status'];

function toSummary(r: InstanceRecord): InstanceSummary {
  const out: InstanceSummary = {
    id: r.id, definitionId: r.definitionId, definitionVersion: r.definitionVersion, status: r.status, seq: r.seq,
    createdAt: r.createdAt, updatedAt: r.updatedAt,
  };
  if (r.namespace !== undefined) out.namespace = r.namespace;
  if (r.endedAt !== undefined) out.endedAt = r.endedAt;
  if (r.parentId !== undefined) out.parentId = r.parentId;
  if (r.correlationId !== undefined) out.correlationId = r.correlationId;
  if (r.labels !== undefined) out.labels = r.labels;
  return out;
}

function payloadBytes(value: unknown): number {
  const text = JSON.stringify(value);
  return text === undefined ? 0 : Buffer.byteLength(text, 'utf8');
}
