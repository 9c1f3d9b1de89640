// Accessibility and narrow-screen audit of the web UI (issue 6): a real `weft server` with data
// (definitions, instances in several states incl. one waiting for a person, a remote worker, a
// schedule) and real Chromium. Every page at 1280×800 and at 390×844: axe-core finds no
// serious/critical violations, nothing scrolls the page sideways at 390 px, and every visible
// interactive control is reached by Tab and has an accessible name. Screenshots: a11y-*.png.
import { after, afterEach, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { startServer, type RunningServer } from '../src/api/start.js';
import type { Definition } from '../src/model/schema.js';
import { WeftClient } from '../src/sdk/client.js';
import { browserTestSetup, ensureUiBuilt, launchBrowser, newPage, screenshot } from './helpers/browser.js';

const setup = browserTestSetup();
const AXE = join(process.cwd(), 'node_modules', 'axe-core', 'axe.min.js');
const WAIT = { timeout: 15_000 };
const SIZES = { wide: { width: 1280, height: 800 }, narrow: { width: 390, height: 844 } };

const QUICK = {
  id: 'quick', version: '1.0.0', description: 'One in-process task.',
  input: { type: 'object', properties: { n: { type: 'integer' } } },
  steps: [
    { id: 'start', type: 'start', next: 'a' },
    { id: 'a', type: 'task', activity: 'noop', next: 'end' },
    { id: 'end', type: 'end' },
  ],
} as Definition;

const REMOTE = {
  id: 'remote', version: '1.0.0',
  steps: [
    { id: 'start', type: 'start', next: 'work' },
    { id: 'work', type: 'task', activity: 'remote.work', next: 'end' },
    { id: 'end', type: 'end' },
  ],
} as Definition;

const REVIEW = {
  id: 'review', version: '1.0.0',
  steps: [
    { id: 'start', type: 'start', next: 'approve' },
    {
      id: 'approve', type: 'human', title: 'Approve the refund', assignees: { users: ['ann'] },
      form: {
        type: 'object', required: ['amount', 'decision'],
        properties: {
          amount: { type: 'integer', title: 'Amount', minimum: 1, description: 'In euros' },
          decision: { type: 'string', enum: ['refund', 'credit'] },
          note: { type: 'string' },
          urgent: { type: 'boolean' },
        },
      },
      next: 'end',
    },
    { id: 'end', type: 'end' },
  ],
} as Definition;

interface AxeViolation { id: string; impact: string | null; help: string; nodes: Array<{ target: unknown[]; any: Array<{ message: string }> }> }

/** axe-core over the whole document; serious and critical violations, one line per rule. */
async function axeProblems(page: Page): Promise<string[]> {
  if (!await page.evaluate(() => 'axe' in window)) await page.addScriptTag({ path: AXE });
  const violations = await page.evaluate(async () => {
    const result = await (window as unknown as { axe: { run(): Promise<{ violations: AxeViolation[] }> } }).axe.run();
    return result.violations.map((v) => ({ id: v.id, impact: v.impact, help: v.help, nodes: v.nodes.map((n) => ({ target: n.target, why: n.any[0]?.message ?? '' })) }));
  });
  return violations.filter((v) => v.impact === 'serious' || v.impact === 'critical')
    .map((v) => `${v.impact} ${v.id} (${v.help}): ${v.nodes.map((n) => `${n.target.join(' ')} [${n.why}]`).join(', ')}`);
}

/** Marks every visible, enabled interactive control with data-a11y-id and returns how many. */
async function markControls(page: Page): Promise<number> {
  return page.evaluate(() => {
    const selector = 'a[href], button, input:not([type="hidden"]), select, textarea, summary, [tabindex]:not([tabindex="-1"]), [contenteditable="true"]';
    let n = 0;
    for (const el of document.querySelectorAll<HTMLElement>(selector)) {
      el.removeAttribute('data-a11y-id');
      if ((el as HTMLButtonElement).disabled || el.closest('[inert]')) continue;
      if (!el.checkVisibility({ checkOpacity: false, checkVisibilityCSS: true })) continue;
      // Off-screen controls (the skip link until it has focus) count: checkVisibility is about
      // display/visibility, not position.
      el.setAttribute('data-a11y-id', String(n++));
    }
    return n;
  });
}

/** Tabs from the top of the page until focus leaves the document or wraps; the controls reached. */
async function tabThrough(page: Page, count: number): Promise<Set<string>> {
  await page.evaluate(() => { (document.activeElement as HTMLElement | null)?.blur(); window.scrollTo(0, 0); });
  const reached = new Set<string>();
  for (let i = 0; i < count + 20; i++) {
    await page.keyboard.press('Tab');
    const id = await page.evaluate(() => document.activeElement?.closest('[data-a11y-id]')?.getAttribute('data-a11y-id') ?? null);
    if (id === null) { if (i > 0 && reached.size >= count) break; continue; }
    if (reached.has(id) && reached.size >= count) break;
    reached.add(id);
  }
  return reached;
}

/** Controls without an accessible name, computed by axe-core's own accessible-name algorithm. */
async function unnamedControls(page: Page): Promise<string[]> {
  return page.evaluate(() => {
    type Axe = { setup(n?: Node): unknown; teardown(): void; utils: { getNodeFromTree(el: Element): unknown }; commons: { text: { accessibleTextVirtual(v: unknown): string } } };
    const axe = (window as unknown as { axe: Axe }).axe;
    axe.setup(document);
    try {
      const out: string[] = [];
      for (const el of document.querySelectorAll<HTMLElement>('[data-a11y-id]')) {
        const name = axe.commons.text.accessibleTextVirtual(axe.utils.getNodeFromTree(el)).trim();
        if (!name) out.push(el.outerHTML.slice(0, 160));
      }
      return out;
    } finally { axe.teardown(); }
  });
}

/**
 * The marked controls Tab did not reach. A radio group is one tab stop (arrow keys move inside
 * it), so a radio counts as reached when any radio of its group was.
 */
async function unreached(page: Page, reached: Set<string>): Promise<string[]> {
  // No named helper functions in here: tsx wraps them in a `__name` call the page does not have.
  return page.evaluate((ids) => {
    const out: string[] = [];
    for (const el of document.querySelectorAll('[data-a11y-id]')) {
      if (ids.includes(el.getAttribute('data-a11y-id')!)) continue;
      if (el instanceof HTMLInputElement && el.type === 'radio' && el.name !== ''
        && [...document.querySelectorAll(`input[type="radio"][name="${CSS.escape(el.name)}"]`)]
          .some((r) => r.closest('form') === el.closest('form') && ids.includes(r.getAttribute('data-a11y-id') ?? ''))) continue;
      out.push(el.outerHTML.slice(0, 160));
    }
    return out;
  }, [...reached]);
}

describe('web UI accessibility (axe-core, keyboard, 390 px)', { skip: setup.status === 'skip' ? setup.reason : false, timeout: 240_000 }, () => {
  let server: RunningServer;
  let browser: Browser;
  let client: WeftClient;
  let waitingId = '';
  let failedId = '';
  const errors: string[][] = [];
  let open: Page[] = [];

  before(async () => {
    if (setup.status === 'fail') throw new Error(setup.reason);
    ensureUiBuilt();
    server = await startServer({ db: ':memory:', port: 0, metrics: { intervalMs: 500 } });
    client = new WeftClient(server.url, { timeoutMs: 10_000 });
    for (const d of [QUICK, REMOTE, REVIEW]) await client.deploy(d);
    // Instances in several states: completed, running (a remote task), waiting for a person,
    // terminated, paused, failed.
    const done = (await client.start({ definitionId: 'quick', input: { n: 1 } })).id;
    await server.engine.waitUntilDone(done, { timeoutMs: 10_000 });
    const running = (await client.start({ definitionId: 'remote', labels: { team: 'blue' } })).id;
    await server.engine.waitUntil(running, (s) => s.status === 'running', { timeoutMs: 10_000 });
    waitingId = (await client.start({ definitionId: 'review', input: { order: 7 } })).id;
    await server.engine.waitUntil(waitingId, (s) => Object.keys(s.active).some((r) => r.startsWith('approve')), { timeoutMs: 10_000 });
    const cancelled = (await client.start({ definitionId: 'remote' })).id;
    await client.terminate(cancelled);
    const paused = (await client.start({ definitionId: 'remote' })).id;
    await server.engine.waitUntil(paused, (s) => s.status === 'running', { timeoutMs: 10_000 });
    await client.pause(paused);
    const rejected = failedId = (await client.start({ definitionId: 'review' })).id;
    await server.engine.waitUntil(rejected, (s) => Object.keys(s.active).some((r) => r.startsWith('approve')), { timeoutMs: 10_000 });
    const [task] = await client.inbox({ instanceId: rejected });
    await client.rejectTask(rejected, task!.task.taskId, 'not needed');
    assert.equal((await server.engine.waitUntilDone(rejected, { timeoutMs: 10_000 })).status, 'failed');
    // A remote worker registers by polling (for another activity, so the running task stays put).
    await client.pollTasks('w-a11y', { activities: ['remote.other'], capacity: 4, waitMs: 0 });
    await client.createSchedule({ id: 'nightly', definitionId: 'quick', cron: '0 3 * * *', timezone: 'Europe/Paris' });
    browser = await launchBrowser();
  });
  afterEach(async () => {
    for (const p of open) await p.context().close();
    open = [];
  });
  after(async () => {
    await browser?.close();
    await server?.close();
    // The workers page asks for /api/v1/nodes, which a single server may not have (404).
    assert.deepEqual(errors.flat().filter((e) => !/^Failed to load resource: the server responded with a status of 404 /.test(e)), []);
  });

  const pages: Array<{ name: string; hash: () => string; ready: (p: Page) => Promise<void> }> = [
    { name: 'dashboard', hash: () => '#/', ready: async (p) => { await p.locator('[data-totals]').waitFor(WAIT); await p.locator('[data-chart="throughput"] svg').waitFor(WAIT); } },
    { name: 'definitions', hash: () => '#/definitions', ready: (p) => p.locator('tr[data-id="review"] [data-verdict="sound"]').waitFor(WAIT) },
    { name: 'definition', hash: () => '#/definitions/review', ready: (p) => p.locator('[data-verdict="sound"]').first().waitFor(WAIT) },
    { name: 'instances', hash: () => '#/instances', ready: (p) => p.locator(`tr[data-id="${waitingId}"]`).waitFor(WAIT) },
    {
      // With the waiting step selected from the keyboard, so its panel (runs, commands) is audited too.
      name: 'instance', hash: () => `#/instances/${encodeURIComponent(waitingId)}`,
      ready: async (p) => {
        const node = p.locator('[data-step="approve"][data-state="waiting"]');
        await node.waitFor(WAIT);
        await node.focus();
        await p.keyboard.press('Enter');
        await p.locator('.inst-panel').getByRole('heading', { name: /approve/i }).first().waitFor(WAIT);
      },
    },
    { name: 'instance-failed', hash: () => `#/instances/${encodeURIComponent(failedId)}`, ready: (p) => p.locator('#inst-status [data-status="failed"]').waitFor(WAIT) },
    {
      name: 'inbox', hash: () => '#/inbox',
      ready: async (p) => {
        const card = p.locator(`li.task[data-task^="${waitingId}"]`);
        await card.waitFor(WAIT);
        await card.getByRole('button', { name: 'Open form' }).click();
        await card.getByLabel(/^Amount/).waitFor(WAIT);
      },
    },
    { name: 'workers', hash: () => '#/workers', ready: (p) => p.locator('tr[data-worker="w-a11y"]').waitFor(WAIT) },
    { name: 'schedules', hash: () => '#/schedules', ready: (p) => p.locator('tr[data-schedule="nightly"]').waitFor(WAIT) },
    { name: 'editor', hash: () => '#/editor/review', ready: async (p) => { await p.locator('.ed-node').first().waitFor(WAIT); await p.locator('[data-verdict]').first().waitFor(WAIT); } },
  ];

  for (const { name, hash, ready } of pages) {
    for (const [sizeName, size] of Object.entries(SIZES)) {
      test(`${name} at ${size.width}×${size.height}`, async () => {
        const { page: p, errors: pageErrors } = await newPage(browser, size);
        errors.push(pageErrors);
        open.push(p);
        await p.goto(`${server.url}/${hash()}`);
        await ready(p);
        await screenshot(p, `a11y-${name}-${sizeName}`);

        const problems = (await axeProblems(p)).map((line) => `axe-core: ${line}`);
        if (sizeName === 'narrow') {
          const widths = await p.evaluate(() => ({ scroll: document.documentElement.scrollWidth, inner: innerWidth }));
          if (widths.scroll > widths.inner) problems.push(`scrolls sideways at ${widths.inner}px: the content is ${widths.scroll}px wide`);
        }
        const count = await markControls(p);
        assert.ok(count > 0, 'the page has controls');
        for (const el of await unnamedControls(p)) problems.push(`no accessible name: ${el}`);
        const reached = await tabThrough(p, count);
        for (const el of await unreached(p, reached)) problems.push(`Tab never reaches: ${el}`);
        assert.deepEqual(problems, [], `${name} at ${size.width}×${size.height}:\n${problems.join('\n')}`);
      });
    }
  }

  test('focus is visible: a focused control draws an outline', async () => {
    const { page: p } = await newPage(browser, SIZES.wide);
    open.push(p);
    await p.goto(`${server.url}/#/schedules`);
    await p.locator('tr[data-schedule="nightly"]').waitFor(WAIT);
    // One control of each kind, reached from the keyboard (:focus-visible applies).
    for (const selector of ['#nav a', 'tr[data-schedule="nightly"] button', '.schedule-form input', '.schedule-form select']) {
      const target = p.locator(selector).first();
      await target.focus();
      await p.keyboard.press('Shift+Tab');
      await p.keyboard.press('Tab');
      const outline = await target.evaluate((el) => { const s = getComputedStyle(el); return { style: s.outlineStyle, width: parseFloat(s.outlineWidth) }; });
      assert.ok(outline.style !== 'none' && outline.width >= 2, `${selector}: focus outline ${JSON.stringify(outline)}`);
    }
  });
});
