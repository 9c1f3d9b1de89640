// The end-to-end journey through the web UI, as a person would do it: a definition deployed (via the
// API), started from its page, watched live on the instance page, approved from the inbox, seen
// complete, then scrubbed back in time with the keyboard on the slider.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { Browser } from 'playwright-core';
import { startServer, type RunningServer } from '../src/api/start.js';
import { WeftClient } from '../src/sdk/client.js';
import { browserTestSetup, ensureUiBuilt, launchBrowser, newPage, screenshot } from './helpers/browser.js';

const setup = browserTestSetup();
const WAIT = { timeout: 20_000 };

describe('web UI: the whole journey', { skip: setup.status === 'skip' ? setup.reason : false }, () => {
  let server: RunningServer;
  let browser: Browser;
  let release!: () => void;
  const released = new Promise<void>((r) => { release = r; });

  before(async () => {
    if (setup.status === 'fail') throw new Error(setup.reason);
    ensureUiBuilt();
    server = await startServer({ db: ':memory:', port: 0 });
    // The first task runs until the test has seen it running.
    server.engine.registerActivity('journey.prepare', async (input: { amount: number }) => { await released; return { amount: input.amount, prepared: true }; });
    server.engine.registerActivity('journey.check', async () => ({ ok: true }));
    await new WeftClient(server.url).deploy({
      id: 'journey', name: 'Expense approval', version: '1.0.0',
      steps: [
        { id: 'start', type: 'start', next: 'prepare' },
        { id: 'prepare', type: 'task', name: 'Prepare', activity: 'journey.prepare', next: 'checks' },
        { id: 'checks', type: 'parallel', next: ['budget', 'policy'] },
        { id: 'budget', type: 'task', name: 'Budget check', activity: 'journey.check', next: 'checked' },
        { id: 'policy', type: 'task', name: 'Policy check', activity: 'journey.check', next: 'checked' },
        { id: 'checked', type: 'join', next: 'approve' },
        { id: 'approve', type: 'human', name: 'Manager approval', title: 'Approve the expense', assignees: { users: ['ann'] }, next: 'end' },
        { id: 'end', type: 'end' },
      ],
    });
    browser = await launchBrowser();
  });
  after(async () => {
    release?.();
    await browser?.close();
    await server?.close();
  });

  test('deploy → start from the definition page → watch live → approve in the inbox → completed → scrub back', async () => {
    const { page, errors } = await newPage(browser);
    const step = (id: string, state: string) => page.locator(`[data-step="${id}"][data-state="${state}"]`);

    // The definitions list → the definition's page → start it with an input.
    await page.goto(`${server.url}/#/definitions`);
    await page.getByRole('link', { name: 'journey', exact: true }).first().click();
    await page.getByLabel('Input (JSON)').fill('{"amount": 120}');
    await page.getByRole('button', { name: /^Start/ }).click();
    await page.locator('#start-result a').click();

    // The instance page: the first task runs; released, it turns completed live and the flow moves on.
    await step('prepare', 'running').waitFor(WAIT);
    const id = decodeURIComponent(new URL(page.url()).hash.replace('#/instances/', ''));
    release();
    await step('prepare', 'completed').waitFor(WAIT);
    await step('approve', 'waiting').waitFor(WAIT);
    assert.equal(await page.locator('[data-step="checked"] .wf-badge text').textContent(), '2 of 2 arrived');
    await screenshot(page, 'journey-waiting-for-approval');

    // The human step points to the inbox; Ann answers there.
    await page.locator('[data-step="approve"]').click();
    await page.getByRole('link', { name: 'Open the inbox' }).click();
    await page.getByRole('heading', { name: 'Inbox', level: 1 }).waitFor(WAIT);
    await page.getByRole('textbox', { name: 'You are' }).fill('ann');
    await page.getByRole('button', { name: 'Use' }).click();
    const card = page.locator(`li[data-task^="${id}"]`);
    await card.waitFor(WAIT);
    await card.getByRole('button', { name: 'Open form' }).click();
    await card.getByRole('button', { name: 'approve' }).click();
    await page.getByRole('status').filter({ hasText: 'approve sent' }).waitFor(WAIT);

    // Back on the instance page: completed.
    await page.goto(`${server.url}/#/instances/${encodeURIComponent(id)}`);
    await page.locator('#inst-status [data-status="completed"]').waitFor(WAIT);
    await step('end', 'completed').waitFor(WAIT);
    await step('approve', 'completed').waitFor(WAIT);

    // Scrub the slider with the keyboard: to the first event, forward a few, back to the end (live).
    const slider = page.locator('#inst-slider');
    await slider.focus();
    await page.keyboard.press('Home');
    await page.locator('.inst-travel-note').waitFor(WAIT);
    assert.equal(await slider.inputValue(), '1');
    for (const s of ['start', 'prepare', 'approve', 'end']) assert.equal(await page.locator(`[data-step="${s}"]`).getAttribute('data-state'), 'pending', s);
    // Events 2–4: StepStarted start, StepCompleted start, StepStarted prepare.
    for (let i = 0; i < 3; i++) await page.keyboard.press('ArrowRight');
    assert.equal(await slider.inputValue(), '4');
    await step('prepare', 'running').waitFor(WAIT);
    assert.equal(await page.locator('[data-step="start"]').getAttribute('data-state'), 'completed');
    await screenshot(page, 'journey-time-travel');
    await page.keyboard.press('End');
    await step('end', 'completed').waitFor(WAIT);
    assert.equal(await page.locator('.inst-travel-note').count(), 0);
    assert.deepEqual(errors, []);
  });
});
