/**
 * Kill -9 at random instants, restart, and check the histories: every instance completes, and
 * every task run is completed exactly once with each attempt number recorded at most once.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { SqliteStore } from '../src/store/sqlite/store.js';

const CHILD = fileURLToPath(new URL('./helpers/crash-child.ts', import.meta.url));
const COUNT = 1000;
const KILLS = 8;

interface RunResult { code: number | null; signal: NodeJS.Signals | null; output: string }

/** Runs the child; with `killAfterMs` it is SIGKILLed that long after it printed READY. */
function runChild(db: string, killAfterMs?: number, timeoutMs = 50_000): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', CHILD, db, String(COUNT)], { stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    let killer: NodeJS.Timeout | undefined;
    const guard = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.stdout.on('data', (d: Buffer) => {
      output += d.toString();
      if (killAfterMs !== undefined && !killer && output.includes('READY')) {
        killer = setTimeout(() => child.kill('SIGKILL'), killAfterMs);
      }
    });
    child.stderr.on('data', (d: Buffer) => { output += d.toString(); });
    child.on('error', reject);
    child.on('exit', (code, signal) => {
      clearTimeout(guard);
      if (killer) clearTimeout(killer);
      resolve({ code, signal, output });
    });
  });
}

async function countByStatus(db: string): Promise<string> {
  const store = new SqliteStore(db, { backgroundCheckpoints: false });
  try {
    const counts = new Map<string, number>();
    for (const i of await store.listInstances()) counts.set(i.status, (counts.get(i.status) ?? 0) + 1);
    return [...counts].map(([s, n]) => `${n} ${s}`).join(', ') || 'none';
  } finally {
    await store.close();
  }
}

describe('crash recovery (kill -9 at random instants)', () => {
  it(`completes ${COUNT} instances with no lost or duplicated completions`, { timeout: 120_000 }, async () => {
    const dir = mkdtempSync(join(tmpdir(), 'weft-crash-'));
    const db = join(dir, 'crash.db');
    try {
      let killed = 0;
      const log: string[] = [];
      for (let i = 0; i < KILLS; i++) {
        const delay = 50 + Math.floor(Math.random() * 700);
        const r = await runChild(db, delay);
        const progress = await countByStatus(db);
        log.push(`run ${i}: kill after ${delay} ms → ${r.signal ?? r.code} (${r.output.trim().split('\n').join(', ')}); instances: ${progress}`);
        if (r.signal === 'SIGKILL') killed++;
        else assert.equal(r.code, 0, `child run ${i} failed:\n${r.output}`);
        if (r.output.includes('DONE')) break; // finished before the kill: nothing left to crash
      }
      const last = await runChild(db);
      log.push(`final run → ${last.code}`);
      console.log(log.join('\n'));
      assert.equal(last.code, 0, `final run failed:\n${last.output}`);
      assert.match(last.output, /DONE/);
      assert.ok(killed >= 1, 'at least one run was killed mid-flight');

      const store = new SqliteStore(db, { backgroundCheckpoints: false });
      try {
        const instances = await store.listInstances({ definitionId: 'crashy' });
        assert.equal(instances.length, COUNT, 'exactly one instance per idempotency key');
        assert.deepEqual([...new Set(instances.map((i) => i.status))], ['completed']);
        let completions = 0;
        for (const inst of instances) {
          const history = await store.readEvents(inst.id);
          assert.deepEqual(history.map((e) => e.seq), history.map((_, i) => i + 1), `${inst.id}: log has gaps`);
          assert.equal(history.at(-1)?.type, 'WorkflowCompleted');
          const taskRuns = new Set<string>();
          const completedRuns = new Map<string, number>();
          const attempts = new Set<string>();
          for (const e of history) {
            if (e.type === 'StepStarted' && e.task) taskRuns.add(e.runId);
            let run: string | undefined;
            let attempt: number | undefined;
            if (e.type === 'StepCompleted' && e.taskId !== undefined) { run = e.runId; attempt = e.attempt; completedRuns.set(run, (completedRuns.get(run) ?? 0) + 1); }
            if (e.type === 'ActivityCompleted') { run = e.runId; attempt = e.attempt; completedRuns.set(run, (completedRuns.get(run) ?? 0) + 1); }
            if (e.type === 'ActivityFailed') { run = e.runId; attempt = e.attempt; }
            if (run !== undefined) {
              const k = `${run}/${attempt}`;
              assert.ok(!attempts.has(k), `${inst.id}: attempt ${k} recorded twice`);
              attempts.add(k);
            }
          }
          assert.equal(taskRuns.size, 4, `${inst.id}: four task runs`);
          for (const run of taskRuns) assert.equal(completedRuns.get(run), 1, `${inst.id}: run ${run} completed ${completedRuns.get(run) ?? 0} times`);
          completions += completedRuns.size;
        }
        assert.equal(completions, COUNT * 4);
        // At least once: handlers whose result a kill prevented from being recorded ran again.
        const runs = readFileSync(`${db}.executions`, 'utf8').trim().split('\n');
        const distinct = new Set(runs).size;
        console.log(`${runs.length} handler executions, ${distinct} distinct (task, attempt), ${runs.length - distinct} re-executions after kills; ${completions} completions recorded`);
        assert.deepEqual(await store.listTasks(), [], 'no task rows left');
        assert.equal(await store.nextTimerDue(), undefined, 'no timer rows left');
      } finally {
        await store.close();
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
