/**
 * The visual designer: the definition drawn as a layered graph (the shared dagre layout,
 * web/src/graph/layout.ts), a palette of step types, connections, a property form for the selected
 * step. It never holds a model of its own: every action is an edit of the YAML text
 * (yaml-model.ts) handed to `setText`, and the page redraws the designer from the text it gets
 * back — so the YAML and the drawing cannot drift apart.
 *
 * Pointer: click a palette button (or drag it onto the canvas, onto a step to add after it), drag
 * from a step's handle to another step to connect them, click a step to edit it. Keyboard: the
 * palette, the steps (Enter selects; Delete removes; C starts a connection, Enter on the target
 * finishes it, Escape cancels) and the form are all in the Tab order.
 */
import { html, nothing, render, svg, type TemplateResult } from 'lit-html';
import { STEP_TYPES, type Definition, type StepType } from '../../../src/model/schema.js';
import { layoutDefinition, pathOf, type GraphLayout, type LayoutNode } from '../graph/layout.js';
import {
  addStep, connect, deleteStep, disconnect, setStepField, updateEdge,
  type DesignEdge, type DesignGraph, type EdgeFields,
} from './yaml-model.js';
import { fieldSpecs, fromFormValue, toFormValue, type FieldSpec } from './step-fields.js';

export interface TraceHighlight {
  /** Steps on the path so far. */
  visited: Set<string>;
  /** Steps of the current move. */
  current: string[];
  /** Arrows taken (`from->to`). */
  edges: Set<string>;
  /** Steps the problem is about (the join that waits forever, a dead step). */
  problem: string[];
}

export interface DesignerOptions {
  getText(): string;
  /** Writes new YAML; the page then calls `update` with the graph read back from it. */
  setText(text: string): void;
}

export interface Designer {
  /** Redraws from the text's graph; `locked` explains why editing is off (a YAML syntax error). */
  update(graph: DesignGraph, locked?: string): void;
  highlight(h: TraceHighlight | undefined): void;
  select(stepId: string | undefined): void;
  destroy(): void;
}

const DESCRIPTIONS: Record<StepType, string> = {
  start: 'where the workflow begins', end: 'where a path ends', task: 'run an activity', decision: 'take the first matching path',
  inclusive: 'take every matching path', parallel: 'run every path at once', join: 'wait for parallel paths',
  wait: 'wait for an event or signal', timer: 'wait for a time', human: 'a person decides', subworkflow: 'run another workflow',
  loop: 'repeat a body', foreach: 'run for each item',
};
// The timer's clock is drawn (no font has a dependable clock glyph); the rest are characters.
/** Shapes without the type written in them (shape() draws the rest as boxes with the type on top). */
const ROUND_OR_DIAMOND = new Set(['start', 'end', 'timer', 'wait', 'decision', 'inclusive', 'parallel', 'join']);
const GLYPH: Partial<Record<string, string>> = { decision: '×', inclusive: '○', parallel: '+', join: '+', wait: '✉', loop: '↻' };
const DRAG_TYPE = 'application/x-weft-step';

