/**
 * Problems found in a definition are data (`DefinitionIssue`); `DefinitionError` carries all of
 * them when a caller wants an exception instead.
 */

export type IssueSeverity = 'error' | 'warning';

export interface DefinitionIssue {
  /** Stable rule id (`unreachable-step`, `unknown-field`, …), listed in docs/definitions.md. */
  rule: string;
  message: string;
  /** Path in the definition object, e.g. `['steps', 3, 'type']`. */
  path: (string | number)[];
  file?: string;
  /** 1-based. */
  line?: number;
  /** 1-based. */
  column?: number;
  severity: IssueSeverity;
}

/** `['steps', 3, 'type']` → `steps[3].type`. */
export function formatPath(path: readonly (string | number)[]): string {
  let out = '';
  for (const seg of path) {
    if (typeof seg === 'number') out += `[${seg}]`;
    else if (/^[A-Za-z_$][\w$-]*$/.test(seg)) out += out ? `.${seg}` : seg;
    else out += `[${JSON.stringify(seg)}]`;
  }
  return out;
}

/** `file:line:column` (whatever parts are known), or '' when nothing is. */
export function formatLocation(issue: Pick<DefinitionIssue, 'file' | 'line' | 'column'>): string {
  const parts: string[] = [];
  if (issue.file) parts.push(issue.file);
  if (issue.line !== undefined) {
    parts.push(String(issue.line));
    if (issue.column !== undefined) parts.push(String(issue.column));
  }
  return parts.join(':');
}

/** `file:line:column: message (at steps[3].type)`. */
export function formatIssue(issue: DefinitionIssue): string {
  const location = formatLocation(issue);
  const at = issue.path.length ? ` (at ${formatPath(issue.path)})` : '';
  const warning = issue.severity === 'warning' ? 'warning: ' : '';
  return `${location ? `${location}: ` : ''}${warning}${issue.message}${at}`;
}

export function hasErrors(issues: readonly DefinitionIssue[]): boolean {
  return issues.some((i) => i.severity === 'error');
}

export class DefinitionError extends Error {
  readonly code = 'invalid_definition';
  readonly issues: DefinitionIssue[];

  constructor(issues: DefinitionIssue[], summary?: string) {
    const errors = issues.filter((i) => i.severity === 'error');
    const head = summary ?? `invalid workflow definition: ${errors.length} error${errors.length === 1 ? '' : 's'}`;
    super([head, ...issues.map((i) => `  ${formatIssue(i)}`)].join('\n'));
    this.name = 'DefinitionError';
    this.issues = issues;
  }
}
