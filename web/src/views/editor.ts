/**
 * `#/editor` (a new definition) and `#/editor/:id` (the latest version of one): the YAML editor
 * and the visual designer side by side, both views of one text. Every change runs the engine's
 * own loader and validator (inline diagnostics), and a definition that passes them goes to the
 * verifier in a Web Worker; its verdict and counterexample traces are shown on the designer's
 * graph. Deploy goes through the REST API (422 issues with lines; an unsound definition only with
 * an explicit confirmation).
 */
import { html, nothing, render, type TemplateResult } from 'lit-html';
import type { View } from '../router.js';
import { client, errorText, WeftApiError } from '../api.js';
import type { VerificationReport, Problem } from '../../../src/verify/verify.js';
import type { DefinitionIssue } from '../../../src/model/errors.js';
import { checkText, type RangedIssue } from '../editor/diagnostics.js';
import { bumpVersion, definitionToYaml, NEW_DEFINITION, readGraph } from '../editor/yaml-model.js';
import { createYamlEditor, type YamlEditor } from '../editor/yaml-editor.js';
import { createDesigner, type Designer } from '../editor/designer.js';
import { traceFrames, visitedUpTo, withInstantSteps, type TraceFrame } from '../editor/trace.js';
import { Verifier } from '../editor/verify-client.js';
import './editor.css';

type Verification =
  | { state: 'idle'; why: string }
  | { state: 'running' }
  | { state: 'done'; report: VerificationReport }
  | { state: 'failed'; error: string };

type DeployState =
  | { state: 'idle' }
  | { state: 'busy'; what: string }
  | { state: 'ok'; text: string; id: string }
  | { state: 'issues'; message: string; issues: DefinitionIssue[] }
  | { state: 'unsound'; message: string; report?: VerificationReport }
  | { state: 'error'; message: string; conflict?: boolean };

const ANALYSE_DELAY_MS = 250;

