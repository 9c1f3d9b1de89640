/**
 * PNML (ISO/IEC 15909-2) place/transition nets: import and export. A small XML reader is enough
 * for the PNML subset of P/T nets (nets, pages, places with initial markings, transitions, arcs
 * with inscriptions, names); anything malformed gets a PnmlError that says what and where.
 */
import type { Arc, PetriNet, Place, NetTransition } from './petri.js';

export class PnmlError extends Error {
  readonly code = 'invalid_pnml';
  constructor(message: string) {
    super(message);
    this.name = 'PnmlError';
  }
}

interface XmlNode { name: string; attrs: Record<string, string>; children: XmlNode[]; text: string; line: number }

const MAX_PNML_BYTES = 10 * 1024 * 1024;
const MAX_NET_NODES = 100_000;

function decode(s: string): string {
  return s.replace(/&(lt|gt|amp|quot|apos|#\d+|#x[0-9a-f]+);/gi, (_, e: string) => {
    const map: Record<string, string> = { lt: '<', gt: '>', amp: '&', quot: '"', apos: "'" };
    if (e[0] === '#') return String.fromCodePoint(e[1] === 'x' || e[1] === 'X' ? parseInt(e.slice(2), 16) : parseInt(e.slice(1), 10));
    return map[e.toLowerCase()];
  });
}

export function parseXml(text: string): XmlNode {
  const root: XmlNode = { name: '#root', attrs: {}, children: [], text: '', line: 1 };
  const stack: XmlNode[] = [root];
  let i = 0;
  let line = 1;
  const lineAt = (to: number) => { for (let k = i; k < to; k++) if (text.charCodeAt(k) === 10) line++; };
  while (i < text.length) {
    const lt = text.indexOf('<', i);
    const end = lt < 0 ? text.length : lt;
    if (end > i) {
      stack[stack.length - 1].text += decode(text.slice(i, end));
      lineAt(end);
      i = end;
    }
    if (lt < 0) break;
    if (text.startsWith('<!--', i)) {
      const close = text.indexOf('-->', i);
      if (close < 0) throw new PnmlError(`line ${line}: unterminated comment`);
      lineAt(close + 3); i = close + 3; continue;
    }
    if (text.startsWith('<?', i) || text.startsWith('<!', i)) {
      const close = text.indexOf('>', i);
      if (close < 0) throw new PnmlError(`line ${line}: unterminated declaration`);
      lineAt(close + 1); i = close + 1; continue;
    }
    const close = text.indexOf('>', i);
    if (close < 0) throw new PnmlError(`line ${line}: unterminated tag`);
    const body = text.slice(i + 1, close);
    const tagLine = line;
    lineAt(close + 1);
    i = close + 1;
    if (body.startsWith('/')) {
      const name = body.slice(1).trim();
      const top = stack.pop();
      if (!top || top.name !== name || stack.length === 0) throw new PnmlError(`line ${tagLine}: closing tag </${name}> does not match <${top?.name ?? ''}>`);
      continue;
    }
    const selfClosing = body.endsWith('/');
    const m = /^([A-Za-z_][\w:.-]*)([\s\S]*?)\/?$/.exec(body);
    if (!m) throw new PnmlError(`line ${tagLine}: malformed tag <${body.slice(0, 40)}>`);
    const attrs: Record<string, string> = {};
    const attrText = m[2];
    const re = /([A-Za-z_][\w:.-]*)\s*=\s*("([^"]*)"|'([^']*)')/g;
    let a: RegExpExecArray | null;
    let consumed = '';
    while ((a = re.exec(attrText))) { attrs[a[1]] = decode(a[3] ?? a[4] ?? ''); consumed += a[0]; }
    if (attrText.replace(re, '').trim() !== '') throw new PnmlError(`line ${tagLine}: malformed attributes in <${m[1]}>`);
    const node: XmlNode = { name: m[1], attrs, children: [], text: '', line: tagLine };
    stack[stack.length - 1].children.push(node);
    if (!selfClosing) stack.push(node);
  }
  if (stack.length !== 1) throw new PnmlError(`unclosed element <${stack[stack.length - 1].name}> (opened on line ${stack[stack.length - 1].line})`);
  return root;
}

const local = (name: string) => name.slice(name.indexOf(':') + 1);
const child = (n: XmlNode, name: string) => n.children.find((c) => local(c.name) === name);
const textOf = (n: XmlNode | undefined) => (n ? (child(n, 'text')?.text ?? n.text).trim() : undefined);

