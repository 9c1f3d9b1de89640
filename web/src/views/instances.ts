/**
 * Instances (`#/instances?definitionId=…&status=…&after=…&before=…&label=k=v`): a table with
 * filters kept in the hash's query (a link keeps them), cursor pagination, live counts per state
 * and live row updates over the WebSocket `all` subscription (web/src/live.ts). Each row links to
 * the instance view.
 *
 * Also exports what the dashboard shares: `LiveCounts` and `statusBadge`.
 */
import { html, nothing, render, type TemplateResult } from 'lit-html';
import type { InstanceStatus } from '../../../src/core/types.js';
import type { InstanceSummary } from '../../../src/runtime/api.js';
import { client, errorText } from '../api.js';
import { subscribeAll, type Unsubscribe } from '../live.js';
import { hashQuery, type View } from '../router.js';
import './instances.css';

export const STATUSES: InstanceStatus[] = ['pending', 'running', 'waiting', 'paused', 'completed', 'failed', 'cancelled', 'terminated', 'compensating', 'compensated'];
const TERMINAL = new Set<InstanceStatus>(['completed', 'failed', 'cancelled', 'terminated', 'compensated']);
/** Instances counted per state when the page opens (more shows as "1000+"). */
const COUNT_CAP = 1000;
const PAGE = 50;
/** Rows per page: `?limit=` in the hash (1–1000), else 50. */
function pageSize(): number {
  const n = Number(hashQuery().get('limit'));
  return Number.isInteger(n) && n >= 1 && n <= 1000 ? n : PAGE;
}

export function statusBadge(status: string): TemplateResult {
  return html`<span class="badge st-${status}">${status}</span>`;
}

export function formatTime(ms: number | undefined): string {
  if (ms === undefined) return '';
  const d = new Date(ms);
  const pad = (n: number) => String(n).padStart(2, '0');
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())} ${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}`;
}

export function formatDuration(ms: number | null | undefined): string {
  if (ms === null || ms === undefined) return '–';
  if (ms < 1000) return `${Math.round(ms)} ms`;
  if (ms < 60_000) return `${(ms / 1000).toFixed(ms < 10_000 ? 2 : 1)} s`;
  if (ms < 3_600_000) return `${(ms / 60_000).toFixed(1)} min`;
  return `${(ms / 3_600_000).toFixed(1)} h`;
}

/**
 * Instances per state, live: counted from the REST list when started (up to 1,000 per state),
 * then moved by every committed batch of the `all` subscription (an instance's previous state is
 * known for everything counted; a new instance arrives with its `WorkflowStarted`).
 */
export class LiveCounts {
  readonly counts = new Map<InstanceStatus, number>();
  readonly capped = new Set<InstanceStatus>();
  private readonly known = new Map<string, InstanceStatus>();
  ready = false;
  error: string | undefined;
  private unsubscribe: Unsubscribe | undefined;
  /** Batches that arrive while counting are applied after. */
  private pending: Array<[string, InstanceStatus, boolean]> | undefined = [];
  private listeners = new Set<(id: string, status: InstanceStatus, started: boolean, seq: number, at: number) => void>();

  constructor(private readonly changed: () => void) {}

  start(): void {
    this.unsubscribe = subscribeAll({
      onEvents: (id, events, status) => {
        const started = events.some((e) => e.type === 'WorkflowStarted');
        if (this.pending) this.pending.push([id, status, started]);
        else this.apply(id, status, started);
        const last = events[events.length - 1]!;
        for (const l of this.listeners) l(id, status, started, last.seq, last.at);
      },
      onError: (e) => { this.error = e.message; this.changed(); },
    });
    void this.count();
  }

  /** Called with every instance whose state changed (after the counts moved). */
  onChange(fn: (id: string, status: InstanceStatus, started: boolean, seq: number, at: number) => void): void { this.listeners.add(fn); }

  stop(): void { this.unsubscribe?.(); this.listeners.clear(); }

  total(): number { let n = 0; for (const v of this.counts.values()) n += v; return n; }

  private async count(): Promise<void> {
    try {
      const pages = await Promise.all(STATUSES.map((s) => client.listInstances({ status: [s], limit: COUNT_CAP })));
      STATUSES.forEach((s, i) => {
        const page = pages[i]!;
        this.counts.set(s, page.items.length);
        if (page.nextCursor) this.capped.add(s);
        for (const item of page.items) this.known.set(item.id, s);
      });
      this.ready = true;
      for (const [id, status, started] of this.pending ?? []) this.apply(id, status, started);
      this.pending = undefined;
    } catch (err) {
      this.error = errorText(err);
    }
    this.changed();
  }

  private apply(id: string, status: InstanceStatus, started: boolean): void {
    const before = this.known.get(id);
    if (before === status) return;
    if (before !== undefined) this.counts.set(before, Math.max(0, (this.counts.get(before) ?? 0) - 1));
    else if (!started) {
      // Not counted at start (over the cap): only its new state is known.
      this.known.set(id, status);
      return;
    }
    this.counts.set(status, (this.counts.get(status) ?? 0) + 1);
    this.known.set(id, status);
    this.changed();
  }

  label(s: InstanceStatus): string {
    return `${this.counts.get(s) ?? 0}${this.capped.has(s) ? '+' : ''}`;
  }
}

interface Filters { definitionId: string; status: InstanceStatus[]; after: string; before: string; label: string; limit: number }

function readFilters(): Filters {
  const q = hashQuery();
  return {
    definitionId: q.get('definitionId') ?? '',
    status: q.getAll('status').filter((s): s is InstanceStatus => (STATUSES as string[]).includes(s)),
    after: q.get('after') ?? '',
    before: q.get('before') ?? '',
    label: q.get('label') ?? '',
    limit: pageSize(),
  };
}

function writeFilters(f: Filters): void {
  const q = new URLSearchParams();
  if (f.definitionId) q.set('definitionId', f.definitionId);
  for (const s of f.status) q.append('status', s);
  if (f.after) q.set('after', f.after);
  if (f.before) q.set('before', f.before);
  if (f.label) q.set('label', f.label);
  if (f.limit !== PAGE) q.set('limit', String(f.limit));
  const qs = q.toString();
  // replaceState: no hashchange, so the view stays (and keeps focus) while the URL keeps the filters.
  history.replaceState(null, '', `#/instances${qs ? `?${qs}` : ''}`);
}

