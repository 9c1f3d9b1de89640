/**
 * `weft resume --db PATH`: reopens a database after a crash or a stop. The engine's recovery
 * resumes every unfinished instance; this command follows them with the same view as `run`
 * and exits once all are finished or only wait for people or outside events.
 */
import { existsSync } from 'node:fs';
import type { Definition } from '../model/schema.js';
import type { InstanceStatus } from '../core/types.js';
import { ActivityRegistry } from '../runtime/activity.js';
import { checkActivitiesRegistered, loadActivitiesModule } from './activities-module.js';
import { AnswerBook } from './answers.js';
import { openCliEngine, requireExistingDb } from './engine-access.js';
import { colors } from './format.js';
import { EXIT, type CliIO, writeLine } from './io.js';
import { outcomeOf, printOutcome, resultJson } from './run-report.js';
import { LABEL_ACTIVITIES, LABEL_ANSWERS } from './run.js';
import { createWatchSession } from './watch-session.js';

export interface ResumeCommandOptions {
  db?: string;
  activities?: string;
  answers?: string;
  json?: boolean;
  live?: boolean;
  maxPayload?: string;
}

const UNFINISHED: InstanceStatus[] = ['pending', 'running', 'paused', 'waiting', 'compensating'];

interface Unfinished {
  id: string;
  definition?: Definition;
  labels: Record<string, string>;
  parentId?: string;
}

export async function resumeCommand(options: ResumeCommandOptions, io: CliIO): Promise<number> {
  const db = requireExistingDb(options.db);
  const json = options.json === true;
  const say = (text: string) => {
    if (!json) writeLine(io.stdout, text);
  };

  // First look without recovering, to learn which activity modules the unfinished instances need.
  const unfinished = await listUnfinished(db);
  if (unfinished.length === 0) {
    if (json) writeLine(io.stdout, JSON.stringify({ db, instances: [] }, null, 2));
    else say(`nothing to resume: every instance in ${db} is finished`);
    return EXIT.ok;
  }

  const registry = new ActivityRegistry();
  const modules = options.activities ? [options.activities] : [...new Set(unfinished.map((u) => u.labels[LABEL_ACTIVITIES]).filter(Boolean))];
  for (const file of modules) {
    if (!options.activities && !existsSync(file)) {
      say(colors.yellow(`  activities module recorded at run time is gone: ${file}`));
      continue;
    }
    const names = await loadActivitiesModule(file, registry);
    say(`  ${colors.dim('activities'.padEnd(11))} ${file}${options.activities ? '' : ' (recorded by weft run)'}: ${names.join(', ') || 'registered nothing'}`);
  }

  const bookByFile = new Map<string, AnswerBook>();
  const answersFileOf = (u: Unfinished | undefined) => options.answers ?? u?.labels[LABEL_ANSWERS];
  for (const u of unfinished) {
    const file = answersFileOf(u);
    if (file && !bookByFile.has(file) && (options.answers || existsSync(file))) bookByFile.set(file, AnswerBook.fromFile(file));
  }
  // One fresh book per instance: each replays its own history against the file.
  const answersFor = (instanceId: string) => {
    const file = answersFileOf(unfinished.find((u) => u.id === instanceId));
    const book = file ? bookByFile.get(file) : undefined;
    return book ? new AnswerBook(book.answers, book.source) : undefined;
  };

  const engine = await openCliEngine({ db, activities: registry, recover: true, maxPayload: options.maxPayload });
  try {
    for (const u of unfinished) {
      if (u.definition) checkActivitiesRegistered(u.definition, engine.activities, `  instance ${u.id} (${u.definition.id}) needs it; pass --activities MODULE`);
    }
    say(`${colors.bold('weft resume')} ${db}: ${unfinished.length} unfinished instance(s)\n`);
    const session = createWatchSession(engine, io, {
      json,
      live: options.live !== false,
      answersFor,
      titleOf: (id, defId) => `${defId ?? '?'} ${colors.dim(id)}`,
    });
    // Roots first: their children are then picked up through the parent link.
    for (const u of unfinished.filter((x) => !x.parentId)) await session.driver.watch(u.id, u.definition);
    for (const u of unfinished.filter((x) => x.parentId)) await session.driver.watch(u.id, u.definition);
    const offInterrupt = io.onInterrupt?.(() => {
      session.view.stop();
      writeLine(io.stderr, `\ninterrupted: the unfinished instances stay in ${db}; continue with: weft resume --db ${db}`);
      void engine.close().finally(() => process.exit(EXIT.interrupted));
    });
    await session.driver.untilSettled();
    offInterrupt?.();
    session.view.stop();
    session.driver.close();

    const waiting = session.driver.waiting();
    const outcomes = [...session.driver.trackers.values()].map((tracker) => ({
      tracker,
      outcome: outcomeOf(tracker, session.driver.states.get(tracker.instanceId), waiting),
    }));
    if (json) {
      writeLine(io.stdout, JSON.stringify({ db, instances: outcomes.map((o) => resultJson(o.tracker, o.outcome)), notes: session.notes }, null, 2));
    } else {
      for (const { tracker, outcome } of outcomes) printOutcome(io, tracker, outcome, db);
    }
    const codes = outcomes.map((o) => o.outcome.exitCode);
    return codes.includes(EXIT.failure) ? EXIT.failure : codes.includes(EXIT.waiting) ? EXIT.waiting : EXIT.ok;
  } finally {
    await engine.close();
  }
}

async function listUnfinished(db: string): Promise<Unfinished[]> {
  const engine = await openCliEngine({ db, recover: false });
  try {
    const rows = await engine.listInstances({ status: UNFINISHED, limit: 100_000 });
    const found: Unfinished[] = [];
    for (const row of rows) {
      found.push({
        id: row.id,
        definition: await engine.getDefinition(row.definitionId, row.definitionVersion),
        labels: row.labels ?? {},
        parentId: row.parentId,
      });
    }
    return found;
  } finally {
    await engine.close();
  }
}
