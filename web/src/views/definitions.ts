/**
 * Definitions (`#/definitions`): every deployed definition with its versions and the verifier's
 * soundness verdict of its latest version. One definition (`#/definitions/:id?version=…`): its
 * versions (delete one no instance uses), the verdict and problems of the chosen version, its
 * steps, a link to the editor, and a form to start an instance with JSON input — checked as JSON
 * and against the definition's `input` schema before it is sent; the server's errors are shown.
 *
 * The verdict is computed by `POST /api/v1/definitions/verify?soundnessOnly=true` (the server
 * keeps no verdict per stored version); results are cached per id@version for the page's life.
 */
import { html, nothing, render, type TemplateResult } from 'lit-html';
import type { Definition } from '../../../src/model/schema.js';
import type { VerificationReport } from '../../../src/verify/verify.js';
import { client, errorText, WeftApiError } from '../api.js';
import { schemaMessages } from '../forms/schema.js';
import { hashQuery, type View } from '../router.js';
import type { DefinitionListItem } from '../../../src/sdk/client.js';
import { formatTime, parseLabels } from './instances.js';
import './definitions.css';

type Verdict = { verdict: VerificationReport['verdict']; problems: VerificationReport['problems'] } | { error: string };
const verdicts = new Map<string, Promise<Verdict>>();

function verdictOf(def: Definition): Promise<Verdict> {
  const key = `${def.id}@${def.version ?? ''}`;
  let p = verdicts.get(key);
  if (!p) {
    p = client.verify(JSON.stringify(def), { format: 'json', soundnessOnly: true })
      .then((r) => ({ verdict: r.verdict, problems: r.problems ?? [] }))
      .catch((err) => ({ error: errorText(err) }));
    verdicts.set(key, p);
    // A failure (server busy) is not remembered.
    void p.then((v) => { if ('error' in v) verdicts.delete(key); });
  }
  return p;
}

function verdictBadge(v: Verdict | undefined): TemplateResult {
  if (!v) return html`<span class="verdict pending" data-verdict="pending">verifying…</span>`;
  if ('error' in v) return html`<span class="verdict error" data-verdict="error" title=${v.error}>not verified</span>`;
  return html`<span class="verdict v-${v.verdict}" data-verdict=${v.verdict}>${v.verdict}</span>`;
}

// ---------------------------------------------------------------- the list

function listView(el: HTMLElement): () => void {
  let items: DefinitionListItem[] = [];
  let error: string | undefined;
  let loading = true;
  let closed = false;
  const found = new Map<string, Verdict>();

  const draw = () => {
    if (closed) return;
    render(html`<section class="page definitions">
      <div class="page-head"><h1>Definitions</h1><a class="button" href="#/editor">New definition</a></div>
      ${error ? html`<p class="error" role="alert">${error}</p>` : nothing}
      <div class="table-wrap"><table class="stack-table">
        <thead><tr><th scope="col">Definition</th><th scope="col">Latest</th><th scope="col">Versions</th><th scope="col">Deployed</th><th scope="col">Verdict (latest)</th><th scope="col"><span class="sr-only">Actions</span></th></tr></thead>
        <tbody>
          ${!loading && items.length === 0 ? html`<tr><td colspan="6" class="muted">Nothing deployed yet. Write one in the <a href="#/editor">editor</a> or deploy with <code>weft client deploy FILE</code>.</td></tr>` : nothing}
          ${items.map((d) => html`<tr data-id=${d.id}>
            <th scope="row" data-label="Definition"><a href=${`#/definitions/${encodeURIComponent(d.id)}`}>${d.id}</a></th>
            <td data-label="Latest">${d.latest}</td>
            <td data-label="Versions">${d.versions.map((v) => v.version).join(', ')}</td>
            <td data-label="Deployed">${formatTime(d.versions[d.versions.length - 1]?.createdAt)}</td>
            <td data-label="Verdict">${verdictBadge(found.get(d.id))}</td>
            <td class="actions"><a href=${`#/definitions/${encodeURIComponent(d.id)}`} aria-label=${`Start ${d.id}`}>Start…</a>
              <a href=${`#/editor/${encodeURIComponent(d.id)}`} aria-label=${`Edit ${d.id}`}>Edit</a>
              <a href=${`#/instances?definitionId=${encodeURIComponent(d.id)}`} aria-label=${`Instances of ${d.id}`}>Instances</a></td>
          </tr>`)}
        </tbody>
      </table></div>
      ${loading ? html`<p class="muted">Loading…</p>` : nothing}
    </section>`, el);
  };

  void (async () => {
    try {
      items = await client.listDefinitions();
    } catch (err) {
      error = errorText(err);
    }
    loading = false;
    draw();
    // One at a time: the verifier is CPU work on a shared server.
    for (const d of items) {
      if (closed) return;
      try {
        const def = await client.getDefinition(d.id, d.latest);
        found.set(d.id, await verdictOf(def));
      } catch (err) {
        found.set(d.id, { error: errorText(err) });
      }
      draw();
    }
  })();
  draw();
  return () => { closed = true; };
}

