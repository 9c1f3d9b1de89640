/**
 * The D3 renderer of a laid-out workflow graph (layout.ts): one SVG, a shape per step type, the
 * step states as colour + badge + an animated token on active steps, taken edges highlighted,
 * zoom/pan (mouse, touch, and buttons for the keyboard). Nodes are buttons in flow order: Tab
 * reaches them, Enter or Space selects one.
 *
 * `renderGraph` draws the static graph once; `update(view)` only changes attributes, so a live
 * instance or the time-travel slider redraws cheaply. Tests read `data-state` on `[data-step]`.
 */
// Named imports from d3 keep the bundle to selection, zoom and transition (d3-zoom brings d3-transition).
import { select, zoom as d3zoom, zoomIdentity, zoomTransform, type Selection, type ZoomBehavior } from 'd3';
import { pathOf, type GraphLayout, type LayoutEdge, type LayoutNode } from './layout.js';
import { VISUAL_STATES, badgeText, isActive, stepView, type InstanceView, type VisualState } from '../step-state.js';
import './graph.css';

export interface GraphRenderer {
  /** Colours, badges and taken edges for this view; `undefined` draws the bare definition. */
  update(view: InstanceView | undefined): void;
  /** Marks a step selected (no callback). */
  select(stepId: string | undefined): void;
  /** Zooms to show the whole graph. */
  fit(): void;
  focusStep(stepId: string): void;
  destroy(): void;
}

export interface RenderOptions {
  /** A step was chosen (click, Enter, Space). */
  onSelect?(stepId: string): void;
  /** Accessible name of the graph. */
  label?: string;
}

const STATE_TEXT: Record<VisualState, string> = {
  pending: 'not reached', running: 'running', waiting: 'waiting', retrying: 'retrying', completed: 'completed',
  failed: 'failed', skipped: 'skipped', compensated: 'compensated', cancelled: 'cancelled',
};
/** The glyph inside gateways and events (BPMN-like). */
const GLYPH: Partial<Record<LayoutNode['type'], string>> = {
  decision: '×', inclusive: '○', parallel: '+', join: '+', timer: '⏱', wait: '✉', loop: '↻',
};
const TYPE_TAG: Partial<Record<LayoutNode['type'], string>> = {
  human: 'person', subworkflow: 'subworkflow', foreach: 'for each', task: 'task',
};

