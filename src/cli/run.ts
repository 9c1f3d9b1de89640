/**
 * `weft run FILE`: a one-shot embedded run of a definition file with a live step view, scripted
 * or interactive answers, and a timeline at the end. Exit 0 when the instance completes.
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { ActivityRegistry } from '../runtime/activity.js';
import { activitiesUsedBy, checkActivitiesRegistered, loadActivitiesModule } from './activities-module.js';
import { AnswerBook } from './answers.js';
import { loadDefinitionForRun } from './definition-loader.js';
import { openCliEngine } from './engine-access.js';
import { colors } from './format.js';
import { parseInputOption } from './input-option.js';
import { CliError, EXIT, type CliIO, writeLine } from './io.js';
import { outcomeOf, printOutcome, resultJson } from './run-report.js';
import { findSiblingActivities, findSiblingAnswers } from './sibling-files.js';
import { createWatchSession } from './watch-session.js';
import { formatReport } from '../verify/report.js';
import { verifyDefinition } from '../verify/verify.js';

export interface RunCommandOptions {
  input?: string;
  db?: string;
  activities?: string;
  answers?: string;
  json?: boolean;
  /** false with `--no-live`. */
  live?: boolean;
  maxPayload?: string;
  /** Run even when the verifier proves the definition unsound. */
  force?: boolean;
}

/** Labels recorded on the instance so `weft resume` finds the same modules after a crash. */
export const LABEL_ACTIVITIES = 'weft.cli.activities';
export const LABEL_ANSWERS = 'weft.cli.answers';

export async function runCommand(file: string, options: RunCommandOptions, io: CliIO): Promise<number> {
  const json = options.json === true;
  const input = parseInputOption(options.input);
  const definition = await loadDefinitionForRun(file, io);
  // As a deploy: an unsound definition is refused (with the verifier's report) unless --force.
  const verification = await verifyDefinition(definition, { soundnessOnly: true });
  if (verification.verdict === 'unsound' && options.force !== true) {
    throw new CliError(`${file}: the workflow is not sound; not running it (pass --force to run it anyway)\n${formatReport(verification, file, { info: false })}`);
  }
  const info = (label: string, text: string) => {
    if (!json) writeLine(io.stdout, `  ${colors.dim(label.padEnd(11))} ${text}`);
  };
  if (!json) writeLine(io.stdout, colors.bold(`weft run ${file}`));
  info('definition', `${definition.id}${definition.version ? ` ${definition.version}` : ''} (${definition.steps.length} steps)`);
  if (verification.verdict !== 'sound') {
    const why = verification.problems.find((p) => p.severity === 'error' || p.kind === 'state-space');
    writeLine(io.stderr, `warning: ${verification.verdict === 'unsound' ? 'the workflow is NOT SOUND (running anyway: --force)' : 'soundness unknown'}: ${why?.message ?? ''}`);
  }

  const db = options.db ?? join(mkdtempSync(join(tmpdir(), 'weft-run-')), 'weft.db');
  info('database', options.db ? db : `${db} (a fresh temporary file; pass --db FILE to choose one)`);

  const registry = new ActivityRegistry();
  const activitiesFile = options.activities ?? findSiblingActivities(file);
  let activitiesNote = '  no activities module: pass --activities MODULE, or put <name>.activities.ts next to the definition';
  if (activitiesFile) {
    const names = await loadActivitiesModule(activitiesFile, registry);
    const how = options.activities ? '' : ' (found next to the definition)';
    info('activities', `${activitiesFile}${how}: ${names.length ? names.join(', ') : 'registered nothing'}`);
    activitiesNote = `  activities module: ${activitiesFile}`;
  } else if (activitiesUsedBy(definition).length > 0) {
    info('activities', 'built-ins only (no --activities and no <name>.activities.ts next to the definition)');
  }

  const answersFile = options.answers ?? findSiblingAnswers(file);
  const answers = answersFile ? AnswerBook.fromFile(answersFile) : undefined;
  if (answersFile) info('answers', `${answersFile}${options.answers ? '' : ' (found next to the definition)'}: ${answers!.answers.length} answer(s)`);

  const engine = await openCliEngine({ db, activities: registry, recover: false, maxPayload: options.maxPayload });
  try {
    checkActivitiesRegistered(definition, engine.activities, activitiesNote);
    const session = createWatchSession(engine, io, {
      json,
      live: options.live !== false,
      answersFor: () => answers,
      titleOf: (id, defId) => `${defId ?? definition.id} ${colors.dim(id)}`,
    });
    const labels: Record<string, string> = {};
    if (activitiesFile) labels[LABEL_ACTIVITIES] = resolve(activitiesFile);
    if (answersFile) labels[LABEL_ANSWERS] = resolve(answersFile);
    let instanceId: string;
    try {
      instanceId = await engine.start(definition, input, { labels });
    } catch (err) {
      const hint = isInputProblem(err) && options.input === undefined ? `\n  pass the workflow input with --input '{…}' or --input @file.json` : '';
      throw new CliError(`the instance could not start: ${(err as Error).message}${hint}`, isInputProblem(err) ? EXIT.usage : EXIT.failure);
    }
    info('instance', instanceId);
    if (!json) writeLine(io.stdout);
    const offInterrupt = io.onInterrupt?.(() => {
      session.view.stop();
      writeLine(io.stderr, `\ninterrupted: instance ${instanceId} stays in ${db}; continue it with: weft resume --db ${db}`);
      void engine.close().finally(() => process.exit(EXIT.interrupted));
    });
    await session.driver.watch(instanceId, definition);
    await session.driver.untilSettled();
    offInterrupt?.();
    session.view.stop();
    session.driver.close();

    const tracker = session.driver.trackers.get(instanceId)!;
    const state = session.driver.states.get(instanceId) ?? (await engine.getState(instanceId));
    const outcome = outcomeOf(tracker, state, session.driver.waiting());
    if (json) {
      const result = { ...resultJson(tracker, outcome), db, file, activities: activitiesFile, answers: answersFile, notes: session.notes };
      writeLine(io.stdout, JSON.stringify(result, null, 2));
    } else {
      printOutcome(io, tracker, outcome, db);
    }
    return outcome.exitCode;
  } finally {
    await engine.close();
  }
}

function isInputProblem(err: unknown): boolean {
  const code = (err as { code?: unknown }).code;
  return code === 'invalid_input' || code === 'payload_too_large';
}
