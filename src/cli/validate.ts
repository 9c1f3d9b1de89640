/**
 * `weft validate <files…>`: checks definition files and prints every issue as
 * `file:line:col  error  message  [rule]`, then a summary. A definition that passes every rule is
 * also verified (soundness, as `weft verify` does): an unsound one is an error with rule
 * `unsound` and its shortest counterexample. Exit code 1 when any error was found.
 */
import { loadDefinitionFile } from '../model/load-file.js';
import { formatLocation, formatPath, type DefinitionIssue } from '../model/errors.js';
import { formatReport } from '../verify/report.js';
import { verifyDefinition, type VerificationReport } from '../verify/verify.js';

export interface ValidateCliOptions {
  /** Print one JSON document instead of text. */
  json?: boolean;
}

export interface CliOutput {
  stdout: (s: string) => void;
  stderr: (s: string) => void;
}

export async function runValidate(files: string[], opts: ValidateCliOptions, out: CliOutput): Promise<number> {
  if (files.length === 0) {
    out.stderr('weft validate: no files given (usage: weft validate <file.yaml|file.json>…)');
    return 1;
  }
  const results: { file: string; valid: boolean; issues: DefinitionIssue[]; verification?: VerificationReport }[] = [];
  for (const file of files) {
    const { definition, issues } = await loadDefinitionFile(file);
    let valid = definition !== undefined && !issues.some((i) => i.severity === 'error');
    let verification: VerificationReport | undefined;
    if (valid && definition) {
      verification = await verifyDefinition(definition, { soundnessOnly: true });
      if (verification.verdict === 'unsound') {
        valid = false;
        const first = verification.problems.find((p) => p.severity === 'error');
        issues.push({ rule: 'unsound', severity: 'error', path: [], file, message: `the workflow is not sound: ${first?.message ?? 'see weft verify'} (weft verify ${file} shows the shortest run into it)` });
      }
    }
    results.push({ file, valid, issues, ...(verification && { verification }) });
  }
  const all = results.flatMap((r) => r.issues);
  const errors = all.filter((i) => i.severity === 'error').length;
  const warnings = all.length - errors;

  if (opts.json) {
    out.stdout(JSON.stringify({ valid: errors === 0, errors, warnings, files: results }, null, 2));
    return errors ? 1 : 0;
  }
  for (const r of results) {
    for (const issue of r.issues) out.stdout(formatCliIssue({ ...issue, file: issue.file ?? r.file }));
    if (r.verification && r.verification.verdict !== 'sound') out.stdout(formatReport(r.verification, r.file, { info: false }));
  }
  const invalid = results.filter((r) => !r.valid).length;
  const count = (n: number, word: string) => `${n} ${word}${n === 1 ? '' : 's'}`;
  out.stdout(errors === 0
    ? `${count(files.length, 'file')} valid${warnings ? `, ${count(warnings, 'warning')}` : ''}`
    : `${count(errors, 'error')}, ${count(warnings, 'warning')} in ${count(invalid, 'file')} (${count(files.length, 'file')} checked)`);
  return errors ? 1 : 0;
}

/** `file:line:col  error  message (at steps[2].type)  [rule]`. */
export function formatCliIssue(issue: DefinitionIssue): string {
  const at = issue.path.length ? ` (at ${formatPath(issue.path)})` : '';
  return `${formatLocation(issue)}  ${issue.severity}  ${issue.message}${at}  [${issue.rule}]`;
}