export function renderGraph(container: HTMLElement, layout: GraphLayout, options: RenderOptions = {}): GraphRenderer {
  container.classList.add('wf-graph');
  const root = select(container);
  root.selectAll('*').remove();

  const toolbar = root.append('div').attr('class', 'wf-graph-tools').attr('role', 'toolbar').attr('aria-label', 'Graph zoom');
  const svg = root.append('svg')
    .attr('role', 'group')
    .attr('aria-label', options.label ?? 'Workflow graph')
    .attr('class', 'wf-graph-svg');
  const defs = svg.append('defs');
  for (const kind of ['normal', 'taken', 'error', 'timeout', 'cancel']) {
    defs.append('marker').attr('id', `wf-arrow-${kind}`).attr('class', `wf-arrow wf-arrow-${kind}`)
      .attr('viewBox', '0 0 10 10').attr('refX', 9).attr('refY', 5).attr('markerWidth', 7).attr('markerHeight', 7).attr('orient', 'auto-start-reverse')
      .append('path').attr('d', 'M0,0 L10,5 L0,10 z');
  }
  const viewport = svg.append('g').attr('class', 'wf-viewport');

  // Edges below nodes.
  const edgeSel = viewport.append('g').attr('class', 'wf-edges').selectAll<SVGGElement, LayoutEdge>('g')
    .data(layout.edges, (d) => d.id).join('g')
    .attr('class', (d) => `wf-edge wf-edge-${d.kind}`)
    .attr('data-edge', (d) => d.id);
  edgeSel.append('path').attr('d', (d) => pathOf(d.points)).attr('marker-end', (d) => `url(#wf-arrow-${markerOf(d, false)})`);
  edgeSel.filter((d) => d.label !== undefined && d.labelX !== undefined).append('text')
    .attr('class', 'wf-edge-label').attr('x', (d) => d.labelX!).attr('y', (d) => d.labelY! + 4).attr('text-anchor', 'middle')
    .text((d) => d.label!);

  // Nodes in flow order, so Tab walks the graph the way tokens do.
  const ordered = [...layout.nodes].sort(layout.direction === 'TB' ? (a, b) => a.y - b.y || a.x - b.x : (a, b) => a.x - b.x || a.y - b.y);
  const nodeSel = viewport.append('g').attr('class', 'wf-nodes').selectAll<SVGGElement, LayoutNode>('g')
    .data(ordered, (d) => d.id).join('g')
    .attr('class', (d) => `wf-node wf-node-${d.type}`)
    .attr('data-step', (d) => d.id)
    .attr('data-type', (d) => d.type)
    .attr('data-state', 'pending')
    .attr('transform', (d) => `translate(${d.x},${d.y})`)
    .attr('tabindex', 0)
    .attr('role', 'button')
    .attr('aria-pressed', 'false');
  nodeSel.each(function (d) { drawShape(select(this), d); });
  const badge = nodeSel.append('g').attr('class', 'wf-badge').attr('transform', (d) => `translate(0,${-d.height / 2 - 12})`);
  badge.append('rect').attr('rx', 8).attr('height', 16).attr('y', -8);
  badge.append('text').attr('text-anchor', 'middle').attr('y', 4);
  nodeSel.append('title');

  // Tokens in their own layer: their animation must not move the nodes' boxes (pointer targets).
  const tokenSel = viewport.append('g').attr('class', 'wf-tokens').attr('aria-hidden', 'true').selectAll<SVGCircleElement, LayoutNode>('circle')
    .data(ordered, (d) => d.id).join('circle')
    .attr('class', 'wf-token').attr('data-token', (d) => d.id).attr('r', 6)
    .attr('cx', (d) => d.x - d.width / 2 + 2).attr('cy', (d) => d.y - d.height / 2 + 2);

  nodeSel.on('click', (_e, d) => choose(d.id));
  nodeSel.on('keydown', (e: KeyboardEvent, d) => {
    if (e.key === 'Enter' || e.key === ' ') { e.preventDefault(); choose(d.id); }
  });
  nodeSel.on('focus', (_e, d) => ensureVisible(d));

  // Zoom and pan; the buttons make it reachable without a pointer.
  const zoomer: ZoomBehavior<SVGSVGElement, unknown> = d3zoom<SVGSVGElement, unknown>()
    .scaleExtent([0.15, 3])
    .on('zoom', (e) => viewport.attr('transform', e.transform.toString()));
  svg.call(zoomer).on('dblclick.zoom', null);
  const button = (label: string, text: string, act: () => void) => toolbar.append('button').attr('type', 'button').attr('aria-label', label).attr('title', label).text(text).on('click', act);
  button('Zoom in', '+', () => svg.transition().duration(150).call(zoomer.scaleBy, 1.25));
  button('Zoom out', '−', () => svg.transition().duration(150).call(zoomer.scaleBy, 0.8));
  button('Fit to view', 'Fit', () => fit());

  let selected: string | undefined;

  function choose(stepId: string): void {
    setSelected(stepId);
    options.onSelect?.(stepId);
  }

  function setSelected(stepId: string | undefined): void {
    selected = stepId;
    nodeSel.classed('wf-selected', (d) => d.id === selected).attr('aria-pressed', (d) => String(d.id === selected));
  }

  function size(): { w: number; h: number } {
    const r = (svg.node() as SVGSVGElement).getBoundingClientRect();
    return { w: r.width || 800, h: r.height || 400 };
  }

  function fit(): void {
    const { w, h } = size();
    // Small graphs at natural size, big ones shrunk — but not into illegibility: pan the rest.
    const k = Math.max(0.45, Math.min(1.2, (w - 16) / layout.width, (h - 16) / layout.height));
    const x = layout.width * k < w ? (w - layout.width * k) / 2 : 8;
    const y = layout.height * k < h ? (h - layout.height * k) / 2 : 8;
    svg.call(zoomer.transform, zoomIdentity.translate(x, y).scale(k));
  }

  /** Pans just enough to bring a focused node into view (keyboard users must see where they are). */
  function ensureVisible(d: LayoutNode): void {
    const { w, h } = size();
    const t = zoomTransform(svg.node() as SVGSVGElement);
    const margin = 24;
    const [left, right] = [t.x + (d.x - d.width / 2) * t.k, t.x + (d.x + d.width / 2) * t.k];
    const [top, bottom] = [t.y + (d.y - d.height / 2 - 20) * t.k, t.y + (d.y + d.height / 2 + 18) * t.k];
    const dx = left < margin ? margin - left : right > w - margin ? w - margin - right : 0;
    const dy = top < margin ? margin - top : bottom > h - margin ? h - margin - bottom : 0;
    if (dx === 0 && dy === 0) return;
    svg.transition().duration(200).call(zoomer.translateBy, dx / t.k, dy / t.k);
  }

  function update(view: InstanceView | undefined): void {
    nodeSel.each(function (d) {
      const step = view ? stepView(view, d.id) : undefined;
      const state: VisualState = step?.state ?? 'pending';
      const text = step ? badgeText(step) : undefined;
      const g = select(this);
      g.attr('data-state', state).attr('data-waiting', step?.waitingFor ?? null).attr('data-attempt', step?.attempt ?? null)
        .classed('wf-active', isActive(state));
      for (const s of VISUAL_STATES) g.classed(`wf-s-${s}`, s === state);
      const token = tokenSel.filter((n) => n.id === d.id).classed('wf-active', isActive(state));
      for (const s of VISUAL_STATES) token.classed(`wf-s-${s}`, s === state);
      const b = g.select<SVGGElement>('.wf-badge').classed('wf-badge-on', text !== undefined);
      const t = b.select<SVGTextElement>('text').text(text ?? '');
      const width = text ? Math.max(28, (t.node()?.getComputedTextLength() ?? text.length * 6) + 14) : 0;
      b.select('rect').attr('x', -width / 2).attr('width', width);
      // The name starts with the node's visible text in order (type tag, label, badge: WCAG 2.5.3,
      // "label in name"); the state and type follow in parentheses.
      const tag = TYPE_TAG[d.type];
      const name = `${tag ? `${tag} ` : ''}${d.label}${text ? `, ${text}` : ''} (${view ? `${STATE_TEXT[state]}, ` : ''}${d.type} step)`;
      g.attr('aria-label', name);
      g.select('title').text(name);
    });
    edgeSel.each(function (d) {
      const n = view?.taken.get(d.id) ?? 0;
      const g = select(this).classed('wf-taken', n > 0).attr('data-taken', n > 0 ? String(n) : null);
      g.select('path').attr('marker-end', `url(#wf-arrow-${markerOf(d, n > 0)})`);
    });
    svg.classed('wf-has-view', view !== undefined);
  }

  fit();
  update(undefined);
  return {
    update,
    select: setSelected,
    fit,
    focusStep(stepId) { (nodeSel.filter((d) => d.id === stepId).node() as SVGGElement | null)?.focus(); },
    destroy() { svg.on('.zoom', null); root.selectAll('*').remove(); },
  };
}

