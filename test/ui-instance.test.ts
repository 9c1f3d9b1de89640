// The live instance view in a real browser against a real server: the graph changes colour as
// steps complete (activities the test releases), retry badge, join progress, pause/resume from the
// buttons, a refused command's message, time travel, a dropped socket resumed without losing or
// repeating an event, keyboard selection, and screenshots at desktop and phone sizes.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { Browser, Page, WebSocketRoute } from 'playwright-core';
import { startServer, type RunningServer } from '../src/api/start.js';
import { ActivityFailure } from '../src/runtime/activity.js';
import { WeftClient } from '../src/sdk/client.js';
import type { Definition } from '../src/model/schema.js';
import { browserTestSetup, ensureUiBuilt, launchBrowser, newPage, screenshot } from './helpers/browser.js';

const setup = browserTestSetup();
const WAIT = { timeout: 20_000 };

/** A promise the test resolves: an activity that waits on it runs exactly as long as the test wants. */
function gate<T = unknown>() {
  let open!: (v: T) => void;
  const promise = new Promise<T>((r) => { open = r; });
  return { promise, open };
}

const definition: Definition = {
  id: 'ui-live', name: 'UI live', version: '1.0.0',
  steps: [
    { id: 'start', type: 'start', next: 'fetch' },
    { id: 'fetch', type: 'task', name: 'Fetch data', activity: 'ui.fetch', next: 'flaky' },
    { id: 'flaky', type: 'task', name: 'Flaky call', activity: 'ui.flaky', retry: { maxAttempts: 3, initialInterval: '100ms' }, next: 'split' },
    { id: 'split', type: 'parallel', next: ['left', 'right'] },
    { id: 'left', type: 'task', name: 'Left branch', activity: 'ui.left', next: 'join' },
    { id: 'right', type: 'task', name: 'Right branch', activity: 'ui.right', next: 'join' },
    { id: 'join', type: 'join', next: 'approve' },
    { id: 'approve', type: 'human', name: 'Approve', title: 'Approve the run', assignees: { users: ['ann'] }, next: 'end' },
    { id: 'end', type: 'end' },
  ],
};

const node = (page: Page, step: string, state?: string) => page.locator(`[data-step="${step}"]${state ? `[data-state="${state}"]` : ''}`);

