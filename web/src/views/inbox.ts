/**
 * The human-task inbox (`#/inbox`): open tasks for the user named in "You are" (kept in
 * localStorage and sent as `x-weft-user`, which the server's default authentication reads) and/or
 * a group. Claim, release, complete with a form generated from the task's JSON Schema (validated
 * in the browser with Ajv first; the server's 400 shown at the field), reject with a reason,
 * reassign. The list refreshes when any instance commits human-task events (WebSocket).
 */
import { html, nothing, render, type TemplateResult } from 'lit-html';
import { WeftClient, type InboxItem } from '../../../src/sdk/client.js';
import { errorText, WeftApiError } from '../api.js';
import { SchemaForm } from '../forms/schema-form.js';
import { subscribeAll } from '../live.js';
import type { View } from '../router.js';
import { formatTime } from './instances.js';
import './inbox.css';

const USER_KEY = 'weft.user';
const GROUP_KEY = 'weft.group';
const HUMAN_EVENTS = new Set(['StepStarted', 'HumanTaskCompleted', 'HumanTaskEscalated', 'StepFailed', 'StepCancelled', 'WorkflowCancelled', 'WorkflowTerminated', 'WorkflowFailed']);

/** Identifies a task in the map and the DOM (`data-task`): both ids URL-encoded, so no separator clash. */
const key = (t: InboxItem) => `${encodeURIComponent(t.instanceId)}/${encodeURIComponent(t.task.taskId)}`;

interface Open {
  form: SchemaForm;
  mode: 'complete' | 'reject' | 'reassign';
  reason: string;
  users: string;
  groups: string;
  busy: boolean;
  message?: { ok: boolean; text: string };
}

