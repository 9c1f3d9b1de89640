// The web UI's lists, inbox and dashboard in a real browser against a real `weft server`:
// definitions (verdict, start an instance), instances (filters in the URL, live updates), the
// inbox (claim, a generated form that refuses a missing field, complete, reject), workers,
// schedules and the dashboard's charts. Screenshots at 1280×800 and 390×844 in test-artifacts/ui/.
import { after, afterEach, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { Browser, Page } from 'playwright-core';
import { startServer, type RunningServer } from '../src/api/start.js';
import type { Definition } from '../src/model/schema.js';
import { WeftClient } from '../src/sdk/client.js';
import { wideDefinition } from '../src/verify/samples.js';
import { browserTestSetup, ensureUiBuilt, launchBrowser, newPage, screenshot } from './helpers/browser.js';

const setup = browserTestSetup();
const NARROW = { width: 390, height: 844 };

const QUICK: Definition = {
  id: 'quick', version: '1.0.0', description: 'One in-process task.',
  input: { type: 'object', properties: { n: { type: 'integer' } } },
  steps: [
    { id: 'start', type: 'start', next: 'a' },
    { id: 'a', type: 'task', activity: 'noop', next: 'end' },
    { id: 'end', type: 'end' },
  ],
} as Definition;

const REMOTE: Definition = {
  id: 'remote', version: '1.0.0',
  steps: [
    { id: 'start', type: 'start', next: 'work' },
    { id: 'work', type: 'task', activity: 'remote.work', next: 'end' },
    { id: 'end', type: 'end' },
  ],
} as Definition;

const REVIEW: Definition = {
  id: 'review', version: '1.0.0',
  steps: [
    { id: 'start', type: 'start', next: 'approve' },
    {
      id: 'approve', type: 'human', title: 'Approve the refund', assignees: { users: ['ann'], groups: ['finance'] },
      form: {
        type: 'object', required: ['amount', 'decision'],
        properties: {
          amount: { type: 'integer', title: 'Amount', minimum: 1, maximum: 1000, description: 'In euros' },
          decision: { type: 'string', enum: ['refund', 'credit'] },
          note: { type: 'string' },
          when: { type: 'string', format: 'date' },
          urgent: { type: 'boolean' },
        },
      },
      next: 'end',
    },
    { id: 'end', type: 'end' },
  ],
} as Definition;

describe('web UI lists, inbox and dashboard', { skip: setup.status === 'skip' ? setup.reason : false, timeout: 180_000 }, () => {
  let server: RunningServer;
  let browser: Browser;
  let client: WeftClient;
  const errors: string[][] = [];
  let open: Page[] = [];

  async function page(size?: { width: number; height: number }): Promise<Page> {
    const p = await newPage(browser, size);
    errors.push(p.errors);
    open.push(p.page);
    return p.page;
  }

  before(async () => {
    if (setup.status === 'fail') throw new Error(setup.reason);
    ensureUiBuilt();
    server = await startServer({ db: ':memory:', port: 0, metrics: { intervalMs: 250 } });
    client = new WeftClient(server.url, { timeoutMs: 10_000 });
    for (const d of [QUICK, REMOTE, REVIEW]) await client.deploy(d);
    browser = await launchBrowser();
  });
  // Pages poll and hold sockets: close them so they do not load the machine during later tests.
  afterEach(async (t) => {
    if (process.env.WEFT_UI_DEBUG) for (const [i, p] of open.entries()) await screenshot(p, `debug-${t.name.slice(0, 20).replace(/\W+/g, '-')}-${i}`).catch(() => undefined);
    for (const p of open) await p.context().close();
    open = [];
  });
  after(async () => {
    await browser?.close();
    await server?.close();
    // Every page opened by the tests ran without uncaught errors. The browser also logs each HTTP
    // error response; the tests provoke some on purpose (a used version's 409, a bad cron's 400),
    // and the workers page asks for /api/v1/nodes, which a server may not have (404).
    assert.deepEqual(errors.flat().filter((e) => !/^Failed to load resource: the server responded with a status of (400|404|409) /.test(e)), []);
  });

  test('definitions: the list shows each definition with its verdict; start an instance from its page', async () => {
    const p = await page();
    await p.goto(`${server.url}/#/definitions`);
    const row = p.locator('tr[data-id="quick"]');
    await row.waitFor();
    await row.locator('[data-verdict="sound"]').waitFor();
    assert.match(await row.textContent() ?? '', /1\.0\.0/);
    await screenshot(p, 'lists-definitions');
    await row.getByRole('link', { name: 'quick', exact: true }).click();
    await p.getByRole('heading', { name: 'quick', level: 1 }).waitFor();
    await p.locator('[data-verdict="sound"]').waitFor();
    // Bad JSON, then input the schema refuses: both shown, nothing started.
    const input = p.getByLabel('Input (JSON)');
    await input.fill('{"n": ');
    await p.getByRole('button', { name: /^Start/ }).click();
    await p.locator('#start-errors', { hasText: 'not valid JSON' }).waitFor();
    await input.fill('{"n": "three"}');
    await p.getByRole('button', { name: /^Start/ }).click();
    await p.locator('#start-errors', { hasText: 'n must be integer' }).waitFor();
    assert.equal((await client.listInstances({ definitionId: 'quick' })).items.length, 0);
    await input.fill('{"n": 3}');
    await p.getByLabel(/^Labels/).fill('origin=ui');
    await p.getByRole('button', { name: /^Start/ }).click();
    const link = p.locator('#start-result a');
    await link.waitFor();
    const id = (await link.textContent())!.trim();
    const state = await server.engine.waitUntilDone(id, { timeoutMs: 10_000 });
    assert.equal(state.status, 'completed');
    assert.deepEqual(state.input, { n: 3 });
    assert.deepEqual(state.labels, { origin: 'ui' });
    await screenshot(p, 'lists-definition');
    const narrow = await page(NARROW);
    await narrow.goto(`${server.url}/#/definitions/quick`);
    await narrow.locator('[data-verdict="sound"]').waitFor();
    await screenshot(narrow, 'lists-definition-narrow');
  });

  test('definitions: an unsound definition (deployed by force) shows its verdict and problems', async () => {
    const unsound = wideDefinition(2, 2, { deadlock: true });
    await client.deploy(unsound, undefined, { force: true });
    const p = await page();
    await p.goto(`${server.url}/#/definitions`);
    await p.locator(`tr[data-id="${unsound.id}"] [data-verdict="unsound"]`).waitFor();
    await p.goto(`${server.url}/#/definitions/${unsound.id}`);
    await p.locator('[data-verdict="unsound"]').waitFor();
    const problems = await p.locator('ul.problems li').allTextContents();
    assert.ok(problems.some((t) => /deadlock/i.test(t)), problems.join('\n'));
  });

  test('definitions: an unused version can be deleted, a used one cannot', async () => {
    const used = (await client.start({ definitionId: 'quick', version: '1.0.0' })).id;
    await server.engine.waitUntilDone(used, { timeoutMs: 10_000 });
    await client.deploy({ ...QUICK, version: '1.1.0' });
    const p = await page();
    await p.goto(`${server.url}/#/definitions/quick`);
    p.on('dialog', (d) => void d.accept());
    await p.getByRole('button', { name: 'Delete version 1.0.0' }).click();
    await p.getByRole('status').filter({ hasText: 'used by instances' }).waitFor();
    await p.getByRole('button', { name: 'Delete version 1.1.0' }).click();
    await p.getByRole('status').filter({ hasText: 'Version 1.1.0 deleted' }).waitFor();
    assert.deepEqual((await client.listDefinitions()).find((d) => d.id === 'quick')!.versions.map((v) => v.version), ['1.0.0']);
  });

  test('instances: filter by state (kept in the URL) and a row updates live when its instance completes', async () => {
    const { id } = await client.start({ definitionId: 'remote', labels: { team: 'blue' } });
    await server.engine.waitUntil(id, (s) => s.status === 'running', { timeoutMs: 10_000 });
    const p = await page();
    await p.goto(`${server.url}/#/instances?status=running`);
    const row = p.locator(`tr[data-id="${id}"]`);
    await row.locator('td[data-status="running"]').waitFor();
    // Only running instances: the completed `quick` one is not listed.
    assert.equal(await p.locator('td[data-status="completed"]').count(), 0);
    assert.equal(await p.locator('button[data-status="running"]').getAttribute('aria-pressed'), 'true');
    await p.locator('[data-count="running"]', { hasText: /^[1-9]/ }).waitFor();
    const completedBefore = Number(await p.locator('[data-count="completed"]').textContent());
    await screenshot(p, 'lists-instances');
    // A remote worker finishes the task: the row turns completed, the counts move, without a reload.
    const [task] = await client.pollTasks('w-ui', { activities: ['remote.work'], waitMs: 5000 });
    assert.ok(task);
    await client.completeTaskRun('w-ui', { instanceId: task.instanceId, taskId: task.taskId, token: task.token, attempt: task.attempt, output: {} });
    await row.locator('td[data-status="completed"]').waitFor();
    await p.locator('[data-count="completed"]', { hasText: String(completedBefore + 1) }).waitFor();
    // Filters go into the URL: a label filter, then the link reproduces the same view.
    await p.getByLabel('Labels').fill('team=blue');
    await p.getByLabel('Labels').press('Enter');
    await p.waitForFunction(() => location.hash.includes('label=team%3Dblue'));
    // From the keyboard: focus the running chip and toggle it off with Space.
    await p.locator('button[data-status="running"]').focus();
    await p.keyboard.press('Space');
    await p.waitForFunction(() => !location.hash.includes('status=running'));
    assert.equal(await p.evaluate(() => document.activeElement?.getAttribute('data-status')), 'running', 'focus stays on the chip');
    await row.waitFor();
    // From the page itself: Playwright's p.url() may lag behind a replaceState.
    const url = await p.evaluate(() => location.href);
    const again = await page(NARROW);
    await again.goto(url);
    await again.locator(`tr[data-id="${id}"]`).waitFor();
    assert.equal(await again.locator('tbody tr[data-id]').count(), 1, 'only the labelled instance');
    assert.equal(await again.getByLabel('Labels').inputValue(), 'team=blue');
    await screenshot(again, 'lists-instances-narrow');
  });

  test('instances: cursor pagination pages forward and back', async () => {
    const ids: string[] = [];
    for (let i = 0; i < 3; i++) ids.push((await client.start({ definitionId: 'quick', labels: { batch: 'paged' } })).id);
    const p = await page();
    await p.goto(`${server.url}/#/instances?label=batch%3Dpaged&limit=2`);
    const shown = async () => p.locator('tbody tr[data-id]').evaluateAll((rows) => rows.map((r) => r.getAttribute('data-id')));
    await p.locator('tbody tr[data-id]').nth(1).waitFor();
    const first = await shown();
    assert.equal(first.length, 2);
    await p.getByRole('button', { name: 'Next →' }).click();
    await p.getByText('Page 2').waitFor();
    // "Page 2" shows while the page still loads (with page 1's rows): wait for the rows to change.
    await p.waitForFunction((before) => {
      const ids = [...document.querySelectorAll('tbody tr[data-id]')].map((r) => r.getAttribute('data-id'));
      return ids.length > 0 && ids.every((id) => !before.includes(id));
    }, first);
    const second = await shown();
    assert.equal(second.length, 1);
    assert.deepEqual([...first, ...second].sort(), [...ids].sort(), 'every instance once, across the pages');
    assert.equal(await p.getByRole('button', { name: 'Next →' }).isDisabled(), true);
    await p.getByRole('button', { name: '← Previous' }).click();
    await p.getByText('Page 1').waitFor();
    await p.waitForFunction((n) => document.querySelectorAll('tbody tr[data-id]').length === n, 2);
    assert.deepEqual(await shown(), first);
  });

  test('inbox: claim, a missing required field is refused in the browser, then complete; reject another', async () => {
    const first = (await client.start({ definitionId: 'review', input: { order: 1 } })).id;
    const second = (await client.start({ definitionId: 'review', input: { order: 2 } })).id;
    for (const id of [first, second]) await server.engine.waitUntil(id, (s) => s.status === 'waiting' || Object.keys(s.active).some((r) => r.startsWith('approve')), { timeoutMs: 10_000 });
    const p = await page();
    await p.goto(`${server.url}/#/inbox`);
    await p.getByRole('textbox', { name: 'You are' }).fill('ann');
    await p.getByRole('button', { name: 'Use' }).click();
    const card = p.locator(`li.task[data-task^="${first}"]`);
    await card.waitFor();
    await card.getByRole('button', { name: 'Claim' }).click();
    await card.locator('.claimed', { hasText: 'claimed by ann' }).waitFor();
    assert.equal((await client.inbox({ instanceId: first }))[0]!.claimedBy, 'ann');
    await card.getByRole('button', { name: 'Open form' }).click();
    // The generated form: labels from titles/names, enum → select, date input, checkbox.
    assert.equal(await card.getByLabel(/^Amount/).getAttribute('type'), 'number');
    assert.equal(await card.getByLabel(/^When/).getAttribute('type'), 'date');
    assert.equal(await card.getByLabel(/^Decision/).evaluate((e) => e.tagName), 'SELECT');
    assert.equal(await card.getByRole('checkbox', { name: 'Urgent' }).count(), 1);
    await card.getByLabel(/^Amount/).fill('120');
    await card.getByRole('button', { name: 'approve' }).click();
    await card.locator('[data-field="decision"] .sf-error', { hasText: 'is required' }).waitFor();
    assert.equal(await card.getByLabel(/^Decision/).getAttribute('aria-invalid'), 'true');
    assert.equal((await client.getInstance(first)).status !== 'completed', true, 'nothing was sent');
    await screenshot(p, 'lists-inbox-error');
    await card.getByLabel(/^Amount/).fill('5000');
    await card.getByLabel(/^Decision/).selectOption({ label: 'refund' });
    await card.getByRole('button', { name: 'approve' }).click();
    await card.locator('[data-field="amount"] .sf-error', { hasText: 'at most 1000' }).waitFor();
    await card.getByLabel(/^Amount/).fill('120');
    await card.getByLabel(/^When/).fill('2026-11-30');
    await card.getByRole('button', { name: 'approve' }).click();
    const done = await server.engine.waitUntilDone(first, { timeoutMs: 10_000 });
    assert.equal(done.status, 'completed');
    assert.deepEqual((done.steps.approve!.output as { data: unknown }).data, { amount: 120, decision: 'refund', when: '2026-11-30', urgent: false });
    await card.waitFor({ state: 'detached' });
    // Reject the other with a reason (claiming is not required for an unclaimed task).
    const other = p.locator(`li.task[data-task^="${second}"]`);
    await other.getByRole('button', { name: 'Reject…' }).click();
    await other.getByLabel('Reason').fill('duplicate request');
    await other.getByRole('button', { name: 'Reject task' }).click();
    const rejected = await server.engine.waitUntilDone(second, { timeoutMs: 10_000 });
    assert.equal(rejected.status, 'failed');
    await p.getByText('No open tasks').waitFor();
    await screenshot(p, 'lists-inbox');
  });

  test('inbox at 390×844: reassign with the keyboard only', async () => {
    const id = (await client.start({ definitionId: 'review' })).id;
    const p = await page(NARROW);
    await p.goto(`${server.url}/#/inbox`);
    const card = p.locator(`li.task[data-task^="${id}"]`);
    await card.waitFor();
    await card.getByRole('button', { name: 'Open form' }).click();
    await screenshot(p, 'lists-inbox-narrow');
    // Keyboard only: the button opens the form and focuses its first field; Enter submits.
    await card.getByRole('button', { name: 'Reassign…' }).focus();
    await p.keyboard.press('Enter');
    await p.waitForFunction(() => (document.activeElement as HTMLInputElement | null)?.value === 'ann');
    await p.keyboard.press('Control+A');
    await p.keyboard.type('bob');
    await p.keyboard.press('Tab');
    await p.keyboard.press('Control+A');
    await p.keyboard.press('Backspace');
    await p.keyboard.press('Enter');
    await card.locator('.assignees', { hasText: '@bob' }).waitFor();
    assert.deepEqual((await client.inbox({ instanceId: id }))[0]!.task.users, ['bob']);
  });

  test('workers: a registered remote worker and the queues are listed', async () => {
    const { id } = await client.start({ definitionId: 'remote' });
    await server.engine.waitUntil(id, (s) => s.status === 'running', { timeoutMs: 10_000 });
    await client.pollTasks('w-listed', { activities: ['remote.other'], capacity: 4, waitMs: 0 });
    const p = await page();
    await p.goto(`${server.url}/#/workers`);
    const row = p.locator('tr[data-worker="w-listed"]');
    await row.waitFor();
    assert.match(await row.textContent() ?? '', /remote\.other/);
    assert.match(await row.textContent() ?? '', /0 \/ 4/);
    await p.locator('tr[data-activity="remote.work"]').waitFor();
    await screenshot(p, 'lists-workers');
    const narrow = await page(NARROW);
    await narrow.goto(`${server.url}/#/workers`);
    await narrow.locator('tr[data-worker="w-listed"]').waitFor();
    await screenshot(narrow, 'lists-workers-narrow');
    await client.terminate(id);
  });

  test('schedules: create, pause, run now and delete from the page', async () => {
    const p = await page();
    await p.goto(`${server.url}/#/schedules`);
    await p.getByText('No schedules yet.').waitFor();
    // A bad cron is refused by the server, shown with its field.
    await p.getByLabel('Definition').selectOption('quick');
    await p.getByRole('textbox', { name: 'Id', exact: true }).fill('nightly');
    await p.getByRole('textbox', { name: /^Cron/ }).fill('not a cron');
    await p.getByRole('button', { name: 'Create schedule' }).click();
    await p.locator('.schedule-form .error', { hasText: 'cron' }).waitFor();
    await p.getByRole('textbox', { name: /^Cron/ }).fill('0 3 * * *');
    await p.getByLabel('Time zone').fill('Europe/Paris');
    await p.getByRole('button', { name: 'Create schedule' }).click();
    const row = p.locator('tr[data-schedule="nightly"]');
    await row.waitFor();
    assert.match(await row.textContent() ?? '', /Europe\/Paris/);
    await row.getByRole('button', { name: 'Pause' }).click();
    await row.locator('.badge', { hasText: 'paused' }).waitFor();
    await row.getByRole('button', { name: 'Run now' }).click();
    await p.getByRole('status').filter({ hasText: 'triggered: started' }).waitFor();
    await screenshot(p, 'lists-schedules');
    const narrow = await page(NARROW);
    await narrow.goto(`${server.url}/#/schedules`);
    await narrow.locator('tr[data-schedule="nightly"]').waitFor();
    await screenshot(narrow, 'lists-schedules-narrow');
    p.on('dialog', (d) => void d.accept());
    await row.getByRole('button', { name: 'Delete schedule nightly' }).click();
    await row.waitFor({ state: 'detached' });
    assert.equal((await client.request<{ items: unknown[] }>('GET', '/api/v1/schedules')).items.length, 0);
  });

  test('dashboard: charts draw the server metrics and the live counts show', async () => {
    const ids: string[] = [];
    for (let i = 0; i < 6; i++) ids.push((await client.start({ definitionId: 'quick', input: { n: i } })).id);
    for (const id of ids) await server.engine.waitUntilDone(id, { timeoutMs: 10_000 });
    const p = await page();
    await p.goto(`${server.url}/#/`);
    // The throughput line has data points once a sample holds the completed steps.
    await p.waitForFunction(() => {
      const path = document.querySelector('[data-chart="throughput"] path.series');
      return !!path && (path.getAttribute('d') ?? '').split(/[ML]/).length > 2;
    }, undefined, { timeout: 15_000 });
    for (const chart of ['instances', 'instance-latency', 'step-latency', 'failures', 'queue']) {
      assert.ok(await p.locator(`[data-chart="${chart}"] svg path.series`).count() >= 1, chart);
    }
    const label = await p.locator('[data-chart="instance-latency"] svg').getAttribute('aria-label');
    assert.match(label ?? '', /Instance duration: latest p50/);
    await p.locator('[data-count="completed"]', { hasText: /^[1-9]/ }).waitFor();
    assert.match(await p.locator('[data-totals]').textContent() ?? '', /instances started/);
    await screenshot(p, 'lists-dashboard');
    const narrow = await page(NARROW);
    await narrow.goto(`${server.url}/#/`);
    await narrow.locator('[data-chart="throughput"] path.series').waitFor();
    await screenshot(narrow, 'lists-dashboard-narrow');
  });
});
