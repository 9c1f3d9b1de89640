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
import { SqliteStore } from '../store/sqlite/store.js';
import type { InstanceRecord, Store } from '../store/types.js';
import { ActivityRegistry, type ActivityHandler } from './activity.js';
import type {
  CommittedBatch, DeployOptions, DeployResult, Engine, EngineEventMap, EngineOptions, HumanTaskRow, InstanceSummary, StartOptions,
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
}

export async function openEngine(options: EngineOptions = {}): Promise<Engine> {
  const store = new SqliteStore(options.db ?? DEFAULT_DB);
  return openEngineWithStore(store, options);
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
  private readonly nodeId: string;
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
  private closed = false;

  constructor(private readonly store: Store, private readonly options: EngineOptions, internals: EngineInternals) {
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
      submit: (command, guard) => this.queue.send(command, guard),
      notice: (n) => { if (this.emitter.has('activity')) this.emitter.emit('activity', n); },
      log: this.log,
    });
    this.timers = new TimerService({ store, nodeId: this.nodeId, clock: this.clock, leaseMs, submit: (c) => this.queue.send(c), log: this.log });
    this.remote = new RemoteTasks({
      store, clock: this.clock, log: this.log, submit: (command, guard) => this.queue.send(command, guard),
      ...(internals.remoteLeaseMs !== undefined && { leaseMs: internals.remoteLeaseMs }),
    });
    this.relay = new OutboxRelay(store, (m) => this.emitter.emit('lifecycle', m), this.log);
    this.queue = new CommitQueue(store, this.cache, this.definitions, {
      now: this.clock,
      random,
      limits: { maxPayloadBytes: this.maxPayloadBytes },
      snapshotEvery: options.snapshotEvery ?? 100,
      maxBatch: internals.maxBatch ?? 500,
      planClaims: (tasks, now) => this.dispatcher.planClaims(tasks, now),
      claimsVoid: () => this.dispatcher.claimsVoid(),
      committed: (instances) => this.committed(instances),
      log: this.log,
    });
  }

  async open(): Promise<void> {
    if (this.options.recover === false) return;
    // Lifecycle messages a crash left undelivered: on the next turn, so that listeners attached
    // right after `await openEngine()` receive them.
    setImmediate(() => { if (!this.closed) this.relay.poke(); });
    // Embedded: this process owns the file, so every lease left behind belongs to a dead process.
    // A shared database (PostgreSQL) must not do this: other nodes' leases run out on their own.
    if (this.store.backend === 'sqlite') {
      const released = await this.store.releaseLeases();
      if (released > 0) this.log('info', 'recovering tasks left running by a previous process', { tasks: released });
    }
    this.dispatcher.poke();
    await this.timers.start();
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

  waitUntilDone(instanceId: string, options: { timeoutMs?: number } = {}): Promise<InstanceState> {
    return this.waitUntil(instanceId, (s) => TERMINAL_STATUSES.has(s.status), options);
  }

  async waitUntil(instanceId: string, predicate: (state: InstanceState) => boolean, options: { timeoutMs?: number } = {}): Promise<InstanceState> {
    const { promise, check, cancel } = this.waiters.add(instanceId, predicate, options.timeoutMs);
    const state = await this.liveState(instanceId);
    if (!state) {
      cancel();
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
    this.dispatcher.close();
    this.remote.close();
    this.timers.close();
    await this.queue.drain();
    this.queue.close();
    await this.relay.idle();
    this.waiters.rejectAll(new Error('engine closed'));
    try {
      await this.store.releaseLeases(this.nodeId);
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
