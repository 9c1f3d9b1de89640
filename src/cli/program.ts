/**
 * The `weft` command line: one commander program, one file per command. `runCli` never calls
 * `process.exit`; it returns the exit code so tests can run it in-process.
 */
import { Command, CommanderError, Option } from 'commander';
import { historyCommand } from './history.js';
import { migrateCommand } from './migrate.js';
import { instancesCommand } from './instances.js';
import { CliError, EXIT, type CliIO, writeLine } from './io.js';
import { resumeCommand } from './resume.js';
import { runCommand } from './run.js';
import { statusCommand } from './status.js';
import { runValidate } from './validate.js';
import { registerServerCommands } from './client-register.js';
import { runVerify } from './verify.js';

const VERSION = '0.1.0';

export function buildProgram(io: CliIO, setExit: (code: number) => void): Command {
  const program = new Command('weft')
    .description('Weft: a durable workflow engine. Run, validate and inspect workflow definitions.')
    .version(VERSION, '-V, --version')
    .showHelpAfterError('(run "weft --help" for usage)')
    .configureOutput({ writeOut: (s) => io.stdout.write(s), writeErr: (s) => io.stderr.write(s) })
    .exitOverride();

  program
    .command('run')
    .description('run a workflow file once on an embedded engine, with a live step view')
    .argument('<file>', 'definition file (.yaml, .yml or .json)')
    .option('-i, --input <json|@file>', 'workflow input: inline JSON, or @path to a JSON/YAML file')
    .option('--db <path>', 'SQLite file to record the run in (default: a fresh temporary file)')
    .option('-a, --activities <module>', 'activities module (default: <name>.activities.ts next to the file)')
    .option('--answers <file>', 'answers for human tasks and waits (default: <name>.answers.yaml next to the file)')
    .option('--json', 'print one JSON result object instead of the view')
    .option('--no-live', 'print one line per step change instead of redrawing')
    .option('--max-payload <size>', 'largest input/output/event payload, e.g. 512kb (default 1mib; env WEFT_MAX_PAYLOAD)')
    .option('--force', 'run even if the verifier proves the definition unsound')
    .action(async (file: string, options) => setExit(await runCommand(file, options, io)));

  program
    .command('validate')
    .description('check definition files: schema, graph rules, expressions (errors with lines)')
    .argument('<files...>', 'definition files')
    .option('--json', 'print the issues as JSON')
    .action(async (files: string[], options: { json?: boolean }) =>
      setExit(await runValidate(files, { json: options.json === true }, { stdout: (s) => writeLine(io.stdout, s), stderr: (s) => writeLine(io.stderr, s) })),
    );

  program
    .command('verify')
    .description('prove definitions sound, or show the shortest run into each problem (also .pnml nets)')
    .argument('<files...>', 'definition files (.yaml, .yml, .json) or PNML nets (.pnml)')
    .option('--json', 'print the reports as JSON')
    .option('--dot', 'print each net in Graphviz DOT instead of a report')
    .option('--pnml', 'print each net in PNML (ISO/IEC 15909-2) instead of a report')
    .option('--conditions <mode>', 'simple: decide comparisons of input fields with literals per input class (default free)')
    .option('--signals <mode>', 'early: also explore signals sent before their wait starts')
    .option('--max-states <n>', 'give up (verdict "unknown") past this many states (default 100000)')
    .action(async (files: string[], options: { json?: boolean; dot?: boolean; pnml?: boolean; maxStates?: string; conditions?: string; signals?: string }) =>
      setExit(await runVerify(files, {
        json: options.json === true, dot: options.dot === true, pnml: options.pnml === true, maxStates: options.maxStates,
        ...(options.conditions !== undefined && { conditions: options.conditions }), ...(options.signals !== undefined && { signals: options.signals }),
      }, { stdout: (s) => writeLine(io.stdout, s), stderr: (s) => writeLine(io.stderr, s) })),
    );

  program
    .command('resume')
    .description('reopen a database: finish every unfinished instance (after a crash or stop)')
    .addOption(new Option('--db <path|url>', 'SQLite file or postgres:// URL to resume').makeOptionMandatory())
    .option('-a, --activities <module>', 'activities module (default: the one recorded by weft run)')
    .option('--answers <file>', 'answers for human tasks and waits (default: the one recorded by weft run)')
    .option('--json', 'print one JSON result object instead of the view')
    .option('--no-live', 'print one line per step change instead of redrawing')
    .option('--max-payload <size>', 'largest input/output/event payload, e.g. 512kb (default 1mib; env WEFT_MAX_PAYLOAD)')
    .action(async (options) => setExit(await resumeCommand(options, io)));

  program
    .command('history')
    .description("print an instance's event log")
    .argument('<id>', 'instance id')
    .addOption(new Option('--db <path|url>', 'SQLite file or postgres:// URL').makeOptionMandatory())
    .option('--json', 'print the events as JSON')
    .action(async (id: string, options) => setExit(await historyCommand(id, options, io)));

  program
    .command('status')
    .description('show where an instance stands: steps, waits, output or error')
    .argument('<id>', 'instance id')
    .addOption(new Option('--db <path|url>', 'SQLite file or postgres:// URL').makeOptionMandatory())
    .option('--json', 'print the instance state as JSON')
    .option('--at <seq>', 'the state right after event SEQ (time travel)')
    .action(async (id: string, options) => setExit(await statusCommand(id, options, io)));

  program
    .command('instances')
    .description('list the instances in a database')
    .addOption(new Option('--db <path|url>', 'SQLite file or postgres:// URL').makeOptionMandatory())
    .option('--status <list>', 'only these statuses, comma-separated (e.g. waiting,failed)')
    .option('--limit <n>', 'at most n instances (default 100)')
    .option('--json', 'print the list as JSON')
    .action(async (options) => setExit(await instancesCommand(options, io)));

  program
    .command('migrate')
    .description('apply the schema migrations a database lacks (SQLite file or postgres:// URL) and print them')
    .option('--db <path|url>', 'SQLite file or PostgreSQL URL (default: env WEFT_DB, else .weft/weft.db)')
    .option('--json', 'print {database, applied} as JSON')
    .action(async (options) => setExit(await migrateCommand(options, io)));

  registerServerCommands(program, io, setExit);

  return program;
}

/** Parses `argv` (without node and script), runs the command, returns the exit code. */
export async function runCli(argv: string[], io: CliIO): Promise<number> {
  let code: number = EXIT.ok;
  const program = buildProgram(io, (c) => (code = c));
  try {
    await program.parseAsync(argv, { from: 'user' });
    return code;
  } catch (err) {
    if (err instanceof CommanderError) {
      if (err.code === 'commander.helpDisplayed' || err.code === 'commander.version' || err.code === 'commander.help') return EXIT.ok;
      if (err.code === 'commander.executeSubCommandAsync') return err.exitCode;
      return EXIT.usage;
    }
    if (err instanceof CliError) {
      writeLine(io.stderr, `weft: ${err.message}`);
      return err.exitCode;
    }
    writeLine(io.stderr, `weft: unexpected error: ${(err as Error)?.stack ?? String(err)}`);
    return EXIT.failure;
  }
}