const view: View = (el) => {
  let user = localStorage.getItem(USER_KEY) ?? '';
  let group = localStorage.getItem(GROUP_KEY) ?? '';
  let draftUser = user;
  let draftGroup = group;
  let scope: 'mine' | 'all' = user || group ? 'mine' : 'all';
  let tasks: InboxItem[] = [];
  let loading = true;
  let error: string | undefined;
  let notice: string | undefined;
  let closed = false;
  const open = new Map<string, Open>();

  const api = () => new WeftClient(location.origin, { headers: user ? { 'x-weft-user': user } : {} });

  /** Loads overlap (a live refresh, an action's own refresh): only the latest started may draw. */
  let generation = 0;
  async function load(): Promise<void> {
    const mine = ++generation;
    loading = true;
    draw();
    try {
      const q = scope === 'mine' ? { ...(user && { user }), ...(group && { group }) } : {};
      const found = await api().inbox({ status: 'open', limit: 500, ...q });
      if (mine !== generation) return;
      tasks = found;
      error = undefined;
      for (const k of [...open.keys()]) if (!tasks.some((t) => key(t) === k)) open.delete(k);
    } catch (err) {
      if (mine !== generation) return;
      error = errorText(err);
    }
    loading = false;
    draw();
  }

  let reloadTimer: ReturnType<typeof setTimeout> | undefined;
  const reloadSoon = () => {
    if (reloadTimer) return;
    reloadTimer = setTimeout(() => { reloadTimer = undefined; if (!closed) void load(); }, 150);
  };

  function setIdentity(u: string, g: string): void {
    user = u.trim();
    group = g.trim();
    if (user) localStorage.setItem(USER_KEY, user); else localStorage.removeItem(USER_KEY);
    if (group) localStorage.setItem(GROUP_KEY, group); else localStorage.removeItem(GROUP_KEY);
    scope = user || group ? 'mine' : 'all';
    void load();
  }

  function toggle(t: InboxItem, mode: Open['mode']): void {
    const k = key(t);
    const cur = open.get(k);
    if (cur && cur.mode === mode) { open.delete(k); draw(); return; }
    open.set(k, cur ? { ...cur, mode, message: undefined } : {
      form: new SchemaForm(t.task.form, () => draw()), mode, reason: '', users: t.task.users.join(', '), groups: t.task.groups.join(', '), busy: false,
    });
    draw();
    queueMicrotask(() => el.querySelector<HTMLElement>(`[data-task="${CSS.escape(k)}"] .task-body input, [data-task="${CSS.escape(k)}"] .task-body select, [data-task="${CSS.escape(k)}"] .task-body textarea, [data-task="${CSS.escape(k)}"] .task-body button`)?.focus());
  }

  async function act(t: InboxItem, what: string, run: () => Promise<unknown>, done: string, reload = true): Promise<void> {
    const o = open.get(key(t));
    if (o) { o.busy = true; o.message = undefined; }
    draw();
    try {
      await run();
      notice = done;
      if (o) o.busy = false;
      if (reload) await load();
    } catch (err) {
      if (o) { o.busy = false; o.message = { ok: false, text: errorText(err) }; } else notice = `${what}: ${errorText(err)}`;
      draw();
    }
  }

  async function complete(t: InboxItem, action: string): Promise<void> {
    const o = open.get(key(t))!;
    const data = o.form.submit();
    if (data === undefined) return; // errors shown at the fields
    o.busy = true;
    draw();
    try {
      await api().completeTask(t.instanceId, t.task.taskId, action, data);
      open.delete(key(t));
      notice = `${t.task.title ?? t.stepId}: ${action} sent.`;
      await load();
    } catch (err) {
      o.busy = false;
      if (err instanceof WeftApiError && err.status === 400) o.form.showServerError(err.details, err.message);
      else o.message = { ok: false, text: errorText(err) };
      draw();
    }
  }

  function taskBody(t: InboxItem, o: Open): TemplateResult {
    const mine = !t.claimedBy || t.claimedBy === user;
    if (o.mode === 'reject') {
      return html`<form class="task-body" novalidate @submit=${(e: Event) => { e.preventDefault(); void act(t, 'Reject', () => api().rejectTask(t.instanceId, t.task.taskId, o.reason || undefined), `${t.task.title ?? t.stepId}: rejected.`); }}>
        <label for=${`reason-${t.task.taskId}`}>Reason</label>
        <textarea id=${`reason-${t.task.taskId}`} rows="2" .value=${o.reason} @input=${(e: Event) => { o.reason = (e.target as HTMLTextAreaElement).value; }}></textarea>
        <div class="row"><button type="submit" class="danger" ?disabled=${o.busy || !mine}>Reject task</button> <button type="button" @click=${() => toggle(t, 'reject')}>Cancel</button></div>
        ${o.message ? html`<p class="error" role="alert">${o.message.text}</p>` : nothing}
      </form>`;
    }
    if (o.mode === 'reassign') {
      const list = (s: string) => s.split(',').map((x) => x.trim()).filter(Boolean);
      return html`<form class="task-body" novalidate @submit=${(e: Event) => { e.preventDefault(); void act(t, 'Reassign', () => api().reassignTask(t.instanceId, t.task.taskId, { users: list(o.users), groups: list(o.groups) }), `${t.task.title ?? t.stepId}: reassigned.`); }}>
        <label>Users <input type="text" .value=${o.users} @input=${(e: Event) => { o.users = (e.target as HTMLInputElement).value; }} placeholder="ann, bob" /></label>
        <label>Groups <input type="text" .value=${o.groups} @input=${(e: Event) => { o.groups = (e.target as HTMLInputElement).value; }} placeholder="ops" /></label>
        <div class="row"><button type="submit" ?disabled=${o.busy}>Reassign</button> <button type="button" @click=${() => toggle(t, 'reassign')}>Cancel</button></div>
        ${o.message ? html`<p class="error" role="alert">${o.message.text}</p>` : nothing}
      </form>`;
    }
    const actions = t.task.actions.filter((a) => a !== 'reject');
    return html`<form class="task-body" novalidate @submit=${(e: Event) => { e.preventDefault(); void complete(t, actions[0] ?? 'approve'); }}>
      ${t.input !== undefined && t.input !== null ? html`<details><summary>Step input</summary><pre class="json">${JSON.stringify(t.input, null, 2)}</pre></details>` : nothing}
      ${o.form.template()}
      <div class="row">
        ${actions.map((a, i) => html`<button type=${i === 0 ? 'submit' : 'button'} class=${i === 0 ? 'primary' : ''} ?disabled=${o.busy || !mine}
          @click=${i === 0 ? nothing : () => void complete(t, a)}>${a}</button>`)}
        <button type="button" @click=${() => toggle(t, 'complete')}>Close</button>
      </div>
      ${!mine ? html`<p class="muted">Claimed by ${t.claimedBy}: only they can answer it.</p>` : nothing}
      ${o.message ? html`<p class="error" role="alert">${o.message.text}</p>` : nothing}
    </form>`;
  }

  function card(t: InboxItem): TemplateResult {
    const k = key(t);
    const o = open.get(k);
    const claimedByMe = !!user && t.claimedBy === user;
    const title = t.task.title ?? t.stepId;
    return html`<li class="task panel" data-task=${k}>
      <div class="task-head">
        <div class="task-title">
          <h2>${title}${t.task.kind === 'manual' ? html` <span class="badge manual">manual intervention</span>` : nothing}</h2>
          <p class="muted">Step <code>${t.stepId}</code> of <a href=${`#/instances/${encodeURIComponent(t.instanceId)}`}><code>${t.instanceId}</code></a> · ${formatTime(t.createdAt)}
            ${t.task.deadline ? html` · due ${formatTime(t.task.deadline)}` : nothing}</p>
          <p class="assignees">For ${[...t.task.users.map((u) => `@${u}`), ...t.task.groups.map((g) => `group ${g}`)].join(', ') || 'anyone'}
            ${t.claimedBy ? html` · <strong class="claimed">claimed by ${t.claimedBy}</strong>` : nothing}</p>
        </div>
        <div class="task-actions">
          ${!t.claimedBy ? html`<button type="button" ?disabled=${!user} title=${user ? nothing : 'Say who you are first'} @click=${() => void act(t, 'Claim', () => api().claimTask(t.instanceId, t.task.taskId), `${title}: claimed by ${user}.`)}>Claim</button>` : nothing}
          ${claimedByMe ? html`<button type="button" @click=${() => void act(t, 'Release', () => api().releaseTask(t.instanceId, t.task.taskId), `${title}: released.`)}>Release</button>` : nothing}
          <button type="button" class=${o?.mode === 'complete' ? 'primary' : ''} aria-expanded=${o?.mode === 'complete' ? 'true' : 'false'} @click=${() => toggle(t, 'complete')}>Open form</button>
          <button type="button" aria-expanded=${o?.mode === 'reject' ? 'true' : 'false'} @click=${() => toggle(t, 'reject')}>Reject…</button>
          <button type="button" aria-expanded=${o?.mode === 'reassign' ? 'true' : 'false'} @click=${() => toggle(t, 'reassign')}>Reassign…</button>
        </div>
      </div>
      ${o ? taskBody(t, o) : nothing}
    </li>`;
  }

  function draw(): void {
    if (closed) return;
    render(html`<section class="page inbox">
      <h1>Inbox</h1>
      <form class="identity panel" novalidate @submit=${(e: Event) => { e.preventDefault(); setIdentity(draftUser, draftGroup); }} aria-label="Identity">
        <label>You are <input type="text" name="user" autocomplete="username" .value=${user} placeholder="user id" @input=${(e: Event) => { draftUser = (e.target as HTMLInputElement).value; }} /></label>
        <label>Group <input type="text" name="group" .value=${group} placeholder="optional" @input=${(e: Event) => { draftGroup = (e.target as HTMLInputElement).value; }} /></label>
        <button type="submit">Use</button>
        <fieldset class="scope"><legend class="sr-only">Show</legend>
          <label><input type="radio" name="scope" .checked=${scope === 'mine'} ?disabled=${!user && !group} @change=${() => { scope = 'mine'; void load(); }} /> My tasks</label>
          <label><input type="radio" name="scope" .checked=${scope === 'all'} @change=${() => { scope = 'all'; void load(); }} /> All open tasks</label>
        </fieldset>
      </form>
      <p class="muted">${user ? html`Your name is sent as <code>x-weft-user</code>: claims and answers are recorded under it.`
        : html`Say who you are to claim tasks; answers are recorded under that name (sent as <code>x-weft-user</code>).`}</p>
      <div role="status" class="notice">${notice ?? ''}</div>
      ${error ? html`<p class="error" role="alert">${error}</p>` : nothing}
      ${!loading && tasks.length === 0 ? html`<p class="muted empty">No open tasks${scope === 'mine' ? ' for you' : ''}.</p>` : nothing}
      <ul class="tasks">${tasks.map(card)}</ul>
    </section>`, el);
  }

  const unsubscribe = subscribeAll({
    onEvents: (_id, events) => { if (events.some((e) => HUMAN_EVENTS.has(e.type))) reloadSoon(); },
  });
  draw();
  void load();
  return () => { closed = true; unsubscribe(); if (reloadTimer) clearTimeout(reloadTimer); };
};
export default view;
