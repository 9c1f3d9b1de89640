/**
 * The dashboard (`#/`): live instance counts per state (WebSocket), and over time — throughput,
 * latency percentiles, failures and queue depth — from the server's metrics
 * (`GET /api/v1/metrics`: the server samples every few seconds and keeps an hour, so the charts
 * have history the moment the page opens; the page then asks for new samples each interval).
 */
import { html, nothing, render } from 'lit-html';
import type { MetricsSample, MetricsTotals } from '../../../src/api/metrics.js';
import { drawLineChart, type Series } from '../charts/line-chart.js';
import { client, errorText } from '../api.js';
import type { View } from '../router.js';
import { formatDuration, LiveCounts, STATUSES } from './instances.js';
import './dashboard.css';

interface MetricsBody { intervalMs: number; now: number; totals: MetricsTotals; samples: MetricsSample[] }

const WINDOWS: Array<[string, number]> = [['5 min', 5 * 60_000], ['15 min', 15 * 60_000], ['1 hour', 60 * 60_000]];
const MAX_SAMPLES = 720;

const view: View = (el) => {
  let samples: MetricsSample[] = [];
  let totals: MetricsTotals | undefined;
  let intervalMs = 5000;
  let windowMs = 15 * 60_000;
  let error: string | undefined;
  let closed = false;
  let timer: ReturnType<typeof setTimeout> | undefined;

  const counts = new LiveCounts(() => draw());

  async function poll(): Promise<void> {
    try {
      const last = samples[samples.length - 1]?.t;
      const body = await client.request<MetricsBody>('GET', `/api/v1/metrics${last !== undefined ? `?since=${last}` : ''}`);
      intervalMs = body.intervalMs;
      totals = body.totals;
      samples = [...samples, ...body.samples].slice(-MAX_SAMPLES);
      error = undefined;
    } catch (err) {
      error = errorText(err);
    }
    if (closed) return;
    draw();
    drawCharts();
    timer = setTimeout(() => void poll(), Math.max(1000, intervalMs));
  }

  function series(name: string, color: string, value: (s: MetricsSample) => number | null): Series {
    const from = Date.now() - windowMs;
    return { name, color, points: samples.filter((s) => s.t >= from).map((s) => [s.t, value(s)]) };
  }

  function drawCharts(): void {
    const host = (id: string) => el.querySelector<HTMLElement>(`[data-chart="${id}"]`);
    const perSecond = (n: number) => n / (intervalMs / 1000);
    const charts: Array<[string, Series[], { title: string; unit?: string; format?: (v: number) => string }]> = [
      ['throughput', [series('steps/s', 'var(--s-running)', (s) => perSecond(s.stepsCompleted))], { title: 'Steps completed per second', unit: '/s' }],
      ['instances', [
        series('started', 'var(--s-waiting)', (s) => s.instancesStarted),
        series('completed', 'var(--s-completed)', (s) => s.instancesCompleted),
      ], { title: `Instances started and completed per ${intervalMs / 1000} s` }],
      ['instance-latency', [
        series('p50', 'var(--s-completed)', (s) => s.instanceDuration.p50),
        series('p95', 'var(--s-retrying)', (s) => s.instanceDuration.p95),
        series('p99', 'var(--s-failed)', (s) => s.instanceDuration.p99),
      ], { title: 'Instance duration', format: (v) => formatDuration(v) }],
      ['step-latency', [
        series('p50', 'var(--s-completed)', (s) => s.stepDuration.p50),
        series('p95', 'var(--s-retrying)', (s) => s.stepDuration.p95),
        series('p99', 'var(--s-failed)', (s) => s.stepDuration.p99),
      ], { title: 'Task step duration', format: (v) => formatDuration(v) }],
      ['failures', [
        series('steps failed', 'var(--s-failed)', (s) => s.stepsFailed),
        series('instances failed', '#8250df', (s) => s.instancesFailed),
        series('retries', 'var(--s-retrying)', (s) => s.stepRetries),
      ], { title: `Failures per ${intervalMs / 1000} s` }],
      ['queue', [
        series('queued', 'var(--s-retrying)', (s) => s.queued),
        series('leased', 'var(--s-running)', (s) => s.leased),
      ], { title: 'Task queue depth' }],
    ];
    for (const [id, s, o] of charts) {
      const h = host(id);
      if (h) drawLineChart(h, s, o);
    }
  }

  function chart(id: string, title: string) {
    return html`<figure class="panel chart-card"><figcaption>${title}</figcaption><div class="chart" data-chart=${id}></div></figure>`;
  }

  function draw(): void {
    if (closed) return;
    const t = totals;
    render(html`<section class="page dashboard">
      <div class="dash-head"><h1>Dashboard</h1>
        <label>Show the last <select .value=${String(windowMs)} @change=${(e: Event) => { windowMs = Number((e.target as HTMLSelectElement).value); drawCharts(); }}>
          ${WINDOWS.map(([label, ms]) => html`<option value=${String(ms)} ?selected=${ms === windowMs}>${label}</option>`)}</select></label></div>
      ${error ? html`<p class="error" role="alert">${error}</p>` : nothing}
      <h2 class="sr-only">Instances now</h2>
      <ul class="live-counts" aria-label="Instances per state, live">
        ${STATUSES.map((s) => html`<li><a class="count-card st-border-${s}" href=${`#/instances?status=${s}`}>
          <span class="count-n" data-count=${s}>${counts.ready ? counts.label(s) : '…'}</span><span class="count-name">${s}</span></a></li>`)}
      </ul>
      ${t ? html`<p class="totals muted" data-totals>Since the server started: ${t.instancesStarted} instances started, ${t.instancesCompleted} completed,
        ${t.instancesFailed} failed, ${t.instancesCancelled} cancelled; ${t.stepsCompleted} steps completed, ${t.stepsFailed} failed, ${t.stepRetries} retried.
        Samples every ${intervalMs / 1000} s (${samples.length} so far).</p>` : nothing}
      <div class="charts">
        ${chart('throughput', 'Throughput: steps per second')}
        ${chart('instances', 'Instances started / completed')}
        ${chart('instance-latency', 'Instance duration (p50, p95, p99)')}
        ${chart('step-latency', 'Task step duration (p50, p95, p99)')}
        ${chart('failures', 'Failures and retries')}
        ${chart('queue', 'Queue depth')}
      </div>
      <p class="muted">Prometheus can scrape the same figures at <a href="/metrics"><code>/metrics</code></a>.</p>
    </section>`, el);
  }

  const resize = new ResizeObserver(() => drawCharts());
  draw();
  resize.observe(el);
  counts.start();
  void poll();
  return () => { closed = true; counts.stop(); resize.disconnect(); if (timer) clearTimeout(timer); };
};
export default view;
