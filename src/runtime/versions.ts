/**
 * Semantic-version ranges for choosing a definition version: exact (`1.2.3`), `^1.2`, `~1.2.3`,
 * wildcards (`1.x`, `1.2.*`, `*`), comparators (`>=1.2.0 <2.0.0`) and alternatives (`a || b`).
 * Pre-releases sort before their release and are only matched by ranges naming them exactly.
 */
type Version = [number, number, number, string];

export function parseVersion(v: string): Version | undefined {
  const m = /^v?(\d+)\.(\d+)\.(\d+)(?:-([0-9A-Za-z.-]+))?(?:\+[0-9A-Za-z.-]+)?$/.exec(v.trim());
  return m ? [Number(m[1]), Number(m[2]), Number(m[3]), m[4] ?? ''] : undefined;
}

export function compareVersions(a: string, b: string): number {
  const x = parseVersion(a);
  const y = parseVersion(b);
  if (!x || !y) return a < b ? -1 : a > b ? 1 : 0;
  for (let i = 0; i < 3; i++) if (x[i] !== y[i]) return (x[i] as number) - (y[i] as number);
  if (x[3] === y[3]) return 0;
  if (x[3] === '') return 1;
  if (y[3] === '') return -1;
  return x[3] < y[3] ? -1 : 1;
}

type Comparator = (v: Version) => boolean;

function cmp(v: Version, w: Version): number {
  for (let i = 0; i < 3; i++) if (v[i] !== w[i]) return (v[i] as number) - (w[i] as number);
  if (v[3] === w[3]) return 0;
  if (v[3] === '') return 1;
  if (w[3] === '') return -1;
  return v[3] < w[3] ? -1 : 1;
}

/** `1`, `1.2`, `1.x`, `1.2.*` → the numeric parts given (undefined = wildcard). */
function partial(text: string): { parts: Array<number | undefined>; pre: string } | undefined {
  const m = /^v?(\d+|[xX*])(?:\.(\d+|[xX*]))?(?:\.(\d+|[xX*]))?(?:-([0-9A-Za-z.-]+))?$/.exec(text);
  if (!m) return undefined;
  const num = (s: string | undefined) => (s === undefined || /^[xX*]$/.test(s) ? undefined : Number(s));
  const parts = [num(m[1]), num(m[2]), num(m[3])];
  for (let i = 1; i < 3; i++) if (parts[i - 1] === undefined) parts[i] = undefined;
  return { parts, pre: m[4] ?? '' };
}

function floor(p: Array<number | undefined>, pre = ''): Version {
  return [p[0] ?? 0, p[1] ?? 0, p[2] ?? 0, pre];
}

function comparator(token: string): Comparator | undefined {
  const m = /^(\^|~|>=|<=|>|<|=)?(.+)$/.exec(token);
  if (!m) return undefined;
  const op = m[1] ?? '';
  const p = partial(m[2]);
  if (!p) return undefined;
  const [maj, min, pat] = p.parts;
  const lo = floor(p.parts, p.pre);
  const lt = (hi: Version) => (v: Version) => cmp(v, lo) >= 0 && cmp(v, hi) < 0;
  switch (op) {
    case '^':
      if (maj === undefined) return () => true;
      if (maj > 0 || min === undefined) return lt([maj + 1, 0, 0, '']);
      if (min > 0 || pat === undefined) return lt([0, min + 1, 0, '']);
      return lt([0, 0, pat + 1, '']);
    case '~':
      if (maj === undefined) return () => true;
      return min === undefined ? lt([maj + 1, 0, 0, '']) : lt([maj, min + 1, 0, '']);
    case '>=': return (v) => cmp(v, lo) >= 0;
    case '>': {
      if (pat !== undefined) return (v) => cmp(v, lo) > 0;
      const next: Version = min !== undefined ? [maj!, min + 1, 0, ''] : maj !== undefined ? [maj + 1, 0, 0, ''] : [Infinity, 0, 0, ''];
      return (v) => cmp(v, next) >= 0;
    }
    case '<': return (v) => cmp(v, lo) < 0;
    case '<=': {
      if (pat !== undefined) return (v) => cmp(v, lo) <= 0;
      const next: Version = min !== undefined ? [maj!, min + 1, 0, ''] : maj !== undefined ? [maj + 1, 0, 0, ''] : [Infinity, 0, 0, ''];
      return (v) => cmp(v, next) < 0;
    }
    default:
      if (maj === undefined) return () => true;
      if (min === undefined) return lt([maj + 1, 0, 0, '']);
      if (pat === undefined) return lt([maj, min + 1, 0, '']);
      return (v) => cmp(v, lo) === 0;
  }
}

/** Whether `version` satisfies `range`; throws on a range that does not parse. */
export function satisfies(version: string, range: string): boolean {
  const v = parseVersion(version);
  if (!v) return false;
  const alternatives = range.split('||').map((s) => s.trim());
  return alternatives.some((alt) => {
    const tokens = alt === '' ? ['*'] : alt.replace(/(>=|<=|>|<|=|\^|~)\s+/g, '$1').split(/\s+/);
    const comps = tokens.map((t) => {
      const c = comparator(t);
      if (!c) throw new Error(`invalid version range "${range}"`);
      return c;
    });
    // Pre-releases only match when the range names one on the same major.minor.patch.
    if (v[3] !== '' && !tokens.some((t) => { const p = partial(t.replace(/^(\^|~|>=|<=|>|<|=)/, '')); return p && p.pre !== '' && p.parts[0] === v[0] && p.parts[1] === v[1] && p.parts[2] === v[2]; })) return false;
    return comps.every((c) => c(v));
  });
}

/** The highest version in `versions` satisfying `range` (any when omitted). */
export function maxSatisfying(versions: Iterable<string>, range?: string): string | undefined {
  let best: string | undefined;
  for (const v of versions) {
    if (range !== undefined && !satisfies(v, range)) continue;
    if (range === undefined && parseVersion(v)?.[3]) continue; // "latest" skips pre-releases…
    if (best === undefined || compareVersions(v, best) > 0) best = v;
  }
  if (best === undefined && range === undefined) {
    for (const v of versions) if (best === undefined || compareVersions(v, best) > 0) best = v; // …unless that is all there is
  }
  return best;
}
