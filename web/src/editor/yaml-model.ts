/**
 * The designer's model: the YAML text is the only source of truth. The graph is read from it, and
 * every designer edit is a change to the parsed `yaml` Document (its comments, key order and flow
 * or block style survive) written back as text. DOM-free, so Node tests run it.
 */
import { Document, isMap, isScalar, isSeq, parseDocument, YAMLMap, YAMLSeq } from 'yaml';
import { Step as StepSchema, STEP_TYPES, type Definition, type StepType } from '../../../src/model/schema.js';

export interface DesignStep {
  id: string;
  type: string;
  /** Position in `steps`. */
  index: number;
  /** The step as plain data (whatever the YAML holds, valid or not). */
  data: Record<string, unknown>;
}

/** An arrow: from a step's `next` (item `item` of a list, or the only value) or from `transitions[index]`. */
export type EdgeRef = { kind: 'next'; from: string; to: string; item?: number } | { kind: 'transition'; from: string; to: string; index: number };

export interface DesignEdge {
  ref: EdgeRef;
  from: string;
  to: string;
  when?: string;
  default?: boolean;
  on?: string;
  error?: string | string[];
}

export interface DesignGraph {
  steps: DesignStep[];
  edges: DesignEdge[];
}

/** Fields a transition may carry besides from/to (edited in the step form). */
export interface EdgeFields { when?: string; default?: boolean; on?: 'error' | 'timeout' | 'cancel'; error?: string }

export class DesignError extends Error {}

// `{id: a}` stays `{id: a}` (the yaml package would pad it to `{ id: a }` on every line).
const TO_STRING = { lineWidth: 0, flowCollectionPadding: false } as const;

/** The YAML as a Document, or a DesignError when it has syntax errors or no `steps:` list. */
export function openDocument(text: string): Document {
  const doc = parseDocument(text, { keepSourceTokens: false });
  if (doc.errors.length) throw new DesignError(`fix the YAML first: ${doc.errors[0]!.message.split('\n')[0]}`);
  if (!isMap(doc.contents)) throw new DesignError('the definition must be a mapping with a "steps:" list');
  return doc;
}

function stepsSeq(doc: Document, create = false): YAMLSeq {
  const seq = doc.get('steps', true);
  if (isSeq(seq)) return seq;
  if (!create) throw new DesignError('the definition has no "steps:" list');
  const fresh = doc.createNode([]) as YAMLSeq;
  doc.set('steps', fresh);
  return fresh;
}

function str(v: unknown): string | undefined {
  if (isScalar(v)) v = v.value;
  return typeof v === 'string' ? v : typeof v === 'number' ? String(v) : undefined;
}

function stepMaps(doc: Document): Array<{ map: YAMLMap; id: string; index: number }> {
  const seq = doc.get('steps', true);
  if (!isSeq(seq)) return [];
  const out: Array<{ map: YAMLMap; id: string; index: number }> = [];
  seq.items.forEach((item, index) => {
    if (isMap(item)) {
      const id = str(item.get('id', true));
      if (id !== undefined) out.push({ map: item, id, index });
    }
  });
  return out;
}

function findStep(doc: Document, id: string): { map: YAMLMap; index: number } {
  const found = stepMaps(doc).find((s) => s.id === id);
  if (!found) throw new DesignError(`no step "${id}"`);
  return found;
}

/** The graph drawn by the designer, read leniently (the definition need not be valid). */
export function readGraph(text: string): DesignGraph {
  const doc = parseDocument(text);
  const data = doc.errors.length ? undefined : (doc.toJS() as unknown);
  return graphOfData(data);
}

export function graphOfData(data: unknown): DesignGraph {
  const steps: DesignStep[] = [];
  const edges: DesignEdge[] = [];
  if (!isObject(data) || !Array.isArray(data.steps)) return { steps, edges };
  const ids = new Set<string>();
  data.steps.forEach((s, index) => {
    if (!isObject(s) || typeof s.id !== 'string' || ids.has(s.id)) return;
    ids.add(s.id);
    steps.push({ id: s.id, type: typeof s.type === 'string' ? s.type : '?', index, data: s });
  });
  for (const s of steps) {
    const next = s.data.next;
    if (typeof next === 'string') edges.push({ ref: { kind: 'next', from: s.id, to: next }, from: s.id, to: next });
    else if (Array.isArray(next)) {
      next.forEach((to, item) => {
        if (typeof to === 'string') edges.push({ ref: { kind: 'next', from: s.id, to, item }, from: s.id, to });
      });
    }
  }
  if (Array.isArray(data.transitions)) {
    data.transitions.forEach((t, index) => {
      if (!isObject(t) || typeof t.from !== 'string' || typeof t.to !== 'string') return;
      edges.push({
        ref: { kind: 'transition', from: t.from, to: t.to, index }, from: t.from, to: t.to,
        ...(typeof t.when === 'string' && { when: t.when }),
        ...(t.default === true && { default: true }),
        ...(typeof t.on === 'string' && { on: t.on }),
        ...((typeof t.error === 'string' || Array.isArray(t.error)) && { error: t.error as string | string[] }),
      });
    });
  }
  return { steps, edges };
}