function markerOf(d: LayoutEdge, taken: boolean): string {
  if (taken) return 'taken';
  return d.kind === 'error' || d.kind === 'timeout' || d.kind === 'cancel' ? d.kind : 'normal';
}


function truncate(text: string, max: number): string {
  return text.length > max ? `${text.slice(0, max - 1)}…` : text;
}

function drawShape(g: Selection<SVGGElement, LayoutNode, null, undefined>, d: LayoutNode): void {
  const w = d.width;
  const h = d.height;
  switch (d.type) {
    case 'start':
    case 'end':
    case 'timer':
    case 'wait': {
      g.append('circle').attr('class', 'wf-shape').attr('r', Math.min(w, h) / 2);
      if (d.type === 'end') g.append('circle').attr('class', 'wf-shape-inner').attr('r', Math.min(w, h) / 2 - 4);
      if (GLYPH[d.type]) g.append('text').attr('class', 'wf-glyph').attr('text-anchor', 'middle').attr('y', 6).text(GLYPH[d.type]!);
      outsideLabel(g, d);
      return;
    }
    case 'decision':
    case 'inclusive':
    case 'parallel':
    case 'join': {
      g.append('path').attr('class', 'wf-shape').attr('d', `M0,${-h / 2} L${w / 2},0 L0,${h / 2} L${-w / 2},0 Z`);
      g.append('text').attr('class', 'wf-glyph').attr('text-anchor', 'middle').attr('y', 7).text(GLYPH[d.type]!);
      outsideLabel(g, d);
      return;
    }
    default: {
      if (d.type === 'foreach') g.append('rect').attr('class', 'wf-shape wf-stack').attr('x', -w / 2 + 5).attr('y', -h / 2 + 5).attr('width', w).attr('height', h).attr('rx', 8);
      g.append('rect').attr('class', 'wf-shape').attr('x', -w / 2).attr('y', -h / 2).attr('width', w).attr('height', h).attr('rx', d.type === 'loop' ? 20 : 8);
      if (d.type === 'subworkflow') g.append('rect').attr('class', 'wf-shape-inner').attr('x', -w / 2 + 4).attr('y', -h / 2 + 4).attr('width', w - 8).attr('height', h - 8).attr('rx', 5);
      const tag = TYPE_TAG[d.type] ?? (GLYPH[d.type] ? `${GLYPH[d.type]} loop` : d.type);
      // Trailing spaces keep tag, label and badge apart in the text a screen reader or an
      // accessibility checker gathers from the node (SVG text elements are joined as they are).
      g.append('text').attr('class', 'wf-type').attr('text-anchor', 'middle').attr('y', -h / 2 + 14).text(`${tag} `);
      g.append('text').attr('class', 'wf-label').attr('text-anchor', 'middle').attr('y', 10).text(`${truncate(d.label, 21)} `);
    }
  }
}

function outsideLabel(g: Selection<SVGGElement, LayoutNode, null, undefined>, d: LayoutNode): void {
  g.append('text').attr('class', 'wf-label wf-label-below').attr('text-anchor', 'middle').attr('y', d.height / 2 + 14).text(`${truncate(d.label, 24)} `);
}


/** The legend of step states, as HTML (readable by screen readers, wraps on narrow screens). */
export function legendHtml(): string {
  return `<ul class="wf-legend" aria-label="Step states">${VISUAL_STATES.map((s) => `<li class="wf-s-${s}"><span class="wf-swatch" aria-hidden="true"></span>${STATE_TEXT[s]}</li>`).join('')}</ul>`;
}
