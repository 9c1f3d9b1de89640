/**
 * `#/instances/:id`: one instance, live. The graph shows every step's state as it changes (a
 * WebSocket subscription: snapshot, then ordered events); a slider and the event timeline travel
 * back to any event (the log folded with the core's own `fold`, in the browser); the controls
 * offer exactly the commands the engine's preconditions allow (src/core/engine.ts) and show the
 * server's message when one is refused anyway.
 */
import { html, nothing, render, type TemplateResult } from 'lit-html';
import type { View } from '../router.js';
import { client, errorText } from '../api.js';
import { fold } from '../../../src/core/engine.js';
import { analyseGraph, type GraphInfo } from '../../../src/model/graph.js';
import type { Definition, Step } from '../../../src/model/schema.js';
import type { EngineEvent, InstanceState, InstanceStatus } from '../../../src/core/types.js';
import { TERMINAL_STATUSES } from '../../../src/core/types.js';
import { layoutDefinition } from '../graph/layout.js';
import { legendHtml, renderGraph, type GraphRenderer } from '../graph/render.js';
import { subscribeInstance, type Unsubscribe } from '../live.js';
import { activeRun, badgeText, deriveInstanceView, stepView, type InstanceView, type RunView } from '../step-state.js';
import './instance.css';

const HISTORY_PAGE = 1000;
const TIMELINE_WINDOW = 400;
/** Below this width the graph flows top to bottom. */
const NARROW_PX = 700;

interface Model {
  id: string;
  loading: boolean;
  fatal?: string;
  def?: Definition;
  graph?: GraphInfo;
  /** Head state (live). */
  head?: InstanceState;
  /** The log, events[i].seq === i + 1 once loaded. */
  events: EngineEvent[];
  /** Time travel: the seq shown; undefined = live (follow the head). */
  at?: number;
  selected?: string;
  busy?: string;
  commandError?: string;
  commandInfo?: string;
}