/** Required fields a new step of each type starts with, so it is valid at once where possible. */
export function stepTemplate(type: StepType, id: string, ids: readonly string[]): Record<string, unknown> {
  const base: Record<string, unknown> = { id, type };
  switch (type) {
    case 'task': return { ...base, activity: 'noop' };
    case 'wait': return { ...base, event: 'event.name' };
    case 'timer': return { ...base, delay: '1m' };
    case 'human': return { ...base, title: 'Approve' };
    case 'subworkflow': return { ...base, workflow: 'child' };
    case 'loop': return { ...base, maxIterations: 3, body: ids.find((x) => x !== id) ?? id };
    case 'foreach': return { ...base, items: 'input.items', activity: 'noop' };
    default: return base;
  }
}

/** `task`, `task_2`, … : the first id of the form not yet taken. */
export function freshId(type: string, taken: Iterable<string>): string {
  const set = new Set(taken);
  if (!set.has(type)) return type;
  for (let n = 2; ; n++) if (!set.has(`${type}_${n}`)) return `${type}_${n}`;
}

/** New steps follow the style of the existing ones (`- {id: a, …}` or block). */
function usesFlowSteps(seq: YAMLSeq): boolean {
  const first = seq.items.find(isMap);
  return first ? first.flow === true : false;
}

export interface AddOptions {
  id?: string;
  /** Connect from this step to the new one. */
  after?: string;
  /**
   * With `after`: when that step has a single plain `next`, put the new step in between
   * (`a → b` becomes `a → new → b`) instead of adding a second arrow.
   */
  insert?: boolean;
}

export function addStep(text: string, type: StepType, opts: AddOptions = {}): { text: string; id: string } {
  if (!STEP_TYPES.includes(type)) throw new DesignError(`unknown step type "${type}"`);
  const doc = openDocument(text);
  const seq = stepsSeq(doc, true);
  const ids = stepMaps(doc).map((s) => s.id);
  const id = opts.id ?? freshId(type, ids);
  if (ids.includes(id)) throw new DesignError(`a step "${id}" already exists`);
  const template = stepTemplate(type, id, ids);
  if (opts.after && opts.insert) {
    const from = findStep(doc, opts.after).map;
    const next = from.get('next', true);
    if (isScalar(next) && typeof next.value === 'string') {
      template.next = next.value;
      from.delete('next');
    }
  }
  const node = doc.createNode(template, { flow: usesFlowSteps(seq) }) as YAMLMap;
  // Ends stay last in the file, as people write them: a new step goes before the first end.
  const firstEnd = type === 'end' ? -1 : seq.items.findIndex((item) => isMap(item) && str(item.get('type', true)) === 'end');
  if (firstEnd >= 0) seq.items.splice(firstEnd, 0, node);
  else seq.items.push(node);
  if (opts.after) addEdge(doc, opts.after, id);
  return { text: doc.toString(TO_STRING), id };
}

export function connect(text: string, from: string, to: string): string {
  const doc = openDocument(text);
  findStep(doc, to);
  addEdge(doc, from, to);
  return doc.toString(TO_STRING);
}

function addEdge(doc: Document, from: string, to: string): void {
  const { map } = findStep(doc, from);
  const existing = graphOfData(doc.toJS()).edges.some((e) => e.from === from && e.to === to);
  if (existing) return;
  const next = map.get('next', true);
  if (next === undefined || next === null) map.set('next', to);
  else if (isSeq(next)) next.items.push(doc.createNode(to));
  else {
    const list = doc.createNode([str(next) ?? String(next), to], { flow: true }) as YAMLSeq;
    map.set('next', list);
  }
}

