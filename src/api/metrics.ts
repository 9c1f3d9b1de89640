/**
 * Server metrics (SPEC C6 dashboard, C8 observability): a collector fed by the engine's committed
 * batches. It counts step completions, failures and retries, instance starts and ends, and records
 * instance and task-step durations; queue depth is read from the store's task list once per
 * sample, never on the hot path.
 *
 * Exported two ways:
 * - Prometheus text at `GET /metrics` (prom-client, a private Registry: two servers in one process,
 *   as in tests, do not share or clash);
 * - JSON time series at `GET /api/v1/metrics`: a ring buffer of samples (default every 5 s for the
 *   last hour) so the dashboard has history the moment it opens.
 *
 * Hot path: per committed event one `switch` and a counter increment on a plain number; per ended
 * instance or completed task step one histogram observation and one reservoir write (fixed-size
 * typed arrays, no allocation). Prometheus counters read the plain totals at scrape time.
 * The figures are this server process's: in a cluster each node counts what it commits.
 */
import { Counter, Gauge, Registry } from 'prom-client';
import type { EngineEvent } from '../core/types.js';
import type { CommittedBatch, Engine } from '../runtime/api.js';

export const DEFAULT_SAMPLE_INTERVAL_MS = 5_000;
/** One hour of 5-second samples. */
export const DEFAULT_HISTORY = 720;
/** Durations kept per interval for percentiles (reservoir sampling beyond that). */
const RESERVOIR = 1024;
/** Task steps whose start time is remembered at once (past it the memory is cleared). */
const MAX_TRACKED_TASKS = 100_000;
const runKey = (instanceId: string, runId: string) => `${instanceId}\u0000${runId}`;

export interface MetricsOptions {
  /** How often a sample is taken (ms, default 5 s). */
  intervalMs?: number;
  /** Samples kept (default 720: an hour at 5 s). */
  history?: number;
  clock?: () => number;
}

export interface Percentiles { count: number; p50: number | null; p95: number | null; p99: number | null }

/** One interval's figures (counts are for the interval that ends at `t`; durations in ms). */
export interface MetricsSample {
  /** End of the interval, ms since epoch. */
  t: number;
  stepsCompleted: number;
  stepsFailed: number;
  stepRetries: number;
  instancesStarted: number;
  instancesCompleted: number;
  instancesFailed: number;
  /** Cancelled or terminated. */
  instancesCancelled: number;
  instancesCompensated: number;
  /** Tasks waiting for a worker / leased to one, at `t`. */
  queued: number;
  leased: number;
  instanceDuration: Percentiles;
  stepDuration: Percentiles;
}

export type MetricsTotals = Omit<MetricsSample, 't' | 'queued' | 'leased' | 'instanceDuration' | 'stepDuration'>;

const COUNT_FIELDS = ['stepsCompleted', 'stepsFailed', 'stepRetries', 'instancesStarted', 'instancesCompleted', 'instancesFailed', 'instancesCancelled', 'instancesCompensated'] as const;
type CountField = typeof COUNT_FIELDS[number];

/** Durations of one interval: a fixed reservoir (Vitter's algorithm R), so memory is bounded under load. */
class Reservoir {
  private readonly values = new Float64Array(RESERVOIR);
  private seen = 0;
  add(v: number, random: () => number): void {
    if (this.seen < RESERVOIR) this.values[this.seen] = v;
    else {
      const j = Math.floor(random() * (this.seen + 1));
      if (j < RESERVOIR) this.values[j] = v;
    }
    this.seen++;
  }
  /** The interval's percentiles; empties the reservoir. */
  take(): Percentiles {
    const n = Math.min(this.seen, RESERVOIR);
    const count = this.seen;
    this.seen = 0;
    if (n === 0) return { count: 0, p50: null, p95: null, p99: null };
    const sorted = this.values.slice(0, n).sort();
    return { count, p50: quantile(sorted, 0.5), p95: quantile(sorted, 0.95), p99: quantile(sorted, 0.99) };
  }
}

/** Nearest-rank quantile of sorted values. */
export function quantile(sorted: ArrayLike<number>, q: number): number {
  const i = Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1));
  return sorted[i]!;
}

const ENDED: Partial<Record<EngineEvent['type'], CountField>> = {
  WorkflowCompleted: 'instancesCompleted',
  WorkflowFailed: 'instancesFailed',
  WorkflowCancelled: 'instancesCancelled',
  WorkflowTerminated: 'instancesCancelled',
  WorkflowCompensated: 'instancesCompensated',
};