export function createDesigner(el: HTMLElement, opts: DesignerOptions): Designer {
  let graph: DesignGraph = { steps: [], edges: [] };
  let layout: GraphLayout = { width: 1, height: 1, nodes: [], edges: [] };
  let layoutKey = '';
  let locked: string | undefined;
  let selected: string | undefined;
  let connectFrom: string | undefined;
  let trace: TraceHighlight | undefined;
  let message: { text: string; error: boolean } | undefined;
  let drag: { from: string; x1: number; y1: number; x2: number; y2: number } | undefined;
  /** The arrows drawn (both ends exist), in the order of the layout's edge ids `e0`, `e1`, …. */
  let drawn: DesignEdge[] = [];

  const edit = (fn: (text: string) => string, after?: () => void) => {
    if (locked) { say(locked, true); return; }
    try {
      const next = fn(opts.getText());
      message = undefined;
      after?.();
      opts.setText(next);
    } catch (err) {
      // DesignError (a refused edit) and bad form input (fromFormValue) are said, not thrown.
      if (err instanceof Error) say(err.message, true);
      else throw err;
    }
  };
  const say = (text: string, error = false) => { message = { text, error }; draw(); };

  /**
   * Adds a step after `after` (none: unconnected). After a split it is a new branch; an end is
   * always a new branch; otherwise it goes between the step and the one it led to.
   */
  function add(type: StepType, after: string | undefined): void {
    const from = graph.steps.find((s) => s.id === after);
    const insert = !!from && type !== 'end' && !['parallel', 'inclusive', 'decision'].includes(from.type);
    edit((text) => {
      const r = addStep(text, type, { ...(from && { after: from.id, insert }) });
      selected = r.id;
      return r.text;
    });
  }

  function link(from: string, to: string): void {
    connectFrom = undefined;
    if (from === to) { say('a step cannot lead to itself here; use a loop step', true); return; }
    edit((text) => connect(text, from, to), () => say(`connected ${from} → ${to}`));
  }

  function remove(id: string): void {
    edit((text) => deleteStep(text, id), () => { if (selected === id) selected = undefined; });
  }

  function choose(id: string): void {
    if (connectFrom) { link(connectFrom, id); return; }
    selected = id;
    draw();
  }

  function relayout(): void {
    // Narrow screens: top to bottom, so the graph is tall rather than wide.
    const direction = el.clientWidth > 0 && el.clientWidth < 560 ? 'TB' : 'LR';
    // The designer draws whatever the text holds, valid or not: unknown types are drawn as tasks.
    const known = new Set<string>(STEP_TYPES);
    const ids = new Set(graph.steps.map((s) => s.id));
    drawn = graph.edges.filter((e) => ids.has(e.from) && ids.has(e.to));
    const def = {
      id: 'design',
      steps: graph.steps.map((s) => ({ id: s.id, type: known.has(s.type) ? s.type : 'task', ...(typeof s.data.name === 'string' && { name: s.data.name }) })),
      transitions: drawn.map((e, i) => ({ id: `e${i}`, from: e.from, to: e.to, ...(e.when && { when: e.when }), ...(e.default && { default: true }), ...(e.on && { on: e.on }) })),
    } as unknown as Definition;
    // Laying out costs tens of ms on big graphs: only when what is drawn changed, not on every keystroke.
    const key = JSON.stringify([direction, def.steps, def.transitions]);
    if (key === layoutKey) return;
    layoutKey = key;
    layout = layoutDefinition(def, { direction });
  }

  // ------------------------------------------------------------------ drawing

  function draw(): void {
    const sel = graph.steps.find((s) => s.id === selected);
    if (selected && !sel) selected = undefined;
    render(html`
      <div class="ed-palette" role="toolbar" aria-label="Add a step">
        <span class="ed-palette-title">Add${sel ? html` after <code>${sel.id}</code>` : ''}:</span>
        ${STEP_TYPES.map((t) => html`<button type="button" class="ed-pal" data-type=${t} draggable="true" ?disabled=${!!locked}
          title=${`${t}: ${DESCRIPTIONS[t]}`} aria-label=${`Add ${t} step${sel ? ` after ${sel.id}` : ''}`}
          @click=${() => add(t, selected)} @dragstart=${(e: DragEvent) => { e.dataTransfer?.setData(DRAG_TYPE, t); e.dataTransfer?.setData('text/plain', t); }}>
          ${paletteIcon(t)}${t}</button>`)}
      </div>
      <div class="ed-canvas ${locked ? 'ed-locked' : ''}" @dragover=${onDragOver} @drop=${onDrop} @click=${onCanvasClick}>
        ${canvas()}
      </div>
      <p class="ed-status ${message?.error ? 'error' : ''}" role="status" aria-live="polite">${
        locked ? locked
        : connectFrom ? html`Choose the step <code>${connectFrom}</code> leads to (click it or press Enter on it; Escape cancels).`
        : message?.text ?? ''}</p>
      ${sel ? propertiesForm(sel) : html`<p class="muted ed-hint">Select a step to edit its properties.</p>`}
    `, el);
  }

  function canvas(): TemplateResult {
    const w = Math.max(layout.width, 120);
    const h = Math.max(layout.height, 80);
    const byId = new Map(layout.nodes.map((n) => [n.id, n]));
    const ordered = graph.steps.map((s) => byId.get(s.id)).filter((n): n is LayoutNode => !!n);
    // Wide graphs shrink to the canvas (viewBox), but not below 60 % (then the canvas scrolls).
    return html`<svg class="ed-svg" width=${w} height=${h} viewBox=${`0 0 ${w} ${h}`} style=${`min-width: ${Math.round(w * 0.6)}px`} role="group" aria-label="Workflow graph (designer)">
      <defs>${['normal', 'error', 'taken'].map((k) => svg`<marker id=${`ed-arrow-${k}`} class=${`ed-arrow-${k}`} viewBox="0 0 10 10" refX="9" refY="5" markerWidth="7" markerHeight="7" orient="auto-start-reverse"><path d="M0,0 L10,5 L0,10 z"/></marker>`)}</defs>
      ${layout.edges.map((le) => {
        const de = drawn[Number(le.id.slice(1))];
        const taken = !!trace && (trace.edges.has(`${le.from}->${le.to}`) || (trace.visited.has(le.from) && trace.visited.has(le.to)));
        const marker = taken ? 'taken' : le.kind === 'normal' || le.kind === 'default' ? 'normal' : 'error';
        // Clicking an arrow opens its source step's form, where the arrow's fields are.
        return svg`<g class=${`ed-edge ed-edge-${le.kind} ${taken ? 'ed-taken' : ''}`} data-from=${le.from} data-to=${le.to}
            @click=${(e: Event) => { e.stopPropagation(); if (!connectFrom) { selected = le.from; say(`arrow ${le.from} → ${le.to}: edit it under "Leads to"`); } }}>
          <path class="ed-edge-hit" d=${pathOf(le.points)}></path>
          <path class="ed-edge-line" d=${pathOf(le.points)} marker-end=${`url(#ed-arrow-${marker})`}></path>
          ${le.label && le.labelX !== undefined ? svg`<text class="ed-edge-label" x=${le.labelX} y=${(le.labelY ?? 0) + 4} text-anchor="middle">${de?.on && !de.when ? `on ${de.on}${le.label ? `: ${le.label}` : ''}` : le.label}</text>`
            : de?.on ? svg`<text class="ed-edge-label" x=${midpoint(le.points).x} y=${midpoint(le.points).y - 4} text-anchor="middle">on ${de.on}</text>` : nothing}
        </g>`;
      })}
      ${ordered.map(node)}
      ${drag ? svg`<line class="ed-dragline" x1=${drag.x1} y1=${drag.y1} x2=${drag.x2} y2=${drag.y2}></line>` : nothing}
    </svg>`;
  }

  function node(n: LayoutNode): TemplateResult {
    const step = graph.steps.find((s) => s.id === n.id)!;
    const classes = ['ed-node', `ed-node-${n.type}`];
    if (n.id === selected) classes.push('ed-selected');
    if (n.id === connectFrom) classes.push('ed-connect-from');
    if (trace?.visited.has(n.id)) classes.push('ed-visited');
    if (trace?.current.includes(n.id)) classes.push('ed-current');
    if (trace?.problem.includes(n.id)) classes.push('ed-problem');
    // The name starts with the node's visible text in order (box shapes show the type above the
    // label: WCAG 2.5.3 "label in name"); the rest follows in parentheses.
    const boxed = !ROUND_OR_DIAMOND.has(n.type);
    const visible = boxed ? `${n.type} ${n.label}` : n.label;
    const extra = `${n.id === selected ? ', selected' : ''}${trace?.current.includes(n.id) ? ', current trace step' : trace?.visited.has(n.id) ? ', on the trace' : ''}`;
    const label = `${visible} (${boxed ? 'step' : `${step.type} step`}${extra})`;
    return svg`<g class=${classes.join(' ')} data-step=${n.id} data-type=${step.type} transform=${`translate(${n.x},${n.y})`}
        tabindex="0" role="button" aria-pressed=${n.id === selected ? 'true' : 'false'} aria-label=${label}
        @click=${(e: Event) => { e.stopPropagation(); choose(n.id); }} @keydown=${(e: KeyboardEvent) => onNodeKey(e, n.id)}>
      <title>${label}</title>
      ${shape(n)}
      ${locked ? nothing : svg`<circle class="ed-handle" r="7" cx=${n.width / 2} cy="0"
        @pointerdown=${(e: PointerEvent) => startDrag(e, n)} @click=${(e: Event) => e.stopPropagation()}><title>Drag to another step to connect</title></circle>`}
    </g>`;
  }

  function shape(n: LayoutNode): TemplateResult {
    const w = n.width;
    const h = n.height;
    const below = svg`<text class="ed-label ed-label-below" text-anchor="middle" y=${h / 2 + 14}>${truncate(n.label, 22)}</text>`;
    switch (n.type) {
      case 'start': case 'end': case 'timer': case 'wait':
        return svg`<circle class="ed-shape" r=${Math.min(w, h) / 2}></circle>
          ${n.type === 'end' ? svg`<circle class="ed-shape-inner" r=${Math.min(w, h) / 2 - 4}></circle>` : nothing}
          ${GLYPH[n.type] ? svg`<text class="ed-glyph" text-anchor="middle" y="6">${GLYPH[n.type]}</text>` : nothing}
          ${n.type === 'timer' ? svg`<circle class="ed-shape-inner" r=${Math.min(w, h) / 2 - 6}></circle><path class="ed-clock" d="M0,-9 L0,0 L7,0"></path>` : nothing}${below}`;
      case 'decision': case 'inclusive': case 'parallel': case 'join':
        return svg`<path class="ed-shape" d=${`M0,${-h / 2} L${w / 2},0 L0,${h / 2} L${-w / 2},0 Z`}></path>
          <text class="ed-glyph" text-anchor="middle" y="7">${GLYPH[n.type]}</text>${below}`;
      default:
        return svg`<rect class="ed-shape" x=${-w / 2} y=${-h / 2} width=${w} height=${h} rx=${n.type === 'loop' ? 20 : 8}></rect>
          <text class="ed-type" text-anchor="middle" y=${-h / 2 + 14}>${n.type}</text>
          <text class="ed-label" text-anchor="middle" y="10">${truncate(n.label, 20)}</text>`;
    }
  }

  // ------------------------------------------------------------------ the property form

  function propertiesForm(step: DesignGraph['steps'][number]): TemplateResult {
    const specs = fieldSpecs(step.type);
    const shown = specs.filter((s) => s.required || step.data[s.name] !== undefined);
    const more = specs.filter((s) => !shown.includes(s));
    const outgoing = graph.edges.filter((e) => e.from === step.id);
    const targets = graph.steps.filter((s) => s.id !== step.id);
    return html`<form class="ed-props" aria-label=${`Properties of step ${step.id}`} @submit=${(e: Event) => e.preventDefault()}>
      <h2>Step <code>${step.id}</code></h2>
      <div class="ed-fields">
        <label for="ed-f-id">id</label>
        <input id="ed-f-id" name="id" .value=${step.id} ?disabled=${!!locked} autocomplete="off"
          @change=${(e: Event) => { const v = (e.target as HTMLInputElement).value.trim(); edit((t) => setStepField(t, step.id, 'id', v), () => { selected = v; }); }}>
        <label for="ed-f-type">type</label>
        <select id="ed-f-type" name="type" ?disabled=${!!locked} @change=${(e: Event) => edit((t) => setStepField(t, step.id, 'type', (e.target as HTMLSelectElement).value))}>
          ${STEP_TYPES.map((t) => html`<option value=${t} ?selected=${t === step.type}>${t}</option>`)}
        </select>
        ${shown.map((s) => field(step, s))}
      </div>
      ${more.length ? html`<details class="ed-more"><summary>More fields (${more.length})</summary><div class="ed-fields">${more.map((s) => field(step, s))}</div></details>` : nothing}
      <h3>Leads to</h3>
      ${outgoing.length === 0 ? html`<p class="muted">No outgoing arrows.</p>` : html`<ul class="ed-outgoing">${outgoing.map((e, i) => edgeRow(step.id, e, i))}</ul>`}
      <div class="ed-row">
        <label for="ed-connect-to">Add arrow to</label>
        <select id="ed-connect-to" ?disabled=${!!locked || targets.length === 0}>${targets.map((s) => html`<option value=${s.id}>${s.id}</option>`)}</select>
        <button type="button" ?disabled=${!!locked || targets.length === 0} @click=${() => { const v = (el.querySelector('#ed-connect-to') as HTMLSelectElement).value; if (v) link(step.id, v); }}>Add arrow</button>
        <button type="button" ?disabled=${!!locked} title="Then click the target step (or press Enter on it)" @click=${() => { connectFrom = step.id; draw(); }}>Connect by clicking…</button>
      </div>
      <div class="ed-row">
        <button type="button" class="danger" ?disabled=${!!locked} @click=${() => remove(step.id)}>Delete step</button>
      </div>
    </form>`;
  }

  function field(step: DesignGraph['steps'][number], spec: FieldSpec): TemplateResult {
    const id = `ed-f-${spec.name}`;
    const value = toFormValue(spec, step.data[spec.name]);
    const commit = (input: string | boolean) => edit((t) => setStepField(t, step.id, spec.name, fromFormValue(spec, input)));
    const label = html`<label for=${id}>${spec.name}${spec.required ? html`<span aria-hidden="true"> *</span>` : ''}</label>`;
    switch (spec.kind) {
      case 'boolean':
        return html`${label}<input type="checkbox" id=${id} name=${spec.name} .checked=${value === true} ?disabled=${!!locked} @change=${(e: Event) => commit((e.target as HTMLInputElement).checked)}>`;
      case 'enum':
        return html`${label}<select id=${id} name=${spec.name} ?disabled=${!!locked} @change=${(e: Event) => commit((e.target as HTMLSelectElement).value)}>
          <option value="" ?selected=${value === ''}>(default)</option>
          ${spec.options!.map((o) => html`<option value=${o} ?selected=${o === value}>${o}</option>`)}</select>`;
      case 'yaml':
        return html`${label}<textarea id=${id} name=${spec.name} rows=${Math.min(6, Math.max(2, String(value).split('\n').length))} spellcheck="false" .value=${String(value)} ?disabled=${!!locked}
          placeholder="YAML" @change=${(e: Event) => commit((e.target as HTMLTextAreaElement).value)}></textarea>`;
      default:
        return html`${label}<input id=${id} name=${spec.name} type=${spec.kind === 'number' ? 'number' : 'text'} .value=${String(value)} ?disabled=${!!locked} autocomplete="off"
          placeholder=${spec.kind === 'duration' ? 'e.g. 30s, 5m, 1h' : ''} @change=${(e: Event) => commit((e.target as HTMLInputElement).value)}>`;
    }
  }

  function edgeRow(from: string, e: DesignEdge, i: number): TemplateResult {
    const base = `ed-e-${i}`;
    const fields = (): EdgeFields => {
      const q = (n: string) => el.querySelector<HTMLInputElement>(`#${base}-${n}`);
      const on = (q('on') as unknown as HTMLSelectElement | null)?.value;
      return {
        when: q('when')?.value.trim() ?? '',
        default: q('default')?.checked ?? false,
        on: (on || undefined) as EdgeFields['on'],
        error: q('error')?.value.trim() ?? '',
      };
    };
    const save = () => edit((t) => updateEdge(t, e.ref, fields()));
    const errorText = Array.isArray(e.error) ? e.error.join(', ') : e.error ?? '';
    return html`<li class="ed-edge-row" data-to=${e.to}>
      <span class="ed-edge-to">→ <code>${e.to}</code></span>
      <label for=${`${base}-when`}>when</label>
      <input id=${`${base}-when`} .value=${e.when ?? ''} placeholder="condition (JSONata)" ?disabled=${!!locked} @change=${save} aria-label=${`Condition of ${from} → ${e.to}`}>
      <label class="ed-check"><input type="checkbox" id=${`${base}-default`} .checked=${e.default === true} ?disabled=${!!locked} @change=${save}>default</label>
      <label for=${`${base}-on`}>on</label>
      <select id=${`${base}-on`} ?disabled=${!!locked} @change=${save} aria-label=${`Arrow ${from} → ${e.to} taken on`}>
        ${['', 'error', 'timeout', 'cancel'].map((o) => html`<option value=${o} ?selected=${(e.on ?? '') === o}>${o || 'completion'}</option>`)}
      </select>
      ${e.on === 'error' ? html`<input id=${`${base}-error`} .value=${errorText} placeholder="error codes (any)" ?disabled=${!!locked} @change=${save} aria-label=${`Error codes of ${from} → ${e.to}`}>` : nothing}
      <button type="button" ?disabled=${!!locked} @click=${() => edit((t) => disconnect(t, e.ref))} aria-label=${`Remove arrow ${from} → ${e.to}`}>Remove</button>
    </li>`;
  }

  // ------------------------------------------------------------------ pointer and keyboard

  function onNodeKey(e: KeyboardEvent, id: string): void {
    if (e.key === 'Enter' || e.key === ' ') { e.preventDefault(); choose(id); }
    else if (e.key === 'Delete' || e.key === 'Backspace') { e.preventDefault(); remove(id); }
    else if (e.key === 'c' || e.key === 'C') { e.preventDefault(); connectFrom = id; selected = id; draw(); }
    else if (e.key === 'Escape' && connectFrom) { connectFrom = undefined; draw(); }
  }

  function onCanvasClick(e: Event): void {
    if ((e.target as Element).closest('[data-step]')) return;
    if (connectFrom) connectFrom = undefined;
    else selected = undefined;
    draw();
  }

  function onDragOver(e: DragEvent): void {
    if (locked) return;
    if ([...(e.dataTransfer?.types ?? [])].includes(DRAG_TYPE)) { e.preventDefault(); e.dataTransfer!.dropEffect = 'copy'; }
  }

  function onDrop(e: DragEvent): void {
    const type = e.dataTransfer?.getData(DRAG_TYPE) as StepType | undefined;
    if (!type || !STEP_TYPES.includes(type)) return;
    e.preventDefault();
    const target = (document.elementFromPoint(e.clientX, e.clientY) as Element | null)?.closest('[data-step]')?.getAttribute('data-step') ?? undefined;
    add(type, target);
  }

  function svgPoint(e: PointerEvent): { x: number; y: number } {
    const s = el.querySelector('svg.ed-svg') as SVGSVGElement;
    const m = s.getScreenCTM();
    if (!m) return { x: 0, y: 0 };
    const p = new DOMPoint(e.clientX, e.clientY).matrixTransform(m.inverse());
    return { x: p.x, y: p.y };
  }

  function startDrag(e: PointerEvent, n: LayoutNode): void {
    e.stopPropagation();
    e.preventDefault();
    const handle = e.currentTarget as SVGCircleElement;
    const cx = n.x + n.width / 2;
    const cy = n.y;
    const p = svgPoint(e);
    drag = { from: n.id, x1: cx, y1: cy, x2: p.x, y2: p.y };
    handle.setPointerCapture(e.pointerId);
    const move = (ev: PointerEvent) => { const q = svgPoint(ev); if (drag) { drag.x2 = q.x; drag.y2 = q.y; draw(); } };
    const up = (ev: PointerEvent) => {
      handle.removeEventListener('pointermove', move);
      handle.removeEventListener('pointerup', up);
      handle.removeEventListener('pointercancel', up);
      const from = drag?.from;
      drag = undefined;
      const target = (document.elementFromPoint(ev.clientX, ev.clientY) as Element | null)?.closest('[data-step]')?.getAttribute('data-step');
      if (from && target && target !== from) link(from, target);
      else draw();
    };
    handle.addEventListener('pointermove', move);
    handle.addEventListener('pointerup', up);
    handle.addEventListener('pointercancel', up);
  }

  const onKey = (e: KeyboardEvent) => { if (e.key === 'Escape' && connectFrom) { connectFrom = undefined; draw(); } };
  el.addEventListener('keydown', onKey);

  return {
    update(g, why) {
      graph = g;
      locked = why;
      relayout();
      draw();
    },
    highlight(h) {
      trace = h;
      draw();
    },
    select(id) {
      selected = id;
      draw();
    },
    destroy() {
      el.removeEventListener('keydown', onKey);
      render(nothing, el);
    },
  };
}

