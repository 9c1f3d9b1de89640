/**
 * Fault test (issue 4): three `weft server --db postgres://…` nodes and two `weft worker`s run
 * 2,000 instances of mixed definitions (sequential, parallel + join, decision, a one-second timer,
 * a flaky activity retried by policy) while a random node is SIGKILLed every few seconds and
 * restarted. Every instance completes; the event log shows every step run completed exactly once
 * and no task attempt recorded twice; no task or timer row is left behind.
 *
 * `WEFT_CLUSTER_COUNT` overrides the number of instances (e.g. a quick local run),
 * `WEFT_CLUSTER_KILL_EVERY_MS` the mean interval between kills; `WEFT_CLUSTER_KEEP_DB=1` keeps the
 * database for inspection.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, it } from 'node:test';
import { createTestDatabase, type TestDatabase } from './helpers/pg.js';
import { Chaos, Cluster, MIXED_DEFINITIONS, checkHistories, describeWithPostgres, mixedInstance, dropDatabase, readExecutionLog } from './helpers/cluster.js';
import type { EngineEvent } from '../src/core/types.js';

const COUNT = Number(process.env.WEFT_CLUSTER_COUNT ?? 2000);
const KILL_EVERY_MS = Number(process.env.WEFT_CLUSTER_KILL_EVERY_MS ?? 5000);
const DOWN_MS = 500;


/** The steps every instance of `definitionId` with input `n` must have completed (once each). */
function expectedSteps(definitionId: string, n: number): string[] {
  switch (definitionId) {
    case 'cluster-seq': return ['start', 'a', 'b', 'c', 'end'];
    case 'cluster-par': return ['start', 'split', 'p1', 'p2', 'p3', 'join', 'end'];
    case 'cluster-decide': return ['start', 'first', 'choose', n % 2 === 0 ? 'even' : 'odd', 'end'];
    case 'cluster-timer': return ['start', 'a', 'pause', 'b', 'end'];
    case 'cluster-retry': return ['start', 'f', 'g', 'end'];
    default: throw new Error(`unknown definition ${definitionId}`);
  }
}

await describeWithPostgres('cluster: nodes SIGKILLed at random', (adminUrl) => {
  let db: TestDatabase;
  let dir: string;
  let cluster: Cluster;

  before(async () => {
    db = await createTestDatabase(adminUrl);
    dir = mkdtempSync(join(tmpdir(), 'weft-cluster-kill-'));
    cluster = new Cluster({ db: db.url, log: join(dir, 'executions.log') });
  });
  after(async () => {
    await cluster?.stop();
    await dropDatabase(db);
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it(`completes ${COUNT} mixed instances exactly once while nodes are killed and restarted`, { timeout: 400_000 }, async () => {
    const started = Date.now();
    // The first node applies the migrations; the others then start side by side.
    const n1 = await cluster.startNode('n1');
    const [n2] = await Promise.all([cluster.startNode('n2'), cluster.startNode('n3')]);
    await Promise.all([cluster.startWorker('w1', n1, 32), cluster.startWorker('w2', n2!, 32)]);
    await cluster.deploy(MIXED_DEFINITIONS);

    const chaos = new Chaos(cluster, { everyMs: KILL_EVERY_MS, downMs: DOWN_MS }).start();
    let kills;
    try {
      await cluster.startInstances(COUNT, mixedInstance, { prefix: 'kill', parallel: 32 });
      await cluster.waitAllFinished(COUNT, { timeoutMs: 300_000, stallMs: 90_000 });
    } finally {
      kills = await chaos.stop();
    }
    const elapsed = Date.now() - started;
    console.log(`${COUNT} instances in ${(elapsed / 1000).toFixed(1)} s; kills: ${JSON.stringify(kills)}`);

    // The kills hit work in flight (otherwise this test proves nothing).
    assert.ok(kills.filter((k) => k.unfinished > 0).length >= 2, `at least two kills while instances were running: ${JSON.stringify(kills)}`);

    const counts = await cluster.statusCounts();
    assert.deepEqual(counts, { completed: COUNT }, 'every instance completed, one per idempotency key');

    const histories = await cluster.histories();
    const report = checkHistories(histories);
    assert.deepEqual(report.problems, [], 'exactly-once violations');
    assert.equal(report.instances, COUNT);

    // Every instance did all of its work: each expected step completed once (checkHistories
    // already refuses a run completed twice; this refuses work silently skipped).
    const instances = await cluster.query<{ id: string; definition_id: string; idempotency_key: string }>('SELECT id, definition_id, idempotency_key FROM instances');
    const missing: string[] = [];
    for (const inst of instances) {
      const i = Number(inst.idempotency_key.replace('kill-', ''));
      assert.equal(inst.definition_id, mixedInstance(i).definitionId);
      const events = histories.get(inst.id) ?? [];
      const done = events.filter((e): e is Extract<EngineEvent, { type: 'StepCompleted' }> => e.type === 'StepCompleted').map((e) => e.stepId).sort();
      const want = expectedSteps(inst.definition_id, i).sort();
      if (JSON.stringify(done) !== JSON.stringify(want) && missing.length < 20) missing.push(`${inst.id} (${inst.definition_id}): ${done.join(',')} ≠ ${want.join(',')}`);
    }
    assert.deepEqual(missing, []);

    assert.deepEqual(await cluster.query('SELECT instance_id, task_id, owner FROM tasks'), [], 'no task rows left');
    assert.deepEqual(await cluster.query('SELECT instance_id, timer_id, owner FROM timers'), [], 'no timer rows left');

    // At least once: the workers' executions, some repeated after kills; recorded exactly once.
    const ran = readExecutionLog(join(dir, 'executions.log')).filter((l) => l.what === 'ran');
    const distinct = new Set(ran.map((l) => `${l.instanceId}/${l.taskId}/${l.attempt}`)).size;
    console.log(`${report.stepCompletions} step completions, ${report.taskAttempts} task attempts recorded; failures by code ${JSON.stringify(report.failuresByCode)}; ` +
      `${ran.length} worker executions, ${ran.length - distinct} of them repeats of an attempt already run`);
  });
});
