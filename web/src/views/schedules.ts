/**
 * Schedules (`#/schedules`, API `/api/v1/schedules`, docs/schedules.md): every schedule with its
 * next and last run; create one (definition, cron or interval, time zone, overlap and catch-up
 * policies, input); pause, resume, trigger now, delete. Errors from the server (a bad cron, an
 * unknown time zone or definition) are shown next to the form, naming the field.
 * A server without the schedules routes says so instead of failing.
 */
import { html, nothing, render, type TemplateResult } from 'lit-html';
import { client, errorText, WeftApiError } from '../api.js';
import type { View } from '../router.js';
import { formatTime, statusBadge } from './instances.js';
import './schedules.css';

interface ScheduleRun { at: number; outcome: 'started' | 'skipped' | 'buffered' | 'failed'; instanceId?: string; reason?: string; manual?: boolean }
interface Schedule {
  id: string; definitionId: string; definitionVersion?: string; cron?: string; interval?: string; timezone: string;
  input?: unknown; labels?: Record<string, string>; overlap: string; catchUp: string; catchUpLimit: number; paused: boolean;
  startAt?: number; endAt?: number; nextRunAt?: number; lastRun?: ScheduleRun; lastInstanceId?: string; lastInstanceStatus?: string;
}

const BASE = '/api/v1/schedules';
const enc = encodeURIComponent;
const REFRESH_MS = 5000;

interface Draft { id: string; definitionId: string; version: string; kind: 'cron' | 'interval'; cron: string; interval: string; timezone: string; overlap: string; catchUp: string; input: string; paused: boolean }
const emptyDraft = (): Draft => ({
  id: '', definitionId: '', version: '', kind: 'cron', cron: '*/5 * * * *', interval: '15m',
  timezone: Intl.DateTimeFormat().resolvedOptions().timeZone || 'UTC', overlap: 'skip', catchUp: 'one', input: '{}', paused: false,
});

function runText(r: ScheduleRun | undefined): TemplateResult | string {
  if (!r) return html`<span class="muted">never</span>`;
  return html`${formatTime(r.at)} <span class="run-${r.outcome}">${r.outcome}</span>${r.manual ? ' (manual)' : ''}
    ${r.instanceId ? html` <a href=${`#/instances/${enc(r.instanceId)}`}><code>${r.instanceId}</code></a>` : nothing}
    ${r.reason ? html`<br /><span class="muted">${r.reason}</span>` : nothing}`;
}

