/**
 * Fault test (issue 4): PostgreSQL itself is restarted while three nodes and two workers run mixed
 * instances. The nodes do not crash; they reconnect and finish everything; the histories show
 * every step run completed exactly once.
 *
 * Restarting the server breaks every other test using it at that moment, so this file is named
 * `*.serial.test.ts`: scripts/run-tests.mjs runs such files alone, after all the others. It needs
 * the local cluster's `pg_ctlcluster` (root, as in CI); without it the file is skipped loudly
 * (failed with CI=true).
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { after, before, it } from 'node:test';
import { createTestDatabase, pgUnreachableReason, type TestDatabase } from './helpers/pg.js';
import { Cluster, MIXED_DEFINITIONS, checkHistories, describeWithPostgres, mixedInstance, dropDatabase, waitUntil } from './helpers/cluster.js';

const run = promisify(execFile);
const COUNT = Number(process.env.WEFT_CLUSTER_COUNT ?? 600);

/** The `pg_ctlcluster` command line restarting the local cluster, or why it cannot. */
function restartCommand(adminUrl: string): { argv: string[] } | { why: string } {
  const host = new URL(adminUrl).hostname;
  if (!['127.0.0.1', 'localhost', '::1', '[::1]'].includes(host)) return { why: `PostgreSQL at ${host} is not local` };
  if (!existsSync('/usr/bin/pg_ctlcluster') || !existsSync('/etc/postgresql')) return { why: 'pg_ctlcluster (postgresql-common) is not installed' };
  const version = readdirSync('/etc/postgresql').sort()[0];
  if (!version) return { why: 'no cluster under /etc/postgresql' };
  if (process.getuid?.() !== 0) return { why: 'restarting PostgreSQL needs root' };
  return { argv: ['--skip-systemctl-redirect', version, 'main', 'restart'] };
}

await describeWithPostgres('cluster: PostgreSQL restarted mid-run', (adminUrl) => {
  const restart = restartCommand(adminUrl);
  let db: TestDatabase;
  let dir: string;
  let cluster: Cluster;

  before(async () => {
    if ('why' in restart) return;
    db = await createTestDatabase(adminUrl);
    dir = mkdtempSync(join(tmpdir(), 'weft-cluster-pgrestart-'));
    cluster = new Cluster({ db: db.url, log: join(dir, 'executions.log') });
  });
  after(async () => {
    await cluster?.stop();
    // The test may end with PostgreSQL still coming up: give it time before dropping the database.
    await waitUntil('PostgreSQL is back', async () => (await pgUnreachableReason(adminUrl)) === undefined, 60_000).catch(() => undefined);
    await dropDatabase(db);
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it(`nodes reconnect and finish ${COUNT} instances; nothing is done twice`, { timeout: 300_000 }, async (t) => {
    if ('why' in restart) {
      if (process.env.CI === 'true') assert.fail(`cannot restart PostgreSQL here: ${restart.why}`);
      process.stderr.write(`\n!!! PostgreSQL restart test SKIPPED: ${restart.why}\n\n`);
      t.skip(restart.why);
      return;
    }
    const n1 = await cluster.startNode('n1');
    const [n2] = await Promise.all([cluster.startNode('n2'), cluster.startNode('n3')]);
    await Promise.all([cluster.startWorker('w1', n1, 32), cluster.startWorker('w2', n2!, 32)]);
    await cluster.deploy(MIXED_DEFINITIONS);

    // Starts go on while PostgreSQL restarts: the ones that fail are retried (idempotency keys).
    const starting = cluster.startInstances(COUNT, mixedInstance, { prefix: 'pgr', parallel: 16 });
    starting.catch(() => undefined); // awaited below
    // Restart once some, but not all, of the work is done.
    const before = await waitUntil('some instances completed', async () => {
      const counts = await cluster.statusCounts();
      return (counts.completed ?? 0) >= COUNT / 10 && counts;
    }, 120_000, () => cluster.describe());
    const restartedAt = Date.now();
    const out = await run('pg_ctlcluster', restart.argv, { timeout: 120_000 });
    console.log(`PostgreSQL restarted in ${Date.now() - restartedAt} ms with ${JSON.stringify(before)} ${out.stderr.trim()}`);
    assert.ok((before.completed ?? 0) < COUNT, `the restart happened mid-run: ${JSON.stringify(before)}`);

    await starting;
    await cluster.waitAllFinished(COUNT, { timeoutMs: 200_000, stallMs: 90_000 });
    for (const n of cluster.nodes) assert.ok(n.running, `${n.name} survived the restart:\n${n.proc.recent()}`);
    // The nodes did see the database go (their connections were terminated), and carried on.
    const noticed = cluster.nodes.filter((n) => n.proc.grep(/lost|broke|terminat|ECONNRESET|ECONNREFUSED|57P01|shutting down/i).length > 0);
    assert.ok(noticed.length > 0, `some node noticed the restart:\n${cluster.nodes.map((n) => n.proc.recent(10)).join('\n')}`);
    for (const w of cluster.workers) assert.ok(w.proc.running, `${w.name} survived the restart:\n${w.proc.recent()}`);

    assert.deepEqual(await cluster.statusCounts(), { completed: COUNT });
    const report = checkHistories(await cluster.histories());
    assert.deepEqual(report.problems, [], 'exactly-once violations');
    assert.equal(report.instances, COUNT);
    assert.deepEqual(await cluster.query('SELECT instance_id, task_id, owner FROM tasks'), [], 'no task rows left');
    assert.deepEqual(await cluster.query('SELECT instance_id, timer_id, owner FROM timers'), [], 'no timer rows left');
    console.log(`${report.stepCompletions} step completions, ${report.taskAttempts} task attempts; failures by code ${JSON.stringify(report.failuresByCode)}`);
  });
});
