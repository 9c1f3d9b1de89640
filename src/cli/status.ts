/**
 * `weft status ID --db PATH [--at SEQ]`: where an instance stands — steps, what it waits for,
 * output or error — now, or as it stood right after event SEQ (time travel: the state is rebuilt
 * from the latest snapshot at or before SEQ and the log).
 */
import { TERMINAL_STATUSES } from '../core/types.js';
import { openCliEngine, readHistory, requireExistingDb } from './engine-access.js';
import { colors, formatIso, prettyJson } from './format.js';
import { CliError, EXIT, type CliIO, writeLine } from './io.js';
import { renderInstanceBlock } from './live-view.js';
import { StepTracker } from './step-tracker.js';

export interface StatusCommandOptions {
  db?: string;
  json?: boolean;
  /** Event sequence number to rebuild the state at. */
  at?: string;
}

export async function statusCommand(instanceId: string, options: StatusCommandOptions, io: CliIO): Promise<number> {
  const db = requireExistingDb(options.db);
  const engine = await openCliEngine({ db, recover: false });
  try {
    const at = options.at === undefined ? undefined : Number(options.at);
    if (at !== undefined && (!Number.isInteger(at) || at < 1)) throw new CliError(`--at: expected an event sequence number (1, 2, …), got "${options.at}"`, 2);
    const current = await engine.getState(instanceId);
    if (!current) throw new CliError(`no instance ${instanceId} in ${db}`);
    if (at !== undefined && at > current.seq) throw new CliError(`--at ${at}: instance ${instanceId} has only ${current.seq} events`, 2);
    const state = at === undefined ? current : (await engine.getStateAt(instanceId, at))!;
    if (options.json) {
      writeLine(io.stdout, JSON.stringify(state, null, 2));
      return EXIT.ok;
    }
    const tracker = new StepTracker(instanceId, await engine.getDefinition(state.definitionId, state.definitionVersion));
    tracker.applyAll((await readHistory(engine, instanceId)).filter((e) => e.seq <= state.seq));
    if (at !== undefined) writeLine(io.stdout, colors.dim(`  as of event ${at} of ${current.seq}`));
    const out = io.stdout;
    writeLine(out, renderInstanceBlock({ tracker, title: `${state.definitionId}@${state.definitionVersion} ${colors.dim(instanceId)}` }));
    writeLine(out);
    writeLine(out, `  created ${formatIso(state.createdAt)} · updated ${formatIso(state.updatedAt)}${state.endedAt ? ` · ended ${formatIso(state.endedAt)}` : ''}`);
    if (Object.keys(state.vars).length) writeLine(out, `  vars    ${JSON.stringify(state.vars)}`);
    if (state.error) writeLine(out, colors.red(`  error   ${state.error.code}: ${state.error.message}${state.failedRun ? ` (step ${state.failedRun.stepId})` : ''}`));
    if (state.status === 'completed') writeLine(out, `  output\n${indent(prettyJson(state.output))}`);
    if (!TERMINAL_STATUSES.has(state.status)) writeLine(out, colors.dim(`  continue it with: weft resume --db ${db}`));
    return EXIT.ok;
  } finally {
    await engine.close();
  }
}

function indent(text: string): string {
  return text.split('\n').map((l) => '    ' + l).join('\n');
}
