/** `weft status ID --db PATH`: where an instance stands — steps, what it waits for, output or error. */
import { TERMINAL_STATUSES } from '../core/types.js';
import { openCliEngine, readHistory, requireExistingDb } from './engine-access.js';
import { colors, formatIso, prettyJson } from './format.js';
import { CliError, EXIT, type CliIO, writeLine } from './io.js';
import { renderInstanceBlock } from './live-view.js';
import { StepTracker } from './step-tracker.js';

export interface StatusCommandOptions {
  db?: string;
  json?: boolean;
}

export async function statusCommand(instanceId: string, options: StatusCommandOptions, io: CliIO): Promise<number> {
  const db = requireExistingDb(options.db);
  const engine = await openCliEngine({ db, recover: false });
  try {
    const state = await engine.getState(instanceId);
    if (!state) throw new CliError(`no instance ${instanceId} in ${db}`);
    if (options.json) {
      writeLine(io.stdout, JSON.stringify(state, null, 2));
      return EXIT.ok;
    }
    const tracker = new StepTracker(instanceId, await engine.getDefinition(state.definitionId, state.definitionVersion));
    tracker.applyAll(await readHistory(engine, instanceId));
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