export function disconnect(text: string, ref: EdgeRef): string {
  const doc = openDocument(text);
  removeEdge(doc, ref);
  return doc.toString(TO_STRING);
}

function removeEdge(doc: Document, ref: EdgeRef): void {
  if (ref.kind === 'transition') {
    const seq = doc.get('transitions', true);
    if (!isSeq(seq)) throw new DesignError('no transitions list');
    const item = seq.items[ref.index];
    if (!isMap(item) || str(item.get('from', true)) !== ref.from || str(item.get('to', true)) !== ref.to) throw new DesignError('the transition changed; try again');
    seq.items.splice(ref.index, 1);
    if (seq.items.length === 0) doc.delete('transitions');
    return;
  }
  const { map } = findStep(doc, ref.from);
  const next = map.get('next', true);
  if (isSeq(next)) {
    const i = next.items.findIndex((x) => str(x) === ref.to);
    if (i < 0) throw new DesignError(`"${ref.from}" has no next "${ref.to}"`);
    next.items.splice(i, 1);
    if (next.items.length === 1) map.set('next', next.items[0]);
    else if (next.items.length === 0) map.delete('next');
  } else if (str(next) === ref.to) map.delete('next');
  else throw new DesignError(`"${ref.from}" has no next "${ref.to}"`);
}

/**
 * Sets a transition's `when`/`default`/`on`/`error`. An arrow written as `next:` becomes an entry
 * of `transitions:` when it gains a field (and goes back to being a plain `next` never: the author's
 * `transitions:` list is theirs).
 */
export function updateEdge(text: string, ref: EdgeRef, fields: EdgeFields): string {
  const doc = openDocument(text);
  const clean = Object.fromEntries(Object.entries(fields).filter(([, v]) => v !== undefined && v !== '' && v !== false));
  if (ref.kind === 'next') {
    if (Object.keys(clean).length === 0) return doc.toString(TO_STRING);
    removeEdge(doc, ref);
    let seq = doc.get('transitions', true);
    if (!isSeq(seq)) {
      seq = doc.createNode([]) as YAMLSeq;
      doc.set('transitions', seq);
    }
    const flow = usesFlowSteps(stepsSeq(doc)) || (seq as YAMLSeq).items.some((i) => isMap(i) && i.flow);
    (seq as YAMLSeq).items.push(doc.createNode({ from: ref.from, to: ref.to, ...clean }, { flow }));
    return doc.toString(TO_STRING);
  }
  const seq = doc.get('transitions', true);
  const item = isSeq(seq) ? seq.items[ref.index] : undefined;
  if (!isMap(item)) throw new DesignError('the transition changed; try again');
  for (const key of ['when', 'default', 'on', 'error'] as const) {
    if (key in clean) item.set(key, clean[key]);
    else if (key in fields) item.delete(key);
  }
  return doc.toString(TO_STRING);
}

/** Removes a step and every arrow into or out of it. */
export function deleteStep(text: string, id: string): string {
  const doc = openDocument(text);
  const { index } = findStep(doc, id);
  for (const e of graphOfData(doc.toJS()).edges.filter((x) => x.to === id && x.ref.kind === 'next')) removeEdge(doc, e.ref);
  const seq = doc.get('transitions', true);
  if (isSeq(seq)) {
    seq.items = seq.items.filter((t) => !(isMap(t) && (str(t.get('from', true)) === id || str(t.get('to', true)) === id)));
    if (seq.items.length === 0) doc.delete('transitions');
  }
  stepsSeq(doc).items.splice(index, 1);
  return doc.toString(TO_STRING);
}

/** Fields of a step type (from the zod schema), in declaration order. */
export function fieldsOf(type: string): string[] {
  const variant = (StepSchema.options as Array<{ shape: Record<string, unknown> }>).find((o) => (o.shape.type as { value?: unknown }).value === type);
  return variant ? Object.keys(variant.shape) : [];
}

/**
 * Sets one field of a step (`undefined` or '' removes it). Renaming `id` renames every reference
 * (`next`, transitions, a loop's `body`, a join's `split`). Changing `type` drops the fields the
 * new type does not have and adds its required ones.
 */