const view: View = (el) => {
  let items: Schedule[] = [];
  let available = true;
  let loaded = false;
  let error: string | undefined;
  let notice: string | undefined;
  let definitions: string[] = [];
  let draft = emptyDraft();
  let formError: { field?: string; text: string } | undefined;
  let creating = false;
  let closed = false;

  /** The timer's refresh and an action's can overlap: only the latest started may draw. */
  let generation = 0;
  async function load(): Promise<void> {
    const mine = ++generation;
    try {
      const found = (await client.request<{ items: Schedule[] }>('GET', BASE)).items;
      if (mine !== generation) return;
      items = found;
      available = true;
      error = undefined;
    } catch (err) {
      if (err instanceof WeftApiError && err.status === 404 && err.code === 'not_found' && /no route/.test(err.message)) available = false;
      else error = errorText(err);
    }
    loaded = true;
    draw();
  }

  async function act(s: Schedule, verb: 'pause' | 'resume' | 'trigger' | 'delete'): Promise<void> {
    if (verb === 'delete' && !confirm(`Delete schedule ${s.id}? Instances it started keep running.`)) return;
    try {
      if (verb === 'delete') { await client.request('DELETE', `${BASE}/${enc(s.id)}`); notice = `Schedule ${s.id} deleted.`; }
      else if (verb === 'trigger') {
        const r = await client.request<ScheduleRun>('POST', `${BASE}/${enc(s.id)}/trigger`, {});
        notice = `Schedule ${s.id} triggered: ${r.outcome}${r.instanceId ? ` (${r.instanceId})` : ''}${r.reason ? ` — ${r.reason}` : ''}.`;
      } else { await client.request('POST', `${BASE}/${enc(s.id)}/${verb}`, {}); notice = `Schedule ${s.id} ${verb === 'pause' ? 'paused' : 'resumed'}.`; }
    } catch (err) {
      notice = `${s.id}: ${errorText(err)}`;
    }
    await load();
  }

  async function create(e: Event): Promise<void> {
    e.preventDefault();
    formError = undefined;
    let input: unknown;
    try { input = JSON.parse(draft.input.trim() || '{}'); } catch (err) { formError = { field: 'input', text: `Input is not valid JSON: ${(err as Error).message}` }; }
    if (!formError && !draft.definitionId) formError = { field: 'definitionId', text: 'Choose a definition.' };
    if (formError) { draw(); return; }
    creating = true;
    draw();
    try {
      const body = {
        definitionId: draft.definitionId, ...(draft.id.trim() && { id: draft.id.trim() }), ...(draft.version.trim() && { version: draft.version.trim() }),
        ...(draft.kind === 'cron' ? { cron: draft.cron.trim() } : { interval: draft.interval.trim() }),
        timezone: draft.timezone.trim() || 'UTC', overlap: draft.overlap, catchUp: draft.catchUp, input, ...(draft.paused && { paused: true }),
      };
      const s = await client.request<Schedule>('POST', BASE, body);
      notice = `Schedule ${s.id} created; next run ${s.nextRunAt ? formatTime(s.nextRunAt) : 'none'}.`;
      draft = emptyDraft();
      await load();
    } catch (err) {
      const field = err instanceof WeftApiError ? (err.details as { field?: string } | undefined)?.field : undefined;
      formError = { ...(field !== undefined && { field }), text: errorText(err) };
    }
    creating = false;
    draw();
  }

  const invalid = (f: string) => (formError?.field === f ? 'true' : 'false');
  const set = (k: keyof Draft) => (e: Event) => {
    const t = e.target as HTMLInputElement;
    (draft as unknown as Record<string, unknown>)[k] = t.type === 'checkbox' ? t.checked : t.value;
    if (k === 'kind') draw();
  };

  function form(): TemplateResult {
    return html`<form class="panel schedule-form" novalidate @submit=${(e: Event) => void create(e)} aria-labelledby="new-schedule">
      <h2 id="new-schedule">New schedule</h2>
      <div class="grid">
        <label>Definition <select name="definitionId" .value=${draft.definitionId} aria-invalid=${invalid('definitionId')} @change=${set('definitionId')}>
          <option value="" ?selected=${!draft.definitionId}>— choose —</option>
          ${definitions.map((d) => html`<option value=${d} ?selected=${d === draft.definitionId}>${d}</option>`)}</select></label>
        <label>Version <input name="version" .value=${draft.version} placeholder="latest" aria-invalid=${invalid('version')} @input=${set('version')} /></label>
        <label>Id <input name="id" .value=${draft.id} placeholder="random" aria-invalid=${invalid('id')} @input=${set('id')} /></label>
        <fieldset class="kind"><legend>Every</legend>
          <label><input type="radio" name="kind" value="cron" .checked=${draft.kind === 'cron'} @change=${set('kind')} /> cron</label>
          <label><input type="radio" name="kind" value="interval" .checked=${draft.kind === 'interval'} @change=${set('kind')} /> interval</label></fieldset>
        ${draft.kind === 'cron'
          ? html`<label>Cron <input name="cron" .value=${draft.cron} aria-invalid=${invalid('cron')} aria-describedby="cron-hint" @input=${set('cron')} />
              <span id="cron-hint" class="muted">minute hour day month weekday</span></label>`
          : html`<label>Interval <input name="interval" .value=${draft.interval} aria-invalid=${invalid('interval')} placeholder="15m" @input=${set('interval')} /></label>`}
        <label>Time zone <input name="timezone" .value=${draft.timezone} aria-invalid=${invalid('timezone')} @input=${set('timezone')} /></label>
        <label>If the last run still runs <select name="overlap" .value=${draft.overlap} @change=${set('overlap')}>
          <option value="skip">skip this run</option><option value="buffer_one">start it after (buffer one)</option><option value="allow">start anyway</option></select></label>
        <label>Missed runs after downtime <select name="catchUp" .value=${draft.catchUp} @change=${set('catchUp')}>
          <option value="one">start one</option><option value="all">start each (up to 10)</option><option value="skip">skip them</option></select></label>
        <label class="check"><input type="checkbox" name="paused" .checked=${draft.paused} @change=${set('paused')} /> Create paused</label>
      </div>
      <label>Input (JSON) <textarea name="input" rows="3" .value=${draft.input} aria-invalid=${invalid('input')} @input=${set('input')}></textarea></label>
      <div><button class="primary" type="submit" ?disabled=${creating}>Create schedule</button></div>
      ${formError ? html`<p class="error" role="alert">${formError.field ? html`<strong>${formError.field}</strong>: ` : nothing}${formError.text}</p>` : nothing}
    </form>`;
  }

  function draw(): void {
    if (closed) return;
    render(html`<section class="page schedules">
      <h1>Schedules</h1>
      ${!available ? html`<p class="panel">This server has no schedules API (<code>${BASE}</code>).</p>` : html`
      <div role="status" class="notice">${notice ?? ''}</div>
      ${error ? html`<p class="error" role="alert">${error}</p>` : nothing}
      <div class="table-wrap"><table class="schedules-table stack-table">
        <thead><tr><th scope="col">Schedule</th><th scope="col">Definition</th><th scope="col">When</th><th scope="col">Next run</th><th scope="col">Last run</th><th scope="col">Policies</th><th scope="col"><span class="sr-only">Actions</span></th></tr></thead>
        <tbody>
          ${loaded && items.length === 0 ? html`<tr><td colspan="7" class="muted">No schedules yet.</td></tr>` : nothing}
          ${items.map((s) => html`<tr data-schedule=${s.id}>
            <th scope="row" data-label="Schedule"><code>${s.id}</code>${s.paused ? html` <span class="badge st-paused">paused</span>` : nothing}</th>
            <td data-label="Definition"><a href=${`#/definitions/${enc(s.definitionId)}`}>${s.definitionId}</a> <span class="muted">${s.definitionVersion ?? 'latest'}</span></td>
            <td data-label="When"><code>${s.cron ?? `every ${s.interval}`}</code><br /><span class="muted">${s.timezone}</span></td>
            <td data-label="Next run">${s.paused ? html`<span class="muted">paused</span>` : s.nextRunAt ? formatTime(s.nextRunAt) : html`<span class="muted">none</span>`}</td>
            <td data-label="Last run">${runText(s.lastRun)}${s.lastInstanceStatus ? html` ${statusBadge(s.lastInstanceStatus)}` : nothing}</td>
            <td class="muted" data-label="Policies">overlap ${s.overlap}<br />catch-up ${s.catchUp}</td>
            <td class="actions">
              ${s.paused ? html`<button type="button" @click=${() => void act(s, 'resume')}>Resume</button>` : html`<button type="button" @click=${() => void act(s, 'pause')}>Pause</button>`}
              <button type="button" @click=${() => void act(s, 'trigger')}>Run now</button>
              <a href=${`#/instances?label=${enc(`weft.schedule=${s.id}`)}`}>Runs</a>
              <button type="button" class="danger" aria-label=${`Delete schedule ${s.id}`} @click=${() => void act(s, 'delete')}>Delete</button></td>
          </tr>`)}
        </tbody>
      </table></div>
      ${form()}`}
    </section>`, el);
  }

  const timer = setInterval(() => { if (available) void load(); }, REFRESH_MS);
  void client.listDefinitions().then((d) => { definitions = d.map((x) => x.id); draw(); }).catch(() => undefined);
  draw();
  void load();
  return () => { closed = true; clearInterval(timer); };
};
export default view;
