// The web UI shell: served at `/` by a real `weft server`, navigable by keyboard, API 404s intact.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { Browser } from 'playwright-core';
import { startServer, type RunningServer } from '../src/api/start.js';
import { browserTestSetup, ensureUiBuilt, launchBrowser, newPage, screenshot } from './helpers/browser.js';

const setup = browserTestSetup();

describe('web UI shell', { skip: setup.status === 'skip' ? setup.reason : false }, () => {
  let server: RunningServer;
  let browser: Browser;
  before(async () => {
    if (setup.status === 'fail') throw new Error(setup.reason);
    ensureUiBuilt();
    server = await startServer({ db: ':memory:', port: 0 });
    browser = await launchBrowser();
  });
  after(async () => {
    await browser?.close();
    await server?.close();
  });

  test('GET / serves the app; unknown paths are still JSON 404s', async () => {
    const page = await fetch(`${server.url}/`);
    assert.equal(page.status, 200);
    assert.match(page.headers.get('content-type') ?? '', /text\/html/);
    assert.match(await page.text(), /<div|<main id="view"/);
    const missing = await fetch(`${server.url}/no/such/page`);
    assert.equal(missing.status, 404);
    assert.equal((await missing.json() as { error: string }).error, 'not_found');
  });

  test('every main page opens from the navigation without errors', async () => {
    const { page, errors } = await newPage(browser);
    await page.goto(`${server.url}/`);
    const links = await page.locator('#nav a').allTextContents();
    assert.deepEqual(links, ['Dashboard', 'Definitions', 'Instances', 'Inbox', 'Workers', 'Schedules', 'Editor']);
    for (const label of links) {
      await page.locator('#nav a', { hasText: label }).click();
      await page.locator('#nav a[aria-current="page"]', { hasText: label }).waitFor();
      await page.locator('#view h1').first().waitFor();
    }
    await screenshot(page, 'shell-editor');
    assert.deepEqual(errors, []);
  });

  test('an unknown route says so and links home', async () => {
    const { page } = await newPage(browser);
    await page.goto(`${server.url}/#/nowhere`);
    await page.getByRole('heading', { name: 'Not found' }).waitFor();
    assert.equal(await page.getByRole('link', { name: 'Go to the dashboard' }).count(), 1);
  });

  test('the skip link and the navigation work from the keyboard', async () => {
    const { page } = await newPage(browser);
    await page.goto(`${server.url}/`);
    await page.keyboard.press('Tab');
    assert.equal(await page.evaluate(() => document.activeElement?.textContent), 'Skip to content');
    await page.keyboard.press('Tab'); // brand
    await page.keyboard.press('Tab'); // Dashboard
    await page.keyboard.press('Tab'); // Definitions
    await page.keyboard.press('Enter');
    await page.waitForFunction(() => location.hash === '#/definitions');
  });
});