// ---------------------------------------------------------------- one definition

function stepKinds(def: Definition): string {
  const by = new Map<string, number>();
  for (const s of def.steps) by.set(s.type, (by.get(s.type) ?? 0) + 1);
  return [...by].map(([t, n]) => `${n} ${t}`).join(', ');
}

function detailView(el: HTMLElement, id: string): () => void {
  let item: DefinitionListItem | undefined;
  let version = hashQuery().get('version') ?? '';
  let def: Definition | undefined;
  let verdict: Verdict | undefined;
  let error: string | undefined;
  let closed = false;
  // start form
  let inputText = '{}';
  let labelsText = '';
  let startErrors: string[] = [];
  let started: string | undefined;
  let starting = false;
  // delete
  let deleteMessage: { ok: boolean; text: string } | undefined;

  async function loadVersion(): Promise<void> {
    def = undefined;
    verdict = undefined;
    draw();
    try {
      def = await client.getDefinition(id, version);
      draw();
      verdict = await verdictOf(def);
    } catch (err) {
      error = errorText(err);
    }
    draw();
  }

  async function loadList(): Promise<void> {
    try {
      item = (await client.listDefinitions()).find((d) => d.id === id);
      if (!item) { error = `Definition "${id}" is not deployed.`; draw(); return; }
      if (!item.versions.some((v) => v.version === version)) version = item.latest;
      await loadVersion();
    } catch (err) {
      error = errorText(err);
      draw();
    }
  }

  function chooseVersion(v: string): void {
    version = v;
    history.replaceState(null, '', `#/definitions/${encodeURIComponent(id)}?version=${encodeURIComponent(v)}`);
    deleteMessage = undefined;
    void loadVersion();
  }

  async function start(e: Event): Promise<void> {
    e.preventDefault();
    startErrors = [];
    started = undefined;
    let input: unknown;
    try {
      input = JSON.parse(inputText.trim() === '' ? '{}' : inputText);
    } catch (err) {
      startErrors = [`Input is not valid JSON: ${(err as Error).message}`];
    }
    let labels: Record<string, string> = {};
    try { labels = parseLabels(labelsText); } catch (err) { startErrors.push((err as Error).message); }
    if (startErrors.length === 0 && def?.input) {
      startErrors = schemaMessages(def.input, input);
    }
    if (startErrors.length > 0) { draw(); focus('#start-errors'); return; }
    starting = true;
    draw();
    try {
      const r = await client.start({ definitionId: id, version, input, ...(Object.keys(labels).length > 0 && { labels }) });
      started = r.id;
    } catch (err) {
      startErrors = [errorText(err)];
      const d = err instanceof WeftApiError ? err.details as { field?: string } | undefined : undefined;
      if (d?.field) startErrors[0] += ` — field ${d.field}`;
    }
    starting = false;
    draw();
    focus(started ? '#start-result' : '#start-errors');
  }

  async function remove(v: string): Promise<void> {
    if (!confirm(`Delete ${id} version ${v}? This cannot be undone.`)) return;
    try {
      await client.deleteDefinition(id, v);
      item = (await client.listDefinitions()).find((d) => d.id === id);
      if (!item) { location.hash = '#/definitions'; return; }
      if (v === version) chooseVersion(item.latest);
      deleteMessage = { ok: true, text: `Version ${v} deleted.` };
    } catch (err) {
      const inUse = err instanceof WeftApiError && err.code === 'in_use';
      deleteMessage = { ok: false, text: inUse ? `Version ${v} is used by instances and cannot be deleted.` : errorText(err) };
    }
    draw();
  }

  function focus(sel: string): void {
    queueMicrotask(() => el.querySelector<HTMLElement>(sel)?.focus());
  }

  function problems(): TemplateResult | typeof nothing {
    if (!verdict || 'error' in verdict || verdict.problems.length === 0) return nothing;
    return html`<ul class="problems">${verdict.problems.map((p) => html`<li class=${p.severity === 'error' ? 'error' : 'muted'}>
      <strong>${p.kind}</strong>: ${p.message}${p.trace && p.trace.length ? html` <span class="muted">(trace: ${p.trace.map((t) => t.text).join(' → ')})</span>` : nothing}</li>`)}</ul>`;
  }

  function draw(): void {
    if (closed) return;
    render(html`<section class="page definition">
      <p class="crumbs"><a href="#/definitions">Definitions</a> /</p>
      <div class="page-head"><h1>${id}</h1>
        <a class="button" href=${`#/editor/${encodeURIComponent(id)}`}>Edit in the editor</a>
        <a class="button" href=${`#/instances?definitionId=${encodeURIComponent(id)}`}>Instances</a></div>
      ${error ? html`<p class="error" role="alert">${error}</p>` : nothing}
      ${item ? html`
      <div class="def-grid">
        <div class="panel">
          <h2>Version <label class="sr-only" for="def-version">Version</label>
            <select id="def-version" .value=${version} @change=${(e: Event) => chooseVersion((e.target as HTMLSelectElement).value)}>
              ${item.versions.map((v) => html`<option value=${v.version} ?selected=${v.version === version}>${v.version}${v.version === item!.latest ? ' (latest)' : ''}</option>`)}
            </select></h2>
          <p>Verdict: ${verdictBadge(verdict)}</p>
          ${problems()}
          ${def ? html`
            ${def.name || def.description ? html`<p>${def.name ? html`<strong>${def.name}</strong> ` : nothing}${def.description ?? ''}</p>` : nothing}
            <p class="muted">${def.steps.length} steps: ${stepKinds(def)}</p>
            <details><summary>Steps</summary><ol class="step-list">${def.steps.map((s) => html`<li><code>${s.id}</code> <span class="muted">${s.type}${'activity' in s && s.activity ? ` · ${String(s.activity)}` : ''}</span></li>`)}</ol></details>
            <details><summary>Definition (JSON)</summary><pre class="json">${JSON.stringify(def, null, 2)}</pre></details>` : html`<p class="muted">Loading…</p>`}
        </div>
        <form class="panel start-form" @submit=${(e: Event) => void start(e)} novalidate aria-labelledby="start-title">
          <h2 id="start-title">Start an instance</h2>
          <label for="start-input">Input (JSON)</label>
          ${def?.input ? html`<p class="muted">Checked against the definition's input schema.</p>` : nothing}
          <textarea id="start-input" rows="8" spellcheck="false" .value=${inputText} aria-invalid=${startErrors.length ? 'true' : 'false'} aria-describedby="start-errors"
            @input=${(e: Event) => { inputText = (e.target as HTMLTextAreaElement).value; }}></textarea>
          <label for="start-labels">Labels <span class="muted">(optional: key=value, comma separated)</span></label>
          <input id="start-labels" type="text" .value=${labelsText} @input=${(e: Event) => { labelsText = (e.target as HTMLInputElement).value; }} />
          <div class="row"><button class="primary" type="submit" ?disabled=${starting || !def}>Start ${version}</button></div>
          <div id="start-errors" tabindex="-1" role="alert">${startErrors.length ? html`<ul class="error">${startErrors.map((m) => html`<li>${m}</li>`)}</ul>` : nothing}</div>
          ${started ? html`<p id="start-result" tabindex="-1" role="status" class="ok">Started <a href=${`#/instances/${encodeURIComponent(started)}`}><code>${started}</code></a>.</p>` : nothing}
        </form>
      </div>
      <div class="panel versions">
        <h2>Versions</h2>
        <table><thead><tr><th scope="col">Version</th><th scope="col">Deployed</th><th scope="col"><span class="sr-only">Actions</span></th></tr></thead>
          <tbody>${[...item.versions].reverse().map((v) => html`<tr data-version=${v.version}><td>${v.version}${v.version === item!.latest ? html` <span class="muted">(latest)</span>` : nothing}</td>
            <td>${formatTime(v.createdAt)}</td>
            <td class="actions"><button type="button" @click=${() => chooseVersion(v.version)} ?disabled=${v.version === version}>Show</button>
              <button type="button" class="danger" @click=${() => void remove(v.version)} aria-label=${`Delete version ${v.version}`}>Delete</button></td></tr>`)}</tbody></table>
        ${deleteMessage ? html`<p role="status" class=${deleteMessage.ok ? 'ok' : 'error'}>${deleteMessage.text}</p>` : nothing}
        <p class="muted">A version can be deleted only while no instance (of any state) uses it.</p>
      </div>` : error ? nothing : html`<p class="muted">Loading…</p>`}
    </section>`, el);
  }

  draw();
  void loadList();
  return () => { closed = true; };
}

const view: View = (el, params) => (params.id ? detailView(el, params.id) : listView(el));
export default view;