function count(n: XmlNode, what: string, field: string): number {
  const t = textOf(child(n, field));
  if (t === undefined || t === '') return field === 'inscription' ? 1 : 0;
  if (!/^\d+$/.test(t)) throw new PnmlError(`line ${n.line}: ${what} "${n.attrs.id}" has ${field} "${t}", which is not a non-negative integer`);
  return Number(t);
}

export function parsePnml(text: string): PetriNet {
  if (text.length > MAX_PNML_BYTES) throw new PnmlError(`the file is over ${MAX_PNML_BYTES} bytes`);
  const doc = parseXml(text);
  const pnml = doc.children.find((c) => local(c.name) === 'pnml');
  if (!pnml) throw new PnmlError('not a PNML document: no <pnml> root element');
  const netNode = pnml.children.find((c) => local(c.name) === 'net');
  if (!netNode) throw new PnmlError('the PNML document has no <net>');
  const places: Place[] = [];
  const transitions: NetTransition[] = [];
  const arcs: Arc[] = [];
  const ids = new Set<string>();
  const walk = (n: XmlNode) => {
    for (const c of n.children) {
      const kind = local(c.name);
      if (kind === 'page') { walk(c); continue; }
      if (kind !== 'place' && kind !== 'transition' && kind !== 'arc') continue;
      const id = c.attrs.id;
      if (!id) throw new PnmlError(`line ${c.line}: <${kind}> without an id`);
      if (ids.has(id)) throw new PnmlError(`line ${c.line}: duplicate id "${id}"`);
      ids.add(id);
      if (places.length + transitions.length + arcs.length > MAX_NET_NODES) throw new PnmlError(`the net has more than ${MAX_NET_NODES} elements`);
      const name = textOf(child(c, 'name'));
      if (kind === 'place') places.push({ id, ...(name && { name }), initial: count(c, 'place', 'initialMarking') });
      else if (kind === 'transition') transitions.push({ id, ...(name && { name }) });
      else {
        if (!c.attrs.source || !c.attrs.target) throw new PnmlError(`line ${c.line}: arc "${id}" needs source and target`);
        arcs.push({ source: c.attrs.source, target: c.attrs.target, weight: count(c, 'arc', 'inscription') });
      }
    }
  };
  walk(netNode);
  const placeIds = new Set(places.map((p) => p.id));
  const transIds = new Set(transitions.map((t) => t.id));
  for (const a of arcs) {
    const ok = (placeIds.has(a.source) && transIds.has(a.target)) || (transIds.has(a.source) && placeIds.has(a.target));
    if (!ok) {
      const missing = [a.source, a.target].find((x) => !placeIds.has(x) && !transIds.has(x));
      throw new PnmlError(missing ? `arc ${a.source} → ${a.target} refers to "${missing}", which is neither a place nor a transition` : `arc ${a.source} → ${a.target} must join a place and a transition`);
    }
    if (a.weight < 1) throw new PnmlError(`arc ${a.source} → ${a.target} has weight 0`);
  }
  if (places.length === 0) throw new PnmlError('the net has no places');
  return { id: netNode.attrs.id ?? 'net', ...(textOf(child(netNode, 'name')) && { name: textOf(child(netNode, 'name')) }), places, transitions, arcs };
}

const esc = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');

export function toPnml(net: PetriNet): string {
  const lines = [
    '<?xml version="1.0" encoding="UTF-8"?>',
    '<pnml xmlns="http://www.pnml.org/version-2009/grammar/pnml">',
    `  <net id="${esc(net.id)}" type="http://www.pnml.org/version-2009/grammar/ptnet">`,
    ...(net.name ? [`    <name><text>${esc(net.name)}</text></name>`] : []),
    '    <page id="page0">',
  ];
  for (const p of net.places) {
    lines.push(`      <place id="${esc(p.id)}">${p.name ? `<name><text>${esc(p.name)}</text></name>` : ''}${p.initial ? `<initialMarking><text>${p.initial}</text></initialMarking>` : ''}</place>`);
  }
  for (const t of net.transitions) lines.push(`      <transition id="${esc(t.id)}">${t.name ? `<name><text>${esc(t.name)}</text></name>` : ''}</transition>`);
  net.arcs.forEach((a, i) => {
    lines.push(`      <arc id="a${i}" source="${esc(a.source)}" target="${esc(a.target)}">${a.weight !== 1 ? `<inscription><text>${a.weight}</text></inscription>` : ''}</arc>`);
  });
  lines.push('    </page>', '  </net>', '</pnml>');
  return lines.join('\n');
}
