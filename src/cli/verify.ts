/**
 * `weft verify <files…> [--json] [--dot] [--pnml] [--max-states N] [--conditions simple] [--signals early]`: proves definitions sound (or shows the
 * shortest run into each problem). PNML files (`.pnml`) are verified as place/transition nets.
 * `--dot` prints the net of each file in Graphviz DOT instead; `--pnml` prints it as PNML (for a
 * definition: the verifier's state graph as a workflow net, see src/verify/net-export.ts). Exit code 1 when a file is not
 * sound, cannot be read, or its verdict is unknown.
 */
import { readFile } from 'node:fs/promises';
import { parseDefinition } from '../model/load.js';
import type { CliOutput } from './validate.js';
import { formatCliIssue } from './validate.js';
import { formatReport } from '../verify/report.js';
import { verifyDefinition, type VerificationReport } from '../verify/verify.js';
import { definitionToDot, netToDot } from '../verify/dot.js';
import { parsePnml, PnmlError, toPnml } from '../verify/pnml.js';
import { definitionToNet } from '../verify/net-export.js';
import { verifyNet } from '../verify/petri.js';

export interface VerifyCliOptions {
  json?: boolean;
  dot?: boolean;
  /** Print the net the verifier sees as PNML (for definitions: its state graph as a workflow net). */
  pnml?: boolean;
  maxStates?: number | string;
  /** `simple`: decide comparisons of `input.<path>` with literals per input class; `free` (default): every condition is a free choice. */
  conditions?: string;
  /** `early`: also explore signals sent before their wait starts (buffered by the core); `awaited` (default). */
  signals?: string;
}

export async function runVerify(files: string[], opts: VerifyCliOptions, out: CliOutput): Promise<number> {
  if (files.length === 0) {
    out.stderr('weft verify: no files given (usage: weft verify <file.yaml|file.json|file.pnml>… [--json] [--dot] [--pnml] [--max-states N] [--conditions simple|free] [--signals early|awaited])');
    return 1;
  }
  const maxStates = opts.maxStates === undefined ? undefined : Number(opts.maxStates);
  if (maxStates !== undefined && (!Number.isInteger(maxStates) || maxStates < 1)) {
    out.stderr(`weft verify: --max-states must be a positive integer, got "${opts.maxStates}"`);
    return 1;
  }
  if (opts.conditions !== undefined && opts.conditions !== 'simple' && opts.conditions !== 'free') {
    out.stderr(`weft verify: --conditions must be "simple" or "free", got "${opts.conditions}"`);
    return 1;
  }
  if (opts.signals !== undefined && opts.signals !== 'early' && opts.signals !== 'awaited') {
    out.stderr(`weft verify: --signals must be "early" or "awaited", got "${opts.signals}"`);
    return 1;
  }
  const semantics = {
    ...(opts.conditions !== undefined && { conditions: opts.conditions as 'simple' | 'free' }),
    ...(opts.signals !== undefined && { signals: opts.signals as 'early' | 'awaited' }),
  };
  let failed = 0;
  const results: Array<{ file: string; report?: VerificationReport; error?: string }> = [];
  for (const file of files) {
    let text: string;
    try {
      text = await readFile(file, 'utf8');
    } catch (err) {
      const e = err as NodeJS.ErrnoException;
      results.push({ file, error: e.code === 'ENOENT' ? `file not found: ${file}` : `cannot read ${file}: ${e.message}` });
      failed++;
      continue;
    }
    try {
      if (/\.pnml$/i.test(file) || /^\s*(<\?xml|<pnml)/.test(text)) {
        const net = parsePnml(text);
        if (opts.dot) {
          out.stdout(netToDot(net));
          continue;
        }
        if (opts.pnml) {
          out.stdout(toPnml(net));
          continue;
        }
        const report = await verifyNet(net, { maxStates });
        results.push({ file, report });
        if (!report.sound) failed++;
        continue;
      }
      const { definition, issues } = parseDefinition(text, { file });
      const errors = issues.filter((i) => i.severity === 'error');
      if (!definition || errors.length) {
        results.push({ file, error: `the definition is invalid (run weft validate):\n${errors.map((i) => formatCliIssue({ ...i, file: i.file ?? file })).join('\n')}` });
        failed++;
        continue;
      }
      if (opts.dot) {
        out.stdout(definitionToDot(definition));
        continue;
      }
      if (opts.pnml) {
        out.stdout(toPnml(await definitionToNet(definition, { maxStates, ...semantics })));
        continue;
      }
      const report = await verifyDefinition(definition, { maxStates, ...semantics });
      results.push({ file, report });
      if (!report.sound) failed++;
    } catch (err) {
      const message = err instanceof PnmlError ? `${file}: ${err.message}` : `${file}: ${(err as Error).message}`;
      results.push({ file, error: message });
      failed++;
    }
  }
  if (opts.dot || opts.pnml) {
    for (const r of results) if (r.error) out.stderr(`${r.file}: ${r.error.startsWith(r.file) ? r.error.slice(r.file.length + 2) : r.error}`);
    return failed ? 1 : 0;
  }
  if (opts.json) {
    out.stdout(JSON.stringify({ sound: failed === 0, files: results }, null, 2));
    return failed ? 1 : 0;
  }
  for (const r of results) {
    if (r.error) out.stderr(`${r.file}: ${r.error.startsWith(r.file) ? r.error.slice(r.file.length + 2) : r.error}`);
    else out.stdout(formatReport(r.report!, r.file));
  }
  if (files.length > 1) out.stdout(`${files.length - failed} of ${files.length} files sound`);
  return failed ? 1 : 0;
}
