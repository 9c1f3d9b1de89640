/** `weft history ID --db PATH`: the instance's event log, one line per event (or JSON). */
import { openCliEngine, readHistory, requireExistingDb } from './engine-access.js';
import { formatHistory } from './history-format.js';
import { CliError, EXIT, type CliIO, writeLine } from './io.js';

export interface HistoryCommandOptions {
  db?: string;
  json?: boolean;
}

export async function historyCommand(instanceId: string, options: HistoryCommandOptions, io: CliIO): Promise<number> {
  const db = requireExistingDb(options.db);
  const engine = await openCliEngine({ db, recover: false });
  try {
    const events = await readHistory(engine, instanceId);
    if (events.length === 0) throw new CliError(`no instance ${instanceId} in ${db}`);
    if (options.json) {
      writeLine(io.stdout, JSON.stringify(events, null, 2));
      return EXIT.ok;
    }
    for (const line of formatHistory(events)) writeLine(io.stdout, line);
    return EXIT.ok;
  } finally {
    await engine.close();
  }
}