const view: View = (el, params) => {
  const m: Model = { id: params.id!, loading: true, events: [] };
  let renderer: GraphRenderer | undefined;
  let unsubscribe: Unsubscribe | undefined;
  let disposed = false;
  /** Live events that arrived before the log was loaded. */
  let pendingLive: EngineEvent[] = [];
  let historyLoaded = false;
  let cache: { key: string; state: InstanceState; view: InstanceView } | undefined;

  const graphHost = document.createElement('div');
  graphHost.className = 'inst-graph';

  /** The state at the slider's event (folded once per position) or the head. */
  const shownView = (): { state: InstanceState; view: InstanceView } | undefined => {
    if (!m.head) return undefined;
    const past = m.at !== undefined && m.at < m.head.seq && historyLoaded;
    const key = past ? `at:${m.at}:${m.events.length}` : `head:${m.head.seq}:${m.events.length}`;
    if (cache?.key === key) return cache;
    const state = past ? (fold(m.events.slice(0, m.at)) ?? m.head) : m.head;
    cache = { key, state, view: deriveInstanceView(state, m.events) };
    return cache;
  };

  const draw = () => {
    if (disposed) return;
    const shown = shownView();
    if (shown && renderer) renderer.update(shown.view);
    render(template(m, shown, graphHost, actions), el);
    if (m.at !== undefined) keepCurrentEventVisible(el);
  };

  const actions: Actions = {
    select(stepId) {
      m.selected = stepId;
      renderer?.select(stepId);
      draw();
    },
    travel(seq) {
      m.at = m.head && seq >= m.head.seq ? undefined : Math.max(1, seq);
      draw();
    },
    live() { m.at = undefined; draw(); },
    jumpTo(e) {
      m.at = m.head && e.seq >= m.head.seq ? undefined : e.seq;
      const step = stepOfEvent(e);
      if (step) { m.selected = step; renderer?.select(step); }
      draw();
    },
    async command(label, run, question) {
      // The browser's own dialog: keyboard-accessible and impossible to miss for destructive commands.
      if (question && !confirm(question)) return;
      m.busy = label;
      m.commandError = undefined;
      m.commandInfo = undefined;
      draw();
      try {
        const r = await run();
        m.commandInfo = `${label}: done (the instance was ${r.status} right after).`;
      } catch (err) {
        m.commandError = `${label} refused: ${errorText(err)}`;
      } finally {
        m.busy = undefined;
        draw();
      }
    },
  };

  /** Left to right on wide screens, top to bottom on narrow ones (redrawn when that changes). */
  let direction: 'LR' | 'TB' | undefined;
  const drawGraph = () => {
    const wanted = el.getBoundingClientRect().width < NARROW_PX ? 'TB' : 'LR';
    if (!m.def || wanted === direction) return;
    direction = wanted;
    renderer?.destroy();
    renderer = renderGraph(graphHost, layoutDefinition(m.def, { direction }), {
      label: `Graph of ${m.def.name ?? m.def.id}`,
      onSelect: (stepId) => actions.select(stepId),
    });
    renderer.select(m.selected);
    const shown = shownView();
    if (shown) renderer.update(shown.view);
  };
  const resizeObserver = new ResizeObserver(() => { if (!disposed) drawGraph(); });

  const appendEvents = (events: EngineEvent[]) => {
    for (const e of events) if (e.seq === m.events.length + 1) m.events.push(e);
  };

  const loadHistory = async (upTo: number) => {
    while (m.events.length < upTo) {
      const page = await client.history(m.id, { fromSeq: m.events.length + 1, limit: HISTORY_PAGE });
      if (disposed) return;
      if (page.events.length === 0) break;
      appendEvents(page.events);
      if (page.nextSeq === undefined) break;
    }
    appendEvents(pendingLive);
    pendingLive = [];
    historyLoaded = true;
  };

  const start = async () => {
    unsubscribe = subscribeInstance(m.id, {
      onSnapshot: (state) => {
        m.head = state;
        void (async () => {
          try {
            if (!m.def) {
              m.def = await client.getDefinition(state.definitionId, state.definitionVersion);
              if (disposed) return;
              m.graph = analyseGraph(m.def);
              m.loading = false;
              draw(); // puts graphHost into the page before measuring it
              drawGraph();
              resizeObserver.observe(el);
            }
            await loadHistory(state.seq);
          } catch (err) {
            m.fatal = errorText(err);
          }
          m.loading = false;
          draw();
        })();
      },
      onEvents: (events) => {
        if (!m.head) return;
        m.head = fold(events, m.head) ?? m.head;
        if (historyLoaded) appendEvents(events);
        else pendingLive.push(...events);
        draw();
      },
      onError: (err) => {
        m.fatal = err.error === 'not_found' ? `No instance "${m.id}".` : err.message;
        m.loading = false;
        draw();
      },
    });
  };

  draw();
  void start();
  return () => {
    disposed = true;
    resizeObserver.disconnect();
    unsubscribe?.();
    renderer?.destroy();
  };
};
export default view;

interface Actions {
  select(stepId: string): void;
  travel(seq: number): void;
  live(): void;
  jumpTo(e: EngineEvent): void;
  command(label: string, run: () => Promise<{ status: string }>, confirm?: string): Promise<void>;
}

// ------------------------------------------------------------------------------------ templates

