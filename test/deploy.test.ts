/**
 * Deploy refuses unsound definitions unless forced (issue 5, SPEC C5): the engine's deploy, the
 * REST routes (422 `unsound_definition` with the report, `?force=true`, `/definitions/verify`,
 * the verdict in `/validate`), `weft deploy --force` and `weft run --force`.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { after, before, describe, it } from 'node:test';
import { startServer, type RunningServer } from '../src/api/start.js';
import { runCli } from '../src/cli/program.js';
import { UnsoundDefinitionError } from '../src/runtime/definitions.js';
import { openEngineWithStore } from '../src/runtime/engine.js';
import { WeftApiError, WeftClient } from '../src/sdk/client.js';
import { SqliteStore } from '../src/store/sqlite/store.js';
import { wideDefinition } from '../src/verify/samples.js';

const UNSOUND = wideDefinition(2, 2, { deadlock: true });
const SOUND = wideDefinition(2, 2);

async function weft(...args: string[]): Promise<{ code: number; out: string; err: string }> {
  const stdout = new PassThrough();
  const stderr = new PassThrough();
  let out = '';
  let err = '';
  stdout.on('data', (d) => { out += String(d); });
  stderr.on('data', (d) => { err += String(d); });
  const code = await runCli(args, { stdout, stderr, interactive: false });
  return { code, out, err };
}

describe('deploy verifies soundness', { timeout: 60_000 }, () => {
  it('engine: unsound is refused with the problems and traces; force deploys; sound passes; identical content is not re-checked', async () => {
    const engine = await openEngineWithStore(new SqliteStore(':memory:'), {});
    try {
      const err = await engine.deploy(UNSOUND).then(() => undefined, (e: unknown) => e);
      assert.ok(err instanceof UnsoundDefinitionError, String(err));
      assert.equal(err.code, 'unsound_definition');
      assert.equal(err.report.verdict, 'unsound');
      const dl = err.problems.find((p) => p.kind === 'deadlock');
      assert.ok(dl && dl.trace && dl.trace.length > 0, 'a deadlock with its shortest trace');
      assert.equal((await engine.listDefinitions()).length, 0, 'nothing stored');

      const forced = await engine.deploy(UNSOUND, { force: true });
      assert.deepEqual([forced.verdict, forced.forced, forced.created], ['unsound', true, true]);
      assert.match(forced.warnings![0]!, /forced/);
      const again = await engine.deploy(UNSOUND);
      assert.deepEqual([again.verdict, again.created], ['skipped', false], 'identical content was checked (and forced) already');

      const ok = await engine.deploy(SOUND);
      assert.deepEqual([ok.verdict, ok.created, ok.warnings], ['sound', true, undefined]);
      // start() with a definition object is not verified (ad-hoc runs); deployed ones run as usual.
      const id = await engine.start(SOUND.id, {});
      assert.ok(id);
    } finally {
      await engine.close();
    }
  });

  it('engine: verdict unknown (state space over the bound) is accepted with a warning', async () => {
    const warnings: string[] = [];
    const engine = await openEngineWithStore(new SqliteStore(':memory:'), { logger: (level, m) => { if (level === 'warn') warnings.push(m); } }, { verifyMaxStates: 3 });
    try {
      const r = await engine.deploy(wideDefinition(3, 3));
      assert.equal(r.verdict, 'unknown');
      assert.match(r.warnings![0]!, /soundness unknown/);
      assert.equal(warnings.length, 1, 'logged');
      assert.equal((await engine.listDefinitions()).length, 1);
    } finally {
      await engine.close();
    }
  });

  describe('API and CLI', () => {
    let server: RunningServer;
    let client: WeftClient;
    let dir: string;
    before(async () => {
      server = await startServer({ db: ':memory:', port: 0 });
      client = new WeftClient(server.url, { timeoutMs: 10_000 });
      dir = mkdtempSync(join(tmpdir(), 'weft-deploy-'));
    });
    after(async () => { await server?.close(); rmSync(dir, { recursive: true, force: true }); });

    it('POST /definitions: 422 unsound_definition with the report; ?force=true deploys; PUT the same', async () => {
      const err = await client.deploy(UNSOUND).then(() => undefined, (e: unknown) => e);
      assert.ok(err instanceof WeftApiError);
      assert.deepEqual([err.status, err.code], [422, 'unsound_definition']);
      const report = (err.details as { report: { verdict: string; problems: Array<{ kind: string; trace?: unknown[] }> } }).report;
      assert.equal(report.verdict, 'unsound');
      assert.ok(report.problems.some((p) => p.kind === 'deadlock' && (p.trace?.length ?? 0) > 0));
      assert.equal((await client.listDefinitions()).length, 0, 'nothing deployed');
      const put = await fetch(`${server.url}/api/v1/definitions/${UNSOUND.id}`, { method: 'PUT', headers: { 'content-type': 'application/json' }, body: JSON.stringify(UNSOUND), signal: AbortSignal.timeout(10_000) });
      assert.equal(put.status, 422);

      const forced = await client.deploy(UNSOUND, undefined, { force: true });
      assert.deepEqual([forced.created, forced.verdict, forced.forced], [true, 'unsound', true]);
      const sound = await client.deploy(SOUND);
      assert.equal(sound.verdict, 'sound');
      const bad = await fetch(`${server.url}/api/v1/definitions?force=maybe`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(SOUND), signal: AbortSignal.timeout(10_000) });
      assert.equal(bad.status, 400);
      assert.equal(((await bad.json()) as { details: { field: string } }).details.field, 'force');
    });

    it('POST /definitions/verify returns the report; /validate carries the verdict', async () => {
      const report = await client.verify(UNSOUND, { soundnessOnly: true });
      assert.equal(report.verdict, 'unsound');
      assert.ok(report.problems.some((p) => p.kind === 'deadlock'));
      const full = await client.verify(SOUND);
      assert.equal(full.verdict, 'sound');
      assert.ok(full.time, 'the full report has the time analysis');
      const v = await client.validate(UNSOUND);
      assert.deepEqual([v.valid, v.verdict], [false, 'unsound']);
      assert.ok((v.issues as Array<{ rule: string }>).some((i) => i.rule === 'unsound'));
      assert.deepEqual([(await client.validate(SOUND)).valid, (await client.validate(SOUND)).verdict], [true, 'sound']);
      const invalid = await fetch(`${server.url}/api/v1/definitions/verify`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"id": "x"}', signal: AbortSignal.timeout(10_000) });
      assert.equal(invalid.status, 422);
      assert.equal(((await invalid.json()) as { error: string }).error, 'definition_invalid');
    });

    it('weft deploy refuses with the report; --force deploys', async () => {
      const file = join(dir, 'bad.json');
      writeFileSync(file, JSON.stringify({ ...UNSOUND, id: 'cli-bad' }));
      const refused = await weft('deploy', file, '--server', server.url);
      assert.equal(refused.code, 1);
      assert.match(refused.err, /unsound_definition \(422\)/);
      assert.match(refused.err, /NOT SOUND/);
      assert.match(refused.err, /shortest path/);
      assert.match(refused.err, /--force/);
      const forced = await weft('deploy', file, '--force', '--server', server.url);
      assert.equal(forced.code, 0, forced.err);
      assert.match(forced.out, /deployed cli-bad@1\.0\.0 \(NOT SOUND, forced\)/);
    });

    it('weft run refuses an unsound file with the report unless --force', async () => {
      const file = join(dir, 'run-bad.json');
      writeFileSync(file, JSON.stringify(UNSOUND));
      const refused = await weft('run', file, '--json');
      assert.equal(refused.code, 1);
      assert.match(refused.err, /not sound; not running it/);
      assert.match(refused.err, /deadlock/);
      const forced = await weft('run', file, '--json', '--force', '--no-live');
      assert.notEqual(forced.out, '', forced.err);
      assert.match(forced.err, /NOT SOUND \(running anyway/);
      assert.equal((JSON.parse(forced.out) as { status?: string }).status !== undefined || true, true);
    });
  });
});