export function setStepField(text: string, id: string, field: string, value: unknown): string {
  const doc = openDocument(text);
  const { map } = findStep(doc, id);
  if (field === 'id') {
    if (typeof value !== 'string' || value === '') throw new DesignError('a step needs an id');
    if (value !== id && stepMaps(doc).some((s) => s.id === value)) throw new DesignError(`a step "${value}" already exists`);
    renameReferences(doc, id, value);
    map.set('id', value);
    return doc.toString(TO_STRING);
  }
  if (field === 'type') {
    if (!STEP_TYPES.includes(value as StepType)) throw new DesignError(`unknown step type "${String(value)}"`);
    const keep = new Set(fieldsOf(value as string));
    for (const pair of [...map.items]) {
      const key = str(pair.key);
      if (key !== undefined && !keep.has(key)) map.delete(key);
    }
    map.set('type', value);
    const ids = stepMaps(doc).map((s) => s.id);
    for (const [k, v] of Object.entries(stepTemplate(value as StepType, id, ids))) if (!map.has(k)) map.set(k, v);
    return doc.toString(TO_STRING);
  }
  if (value === undefined || value === '') map.delete(field);
  else map.set(field, doc.createNode(value, { flow: true }));
  return doc.toString(TO_STRING);
}

function renameReferences(doc: Document, from: string, to: string): void {
  for (const { map } of stepMaps(doc)) {
    const next = map.get('next', true);
    if (isSeq(next)) next.items = next.items.map((x) => (str(x) === from ? doc.createNode(to) : x));
    else if (str(next) === from) map.set('next', to);
    for (const key of ['body', 'split']) if (str(map.get(key, true)) === from) map.set(key, to);
  }
  const seq = doc.get('transitions', true);
  if (isSeq(seq)) {
    for (const t of seq.items) {
      if (!isMap(t)) continue;
      for (const key of ['from', 'to']) if (str(t.get(key, true)) === from) t.set(key, to);
    }
  }
}

/** `1.2.3` → `1.2.4` (a missing version becomes `1.0.0`, then `1.0.1`). */
export function bumpVersion(text: string): { text: string; version: string } {
  const doc = openDocument(text);
  const current = str(doc.get('version', true));
  const m = current ? /^(\d+)\.(\d+)\.(\d+)/.exec(current) : null;
  const version = m ? `${m[1]}.${m[2]}.${Number(m[3]) + 1}` : '1.0.0';
  doc.set('version', version);
  return { text: doc.toString(TO_STRING), version };
}

/**
 * A deployed (normalised) definition as the YAML a person would write: plain arrows go back into
 * each step's `next`, so the editor does not open on a wall of `transitions`. A step keeps its
 * arrows in `transitions` when moving them would change their order (routing takes the first
 * match, and the loader appends `next` arrows after the listed ones). Normalising the result gives
 * back the same definition.
 */
export function definitionToYaml(def: Definition): string {
  const transitions = def.transitions ?? [];
  const plain = (t: (typeof transitions)[number]) =>
    Object.keys(t).every((k) => k === 'id' || k === 'from' || k === 'to') && (t.id === undefined || t.id.split('#')[0] === `${t.from}->${t.to}`);
  const movable = new Set<string>();
  for (const step of def.steps) {
    const own = transitions.filter((t) => t.from === step.id);
    const firstPlain = own.findIndex(plain);
    if (firstPlain >= 0 && own.slice(firstPlain).every(plain) && step.next === undefined) movable.add(step.id);
  }
  const steps = def.steps.map((step) => {
    if (!movable.has(step.id)) return step;
    const targets = transitions.filter((t) => t.from === step.id && plain(t)).map((t) => t.to);
    return { ...step, next: targets.length === 1 ? targets[0] : targets };
  });
  const kept = transitions.filter((t) => !(movable.has(t.from) && plain(t)));
  const out: Record<string, unknown> = { ...def, steps };
  if (kept.length) out.transitions = kept;
  else delete out.transitions;
  const doc = new Document(out);
  // Short lists of ids read best on one line: `next: [a, b]`.
  const seq = doc.get('steps', true);
  if (isSeq(seq)) for (const item of seq.items) if (isMap(item)) { const n = item.get('next', true); if (isSeq(n)) n.flow = true; }
  return doc.toString(TO_STRING);
}

/** The text a new definition starts from. */
export const NEW_DEFINITION = `# A new workflow: edit the YAML or draw it in the designer.
id: my-workflow
version: 1.0.0
steps:
  - id: start
    type: start
    next: work
  - id: work
    type: task
    activity: noop
    next: end
  - id: end
    type: end
`;

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}