/** The step's shape in miniature, as on the canvas. */
function paletteIcon(t: StepType): TemplateResult {
  let shape: TemplateResult;
  switch (t) {
    case 'start': case 'timer': case 'wait': shape = svg`<circle cx="8" cy="8" r="6.5"></circle>`; break;
    case 'end': shape = svg`<circle cx="8" cy="8" r="6.5"></circle><circle cx="8" cy="8" r="4"></circle>`; break;
    case 'decision': case 'inclusive': case 'parallel': case 'join': shape = svg`<path d="M8,1 L15,8 L8,15 L1,8 Z"></path>`; break;
    default: shape = svg`<rect x="1" y="3" width="14" height="10" rx=${t === 'loop' ? 5 : 2}></rect>`;
  }
  if (t === 'timer') shape = svg`${shape}<path d="M8,3.5 L8,8 L11.5,8" class="ed-pal-hands"></path>`;
  const glyph = GLYPH[t];
  return html`<svg class="ed-pal-icon" width="16" height="16" viewBox="0 0 16 16" aria-hidden="true">${shape}${glyph ? svg`<text x="8" y="11.5" text-anchor="middle">${glyph}</text>` : nothing}</svg>`;
}


function midpoint(points: Array<{ x: number; y: number }>): { x: number; y: number } {
  return points[Math.floor(points.length / 2)] ?? { x: 0, y: 0 };
}

function truncate(text: string, max: number): string {
  return text.length > max ? `${text.slice(0, max - 1)}…` : text;
}