function template(m: Model, shown: { state: InstanceState; view: InstanceView } | undefined, graphHost: HTMLElement, a: Actions): TemplateResult {
  if (m.fatal && !m.head) {
    return html`<section class="page"><h1>Instance</h1><p class="error" role="alert">${m.fatal}</p><p><a href="#/instances">All instances</a></p></section>`;
  }
  if (!m.head || !shown) {
    return html`<section class="page"><h1>Instance <code>${m.id}</code></h1><p class="muted" role="status">Loading…</p></section>`;
  }
  const head = m.head;
  const travelling = m.at !== undefined;
  return html`<section class="page inst-page">
    ${header(m, head, a)}
    ${m.fatal ? html`<p class="error" role="alert">${m.fatal}</p>` : nothing}
    <div class="inst-body">
      <div class="inst-main">
        ${travelling ? html`<p class="inst-travel-note" role="status">Showing the instance as it was after event ${shown.state.seq} of ${head.seq}. <button type="button" @click=${() => a.live()}>Back to live</button></p>` : nothing}
        ${graphHost}
        <div class="inst-legend" .innerHTML=${legendHtml()}></div>
        ${slider(m, shown.state, head, a)}
      </div>
      <aside class="inst-panel panel" aria-label="Selected step" aria-live="polite">
        ${m.selected ? stepPanel(m, m.selected, shown, a) : html`<h2>Steps</h2><p class="muted">Select a step in the graph (click it, or Tab to it and press Enter) to see its runs, attempts, input, output and errors.</p>`}
      </aside>
    </div>
    ${timeline(m, head, shown.state.seq, a)}
  </section>`;
}

function statusBadge(status: InstanceStatus | string): TemplateResult {
  return html`<span class="badge inst-status inst-status-${status}" data-status=${status}>${status}</span>`;
}