describe('web UI: live instance view', { skip: setup.status === 'skip' ? setup.reason : false }, () => {
  let server: RunningServer;
  let browser: Browser;
  let api: WeftClient;
  const gates = { fetch: gate(), flaky: gate(), left: gate() };

  before(async () => {
    if (setup.status === 'fail') throw new Error(setup.reason);
    ensureUiBuilt();
    server = await startServer({ db: ':memory:', port: 0 });
    server.engine.registerActivity('ui.fetch', async () => { await gates.fetch.promise; return { rows: 3 }; });
    server.engine.registerActivity('ui.flaky', async (_input, ctx) => {
      if (ctx.attempt === 1) throw new ActivityFailure('flaky', 'first attempt always fails');
      await gates.flaky.promise;
      return { ok: true, attempt: ctx.attempt };
    });
    server.engine.registerActivity('ui.left', async () => { await gates.left.promise; return 'L'; });
    server.engine.registerActivity('ui.right', async () => 'R');
    api = new WeftClient(server.url);
    await api.deploy(definition);
    browser = await launchBrowser();
  });
  after(async () => {
    await browser?.close();
    await server?.close();
  });

  test('a running instance, live: colours, retries, join, pause/resume, reconnect, keyboard, time travel', async () => {
    const { id } = await api.start({ definitionId: 'ui-live', input: { n: 1 }, labels: { team: 'ui' } });
    const { page, errors } = await newPage(browser);

    // Every socket of the page goes through this route, so the test can cut it like a network would.
    let blocked = false;
    let sockets = 0;
    const open = new Set<WebSocketRoute>();
    await page.routeWebSocket(/\/api\/v1\/ws$/, (ws) => {
      sockets++;
      if (blocked) { void ws.close({ code: 1012, reason: 'test: network down' }); return; }
      open.add(ws);
      ws.connectToServer();
      ws.onClose(() => open.delete(ws));
    });

    await page.goto(`${server.url}/#/instances/${encodeURIComponent(id)}`);
    await node(page, 'fetch', 'running').waitFor(WAIT);
    assert.equal(await node(page, 'start').getAttribute('data-state'), 'completed');
    assert.equal(await node(page, 'approve').getAttribute('data-state'), 'pending');
    await page.locator('#connection', { hasText: 'Live' }).waitFor(WAIT);
    assert.match(await page.locator('.inst-facts').innerText(), /team=ui/);

    // The task completes on the server: its node turns green without a reload.
    gates.fetch.open(undefined);
    await node(page, 'fetch', 'completed').waitFor(WAIT);
    // The first attempt of `flaky` fails; the second waits for the test: badge "attempt 2".
    await page.locator('[data-step="flaky"][data-state="running"][data-attempt="2"]').waitFor(WAIT);
    assert.equal(await node(page, 'flaky').locator('.wf-badge text').textContent(), 'attempt 2');
    assert.ok(await page.locator('[data-edge="fetch->flaky"][data-taken]').count() === 1, 'the edge taken is highlighted');

    // Pause and resume from the buttons; only what the state allows is enabled.
    assert.equal(await page.locator('[data-command="resume"]').isDisabled(), true);
    await page.locator('[data-command="pause"]').click();
    await page.locator('#inst-status [data-status="paused"]').waitFor(WAIT);
    assert.equal(await page.locator('[data-command="pause"]').isDisabled(), true);
    assert.equal(await page.locator('[data-command="resume"]').isDisabled(), false);
    await page.locator('[data-command="resume"]').click();
    await page.locator('#inst-status [data-status="running"], #inst-status [data-status="waiting"]').first().waitFor(WAIT);
    assert.equal((await api.getInstance(id)).status === 'paused', false);

    // The branches: `right` finishes at once, `left` waits, so the join shows its progress.
    gates.flaky.open(undefined);
    await node(page, 'join', 'waiting').waitFor(WAIT);
    assert.equal(await node(page, 'join').locator('.wf-badge text').textContent(), '1 of 2 arrived');
    assert.equal(await node(page, 'left').getAttribute('data-state'), 'running');
    assert.equal(await node(page, 'right').getAttribute('data-state'), 'completed');
    await screenshot(page, 'instance-running-1280');

    // The network drops; events commit meanwhile; the page resumes with afterSeq: nothing lost, nothing twice.
    blocked = true;
    for (const ws of open) await ws.close({ code: 1012, reason: 'test: network down' });
    await page.locator('#connection', { hasText: 'Reconnecting' }).waitFor(WAIT);
    gates.left.open(undefined);
    const waiting = await server.engine.waitUntil(id, (s) => s.steps.approve?.status === 'waiting_human', { timeoutMs: 20_000 });
    assert.equal(await node(page, 'left').getAttribute('data-state'), 'running', 'the page cannot know yet');
    const socketsBefore = sockets;
    blocked = false;
    await node(page, 'approve', 'waiting').waitFor(WAIT);
    assert.ok(sockets > socketsBefore, 'the page reconnected');
    await page.locator('#connection', { hasText: 'Live' }).waitFor(WAIT);
    assert.equal(await node(page, 'join').locator('.wf-badge text').textContent(), '2 of 2 arrived');
    const seqs = await page.locator('.inst-events li').evaluateAll((els) => els.map((e) => Number((e as HTMLElement).dataset.seq)));
    assert.deepEqual(seqs, Array.from({ length: waiting.seq }, (_, i) => i + 1), 'every event once, in order');

    // Keyboard: Tab through the graph to the human step, Enter selects it, the panel explains it.
    await page.getByRole('button', { name: 'Fit to view' }).focus();
    let reached = false;
    for (let i = 0; i < 20 && !reached; i++) {
      await page.keyboard.press('Tab');
      reached = await page.evaluate(() => (document.activeElement as HTMLElement | null)?.dataset?.step === 'approve');
    }
    assert.ok(reached, 'the human step is reachable with Tab');
    await page.keyboard.press('Enter');
    const panel = page.getByRole('complementary', { name: 'Selected step' });
    await panel.getByRole('heading', { name: 'Approve' }).waitFor(WAIT);
    assert.match(await panel.innerText(), /waits for a person/);
    assert.equal(await panel.getByRole('link', { name: 'Open the inbox' }).getAttribute('href'), '#/inbox');
    assert.equal(await node(page, 'approve').getAttribute('aria-pressed'), 'true');

    // The panel of a retried task lists both attempts with the first one's error.
    await node(page, 'flaky').click();
    await panel.getByRole('heading', { name: 'Flaky call' }).waitFor(WAIT);
    const attempts = await panel.locator('.inst-attempts tbody tr').allInnerTexts();
    assert.equal(attempts.length, 2);
    assert.match(attempts[0]!, /^1\s+failed[\s\S]*flaky: first attempt always fails/);
    assert.match(attempts[1]!, /^2\s+completed/);
    await screenshot(page, 'instance-panel-1280');

    // Someone approves; the instance completes live.
    const task = (await api.inbox({ instanceId: id }))[0]!;
    await api.completeTask(id, task.task.taskId, 'approve', {});
    await page.locator('#inst-status [data-status="completed"]').waitFor(WAIT);
    await node(page, 'end', 'completed').waitFor(WAIT);
    assert.equal(await page.locator('[data-command="pause"]').isDisabled(), true);
    assert.equal(await page.locator('[data-command="cancel"]').isDisabled(), true);

    // Time travel: the slider at the failed first attempt of `flaky` shows it retrying.
    const history = (await api.history(id)).events;
    const failed = history.find((e) => e.type === 'ActivityFailed')!;
    await page.locator('#inst-slider').evaluate((el, seq) => {
      const input = el as HTMLInputElement;
      input.value = String(seq);
      input.dispatchEvent(new Event('input', { bubbles: true }));
    }, failed.seq);
    await node(page, 'flaky', 'retrying').waitFor(WAIT);
    assert.equal(await node(page, 'flaky').locator('.wf-badge text').textContent(), 'retrying · attempt 1');
    assert.equal(await node(page, 'fetch').getAttribute('data-state'), 'completed');
    assert.equal(await node(page, 'end').getAttribute('data-state'), 'pending');
    assert.match(await page.locator('.inst-travel-note').innerText(), new RegExp(`after event ${failed.seq} of ${history.length}`));
    // Clicking an event in the timeline jumps there too, and selects its step.
    const joinArrived = history.find((e) => e.type === 'JoinArrived')!;
    await page.locator(`.inst-events li[data-seq="${joinArrived.seq}"] button`).click();
    await node(page, 'join', 'waiting').waitFor(WAIT);
    assert.equal(await page.locator('#inst-slider').inputValue(), String(joinArrived.seq));
    assert.equal(await node(page, 'join').getAttribute('aria-pressed'), 'true');
    await page.getByRole('button', { name: 'Back to live' }).click();
    await node(page, 'end', 'completed').waitFor(WAIT);
    assert.equal(await page.locator('.inst-travel-note').count(), 0);

    await screenshot(page, 'instance-completed-1280');
    assert.deepEqual(errors, []);
  });

  test('a command the server refuses shows its message', async () => {
    const g = gate();
    server.engine.registerActivity('ui.hold', async () => { await g.promise; return 1; });
    await api.deploy({ id: 'ui-hold', version: '1.0.0', steps: [
      { id: 'start', type: 'start', next: 'hold' },
      { id: 'hold', type: 'task', activity: 'ui.hold', next: 'end' },
      { id: 'end', type: 'end' },
    ] });
    const { id } = await api.start({ definitionId: 'ui-hold' });
    const { page, errors } = await newPage(browser);
    let blocked = false;
    const open = new Set<WebSocketRoute>();
    await page.routeWebSocket(/\/api\/v1\/ws$/, (ws) => {
      if (blocked) { void ws.close({ code: 1012 }); return; }
      open.add(ws);
      ws.connectToServer();
    });
    await page.goto(`${server.url}/#/instances/${encodeURIComponent(id)}`);
    await node(page, 'hold', 'running').waitFor(WAIT);
    // Someone else pauses it while this page is cut off: its Pause button is stale.
    blocked = true;
    for (const ws of open) await ws.close({ code: 1012 });
    await api.pause(id);
    await page.locator('[data-command="pause"]').click();
    const alert = page.locator('.inst-command-error');
    await alert.waitFor(WAIT);
    assert.match(await alert.innerText(), /Pause refused: cannot pause: instance is paused \(invalid_state\)/);
    blocked = false;
    await page.locator('#inst-status [data-status="paused"]').waitFor(WAIT);
    g.open(undefined);
    // The browser logs the 409 response itself; nothing else may fail.
    assert.deepEqual(errors.filter((e) => !/status of 409/.test(e)), []);
  });

  test('a failed step offers Retry; the retried step runs again', async () => {
    let attempts = 0;
    server.engine.registerActivity('ui.once', async () => {
      attempts++;
      if (attempts === 1) throw new ActivityFailure('broken', 'fails the first time', { nonRetryable: true });
      return 'fixed';
    });
    await api.deploy({ id: 'ui-retry', version: '1.0.0', steps: [
      { id: 'start', type: 'start', next: 'once' },
      { id: 'once', type: 'task', name: 'Once', activity: 'ui.once', next: 'end' },
      { id: 'end', type: 'end' },
    ] });
    const { id } = await api.start({ definitionId: 'ui-retry' });
    await server.engine.waitUntilDone(id, { timeoutMs: 20_000 });
    const { page, errors } = await newPage(browser, { width: 390, height: 844 });
    await page.goto(`${server.url}/#/instances/${encodeURIComponent(id)}`);
    await node(page, 'once', 'failed').waitFor(WAIT);
    await node(page, 'once').click();
    const panel = page.getByRole('complementary', { name: 'Selected step' });
    assert.match(await panel.innerText(), /broken: fails the first time/);
    assert.equal(await page.locator('[data-command="resume"]').isDisabled(), true);
    await screenshot(page, 'instance-failed-390');
    await panel.getByRole('button', { name: 'Retry step' }).click();
    await page.locator('#inst-status [data-status="completed"]').waitFor(WAIT);
    await node(page, 'once', 'completed').waitFor(WAIT);
    assert.match(await panel.innerText(), /Runs \(2\)/);
    await page.locator('.inst-events').scrollIntoViewIfNeeded();
    await screenshot(page, 'instance-completed-390');

    // Narrow: the flow runs top to bottom; widened, it is laid out again left to right.
    const position = async (step: string) => {
      const m = /translate\(([-\d.]+),([-\d.]+)\)/.exec((await node(page, step).getAttribute('transform')) ?? '');
      assert.ok(m, `${step} is placed`);
      return { x: Number(m[1]), y: Number(m[2]) };
    };
    let [a, b] = [await position('start'), await position('end')];
    assert.ok(b.y > a.y && b.x === a.x, 'top to bottom');
    await page.setViewportSize({ width: 1280, height: 800 });
    // (No helper functions inside: tsx would wrap them in a __name() the page does not have.)
    await page.waitForFunction(() => /translate\(([-\d.]+),/.exec(document.querySelector('[data-step="end"]')?.getAttribute('transform') ?? '')?.[1]
      !== /translate\(([-\d.]+),/.exec(document.querySelector('[data-step="start"]')?.getAttribute('transform') ?? '')?.[1], undefined, WAIT);
    [a, b] = [await position('start'), await position('end')];
    assert.ok(b.x > a.x && b.y === a.y, 'left to right');
    assert.equal(await node(page, 'once').getAttribute('data-state'), 'completed', 'the new drawing shows the state');
    assert.equal(await node(page, 'once').getAttribute('aria-pressed'), 'true', 'and the selection');
    assert.deepEqual(errors, []);
  });

  test('an unknown instance says so', async () => {
    const { page } = await newPage(browser);
    await page.goto(`${server.url}/#/instances/no-such-instance`);
    await page.getByRole('alert').filter({ hasText: 'No instance "no-such-instance"' }).waitFor(WAIT);
  });
});
