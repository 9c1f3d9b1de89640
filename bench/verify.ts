/**
 * Verification benchmark: the 200-step definition (10 parallel branches × 20 steps, sound and
 * with a deadlock) and every example. Prints JSON lines
 * `{"name":"verify-…","backend":"core","ms":…,"states":…}`. `bench/run.ts` calls `benchVerify`;
 * run alone with `node --import tsx bench/verify.ts`.
 */
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadDefinitionOrThrow } from '../src/model/load-file.js';
import type { Definition } from '../src/model/schema.js';
import { verifyDefinition } from '../src/verify/verify.js';
import { wideDefinition } from '../src/verify/samples.js';

export interface VerifyBenchLine { name: string; backend: 'core'; ms: number; states: number; verdict: string; fullStates?: number }

async function measure(name: string, def: Definition, runs: number): Promise<VerifyBenchLine> {
  await verifyDefinition(def); // warm-up: JIT, compiled schemas, expression cache
  let best = Infinity;
  let states = 0;
  let verdict = '';
  let fullStates: number | undefined;
  for (let i = 0; i < runs; i++) {
    const t0 = performance.now();
    const r = await verifyDefinition(def);
    best = Math.min(best, performance.now() - t0);
    states = r.stats.states;
    verdict = r.verdict;
    fullStates = r.stats.fullStates;
  }
  return { name, backend: 'core', ms: Math.round(best * 100) / 100, states, verdict, ...(fullStates !== undefined && { fullStates }) };
}

export async function benchVerify(print: (line: string) => void = (l) => console.log(l), opts: { runs?: number } = {}): Promise<VerifyBenchLine[]> {
  const runs = opts.runs ?? 3;
  const lines: VerifyBenchLine[] = [];
  const emit = (l: VerifyBenchLine) => { lines.push(l); print(JSON.stringify(l)); };
  emit(await measure('verify-200-steps-10x20', wideDefinition(10, 20), runs));
  emit(await measure('verify-200-steps-10x20-deadlock', wideDefinition(10, 20, { deadlock: true }), runs));
  // CTL properties and resources need the unreduced graph: 4 branches × 3 steps, all using `db`.
  const props = wideDefinition(4, 3);
  props.metadata = { 'resource.db': 4 };
  props.steps = props.steps.map((st) => (st.type === 'task' ? { ...st, uses: { db: 1 } } : st));
  props.properties = ['AG EF ended', 'EF completed', 'AG (failed -> !completed)'];
  emit(await measure('verify-ctl-resources-4x3', props, runs));
  const dir = join(fileURLToPath(new URL('..', import.meta.url)), 'examples');
  for (const f of readdirSync(dir).filter((x) => x.endsWith('.yaml') && !x.includes('answers')).sort()) {
    emit(await measure(`verify-example-${f.replace(/\.yaml$/, '')}`, await loadDefinitionOrThrow(join(dir, f)), runs));
  }
  return lines;
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  await benchVerify();
}
