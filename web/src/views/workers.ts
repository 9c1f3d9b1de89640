/**
 * Workers and queues (`#/workers`): connected remote workers (`GET /api/v1/workers`), tasks
 * queued and leased per activity and queue (`GET /api/v1/queues`), and the cluster's nodes
 * (`GET /api/v1/nodes`, shown when the server has that route). Refreshed every 2 s while the page
 * is open, and at once when an instance commits task events (WebSocket).
 */
import { html, nothing, render, type TemplateResult } from 'lit-html';
import type { QueueInfo, WorkerInfo } from '../../../src/runtime/remote-tasks.js';
import { client, errorText, WeftApiError } from '../api.js';
import { subscribeAll } from '../live.js';
import type { View } from '../router.js';
import { formatTime } from './instances.js';
import './workers.css';

const REFRESH_MS = 2000;
const TASK_EVENTS = new Set(['StepStarted', 'StepCompleted', 'StepFailed', 'ActivityScheduled', 'ActivityFailed', 'ActivityCompleted', 'ActivityCancelled']);

type NodeRow = Record<string, unknown>;

function ago(ms: number): string {
  const s = Math.max(0, Math.round((Date.now() - ms) / 1000));
  return s < 60 ? `${s} s ago` : s < 3600 ? `${Math.round(s / 60)} min ago` : formatTime(ms);
}

function cell(v: unknown): TemplateResult | string {
  if (v === undefined || v === null) return '';
  if (typeof v === 'number' && v > 1_000_000_000_000) return formatTime(v);
  if (typeof v === 'object') return html`<code>${JSON.stringify(v)}</code>`;
  return String(v);
}

const view: View = (el) => {
  let workers: WorkerInfo[] = [];
  let queues: QueueInfo[] = [];
  /** undefined: the server has no nodes route. */
  let nodes: NodeRow[] | undefined;
  let error: string | undefined;
  let loaded = false;
  let updatedAt = 0;
  let closed = false;
  let busy = false;

  async function refresh(): Promise<void> {
    if (busy || closed) return;
    busy = true;
    try {
      const [w, q, n] = await Promise.all([
        client.workers(), client.queues(),
        client.request<{ items: NodeRow[] }>('GET', '/api/v1/nodes').then((r) => r.items ?? [], (err) => {
          if (err instanceof WeftApiError && (err.status === 404 || err.status === 501)) return undefined;
          throw err;
        }),
      ]);
      workers = w.sort((a, b) => a.id.localeCompare(b.id));
      queues = q;
      nodes = n;
      error = undefined;
      updatedAt = Date.now();
    } catch (err) {
      error = errorText(err);
    }
    loaded = true;
    busy = false;
    draw();
  }

  function draw(): void {
    if (closed) return;
    const totalQueued = queues.reduce((n, q) => n + q.queued, 0);
    const totalLeased = queues.reduce((n, q) => n + q.leased, 0);
    const nodeColumns = nodes && nodes.length > 0 ? Object.keys(nodes[0]!).slice(0, 8) : [];
    render(html`<section class="page workers">
      <h1>Workers and queues</h1>
      <p class="muted" role="status">${loaded ? `Updated ${formatTime(updatedAt)} · refreshes every ${REFRESH_MS / 1000} s` : 'Loading…'}</p>
      ${error ? html`<p class="error" role="alert">${error}</p>` : nothing}
      <div class="summary">
        <div class="panel stat"><span class="stat-n" data-stat="workers">${workers.length}</span><span>workers</span></div>
        <div class="panel stat"><span class="stat-n" data-stat="queued">${totalQueued}</span><span>tasks queued</span></div>
        <div class="panel stat"><span class="stat-n" data-stat="leased">${totalLeased}</span><span>tasks leased</span></div>
      </div>
      <h2>Workers</h2>
      <div class="table-wrap"><table class="workers-table stack-table">
        <thead><tr><th scope="col">Worker</th><th scope="col">State</th><th scope="col">Transport</th><th scope="col">Activities</th><th scope="col">Running / capacity</th><th scope="col">Connected</th><th scope="col">Last seen</th></tr></thead>
        <tbody>
          ${loaded && workers.length === 0 ? html`<tr><td colspan="7" class="muted">No remote worker is connected. In-process activities run inside the server and are not listed. Start one with <code>weft worker --server URL --activities MODULE</code>.</td></tr>` : nothing}
          ${workers.map((w) => html`<tr data-worker=${w.id}>
            <th scope="row" data-label="Worker"><code>${w.id}</code></th>
            <td data-label="State"><span class="badge w-${w.status}">${w.status}</span></td>
            <td data-label="Transport">${w.transport}</td>
            <td data-label="Activities">${w.activities.join(', ')}${w.queues?.length ? html`<br /><span class="muted">queues: ${w.queues.map((q) => q ?? '(default)').join(', ')}</span>` : nothing}</td>
            <td data-label="Running">${w.running} / ${w.capacity}</td>
            <td data-label="Connected">${formatTime(w.connectedAt)}</td>
            <td data-label="Last seen">${ago(w.lastSeenAt)}</td>
          </tr>`)}
        </tbody>
      </table></div>
      <h2>Queues</h2>
      <div class="table-wrap"><table class="queues-table">
        <thead><tr><th scope="col">Activity</th><th scope="col">Queue</th><th scope="col">Queued</th><th scope="col">Leased</th></tr></thead>
        <tbody>
          ${loaded && queues.length === 0 ? html`<tr><td colspan="4" class="muted">No task is waiting or running.</td></tr>` : nothing}
          ${queues.map((q) => html`<tr data-activity=${q.activity}><th scope="row"><code>${q.activity}</code></th><td>${q.queue ?? html`<span class="muted">default</span>`}</td>
            <td>${q.queued}</td><td>${q.leased}</td></tr>`)}
        </tbody>
      </table></div>
      ${nodes !== undefined ? html`<h2>Nodes</h2>
        <div class="table-wrap" role="region" aria-label="Nodes" tabindex="0"><table class="nodes-table">
          <thead><tr>${nodeColumns.map((c) => html`<th scope="col">${c}</th>`)}</tr></thead>
          <tbody>${nodes.length === 0 ? html`<tr><td class="muted">No node has registered.</td></tr>` : nodes.map((n) => html`<tr>${nodeColumns.map((c) => html`<td>${cell(n[c])}</td>`)}</tr>`)}</tbody>
        </table></div>` : nothing}
    </section>`, el);
  }

  let soon: ReturnType<typeof setTimeout> | undefined;
  const unsubscribe = subscribeAll({
    onEvents: (_id, events) => {
      if (soon || !events.some((e) => TASK_EVENTS.has(e.type))) return;
      soon = setTimeout(() => { soon = undefined; void refresh(); }, 200);
    },
  });
  const timer = setInterval(() => void refresh(), REFRESH_MS);
  draw();
  void refresh();
  return () => { closed = true; clearInterval(timer); if (soon) clearTimeout(soon); unsubscribe(); };
};
export default view;