const view: View = async (el, params) => {
  const editingId = params.id;
  render(html`<section class="page ed-page">
    <div class="ed-head">
      <h1>${editingId ? html`Edit <code>${editingId}</code>` : 'New definition'}</h1>
      <div class="ed-actions" id="ed-actions"></div>
    </div>
    <div id="ed-deploy" class="ed-deploy" aria-live="polite"></div>
    <div class="ed-grid">
      <section class="panel ed-yaml" aria-labelledby="ed-yaml-h">
        <h2 id="ed-yaml-h">YAML</h2>
        <div id="ed-cm" class="ed-cm"></div>
        <div id="ed-issues"></div>
      </section>
      <section class="panel ed-design" aria-labelledby="ed-design-h">
        <h2 id="ed-design-h">Designer</h2>
        <div id="ed-designer" class="ed-designer"></div>
      </section>
      <section class="panel ed-verify" aria-labelledby="ed-verify-h">
        <h2 id="ed-verify-h">Verification</h2>
        <div id="ed-verification"></div>
      </section>
    </div>
  </section>`, el);
  const $ = (id: string) => el.querySelector<HTMLElement>(`#${id}`)!;

  let text = NEW_DEFINITION;
  let loadError: string | undefined;
  if (editingId) {
    try {
      const def = await client.getDefinition(editingId);
      text = `# ${def.id} ${def.version ?? ''} as deployed\n${definitionToYaml(def)}`;
    } catch (err) {
      loadError = `Could not load "${editingId}": ${errorText(err)}. Starting from a new definition.`;
    }
  }

  const verifier = new Verifier();
  let issues: RangedIssue[] = [];
  let verification: Verification = { state: 'idle', why: 'waiting for a valid definition' };
  let deploy: DeployState = loadError ? { state: 'error', message: loadError } : { state: 'idle' };
  let trace: { problem: Problem; frames: TraceFrame[]; at: number } | undefined;
  let stepIds: string[] = [];
  let startIds: string[] = [];
  let timer: ReturnType<typeof setTimeout> | undefined;
  let generation = 0;
  let disposed = false;
  /** The last text without YAML syntax errors: the designer keeps showing it while the YAML is broken. */
  let lastGood = text;

  const editor: YamlEditor = createYamlEditor($('ed-cm'), text, () => {
    // The shown verdict is for the text before this change until the next analysis.
    markStale(true);
    clearTimeout(timer);
    timer = setTimeout(analyse, ANALYSE_DELAY_MS);
  });
  // Reachable from tests and the browser console: `document.querySelector('#ed-cm').editorView`.
  Object.assign($('ed-cm'), { editorView: editor.view });
  const designer: Designer = createDesigner($('ed-designer'), {
    getText: () => editor.text(),
    setText: (t) => {
      editor.setText(t);
      // Redraw at once for designer edits (the debounce is for typing).
      clearTimeout(timer);
      analyse();
    },
  });

  function analyse(): void {
    if (disposed) return;
    const mine = ++generation;
    const current = editor.text();
    const result = checkText(current);
    issues = result.issues;
    editor.showIssues(issues);
    const syntax = issues.find((i) => i.rule === 'syntax' && i.severity === 'error');
    const graph = readGraph(current);
    if (!syntax) {
      stepIds = graph.steps.map((s) => s.id);
      startIds = graph.steps.filter((s) => s.type === 'start').map((s) => s.id);
    }
    designer.update(syntax ? readGraph(lastGood) : graph, syntax ? `The YAML has a syntax error (line ${syntax.line}); fix it to edit in the designer.` : undefined);
    if (!syntax) lastGood = current;
    drawIssues();
    if (!result.definition) {
      verification = { state: 'idle', why: issues.some((i) => i.severity === 'error') ? 'fix the errors above to verify' : 'waiting for a valid definition' };
      setTrace(undefined);
      drawVerification();
      return;
    }
    verification = { state: 'running' };
    drawVerification();
    void verifier.verify(result.definition).then((answer) => {
      if (!answer || mine !== generation || disposed) return;
      verification = answer.report ? { state: 'done', report: answer.report } : { state: 'failed', error: answer.error! };
      refreshTrace();
      drawVerification();
    });
  }

  /** After a new report: keep showing the same problem's trace if it still exists, else the first error's. */
  function refreshTrace(): void {
    if (verification.state !== 'done') { setTrace(undefined); return; }
    const withTrace = verification.report.problems.filter((p) => p.trace?.length && p.severity !== 'info');
    const same = trace && withTrace.find((p) => p.kind === trace!.problem.kind && p.message === trace!.problem.message);
    const pick = same ?? withTrace.find((p) => p.severity === 'error');
    if (!pick) { setTrace(undefined); return; }
    const frames = traceFrames(pick.trace!, stepIds, startIds);
    setTrace({ problem: pick, frames, at: same && trace ? Math.min(trace.at, frames.length - 1) : frames.length - 1 });
  }

  function setTrace(t: typeof trace): void {
    trace = t;
    if (!t) { designer.highlight(undefined); return; }
    const { steps, edges } = visitedUpTo(t.frames, t.at);
    designer.highlight({ visited: withInstantSteps(steps, readGraph(lastGood)), edges, current: t.frames[t.at]?.steps ?? [], problem: t.problem.steps ?? [] });
  }

  function showTrace(p: Problem): void {
    const frames = traceFrames(p.trace ?? [], stepIds, startIds);
    setTrace({ problem: p, frames, at: 0 });
    drawVerification();
  }

  function moveTrace(delta: number): void {
    if (!trace) return;
    setTrace({ ...trace, at: Math.max(0, Math.min(trace.frames.length - 1, trace.at + delta)) });
    drawVerification();
  }

  // ------------------------------------------------------------------ panels

  function drawIssues(): void {
    const errors = issues.filter((i) => i.severity === 'error').length;
    const warnings = issues.length - errors;
    render(issues.length === 0 ? html`<p class="ed-ok">No problems: the definition passes every rule.</p>` : html`
      <p class="ed-count">${errors} error${errors === 1 ? '' : 's'}${warnings ? `, ${warnings} warning${warnings === 1 ? '' : 's'}` : ''}</p>
      <ul class="ed-issues">${issues.map((i) => issueItem(i))}</ul>`, $('ed-issues'));
  }

  function issueItem(i: DefinitionIssue): TemplateResult {
    return html`<li class=${`ed-issue ed-${i.severity}`}>
      <button type="button" class="ed-link" @click=${() => editor.goTo(i.line ?? 1, i.column ?? 1)} aria-label=${`Go to line ${i.line ?? 1}`}>line ${i.line ?? '?'}</button>
      <span class="ed-sev">${i.severity}</span> ${i.message} <span class="muted">[${i.rule}]</span></li>`;
  }

  function markStale(stale: boolean): void {
    const panel = $('ed-verification');
    panel.classList.toggle('ed-stale', stale);
    panel.setAttribute('aria-busy', String(stale));
  }

  function drawVerification(): void {
    markStale(verification.state === 'running');
    let body: TemplateResult;
    if (verification.state === 'idle') body = html`<p class="ed-verdict ed-verdict-none" role="status">Not verified: ${verification.why}.</p>`;
    else if (verification.state === 'running') body = html`<p class="ed-verdict ed-verdict-running" role="status">Verifying…</p>`;
    else if (verification.state === 'failed') body = html`<p class="ed-verdict ed-verdict-unknown" role="status" data-verdict="error">The verifier failed: ${verification.error}</p>`;
    else body = reportView(verification.report);
    render(body, $('ed-verification'));
  }

  function reportView(r: VerificationReport): TemplateResult {
    const verdict = r.verdict === 'sound' ? 'Sound' : r.verdict === 'unsound' ? 'Not sound' : 'Unknown';
    const summary = r.verdict === 'sound' ? 'every run can end, no join waits forever, every step can run'
      : r.verdict === 'unsound' ? kinds(r) : 'the state space is too large to decide';
    const shown = r.problems.filter((p) => p.severity !== 'info');
    const info = r.problems.filter((p) => p.severity === 'info');
    return html`
      <p class=${`ed-verdict ed-verdict-${r.verdict}`} role="status" data-verdict=${r.verdict}><strong>${verdict}</strong>: ${summary}
        <span class="muted">(${r.stats.states} states, ${Math.round(r.stats.ms)} ms)</span></p>
      ${shown.length ? html`<ul class="ed-problems">${shown.map((p) => html`<li class=${`ed-problem ed-${p.severity}`} data-kind=${p.kind}>
        <span class="ed-kind">${p.kind}</span> ${code(p.message)}
        ${p.trace?.length ? html`<button type="button" class="ed-link" aria-pressed=${trace?.problem === p ? 'true' : 'false'} @click=${() => showTrace(p)}>Show trace (${p.trace.length} move${p.trace.length === 1 ? '' : 's'})</button>` : nothing}
      </li>`)}</ul>` : nothing}
      ${info.length ? html`<details class="ed-info"><summary>${info.length} note${info.length === 1 ? '' : 's'}</summary><ul>${info.map((p) => html`<li>${code(p.message)}</li>`)}</ul></details>` : nothing}
      ${trace ? tracePlayer() : nothing}`;
  }

  function tracePlayer(): TemplateResult {
    const t = trace!;
    const f = t.frames[t.at];
    return html`<div class="ed-trace" role="region" aria-label="Counterexample trace">
      <div class="ed-trace-bar">
        <button type="button" @click=${() => moveTrace(-1)} ?disabled=${t.at === 0} aria-label="Previous move">◀ Previous</button>
        <span class="ed-trace-pos" aria-live="polite">Move ${t.at + 1} of ${t.frames.length}: ${f ? code(f.text) : ''}${f?.choices.length ? html` <span class="muted">— ${f.choices.map((c, k) => html`${k ? '; ' : ''}${code(c)}`)}</span>` : nothing}</span>
        <button type="button" @click=${() => moveTrace(1)} ?disabled=${t.at >= t.frames.length - 1} aria-label="Next move">Next ▶</button>
        <button type="button" @click=${() => { setTrace(undefined); drawVerification(); }} aria-label="Hide the trace">Hide</button>
      </div>
      <ol class="ed-trace-list">${t.frames.map((fr, i) => html`<li class=${i === t.at ? 'ed-now' : i < t.at ? 'ed-past' : ''}>
        <button type="button" class="ed-link" @click=${() => { setTrace({ ...t, at: i }); drawVerification(); }}>${code(fr.text)}</button>${fr.choices.length ? html` <span class="muted">— ${fr.choices.map((c, k) => html`${k ? '; ' : ''}${code(c)}`)}</span>` : nothing}</li>`)}</ol>
    </div>`;
  }

  // ------------------------------------------------------------------ deploy

  function drawActions(): void {
    const busy = deploy.state === 'busy';
    render(html`
      <button type="button" class="primary" ?disabled=${busy} @click=${() => void doDeploy(false)}>Deploy</button>
      <button type="button" ?disabled=${busy} @click=${() => void saveAsNewVersion()} title="Raise the patch version, then deploy">Save as new version</button>`, $('ed-actions'));
    let body: TemplateResult | typeof nothing = nothing;
    switch (deploy.state) {
      case 'busy': body = html`<p class="ed-msg" role="status">${deploy.what}…</p>`; break;
      case 'ok': body = html`<p class="ed-msg ed-msg-ok" role="status">${deploy.text} <a href=${`#/definitions/${encodeURIComponent(deploy.id)}`}>Open in Definitions</a></p>`; break;
      case 'issues': body = html`<div class="ed-msg ed-msg-error" role="alert"><p>${deploy.message}</p><ul class="ed-issues">${deploy.issues.map(issueItem)}</ul></div>`; break;
      case 'unsound': {
        const problems = deploy.report?.problems.filter((p) => p.severity === 'error') ?? [];
        body = html`<div class="ed-msg ed-msg-error" role="alert"><p>The server refused it: the definition is <strong>not sound</strong>. ${deploy.message}</p>
          ${problems.length ? html`<ul>${problems.map((p) => html`<li>${code(p.message)}</li>`)}</ul>` : nothing}
          <button type="button" class="danger" @click=${() => { if (confirm('Deploy this definition although the verifier proved it unsound? Instances may deadlock or never end.')) void doDeploy(true); }}>Deploy anyway…</button></div>`;
        break;
      }
      case 'error': body = html`<p class="ed-msg ed-msg-error" role="alert">${deploy.message}${deploy.conflict ? html` <button type="button" class="ed-link" @click=${() => void saveAsNewVersion()}>Save as new version</button>` : nothing}</p>`; break;
    }
    render(body, $('ed-deploy'));
  }

  async function doDeploy(force: boolean): Promise<void> {
    deploy = { state: 'busy', what: force ? 'Deploying (forced)' : 'Deploying' };
    drawActions();
    try {
      const r = await client.deploy(editor.text(), 'yaml', { force });
      const how = r.created ? 'Deployed' : 'Already deployed (same content)';
      deploy = { state: 'ok', id: r.id, text: `${how}: ${r.id} ${r.version}, verdict ${r.verdict ?? 'unknown'}${r.forced ? ' (forced)' : ''}.` };
    } catch (err) {
      if (err instanceof WeftApiError && err.code === 'unsound_definition') {
        deploy = { state: 'unsound', message: err.message, report: (err.details as { report?: VerificationReport } | undefined)?.report };
      } else if (err instanceof WeftApiError && (err.code === 'definition_invalid' || err.code === 'malformed_json')) {
        deploy = { state: 'issues', message: `The server refused it: ${err.message}`, issues: (err.details as { issues?: DefinitionIssue[] } | undefined)?.issues ?? [] };
      } else if (err instanceof WeftApiError && err.code === 'conflict') {
        deploy = { state: 'error', conflict: true, message: `${err.message}. Give it a new version.` };
      } else deploy = { state: 'error', message: `Deploy failed: ${errorText(err)}` };
    }
    if (!disposed) drawActions();
  }

  async function saveAsNewVersion(): Promise<void> {
    try {
      const r = bumpVersion(editor.text());
      editor.setText(r.text);
      analyse();
    } catch (err) {
      deploy = { state: 'error', message: errorText(err) };
      drawActions();
      return;
    }
    await doDeploy(false);
  }

  drawActions();
  analyse();
  return () => {
    disposed = true;
    clearTimeout(timer);
    verifier.dispose();
    designer.destroy();
    editor.destroy();
  };
};
export default view;

/** Problem kinds of an unsound report in words: "deadlock, dead steps". */
function kinds(r: VerificationReport): string {
  const names: Record<string, string> = { deadlock: 'deadlock', stuck: 'can get stuck', livelock: 'livelock', 'dead-step': 'dead steps', 'no-completion': 'can never complete', property: 'a property fails', resource: 'resources over-allocated', deadline: 'deadline' };
  const found = [...new Set(r.problems.filter((p) => p.severity === 'error').map((p) => names[p.kind] ?? p.kind))];
  return found.join(', ') || 'see the problems';
}

/** `step` names in backticks → <code>. */
function code(text: string): TemplateResult {
  const parts = text.split('`');
  return html`${parts.map((p, i) => (i % 2 ? html`<code>${p}</code>` : p))}`;
}