function header(m: Model, s: InstanceState, a: Actions): TemplateResult {
  const labels = Object.entries(s.labels ?? {});
  return html`<header class="inst-head">
    <div class="inst-title">
      <h1>${m.def?.name ?? s.definitionId} <span class="muted inst-id">${s.id}</span></h1>
      <span id="inst-status">${statusBadge(s.status)}</span>
    </div>
    <dl class="inst-facts">
      <div><dt>Definition</dt><dd><a href=${`#/definitions/${encodeURIComponent(s.definitionId)}`}>${s.definitionId}</a></dd></div>
      <div><dt>Version</dt><dd>${s.definitionVersion}</dd></div>
      <div><dt>Started</dt><dd>${when(s.createdAt)}</dd></div>
      <div><dt>${s.endedAt ? 'Ended' : 'Updated'}</dt><dd>${when(s.endedAt ?? s.updatedAt)}</dd></div>
      <div><dt>Duration</dt><dd>${duration((s.endedAt ?? s.updatedAt) - s.createdAt)}</dd></div>
      ${s.correlationId ? html`<div><dt>Correlation</dt><dd><code>${s.correlationId}</code></dd></div>` : nothing}
      ${s.parent ? html`<div><dt>Parent</dt><dd><a href=${`#/instances/${encodeURIComponent(s.parent.instanceId)}`}>${s.parent.instanceId}</a></dd></div>` : nothing}
      ${labels.length ? html`<div><dt>Labels</dt><dd>${labels.map(([k, v]) => html`<span class="inst-label">${k}=${v}</span> `)}</dd></div>` : nothing}
      ${s.error ? html`<div class="inst-error"><dt>Error</dt><dd class="error">${s.error.code}: ${s.error.message}</dd></div>` : nothing}
    </dl>
    ${controls(m, s, a)}
  </header>`;
}

/** Instance-wide commands the state allows (the same preconditions as src/core/engine.ts). */
export function allowedInstanceCommands(s: InstanceState): Array<'pause' | 'resume' | 'cancel' | 'terminate' | 'compensate'> {
  const out: Array<'pause' | 'resume' | 'cancel' | 'terminate' | 'compensate'> = [];
  if (s.status === 'running' || s.status === 'waiting') out.push('pause');
  if (s.status === 'paused') out.push('resume');
  if (['running', 'waiting', 'paused', 'pending'].includes(s.status) && !s.cancelRequested) out.push('cancel');
  if (!TERMINAL_STATUSES.has(s.status)) out.push('terminate');
  if (['running', 'waiting', 'paused', 'failed'].includes(s.status) && s.compensable.length > 0) out.push('compensate');
  return out;
}

function controls(m: Model, s: InstanceState, a: Actions): TemplateResult {
  const allowed = new Set(allowedInstanceCommands(s));
  const busy = m.busy !== undefined;
  const button = (kind: 'pause' | 'resume' | 'cancel' | 'terminate' | 'compensate', label: string, run: () => Promise<{ status: string }>, question?: string) =>
    html`<button type="button" class=${kind === 'resume' && allowed.has(kind) ? 'primary' : ''} data-command=${kind} ?disabled=${!allowed.has(kind) || busy} @click=${() => a.command(label, run, question)}>${label}</button>`;
  return html`<div class="inst-controls" role="toolbar" aria-label="Instance commands">
      ${button('pause', 'Pause', () => client.pause(s.id))}
      ${button('resume', 'Resume', () => client.resume(s.id))}
      ${button('cancel', 'Cancel', () => client.cancel(s.id), 'Cancel this instance? Cancellation paths run; running activities are told to stop.')}
      ${button('terminate', 'Terminate', () => client.terminate(s.id), 'Terminate this instance at once? Nothing else runs.')}
      ${button('compensate', 'Compensate', () => client.compensate(s.id), 'Run the compensations of the completed steps (saga)?')}
      ${moreActions(m, s, a)}
    </div>
    <p class="inst-command-result" role="status">${m.busy ? `${m.busy}…` : m.commandInfo ?? ''}</p>
    ${m.commandError ? html`<p class="error inst-command-error" role="alert">${m.commandError}</p>` : nothing}`;
}

/** Signals and variables: free-form commands, for an instance that has not ended. */
function moreActions(m: Model, s: InstanceState, a: Actions): TemplateResult | typeof nothing {
  if (TERMINAL_STATUSES.has(s.status)) return nothing;
  const onSignal = (ev: SubmitEvent) => {
    ev.preventDefault();
    const form = ev.target as HTMLFormElement;
    const name = (form.elements.namedItem('name') as HTMLInputElement).value.trim();
    const payloadText = (form.elements.namedItem('payload') as HTMLTextAreaElement).value.trim();
    void a.command(`Signal "${name}"`, async () => client.signal(s.id, name, payloadText ? parseJson(payloadText, 'payload') : undefined));
  };
  const onVars = (ev: SubmitEvent) => {
    ev.preventDefault();
    const text = ((ev.target as HTMLFormElement).elements.namedItem('vars') as HTMLTextAreaElement).value;
    void a.command('Update variables', async () => {
      const vars = parseJson(text, 'variables');
      if (!vars || typeof vars !== 'object' || Array.isArray(vars)) throw new Error('variables must be a JSON object');
      return client.updateVariables(s.id, vars as Record<string, unknown>);
    });
  };
  return html`<details class="inst-more">
    <summary>More…</summary>
    <div class="inst-more-body">
      <form @submit=${onSignal} aria-label="Send a signal">
        <label>Signal name <input name="name" required></label>
        <label>Payload (JSON, optional) <textarea name="payload" rows="2"></textarea></label>
        <button type="submit" ?disabled=${m.busy !== undefined}>Send signal</button>
      </form>
      <form @submit=${onVars} aria-label="Update variables">
        <label>Variables (JSON object) <textarea name="vars" rows="3" .value=${JSON.stringify(s.vars ?? {}, null, 2)}></textarea></label>
        <button type="submit" ?disabled=${m.busy !== undefined}>Update variables</button>
      </form>
    </div>
  </details>`;
}

function parseJson(text: string, what: string): unknown {
  try { return JSON.parse(text); } catch (err) { throw new Error(`${what} is not valid JSON: ${(err as Error).message}`); }
}

/** Step commands the state allows (preconditions of SkipStep, RetryStep and RetryFrom). */
export function allowedStepCommands(s: InstanceState, step: Step, graph: GraphInfo): Array<'skip' | 'retry' | 'retryFrom'> {
  const out: Array<'skip' | 'retry' | 'retryFrom'> = [];
  const run = Object.values(s.active).find((r) => r.stepId === step.id && !r.join);
  const failedHere = s.status === 'failed' && s.failedRun?.stepId === step.id;
  if (step.skippable && (run || failedHere)) out.push('skip');
  const manual = Object.values(s.active).some((r) => r.stepId === step.id && r.status === 'failed' && r.manualTaskId !== undefined);
  if (manual || failedHere) out.push('retry');
  const inBlock = [...graph.region].some(([join, region]) => join === step.id || region.has(step.id));
  if (!inBlock && !['completed', 'compensated', 'compensating'].includes(s.status)) out.push('retryFrom');
  return out;
}

function stepPanel(m: Model, stepId: string, shown: { state: InstanceState; view: InstanceView }, a: Actions): TemplateResult {
  const step = m.def?.steps.find((x) => x.id === stepId);
  if (!step || !m.graph || !m.head) return html`<h2>${stepId}</h2><p class="muted">Not in this definition.</p>`;
  const sv = stepView(shown.view, stepId);
  const badge = badgeText(sv);
  const head = m.head;
  const allowed = m.at === undefined ? allowedStepCommands(head, step, m.graph) : [];
  const busy = m.busy !== undefined;
  const open = activeRun(head, stepId);
  const humanOpen = open?.human && (open.status === 'waiting_human' || open.manualTaskId);
  return html`
    <h2 id="step-panel-title">${step.name ?? step.id}</h2>
    <p class="inst-step-meta"><code>${step.id}</code> · ${step.type}${'activity' in step && step.activity ? html` · activity <code>${step.activity}</code>` : nothing}</p>
    <p><span class="badge wf-s-${sv.state} inst-step-state" data-state=${sv.state}>${sv.state}</span>
      ${badge ? html` <span class="inst-step-badge">${badge}</span>` : nothing}</p>
    ${humanOpen && m.at === undefined ? html`<p class="inst-human">${open!.manualTaskId ? 'This step failed and waits for an operator.' : 'This step waits for a person.'}
      <a href="#/inbox">Open the inbox</a></p>` : nothing}
    ${allowed.length ? html`<div class="inst-step-actions" role="group" aria-label="Step commands">
      ${allowed.includes('retry') ? html`<button type="button" data-command="retry" ?disabled=${busy} @click=${() => a.command(`Retry ${stepId}`, () => client.retryStep(head.id, stepId))}>Retry step</button>` : nothing}
      ${allowed.includes('skip') ? html`<button type="button" data-command="skip" ?disabled=${busy} @click=${() => a.command(`Skip ${stepId}`, () => client.skip(head.id, stepId))}>Skip step</button>` : nothing}
      ${allowed.includes('retryFrom') ? html`<button type="button" data-command="retry-from" ?disabled=${busy} @click=${() => a.command(`Retry from ${stepId}`, () => client.retryFrom(head.id, stepId), `Restart the instance from "${stepId}"? Every running step is cancelled.`)}>Retry from here</button>` : nothing}
    </div>` : nothing}
    ${sv.runs.length === 0 ? html`<p class="muted">Not reached${m.at !== undefined ? ' at this point' : ''}.</p>` : html`
      <h3>Runs (${sv.runs.length})</h3>
      ${[...sv.runs].reverse().map((r) => runDetails(r, r === sv.latest))}`}`;
}

const TIMER_TEXT: Record<string, string> = { timer: 'Fires', 'wait-timeout': 'Times out', 'human-deadline': 'Deadline passes', retry: 'Next attempt' };

function runDetails(r: RunView, open: boolean): TemplateResult {
  return html`<details class="inst-run" ?open=${open}>
    <summary><code>${r.runId}</code> <span class="badge run-${r.status}">${r.status.replace('_', ' ')}</span>
      ${r.endedAt !== undefined ? html`<span class="muted">${duration(r.endedAt - r.startedAt)}</span>` : nothing}</summary>
    <dl class="inst-run-facts">
      <div><dt>Started</dt><dd>${when(r.startedAt)}</dd></div>
      ${r.endedAt !== undefined ? html`<div><dt>Ended</dt><dd>${when(r.endedAt)}</dd></div>` : nothing}
      <div><dt>Came by</dt><dd><code>${r.via}</code></dd></div>
      ${r.join ? html`<div><dt>Join</dt><dd>${r.join.arrived} of ${r.join.needed} arrived (${r.join.expected} expected)</dd></div>` : nothing}
      ${r.reason ? html`<div><dt>Reason</dt><dd>${r.reason}</dd></div>` : nothing}
      ${r.wait ? html`<div><dt>Awaits</dt><dd>event <code>${r.wait.event}</code>${r.wait.key !== undefined ? html` with key <code>${JSON.stringify(r.wait.key)}</code>` : nothing}</dd></div>` : nothing}
      ${r.human ? html`<div><dt>Asks</dt><dd>${r.human.title ? html`“${r.human.title}” ` : nothing}${[...r.human.users.map((u) => `@${u}`), ...r.human.groups.map((g) => `group ${g}`)].join(', ') || 'anyone'}: ${r.human.actions.join(' / ')}</dd></div>` : nothing}
      ${r.human?.deadline !== undefined ? html`<div><dt>Deadline</dt><dd>${when(r.human.deadline)}</dd></div>` : nothing}
      ${(r.timers ?? []).map((t) => html`<div><dt>${TIMER_TEXT[t.kind] ?? t.kind}</dt><dd>${when(t.dueAt)}</dd></div>`)}
      ${r.answer ? html`<div><dt>Answer</dt><dd>${r.answer.action}${r.answer.by ? ` by ${r.answer.by}` : ''}</dd></div>` : nothing}
      ${r.childId ? html`<div><dt>Child</dt><dd><a href=${`#/instances/${encodeURIComponent(r.childId)}`}>${r.childId}</a></dd></div>` : nothing}
      ${r.foreach ? html`<div><dt>Items</dt><dd>${r.foreach.done} of ${r.foreach.total} done</dd></div>` : nothing}
    </dl>
    ${r.attempts.length ? html`<table class="inst-attempts"><caption>Attempts</caption>
      <thead><tr><th scope="col">#</th><th scope="col">Outcome</th><th scope="col">Took</th><th scope="col">Error</th></tr></thead>
      <tbody>${r.attempts.map((t) => html`<tr data-attempt=${t.attempt}>
        <td>${t.attempt}</td><td>${t.outcome}${t.retryAt ? html`<br><span class="muted">retry ${when(t.retryAt)}</span>` : nothing}</td>
        <td>${t.endedAt !== undefined ? duration(t.endedAt - t.scheduledAt) : '…'}</td>
        <td>${t.error ? html`<span class="error">${t.error.code}: ${t.error.message}</span>` : ''}</td></tr>`)}</tbody></table>` : nothing}
    ${r.error ? html`<h4>Error</h4><pre class="error">${r.error.code}: ${r.error.message}${r.error.details !== undefined ? `\n${json(r.error.details)}` : ''}</pre>` : nothing}
    ${r.input !== undefined ? html`<h4>Input</h4><pre class="inst-json">${json(r.input)}</pre>` : nothing}
    ${r.output !== undefined ? html`<h4>Output</h4><pre class="inst-json">${json(r.output)}</pre>` : nothing}
  </details>`;
}

function slider(m: Model, shown: InstanceState, head: InstanceState, a: Actions): TemplateResult {
  const event = m.events[shown.seq - 1];
  return html`<div class="inst-travel">
    <label for="inst-slider">Time travel</label>
    <input id="inst-slider" type="range" min="1" max=${head.seq} step="1" .value=${String(shown.seq)}
      aria-valuetext=${`event ${shown.seq} of ${head.seq}${event ? `: ${event.type}` : ''}`}
      ?disabled=${m.events.length < head.seq}
      @input=${(e: Event) => a.travel(Number((e.target as HTMLInputElement).value))}>
    <output for="inst-slider" class="inst-travel-at">${shown.seq} / ${head.seq}${event ? html` · ${event.type} · ${when(event.at)}` : nothing}</output>
    <button type="button" class=${m.at === undefined ? 'primary' : ''} aria-pressed=${String(m.at === undefined)} @click=${() => a.live()}>Live</button>
  </div>`;
}

function timeline(m: Model, head: InstanceState, shownSeq: number, a: Actions): TemplateResult {
  const t0 = m.events[0]?.at ?? head.createdAt;
  // A long log is shown as a window around the event on display (the slider reaches the rest).
  const from = Math.max(0, Math.min(shownSeq - TIMELINE_WINDOW / 2, m.events.length - TIMELINE_WINDOW));
  const shown = m.events.slice(from, from + TIMELINE_WINDOW);
  return html`<section class="inst-timeline panel" aria-labelledby="inst-timeline-title">
    <h2 id="inst-timeline-title">Events <span class="muted">(${m.events.length})</span></h2>
    ${shown.length < m.events.length ? html`<p class="muted">Events ${from + 1}–${from + shown.length} around the one on display; move the slider for the others.</p>` : nothing}
    <ol class="inst-events">
      ${shown.map((e) => {
        const step = stepOfEvent(e);
        return html`<li data-seq=${e.seq} class=${e.seq === shownSeq ? 'current' : e.seq > shownSeq ? 'future' : ''}>
          <button type="button" aria-current=${e.seq === shownSeq ? 'step' : 'false'} @click=${() => a.jumpTo(e)}>
            <span class="ev-seq">${e.seq}</span><span class="ev-type">${e.type}</span><span class="ev-step">${step ?? ''}</span>
            <span class="ev-at muted">+${duration(e.at - t0)}</span>
          </button></li>`;
      })}
    </ol>
  </section>`;
}

/** The step an event is about, if any (run ids are `<step>#<n>`; step ids cannot contain `#`). */
export function stepOfEvent(e: EngineEvent): string | undefined {
  if ('stepId' in e && typeof e.stepId === 'string') return e.stepId;
  const runId = 'runId' in e && typeof e.runId === 'string' ? e.runId : e.type === 'ActivityScheduled' ? e.task.runId : undefined;
  return runId?.slice(0, runId.indexOf('#')) || undefined;
}

/** Scrolls the timeline (only the timeline, not the page) to the event on display. */
function keepCurrentEventVisible(el: HTMLElement): void {
  const list = el.querySelector<HTMLElement>('.inst-events');
  const item = list?.querySelector<HTMLElement>('li.current');
  if (!list || !item) return;
  const top = item.offsetTop - list.offsetTop;
  if (top < list.scrollTop || top + item.offsetHeight > list.scrollTop + list.clientHeight) list.scrollTop = top - list.clientHeight / 2;
}

function json(v: unknown): string {
  try { return JSON.stringify(v, null, 2) ?? String(v); } catch { return String(v); }
}

function when(ms: number): string {
  if (!Number.isFinite(ms)) return '–';
  return new Date(ms).toLocaleString(undefined, { dateStyle: 'short', timeStyle: 'medium' });
}

function duration(ms: number): string {
  if (!Number.isFinite(ms) || ms < 0) return '–';
  if (ms < 1000) return `${Math.round(ms)} ms`;
  if (ms < 60_000) return `${(ms / 1000).toFixed(ms < 10_000 ? 2 : 1)} s`;
  if (ms < 3_600_000) return `${Math.floor(ms / 60_000)} min ${Math.round((ms % 60_000) / 1000)} s`;
  return `${Math.floor(ms / 3_600_000)} h ${Math.round((ms % 3_600_000) / 60_000)} min`;
}
