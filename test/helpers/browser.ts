/**
 * A real browser for UI tests: Debian's Chromium (`apt-get install -y chromium`) driven by
 * playwright-core — never a browser a tool downloads. Screenshots go to `test-artifacts/ui/`.
 *
 * Like PostgreSQL (helpers/pg.ts): without /usr/bin/chromium a UI test file skips with a LOUD
 * message, and with CI=true it fails (`.ci/run` installs Chromium).
 *
 * The UI must be built (dist/ui, by `npm run build` — `npm install`/`npm ci` run it through
 * `prepare`); `ensureUiBuilt()` builds it when it is missing or older than web/src.
 */
import { existsSync, mkdirSync, readdirSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { execFileSync } from 'node:child_process';
import { chromium, type Browser, type Page } from 'playwright-core';

export const CHROMIUM = process.env.WEFT_CHROMIUM || '/usr/bin/chromium';
export const ARTIFACTS = join(process.cwd(), 'test-artifacts', 'ui');
const CHROMIUM_FLAGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking',
  '--disable-quic', '--no-first-run', '--disable-component-update', '--disable-sync'];

export type BrowserSetup = { status: 'ready' } | { status: 'skip'; reason: string } | { status: 'fail'; reason: string };

export function browserTestSetup(): BrowserSetup {
  if (existsSync(CHROMIUM)) return { status: 'ready' };
  const reason = `Chromium is not installed at ${CHROMIUM}`;
  if (process.env.CI === 'true') return { status: 'fail', reason: `${reason}; CI=true requires it (.ci/run installs it)` };
  const bar = '!'.repeat(100);
  process.stderr.write(['', bar, '!!! CHROMIUM MISSING — the web UI browser tests are SKIPPED.', `!!! ${reason}`,
    '!!! Install it:  apt-get install -y chromium', '!!! With CI=true a missing Chromium is a test failure.', bar, '', ''].join('\n'));
  return { status: 'skip', reason };
}

function newest(dir: string): number {
  let t = 0;
  for (const name of readdirSync(dir)) {
    const p = join(dir, name);
    const s = statSync(p);
    t = Math.max(t, s.isDirectory() ? newest(p) : s.mtimeMs);
  }
  return t;
}

function uiIsStale(): boolean {
  const index = join(process.cwd(), 'dist', 'ui', 'index.html');
  return !existsSync(index) || statSync(index).mtimeMs < Math.max(newest(join(process.cwd(), 'web', 'src')), newest(join(process.cwd(), 'src', 'model')));
}

/**
 * Builds dist/ui when it is missing or older than the UI sources. Test files run in parallel and
 * Vite empties dist/ui before writing it, so one build at a time under a lock directory, and the
 * staleness is checked again once the lock is held (the file that waited finds it built).
 */
export function ensureUiBuilt(): void {
  if (!uiIsStale()) return;
  const lock = join(process.cwd(), 'dist', '.ui-build.lock');
  mkdirSync(join(process.cwd(), 'dist'), { recursive: true });
  const deadline = Date.now() + 180_000;
  for (;;) {
    try { mkdirSync(lock); break; } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      // A lock older than the deadline is left by a killed run.
      if (Date.now() - statSync(lock).mtimeMs > 180_000) { rmSync(lock, { recursive: true, force: true }); continue; }
      if (Date.now() > deadline) throw new Error(`waited 3 minutes for another UI build (${lock})`);
      Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 200);
    }
  }
  try {
    if (uiIsStale()) execFileSync(process.execPath, [join('node_modules', 'vite', 'bin', 'vite.js'), 'build', '--config', 'web/vite.config.ts', '--logLevel', 'warn'], { stdio: 'inherit' });
  } finally {
    rmSync(lock, { recursive: true, force: true });
  }
}

export async function launchBrowser(): Promise<Browser> {
  return chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_FLAGS, headless: true });
}

/** A page at 1280×800 (or the given size) that fails the test on any uncaught page error. */
export async function newPage(browser: Browser, size = { width: 1280, height: 800 }): Promise<{ page: Page; errors: string[] }> {
  const context = await browser.newContext({ viewport: size });
  const page = await context.newPage();
  const errors: string[] = [];
  page.on('pageerror', (e) => errors.push(e.message));
  page.on('console', (m) => { if (m.type() === 'error') errors.push(m.text()); });
  return { page, errors };
}

export async function screenshot(page: Page, name: string): Promise<string> {
  mkdirSync(ARTIFACTS, { recursive: true });
  const path = join(ARTIFACTS, `${name}.png`);
  await page.screenshot({ path, fullPage: false });
  return path;
}