export class MetricsCollector {
  readonly registry = new Registry();
  readonly intervalMs: number;
  private readonly capacity: number;
  private readonly clock: () => number;
  /** Since the collector started. */
  private readonly totals: Record<CountField, number> = zeroCounts();
  /** Since the last sample. */
  private current: Record<CountField, number> = zeroCounts();
  private readonly instanceDurations = new Reservoir();
  private readonly stepDurations = new Reservoir();
  private readonly ring: MetricsSample[] = [];
  private ringStart = 0;
  private readonly instanceSeconds: BucketHistogram;
  private readonly stepSeconds: BucketHistogram;
  private timer: ReturnType<typeof setInterval> | undefined;
  private unsubscribe: (() => void) | undefined;
  private sampling: Promise<void> | undefined;
  private lastQueue = { queued: 0, leased: 0 };
  /** Start time of running task steps, by instance and run (for step durations). */
  private readonly taskStarts = new Map<string, number>();

  constructor(private readonly engine: Engine, options: MetricsOptions = {}) {
    this.intervalMs = options.intervalMs ?? DEFAULT_SAMPLE_INTERVAL_MS;
    this.capacity = options.history ?? DEFAULT_HISTORY;
    this.clock = options.clock ?? Date.now;
    const totals = this.totals;
    const counter = (name: string, help: string, field: CountField) => {
      let reported = 0;
      new Counter({
        name, help, registers: [this.registry],
        collect() { const d = totals[field] - reported; if (d > 0) this.inc(d); reported = totals[field]; },
      });
    };
    counter('weft_steps_completed_total', 'Steps completed', 'stepsCompleted');
    counter('weft_steps_failed_total', 'Steps failed (after their retries)', 'stepsFailed');
    counter('weft_step_retries_total', 'Activity attempts that failed and will be retried', 'stepRetries');
    counter('weft_instances_started_total', 'Instances started', 'instancesStarted');
    counter('weft_instances_completed_total', 'Instances completed', 'instancesCompleted');
    counter('weft_instances_failed_total', 'Instances failed', 'instancesFailed');
    counter('weft_instances_cancelled_total', 'Instances cancelled or terminated', 'instancesCancelled');
    counter('weft_instances_compensated_total', 'Instances compensated', 'instancesCompensated');
    const buckets = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 3600];
    this.instanceSeconds = new BucketHistogram('weft_instance_duration_seconds', 'Instance duration, start to end', buckets);
    this.stepSeconds = new BucketHistogram('weft_step_duration_seconds', 'Task step duration, start to completion (retries included)', buckets);
    for (const h of [this.instanceSeconds, this.stepSeconds]) this.registry.registerMetric(h as unknown as Parameters<Registry['registerMetric']>[0]);
    const queue = () => this.lastQueue;
    const refresh = () => this.readQueues();
    new Gauge({
      name: 'weft_tasks', help: 'Tasks in the store: queued (waiting for a worker) or leased', labelNames: ['state'], registers: [this.registry],
      async collect() {
        await refresh();
        this.set({ state: 'queued' }, queue().queued);
        this.set({ state: 'leased' }, queue().leased);
      },
    });
  }

  /** Starts listening to the engine and sampling. */
  start(): void {
    if (this.unsubscribe) return;
    this.unsubscribe = this.engine.on('committed', (b) => this.record(b));
    this.timer = setInterval(() => void this.sample(), this.intervalMs);
    this.timer.unref?.();
  }

  async stop(): Promise<void> {
    this.unsubscribe?.();
    this.unsubscribe = undefined;
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    await this.sampling;
  }

  /** One committed batch: O(events), constant work each. */
  record(batch: CommittedBatch): void {
    const { events, state } = batch;
    for (let i = 0; i < events.length; i++) {
      const e = events[i]!;
      switch (e.type) {
        case 'WorkflowStarted': this.count('instancesStarted'); break;
        case 'StepStarted':
          // Task steps finish in a later batch: remember when they started (one entry per running task).
          if (e.task !== undefined) {
            // Entries whose end was never seen (an instance ended some other way) must not pile up.
            if (this.taskStarts.size >= MAX_TRACKED_TASKS) this.taskStarts.clear();
            this.taskStarts.set(runKey(batch.instanceId, e.runId), e.at);
          }
          break;
        case 'StepCompleted': {
          this.count('stepsCompleted');
          if (e.taskId === undefined) break;
          const key = runKey(batch.instanceId, e.runId);
          const started = this.taskStarts.get(key);
          if (started !== undefined) { this.taskStarts.delete(key); this.observeStep(e.at - started); }
          break;
        }
        case 'StepFailed': this.count('stepsFailed'); this.taskStarts.delete(runKey(batch.instanceId, e.runId)); break;
        case 'StepCancelled': case 'StepSkipped': this.taskStarts.delete(runKey(batch.instanceId, e.runId)); break;
        case 'ActivityFailed': if (e.retryAt !== undefined) this.count('stepRetries'); break;
        default: {
          const ended = ENDED[e.type];
          if (ended) {
            this.count(ended);
            const ms = Math.max(0, e.at - state.createdAt);
            this.instanceDurations.add(ms, Math.random);
            this.instanceSeconds.observe(ms / 1000);
          }
        }
      }
    }
  }

  private count(field: CountField): void {
    this.totals[field]++;
    this.current[field]++;
  }

  private observeStep(ms: number): void {
    if (!(ms >= 0)) return;
    this.stepDurations.add(ms, Math.random);
    this.stepSeconds.observe(ms / 1000);
  }

  private async readQueues(): Promise<void> {
    let queued = 0;
    let leased = 0;
    try {
      for (const q of await this.engine.remote.listQueues()) { queued += q.queued; leased += q.leased; }
      this.lastQueue = { queued, leased };
    } catch {
      // The store is closing or unreachable: keep the last reading.
    }
  }

  /** Closes the current interval into a sample (the timer calls it; tests may too). */
  sample(): Promise<void> {
    this.sampling ??= (async () => {
      try {
        const counts = this.current;
        this.current = zeroCounts();
        const instanceDuration = this.instanceDurations.take();
        const stepDuration = this.stepDurations.take();
        await this.readQueues();
        this.push({ t: this.clock(), ...counts, ...this.lastQueue, instanceDuration, stepDuration });
      } finally {
        this.sampling = undefined;
      }
    })();
    return this.sampling;
  }

  private push(s: MetricsSample): void {
    if (this.ring.length < this.capacity) this.ring.push(s);
    else {
      this.ring[this.ringStart] = s;
      this.ringStart = (this.ringStart + 1) % this.capacity;
    }
  }

  /** Samples in time order, those after `since` (ms) when given, the last `limit` when given. */
  samples(since?: number, limit?: number): MetricsSample[] {
    const ordered = [...this.ring.slice(this.ringStart), ...this.ring.slice(0, this.ringStart)];
    const after = since === undefined ? ordered : ordered.filter((s) => s.t > since);
    return limit === undefined ? after : after.slice(Math.max(0, after.length - limit));
  }

  totalsSoFar(): MetricsTotals {
    return { ...this.totals };
  }

  async prometheus(): Promise<string> {
    return this.registry.metrics();
  }
}

