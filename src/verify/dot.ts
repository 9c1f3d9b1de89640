/** Graphviz DOT exports: a definition's step graph, and a place/transition net. */
import type { Definition } from '../model/schema.js';
import { analyseGraph } from '../model/graph.js';
import type { PetriNet } from './petri.js';

const q = (s: string) => `"${s.replace(/\\/g, '\\\\').replace(/"/g, '\\"')}"`;

const SHAPES: Record<string, string> = {
  start: 'circle', end: 'doublecircle', decision: 'diamond', inclusive: 'diamond', parallel: 'box', join: 'box',
  wait: 'octagon', timer: 'octagon', human: 'house', loop: 'hexagon',
};

export function definitionToDot(def: Definition): string {
  const g = analyseGraph(def);
  const lines = [`digraph ${q(def.id)} {`, '  rankdir=LR;', '  node [fontname="Helvetica", fontsize=10];'];
  for (const s of g.steps.values()) {
    const label = s.type === 'parallel' || s.type === 'join' ? `${s.id}\\n${s.type === 'join' ? `join ${'mode' in s && s.mode ? s.mode : 'all'}` : '+'}` : `${s.id}\\n(${s.type})`;
    lines.push(`  ${q(s.id)} [shape=${SHAPES[s.type] ?? 'box'}, label=${q(label)}${s.type === 'parallel' || s.type === 'join' ? ', style=filled, fillcolor="#eeeeee"' : ''}];`);
  }
  for (const t of g.transitions.values()) {
    if (!g.steps.has(t.from) || !g.steps.has(t.to)) continue;
    const label = t.on ? `on ${t.on}${t.error ? ` ${[t.error].flat().join('/')}` : ''}` : t.default ? 'default' : t.when ?? '';
    const style = t.on ? ', style=dashed, color="#aa3333"' : g.backEdges.has(t.id) ? ', style=dotted' : '';
    lines.push(`  ${q(t.from)} -> ${q(t.to)}${label ? ` [label=${q(label)}${style}]` : style ? ` [${style.slice(2)}]` : ''};`);
  }
  lines.push('}');
  return lines.join('\n');
}

export function netToDot(net: PetriNet): string {
  const lines = [`digraph ${q(net.id)} {`, '  rankdir=LR;'];
  for (const p of net.places) {
    lines.push(`  ${q(p.id)} [shape=circle, label=${q(`${p.name ?? p.id}${p.initial ? `\\n${'●'.repeat(Math.min(p.initial, 5))}${p.initial > 5 ? p.initial : ''}` : ''}`)}];`);
  }
  for (const t of net.transitions) lines.push(`  ${q(t.id)} [shape=box, style=filled, fillcolor=black, fontcolor=white, label=${q(t.name ?? t.id)}];`);
  for (const a of net.arcs) lines.push(`  ${q(a.source)} -> ${q(a.target)}${a.weight !== 1 ? ` [label=${q(String(a.weight))}]` : ''};`);
  lines.push('}');
  return lines.join('\n');
}