/** `k=v, k2=v2` → labels; throws on a malformed pair. */
export function parseLabels(text: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const part of text.split(',').map((p) => p.trim()).filter(Boolean)) {
    const i = part.indexOf('=');
    if (i <= 0) throw new Error(`label "${part}" must be key=value`);
    out[part.slice(0, i).trim()] = part.slice(i + 1).trim();
  }
  return out;
}

const view: View = (el) => {
  let filters = readFilters();
  let rows: InstanceSummary[] = [];
  let cursors: Array<string | undefined> = [undefined];
  let page = 0;
  let nextCursor: string | undefined;
  let loading = true;
  let error: string | undefined;
  let filterError: string | undefined;
  let fresh = 0;
  let definitions: string[] = [];
  let closed = false;
  const flash = new Set<string>();

  const counts = new LiveCounts(() => draw());

  /** Filters can change while a page loads: only the latest started load may draw. */
  let generation = 0;
  async function load(): Promise<void> {
    const mine = ++generation;
    loading = true;
    error = undefined;
    draw();
    try {
      let labels: Record<string, string> = {};
      try { labels = parseLabels(filters.label); filterError = undefined; } catch (e) { filterError = (e as Error).message; throw e; }
      const after = filters.after ? Date.parse(filters.after) : undefined;
      const before = filters.before ? Date.parse(filters.before) : undefined;
      const r = await client.listInstances({
        ...(filters.definitionId && { definitionId: filters.definitionId }),
        ...(filters.status.length > 0 && { status: filters.status }),
        ...(after !== undefined && !Number.isNaN(after) && { createdAfter: after }),
        ...(before !== undefined && !Number.isNaN(before) && { createdBefore: before }),
        ...(Object.keys(labels).length > 0 && { labels }),
        limit: filters.limit,
        ...(cursors[page] !== undefined && { cursor: cursors[page] }),
      });
      if (mine !== generation) return;
      rows = r.items;
      for (const row of rows) applySeen(row);
      nextCursor = r.nextCursor;
      fresh = 0;
    } catch (err) {
      if (mine !== generation) return;
      if (!filterError) error = errorText(err);
      rows = [];
      nextCursor = undefined;
    }
    loading = false;
    if (!closed) draw();
  }

  function setFilters(next: Partial<Filters>): void {
    filters = { ...filters, ...next };
    writeFilters(filters);
    cursors = [undefined];
    page = 0;
    void load();
  }

  /** The latest state seen live per instance: a page fetched before a change must not undo it. */
  const seen = new Map<string, { status: InstanceStatus; seq: number; at: number }>();
  const applySeen = (row: InstanceSummary): boolean => {
    const s = seen.get(row.id);
    if (!s || s.seq <= row.seq) return false;
    row.status = s.status;
    row.seq = s.seq;
    row.updatedAt = s.at;
    if (TERMINAL.has(s.status)) row.endedAt ??= s.at;
    return true;
  };

  counts.onChange((id, status, started, seq, at) => {
    if (seen.size > 10_000) seen.clear();
    seen.set(id, { status, seq, at });
    const row = rows.find((r) => r.id === id);
    if (row && applySeen(row)) {
      flash.add(id);
      setTimeout(() => { flash.delete(id); if (!closed) draw(); }, 1500);
    } else if (!row && !loading && started) {
      fresh++;
    }
    draw();
  });

  function statusChip(s: InstanceStatus): TemplateResult {
    const on = filters.status.includes(s);
    const toggle = () => setFilters({ status: on ? filters.status.filter((x) => x !== s) : [...filters.status, s] });
    return html`<button type="button" class="chip st-border-${s}" aria-pressed=${on ? 'true' : 'false'} data-status=${s} @click=${toggle}
      title=${`Show only ${s} instances (toggle)`}><span class="chip-name">${s}</span> <span class="chip-count" data-count=${s}>${counts.ready ? counts.label(s) : '…'}</span></button>`;
  }

  function draw(): void {
    if (closed) return;
    render(html`<section class="page instances">
      <h1>Instances</h1>
      <div class="counts" role="group" aria-label="Instances per state (click to filter)">
        ${STATUSES.map(statusChip)}
        ${counts.error ? html`<span class="error">${counts.error}</span>` : nothing}
      </div>
      <form class="filters panel" @submit=${(e: Event) => e.preventDefault()} aria-label="Filters">
        <label>Definition
          <select name="definitionId" .value=${filters.definitionId} @change=${(e: Event) => setFilters({ definitionId: (e.target as HTMLSelectElement).value })}>
            <option value="" ?selected=${filters.definitionId === ''}>All definitions</option>
            ${definitions.map((d) => html`<option value=${d} ?selected=${d === filters.definitionId}>${d}</option>`)}
          </select></label>
        <label>Created after <input type="datetime-local" name="after" .value=${filters.after} @change=${(e: Event) => setFilters({ after: (e.target as HTMLInputElement).value })} /></label>
        <label>Created before <input type="datetime-local" name="before" .value=${filters.before} @change=${(e: Event) => setFilters({ before: (e.target as HTMLInputElement).value })} /></label>
        <label>Labels <input type="text" name="label" placeholder="team=ops, env=prod" .value=${filters.label} aria-invalid=${filterError ? 'true' : 'false'}
          @change=${(e: Event) => setFilters({ label: (e.target as HTMLInputElement).value })} /></label>
        <button type="button" @click=${() => setFilters({ definitionId: '', status: [], after: '', before: '', label: '' })}>Clear filters</button>
        ${filterError ? html`<p class="error" role="alert">${filterError}</p>` : nothing}
      </form>
      ${fresh > 0 ? html`<p class="fresh" role="status">${fresh} instance${fresh === 1 ? '' : 's'} started since this page loaded.
        <button type="button" @click=${() => void load()}>Refresh</button></p>` : nothing}
      ${error ? html`<p class="error" role="alert">${error}</p>` : nothing}
      <div class="table-wrap">
      <table class="instances-table stack-table" aria-busy=${loading ? 'true' : 'false'}>
        <caption class="sr-only">Instances${filters.status.length ? ` with state ${filters.status.join(' or ')}` : ''}</caption>
        <thead><tr><th scope="col">Instance</th><th scope="col">Definition</th><th scope="col">State</th><th scope="col">Created</th><th scope="col">Updated</th><th scope="col">Labels</th></tr></thead>
        <tbody>
          ${rows.length === 0 && !loading ? html`<tr><td colspan="6" class="muted">No instances match.</td></tr>` : nothing}
          ${rows.map((r) => html`<tr data-id=${r.id} class=${flash.has(r.id) ? 'flash' : ''}>
            <td data-label="Instance"><a href=${`#/instances/${encodeURIComponent(r.id)}`}><code>${r.id}</code></a></td>
            <td data-label="Definition"><a href=${`#/definitions/${encodeURIComponent(r.definitionId)}`}>${r.definitionId}</a> <span class="muted">${r.definitionVersion}</span></td>
            <td data-label="State" data-status=${r.status}>${statusBadge(r.status)}</td>
            <td data-label="Created">${formatTime(r.createdAt)}</td>
            <td data-label="Updated">${formatTime(r.endedAt ?? r.updatedAt)}</td>
            <td data-label="Labels">${Object.entries(r.labels ?? {}).map(([k, v]) => html`<span class="label-tag">${k}=${v}</span> `)}</td>
          </tr>`)}
        </tbody>
      </table>
      </div>
      <nav class="pager" aria-label="Pages">
        <button type="button" ?disabled=${page === 0 || loading} @click=${() => { page--; void load(); }}>← Previous</button>
        <span class="muted">Page ${page + 1}${loading ? ' · loading…' : ''}</span>
        <button type="button" ?disabled=${!nextCursor || loading} @click=${() => { cursors[page + 1] = nextCursor; page++; void load(); }}>Next →</button>
      </nav>
    </section>`, el);
  }

  counts.start();
  void client.listDefinitions().then((d) => { definitions = d.map((x) => x.id); draw(); }).catch(() => undefined);
  void load();
  return () => { closed = true; counts.stop(); };
};
export default view;
