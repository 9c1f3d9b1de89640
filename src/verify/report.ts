/** Plain-words rendering of a verification report (used by `weft verify` and `weft validate`). */
import type { Problem, TraceEntry, VerificationReport } from './verify.js';

export interface FormatOptions {
  /** Longest trace printed in full; longer ones are elided in the middle. */
  maxTrace?: number;
  /** Print `info` problems too (default true). */
  info?: boolean;
}

export function formatTrace(trace: TraceEntry[], max = 30, indent = '      '): string[] {
  const lines = trace.map((t, i) => `${indent}${i + 1}. ${t.text}${t.choices.length ? ` — ${t.choices.join('; ')}` : ''}`);
  if (lines.length <= max) return lines;
  const head = Math.ceil(max / 2);
  const tail = max - head;
  return [...lines.slice(0, head), `${indent}… ${lines.length - max} more …`, ...lines.slice(lines.length - tail)];
}

export function formatProblem(p: Problem, opts: FormatOptions = {}): string[] {
  const out = [`  ${p.severity === 'error' ? '✗' : p.severity === 'warning' ? '!' : 'i'} ${p.message}  [${p.kind}]`];
  if (p.trace?.length) {
    out.push('    shortest path:');
    out.push(...formatTrace(p.trace, opts.maxTrace ?? 30));
  }
  return out;
}

export function formatReport(r: VerificationReport, file?: string, opts: FormatOptions = {}): string {
  const lines: string[] = [];
  const name = file ? `${file} (${r.id})` : r.id;
  const verdict = r.verdict === 'sound' ? 'SOUND' : r.verdict === 'unsound' ? 'NOT SOUND' : 'UNKNOWN';
  lines.push(`${name}: ${verdict}`);
  lines.push(`  ${r.stats.states} states, ${r.stats.edges} transitions${r.stats.reduced ? ' (partial-order reduced)' : ''}, ${r.stats.ms} ms`);
  if (r.verdict === 'sound') {
    lines.push(r.kind === 'definition'
      ? '  every run can end, no join waits forever, every step can run'
      : r.net?.workflowNet ? '  the workflow net is sound: the final marking is always reachable, properly, and every transition can fire'
        : '  no reachable marking is dead (deadlock-free) and the net is bounded');
  }
  if (r.conditions && r.conditions.classes.length) {
    lines.push(`  conditions decided per input class (${r.conditions.classes.length}): ${r.conditions.classes.map((c) => `"${c}"`).join('; ')}`);
  }
  if (r.signals === 'early') lines.push('  signals may arrive before their wait starts (buffered)');
  if (r.ends.length) lines.push(`  runs can end: ${r.ends.map((e) => e.outcome).join(', ')}`);
  if (r.net) lines.push(`  ${r.net.bounded ? `bounded (at most ${r.net.maxTokens} token${r.net.maxTokens === 1 ? '' : 's'} per place${r.net.safe ? ', safe' : ''})` : 'UNBOUNDED'}`);
  const shown = r.problems.filter((p) => opts.info !== false || p.severity !== 'info');
  for (const p of shown) lines.push(...formatProblem(p, opts));
  for (const p of r.properties ?? []) {
    const mark = p.status === 'unknown' ? '?' : p.holds ? '✓' : '✗';
    const label = p.builtin ? `${p.formula} (${p.name}${p.formula.startsWith('AF') ? ', under fairness' : ''})` : `property ${p.name}: ${p.formula}`;
    lines.push(`  ${mark} ${label}${p.status === 'unknown' ? ` — unknown: ${p.error}` : p.holds ? ' holds' : ' fails'}`);
    // Failed user properties are listed with their trace as problems; show witnesses here.
    if (p.trace && p.holds && p.traceKind === 'witness') {
      lines.push(`    witness${p.traceNote ? ` (${p.traceNote})` : ''}:`);
      lines.push(...formatTrace(p.trace, Math.min(opts.maxTrace ?? 30, 10)));
    }
  }
  if (r.resources?.resources.length) {
    for (const res of r.resources.resources) {
      lines.push(`  ${res.overAllocated ? '✗' : '✓'} resource ${res.name}: peak ${res.peak}${res.partial ? '+' : ''} of ${res.capacity ?? '(undeclared)'}${res.peakSteps.length ? ` (${res.peakSteps.map((s) => `\`${s}\``).join(', ')} at once)` : ''}`);
    }
  }
  if (r.time && r.time.criticalPath.length) {
    lines.push(`  time: ${fmtMs(r.time.minMs)} … ${fmtMs(r.time.maxMs)}${r.time.timeoutMs !== undefined ? ` (timeout ${fmtMs(r.time.timeoutMs)})` : ''}; critical path ${r.time.criticalPath.map((s) => `\`${s}\``).join(' → ')}`);
  }
  return lines.join('\n');
}

export function fmtMs(ms: number): string {
  if (!Number.isFinite(ms)) return '∞';
  if (ms < 1000) return `${ms} ms`;
  if (ms < 60_000) return `${+(ms / 1000).toFixed(1)} s`;
  if (ms < 3_600_000) return `${+(ms / 60_000).toFixed(1)} min`;
  if (ms < 86_400_000) return `${+(ms / 3_600_000).toFixed(1)} h`;
  return `${+(ms / 86_400_000).toFixed(1)} d`;
}
