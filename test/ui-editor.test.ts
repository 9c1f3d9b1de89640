// The definition editor in a real browser against a real `weft server`: inline diagnostics from
// the engine's validator, schema completion, the designer (round trip with the YAML), the
// verifier's deadlock with its trace on the graph, deploy, keyboard use, two screen sizes.
import { after, afterEach, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import type { Browser, Page } from 'playwright-core';
import { startServer, type RunningServer } from '../src/api/start.js';
import { browserTestSetup, ensureUiBuilt, launchBrowser, newPage, screenshot } from './helpers/browser.js';

const setup = browserTestSetup();

/** The editor's text (CodeMirror keeps only the visible lines in the DOM: read its state). */
async function yamlText(page: Page): Promise<string> {
  return page.evaluate(() => {
    const el = document.querySelector('#ed-cm') as HTMLElement & { editorView: { state: { doc: { toString(): string } } } };
    return el.editorView.state.doc.toString();
  });
}

async function setYaml(page: Page, text: string): Promise<void> {
  await page.evaluate((t) => {
    const el = document.querySelector('#ed-cm') as HTMLElement & { editorView: { state: { doc: { length: number } }; dispatch(tr: unknown): void } };
    const view = el.editorView;
    view.dispatch({ changes: { from: 0, to: view.state.doc.length, insert: t } });
  }, text);
}

const UNSOUND = readFileSync('test/fixtures/definitions/unsound-join.yaml', 'utf8');

describe('definition editor', { skip: setup.status === 'skip' ? setup.reason : false }, () => {
  let server: RunningServer;
  let browser: Browser;
  before(async () => {
    if (setup.status === 'fail') throw new Error(setup.reason);
    ensureUiBuilt();
    server = await startServer({ db: ':memory:', port: 0 });
    browser = await launchBrowser();
  });
  // Each test's page is closed after it (an open page keeps its verifier worker).
  const open: Page[] = [];
  async function fresh(size?: { width: number; height: number }) {
    const r = await newPage(browser, size);
    open.push(r.page);
    return r;
  }
  afterEach(async () => {
    for (const p of open.splice(0)) await p.context().close();
  });
  after(async () => {
    await browser?.close();
    await server?.close();
  });

  const step = (page: Page, id: string) => page.locator(`.ed-designer [data-step="${id}"]`);
  async function select(page: Page, id: string): Promise<void> {
    await step(page, id).click();
    await page.locator('.ed-props h2', { hasText: id }).waitFor();
  }
  async function addAfter(page: Page, after: string, type: string): Promise<void> {
    await select(page, after);
    await page.locator(`.ed-pal[data-type="${type}"]`).click();
  }
  async function arrow(page: Page, from: string, to: string): Promise<void> {
    await select(page, from);
    await page.locator('#ed-connect-to').selectOption(to);
    await page.getByRole('button', { name: 'Add arrow', exact: true }).click();
    await page.locator(`.ed-designer .ed-edge[data-from="${from}"][data-to="${to}"]`).waitFor({ state: 'attached' });
  }
  /** The verdict for the current text (not one still shown for an older text). */
  const verdict = (page: Page, v: string) => page.locator(`#ed-verification:not(.ed-stale) [data-verdict="${v}"]`);
  async function openEditor(page: Page, hash = '#/editor'): Promise<void> {
    await page.goto(`${server.url}/${hash}`);
    try {
      await page.locator('.cm-content').waitFor();
      await page.locator('[data-verdict]').waitFor();
    } catch (err) {
      // What the page shows instead, for the failure message.
      await screenshot(page, 'editor-open-failed');
      throw new Error(`${(err as Error).message}\npage: ${await page.locator('#view').textContent()}\nhash: ${await page.evaluate(() => location.hash)}`);
    }
  }

  test('typing YAML with an error shows the engine\'s diagnostic inline, at the right line', async () => {
    const { page, errors } = await fresh();
    await openEditor(page);
    await setYaml(page, 'id: bad\nsteps:\n  - id: start\n    type: start\n    next: end\n  - id: end\n    type: finish\n');
    const range = page.locator('.cm-lintRange-error').first();
    await range.waitFor();
    // The underline sits in the 7th line (`type: finish`), where the loader puts the issue.
    const line = await range.evaluate((el) => {
      const lineEl = el.closest('.cm-line')!;
      return { index: [...lineEl.parentElement!.children].filter((c) => c.classList.contains('cm-line')).indexOf(lineEl) + 1, text: lineEl.textContent };
    });
    assert.deepEqual(line, { index: 7, text: '    type: finish' });
    await page.locator('.ed-issue', { hasText: 'unknown step type "finish"' }).waitFor();
    assert.match(await page.locator('.ed-issue').first().textContent() ?? '', /line 7.*unknown step type "finish".*\[unknown-step-type\]/s);
    assert.match(await page.locator('.ed-verdict').textContent() ?? '', /Not verified: fix the errors/);
    // Typing the fix by keyboard clears it.
    await page.locator('.cm-line', { hasText: 'type: finish' }).click();
    await page.keyboard.press('End');
    for (let i = 0; i < 'finish'.length; i++) await page.keyboard.press('Backspace');
    await page.keyboard.type('end');
    await page.locator('.ed-ok').waitFor();
    assert.equal(await page.locator('.cm-lintRange-error').count(), 0);
    await verdict(page, 'sound').waitFor();
    assert.ok(page.workers().length >= 1, 'the verifier runs in a Web Worker');
    assert.deepEqual(errors, []);
  });

  test('an example with schemas, humans and compensation validates and verifies in the browser', async () => {
    const { page, errors } = await fresh();
    await openEditor(page);
    const text = readFileSync('examples/order-fulfilment.yaml', 'utf8');
    await setYaml(page, text);
    const steps = [...text.matchAll(/^ {2}- (?:id: |\{id: )([\w.-]+)/gm)].map((m) => m[1]!);
    assert.ok(steps.length > 5);
    await step(page, steps.at(-1)!).waitFor();
    assert.equal(await page.locator('.ed-designer [data-step]').count(), steps.length);
    await verdict(page, 'sound').waitFor();
    assert.match(await page.locator('.ed-ok').textContent() ?? '', /passes every rule/);
    assert.deepEqual(errors, []);
  });

  test('pointer: drop a palette step on a step to add it after; drag from a handle to connect', async () => {
    const { page, errors } = await fresh();
    await openEditor(page);
    await page.locator('.ed-pal[data-type="timer"]').dragTo(step(page, 'work'));
    await step(page, 'timer').waitFor();
    // Dropped on `work`, the timer goes between it and the step it led to.
    assert.match(await yamlText(page), /- id: work\n {4}type: task\n {4}activity: noop\n {4}next: timer\n[^]*- id: timer\n {4}type: timer\n {4}delay: 1m\n {4}next: end\n/);
    await select(page, 'timer');
    await page.getByRole('button', { name: 'Remove arrow timer → end' }).click();
    await page.locator('.ed-issue', { hasText: 'step "timer" has no outgoing transition' }).waitFor();
    const handle = await step(page, 'timer').locator('.ed-handle').boundingBox();
    const target = await step(page, 'end').boundingBox();
    assert.ok(handle && target);
    await page.mouse.move(handle.x + handle.width / 2, handle.y + handle.height / 2);
    await page.mouse.down();
    await page.mouse.move(target.x + target.width / 2, target.y + target.height / 2, { steps: 6 });
    await page.mouse.up();
    await page.locator('.ed-designer .ed-edge[data-from="timer"][data-to="end"]').waitFor({ state: 'attached' });
    assert.match(await yamlText(page), /- id: timer\n {4}type: timer\n {4}delay: 1m\n {4}next: end/);
    await page.locator('.ed-ok').waitFor();
    await verdict(page, 'sound').waitFor();
    await screenshot(page, 'editor-pointer-1280');
    // Clicking an arrow opens its source's form, where the arrow is edited.
    await page.locator('.ed-designer [data-step="start"]').click();
    await page.locator('.ed-designer .ed-edge[data-from="timer"][data-to="end"] .ed-edge-hit').click({ force: true });
    await page.locator('.ed-props h2', { hasText: 'timer' }).waitFor();
    assert.deepEqual(errors, []);
  });

  test('completion offers the step types after `type:` and the fields of the step', async () => {
    const { page, errors } = await fresh();
    await openEditor(page);
    await setYaml(page, 'id: c\nsteps:\n  - id: start\n    type: start\n  - id: fresh\n    type: ');
    await page.locator('.cm-content').click();
    await page.keyboard.press('Control+End');
    await page.keyboard.press('Control+Space');
    const list = page.locator('.cm-tooltip-autocomplete li');
    await list.first().waitFor();
    const offered = await list.allTextContents();
    for (const t of ['start', 'end', 'task', 'parallel', 'join', 'decision', 'human', 'loop']) assert.ok(offered.some((o) => o.startsWith(t)), `${t} in ${offered.join(',')}`);
    await page.keyboard.type('para');
    // Picked with the mouse: CodeMirror ignores Enter for 75 ms after the list opens (on purpose).
    await page.locator('.cm-tooltip-autocomplete li', { hasText: 'parallel' }).click();
    assert.match(await yamlText(page), /type: parallel$/);
    // Keys of a task on a new line, without those already there.
    await setYaml(page, 'id: c\nsteps:\n  - id: t\n    type: task\n    act');
    await page.locator('.cm-content').click();
    await page.keyboard.press('Control+End');
    await page.keyboard.press('Control+Space');
    await page.locator('.cm-tooltip-autocomplete li', { hasText: 'activity' }).click();
    assert.match(await yamlText(page), /\n {4}activity: $/);
    assert.deepEqual(errors, []);
  });

  test('designer: a parallel split whose branch fails over to its own end deadlocks; the trace is shown on the graph', async () => {
    const { page, errors } = await fresh();
    await openEditor(page);
    await select(page, 'work');
    await page.getByRole('button', { name: 'Delete step' }).click();
    await step(page, 'work').waitFor({ state: 'detached' });
    await addAfter(page, 'start', 'parallel');
    await addAfter(page, 'parallel', 'task');
    await addAfter(page, 'parallel', 'task');
    await addAfter(page, 'task', 'join');
    await arrow(page, 'task_2', 'join');
    await arrow(page, 'join', 'end');
    await verdict(page, 'sound').waitFor();
    // The mistake: task_2 fails over to an end of its own, so the join waits forever for it.
    await addAfter(page, 'task_2', 'end');
    await select(page, 'task_2');
    await page.getByLabel('Arrow task_2 → end_2 taken on').selectOption('error');
    await verdict(page, 'unsound').waitFor();
    const problem = page.locator('.ed-problem[data-kind="deadlock"]');
    assert.match(await problem.textContent() ?? '', /join `?join`? waits forever|join join waits forever/);
    // The trace is on the graph: the path so far, the failing branch, the join it starves.
    await page.locator('.ed-trace').waitFor();
    assert.match(await page.locator('.ed-trace-pos').textContent() ?? '', /Move 3 of 3: task_2 fails/);
    const cls = async (id: string) => (await step(page, id).getAttribute('class')) ?? '';
    assert.match(await cls('join'), /ed-problem/);
    assert.match(await cls('task_2'), /ed-current/);
    assert.match(await cls('end_2'), /ed-current/);
    assert.match(await cls('start'), /ed-visited/);
    assert.match(await cls('parallel'), /ed-visited/, 'the split the tokens passed through');
    assert.doesNotMatch(await cls('end'), /ed-visited/);
    assert.equal(await page.locator('.ed-designer .ed-edge.ed-taken[data-from="task_2"][data-to="end_2"]').count(), 1);
    await screenshot(page, 'editor-deadlock-1280');
    await page.getByRole('button', { name: 'Previous move' }).click();
    assert.match(await page.locator('.ed-trace-pos').textContent() ?? '', /Move 2 of 3/);
    assert.doesNotMatch(await cls('end_2'), /ed-visited|ed-current/);
    await page.getByRole('button', { name: 'Previous move' }).click();
    assert.match(await page.locator('.ed-trace-pos').textContent() ?? '', /Move 1 of 3: the instance starts/);
    assert.match(await cls('start'), /ed-current/);
    // The YAML holds what was drawn.
    const text = await yamlText(page);
    assert.match(text, /- id: parallel\n {4}type: parallel\n {4}next: \[task, task_2\]/);
    assert.match(text, /transitions:\n {2}- from: task_2\n {4}to: end_2\n {4}on: error\n/);
    assert.deepEqual(errors, []);
  });

  test('round trip: a designer edit rewrites the YAML (comments kept), a YAML edit redraws the designer', async () => {
    const { page, errors } = await fresh();
    await openEditor(page);
    await select(page, 'work');
    await page.locator('#ed-f-id').fill('charge');
    await page.locator('#ed-f-id').press('Enter');
    await step(page, 'charge').waitFor();
    let text = await yamlText(page);
    assert.match(text, /^# A new workflow/);
    assert.match(text, /next: charge\n {2}- id: charge\n {4}type: task/);
    await page.locator('#ed-f-activity').fill('http');
    await page.locator('#ed-f-activity').press('Tab');
    await page.waitForFunction(() => (document.querySelector('#ed-cm') as HTMLElement & { editorView: { state: { doc: { toString(): string } } } }).editorView.state.doc.toString().includes('activity: http'));
    // And back: a step typed in the YAML appears in the designer, connected.
    text = (await yamlText(page)).replace('    next: end\n  - id: end', '    next: audit\n  - id: audit\n    type: task\n    activity: log\n    next: end\n  - id: end');
    await setYaml(page, text);
    await step(page, 'audit').waitFor();
    await page.locator('.ed-designer .ed-edge[data-from="charge"][data-to="audit"]').waitFor({ state: 'attached' });
    assert.equal(await page.locator('.ed-designer .ed-edge[data-from="charge"][data-to="end"]').count(), 0);
    // Broken YAML locks the designer (it keeps the last drawing) until it is fixed.
    await setYaml(page, `${text}  - {id: x\n`);
    await page.locator('.ed-status', { hasText: 'syntax error' }).waitFor();
    assert.equal(await page.locator('.ed-pal[data-type="task"]').isDisabled(), true);
    await step(page, 'audit').waitFor();
    await setYaml(page, text);
    await page.locator('.ed-pal[data-type="task"]:not([disabled])').waitFor();
    assert.deepEqual(errors, []);
  });

  test('deploy: refused issues with lines, unsound only after a confirmation, then listed in Definitions and editable', async () => {
    const { page, errors } = await fresh();
    await openEditor(page);
    const base = 'id: ui-made\nversion: 1.0.0\nsteps:\n  - {id: start, type: start, next: fan}\n  - {id: fan, type: parallel, next: [a, b]}\n  - {id: a, type: task, activity: noop, next: j}\n  - {id: b, type: task, activity: noop, next: j}\n  - {id: j, type: join, next: done}\n  - {id: done, type: end}\n';
    // Invalid: the server's 422 issues with their lines.
    await setYaml(page, base.replace('next: done}', 'next: nowhere}'));
    await page.getByRole('button', { name: 'Deploy', exact: true }).click();
    const refused = page.locator('.ed-deploy .ed-msg-error');
    await refused.waitFor();
    assert.match(await refused.textContent() ?? '', /line 8.*nowhere/s);
    // Unsound: refused, then forced after the confirmation.
    await setYaml(page, `${base}  - {id: early, type: end}\ntransitions:\n  - {from: b, to: early, on: error}\n`);
    await verdict(page, 'unsound').waitFor();
    await page.getByRole('button', { name: 'Deploy', exact: true }).click();
    await page.locator('.ed-deploy', { hasText: 'not sound' }).waitFor();
    let asked = '';
    page.once('dialog', (d) => { asked = d.message(); void d.accept(); });
    await page.getByRole('button', { name: 'Deploy anyway…' }).click();
    await page.locator('.ed-msg-ok', { hasText: 'ui-made 1.0.0' }).waitFor();
    assert.match(asked, /unsound/);
    assert.match(await page.locator('.ed-msg-ok').textContent() ?? '', /forced/);
    // Sound, as a new version.
    await setYaml(page, base);
    await page.getByRole('button', { name: 'Save as new version' }).click();
    await page.locator('.ed-msg-ok', { hasText: 'ui-made 1.0.1, verdict sound' }).waitFor();
    assert.match(await yamlText(page), /version: 1\.0\.1/);
    const listed = await (await fetch(`${server.url}/api/v1/definitions`)).json() as { items: Array<{ id: string; versions: unknown[] }> };
    assert.equal(listed.items.find((d) => d.id === 'ui-made')?.versions.length, 2);
    await page.getByRole('link', { name: 'Open in Definitions' }).click();
    await page.waitForFunction(() => location.hash.startsWith('#/definitions'));
    await page.goto(`${server.url}/#/definitions`);
    await page.locator('#view', { hasText: 'ui-made' }).waitFor();
    // `#/editor/:id` opens the latest version.
    await openEditor(page, '#/editor/ui-made');
    assert.match(await yamlText(page), /id: ui-made\nversion: 1\.0\.1/);
    await step(page, 'fan').waitFor();
    await verdict(page, 'sound').waitFor();
    // An unknown id says so and starts from a new definition.
    await openEditor(page, '#/editor/nope');
    assert.match(await page.locator('.ed-deploy').textContent() ?? '', /Could not load "nope": .*not deployed.*Starting from a new definition/);
    assert.match(await yamlText(page), /^# A new workflow/);
    // The browser logs the refused requests (422) it was meant to make; nothing else.
    assert.deepEqual(errors.filter((e) => !/status of (422|404)/.test(e)), []);
    assert.equal(errors.length, 3);
  });

  test('keyboard: Tab reaches the palette, the steps and the property form; Enter adds and selects', async () => {
    const { page, errors } = await fresh();
    await openEditor(page);
    const focused = () => page.evaluate(() => {
      const a = document.activeElement as HTMLElement | null;
      return { cls: a?.getAttribute('class') ?? '', id: a?.id ?? '', step: a?.getAttribute('data-step') ?? '', type: a?.getAttribute('data-type') ?? '' };
    });
    await page.locator('.cm-content').focus();
    let f = await focused();
    let n = 0;
    // Tab leaves the YAML editor (no trap) and reaches the first palette button.
    while (!/ed-pal/.test(f.cls) && n++ < 30) { await page.keyboard.press('Tab'); f = await focused(); }
    assert.equal(f.type, 'start', 'the first palette button');
    while (f.step === '' && n++ < 60) { await page.keyboard.press('Tab'); f = await focused(); }
    assert.equal(f.step, 'start');
    await page.keyboard.press('Tab');
    await page.keyboard.press('Enter');
    await page.locator('.ed-props h2', { hasText: 'work' }).waitFor();
    while (f.id !== 'ed-f-id' && n++ < 90) { await page.keyboard.press('Tab'); f = await focused(); }
    assert.equal(f.id, 'ed-f-id');
    // Back to the palette with Shift+Tab, add a timer after the selected step with Enter.
    while (!(/ed-pal/.test(f.cls) && f.type === 'timer') && n++ < 150) { await page.keyboard.press('Shift+Tab'); f = await focused(); }
    await page.keyboard.press('Enter');
    await step(page, 'timer').waitFor();
    assert.match(await yamlText(page), /- id: work\n {4}type: task\n {4}activity: noop\n {4}next: timer\n/);
    const outline = await page.evaluate(() => getComputedStyle(document.activeElement!).outlineStyle);
    assert.notEqual(outline, 'none', 'focus is visible');
    // Connecting by keyboard: C on a step, then Enter on the target.
    await step(page, 'start').focus();
    await page.keyboard.press('c');
    await page.locator('.ed-status', { hasText: 'Choose the step start leads to' }).waitFor();
    await step(page, 'end').focus();
    await page.keyboard.press('Enter');
    await page.locator('.ed-designer .ed-edge[data-from="start"][data-to="end"]').waitFor({ state: 'attached' });
    await page.locator('.ed-issue', { hasText: 'ambiguous' }).waitFor();
    assert.deepEqual(errors, []);
  });

  test('screenshots at 1280×800 and 390×844', async () => {
    for (const size of [{ width: 1280, height: 800 }, { width: 390, height: 844 }]) {
      const { page, errors } = await fresh(size);
      await openEditor(page);
      await select(page, 'work');
      await screenshot(page, `editor-${size.width}`);
      // An unsound definition: the verdict, the problem and its trace on the graph.
      await setYaml(page, UNSOUND);
      await page.locator('.ed-trace').waitFor();
      await page.locator('.ed-verify').scrollIntoViewIfNeeded();
      await screenshot(page, `editor-trace-${size.width}`);
      // Nothing wider than the screen but the graph canvas, which scrolls inside itself.
      const overflow = await page.evaluate(() => document.documentElement.scrollWidth - document.documentElement.clientWidth);
      assert.ok(overflow <= 0, `page scrolls sideways by ${overflow}px at ${size.width}`);
      assert.deepEqual(errors, []);
    }
  });
});