/**
 * A Prometheus histogram counted in a typed array: `observe` is a short scan of fixed bounds and an
 * increment (prom-client's Histogram hashes labels on every observation). Exported through the
 * registry as a metric object whose `get()` builds the cumulative buckets at scrape time.
 */
class BucketHistogram {
  private readonly counts: Float64Array;
  private sum = 0;
  private count = 0;
  constructor(readonly name: string, readonly help: string, private readonly bounds: readonly number[]) {
    this.counts = new Float64Array(bounds.length);
  }
  observe(v: number): void {
    this.sum += v;
    this.count++;
    for (let i = 0; i < this.bounds.length; i++) {
      if (v <= this.bounds[i]!) { this.counts[i]!++; return; }
    }
  }
  /** prom-client's metric contract (Registry.registerMetric). */
  get(): { name: string; help: string; type: 'histogram'; aggregator: 'sum'; values: Array<{ metricName: string; labels: Record<string, string | number>; value: number }> } {
    const values: Array<{ metricName: string; labels: Record<string, string | number>; value: number }> = [];
    let cumulative = 0;
    this.bounds.forEach((b, i) => {
      cumulative += this.counts[i]!;
      values.push({ metricName: `${this.name}_bucket`, labels: { le: b }, value: cumulative });
    });
    values.push({ metricName: `${this.name}_bucket`, labels: { le: '+Inf' }, value: this.count });
    values.push({ metricName: `${this.name}_sum`, labels: {}, value: this.sum });
    values.push({ metricName: `${this.name}_count`, labels: {}, value: this.count });
    return { name: this.name, help: this.help, type: 'histogram', aggregator: 'sum', values };
  }
}

function zeroCounts(): Record<CountField, number> {
  return Object.fromEntries(COUNT_FIELDS.map((f) => [f, 0])) as Record<CountField, number>;
}
