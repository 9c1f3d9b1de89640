/**
 * Layered layout of a workflow definition (dagre, Sugiyama-style): steps in ranks along the flow,
 * crossings reduced, edges routed as polylines around the nodes. Pure (no DOM), so the instance
 * view, the designer and Node tests share it.
 *
 * The shape of the result is a contract with the editor: keep `layoutDefinition(def)` and
 * `GraphLayout` stable; add optional fields only.
 */
import dagre from '@dagrejs/dagre';
import type { Definition, Step, StepType, Transition } from '../../../src/model/schema.js';
import { normaliseDefinition } from '../../../src/model/normalise.js';

export type EdgeKind = 'normal' | 'error' | 'timeout' | 'cancel' | 'default';

export interface LayoutNode {
  id: string;
  type: StepType;
  label: string;
  /** Centre of the node. */
  x: number;
  y: number;
  width: number;
  height: number;
}

export interface LayoutEdge {
  /** The transition's id (after normalisation: its own, or `from->to`). */
  id: string;
  from: string;
  to: string;
  kind: EdgeKind;
  label?: string;
  /** Polyline from the source's border to the target's border. */
  points: Array<{ x: number; y: number }>;
  /** Where the label goes (centre), when there is one. */
  labelX?: number;
  labelY?: number;
}

export interface GraphLayout {
  width: number;
  height: number;
  /** The direction of flow it was laid out in. */
  direction?: 'LR' | 'TB';
  nodes: LayoutNode[];
  edges: LayoutEdge[];
}

export interface LayoutOptions {
  /** Direction of flow: left to right (default) or top to bottom (narrow screens). */
  direction?: 'LR' | 'TB';
}

const MARGIN = 16;
/** Gateways and events are small glyphs; activities are boxes wide enough for a label. */
const SIZE: Record<StepType, { width: number; height: number }> = {
  start: { width: 40, height: 40 },
  end: { width: 40, height: 40 },
  decision: { width: 48, height: 48 },
  inclusive: { width: 48, height: 48 },
  parallel: { width: 48, height: 48 },
  join: { width: 48, height: 48 },
  timer: { width: 44, height: 44 },
  wait: { width: 44, height: 44 },
  task: { width: 150, height: 52 },
  human: { width: 150, height: 52 },
  subworkflow: { width: 150, height: 52 },
  foreach: { width: 150, height: 52 },
  loop: { width: 120, height: 44 },
};
const LABEL_CHAR_WIDTH = 6.5;
const LABEL_MAX_CHARS = 28;

export function stepLabel(step: Step): string {
  return step.name ?? step.id;
}

export function edgeKind(t: Transition): EdgeKind {
  if (t.on) return t.on;
  return t.default ? 'default' : 'normal';
}

/** Short text on an edge: its name, else its condition, else the error codes it catches. */
export function edgeLabel(t: Transition): string | undefined {
  let text: string | undefined = t.name ?? t.when;
  if (!text && t.on === 'error' && t.error) text = Array.isArray(t.error) ? t.error.join(', ') : t.error;
  if (!text && t.default) text = 'default';
  if (!text) return undefined;
  text = text.replace(/^\$\{([\s\S]*)\}$/, '$1').trim();
  return text.length > LABEL_MAX_CHARS ? `${text.slice(0, LABEL_MAX_CHARS - 1)}…` : text;
}

export function layoutDefinition(def: Definition, options: LayoutOptions = {}): GraphLayout {
  const normal = normaliseDefinition(def);
  const direction = options.direction ?? 'LR';
  const g = new dagre.graphlib.Graph({ multigraph: true });
  g.setGraph({ rankdir: direction, nodesep: 28, ranksep: 56, edgesep: 14, marginx: MARGIN, marginy: MARGIN });
  g.setDefaultEdgeLabel(() => ({}));

  const steps = new Map<string, Step>();
  for (const step of normal.steps) {
    if (steps.has(step.id)) continue; // duplicates are a validation error; draw the first
    steps.set(step.id, step);
    g.setNode(step.id, { ...SIZE[step.type] });
  }
  const transitions = (normal.transitions ?? []).filter((t) => steps.has(t.from) && steps.has(t.to));
  for (const t of transitions) {
    const label = edgeLabel(t);
    g.setEdge(t.from, t.to, label
      ? { width: label.length * LABEL_CHAR_WIDTH + 8, height: 16, labelpos: 'c', minlen: 1 }
      // Exceptional paths are pulled less hard into line so the happy path stays straight.
      : { weight: t.on ? 1 : 2, minlen: 1 }, t.id!);
  }

  dagre.layout(g);

  const nodes: LayoutNode[] = [...steps.values()].map((step) => {
    const n = g.node(step.id);
    return { id: step.id, type: step.type, label: stepLabel(step), x: n.x, y: n.y, width: n.width, height: n.height };
  });
  const edges: LayoutEdge[] = transitions.map((t) => {
    const e = g.edge({ v: t.from, w: t.to, name: t.id! }) as { points?: Array<{ x: number; y: number }>; x?: number; y?: number };
    const label = edgeLabel(t);
    const edge: LayoutEdge = { id: t.id!, from: t.from, to: t.to, kind: edgeKind(t), points: (e.points ?? []).map((p) => ({ x: p.x, y: p.y })) };
    if (label) {
      edge.label = label;
      if (e.x !== undefined && e.y !== undefined) { edge.labelX = e.x; edge.labelY = e.y; }
    }
    return edge;
  });
  const graph = g.graph();
  return { width: Math.max(graph.width ?? 0, 1), height: Math.max(graph.height ?? 0, 1), direction, nodes, edges };
}

/** An SVG path for an edge: a smooth curve through dagre's bend points. */
export function pathOf(points: Array<{ x: number; y: number }>): string {
  if (points.length === 0) return '';
  let d = `M${points[0]!.x},${points[0]!.y}`;
  for (let i = 1; i < points.length; i++) {
    const p = points[i]!;
    if (i < points.length - 1) {
      const n = points[i + 1]!;
      d += ` Q${p.x},${p.y} ${(p.x + n.x) / 2},${(p.y + n.y) / 2}`;
    } else d += ` L${p.x},${p.y}`;
  }
  return d;
}
