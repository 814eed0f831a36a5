/**
 * The commander program: global options, every command, help with examples. Building it has
 * no side effects, so `main` and tests (help snapshots) can both call it.
 */
import { readFileSync } from 'node:fs';
import { Command, Option, type CommanderError } from 'commander';
import type { Register, Run } from './command.js';
import type { CliIo } from './context.js';
import { LOG_LEVELS } from './options.js';
import { examples } from './output.js';
import { registerClean } from './commands/clean.js';
import { registerConfig } from './commands/config.js';
import { registerCrawl } from './commands/crawl.js';
import { registerDoctor } from './commands/doctor.js';
import { registerExport } from './commands/export.js';
import { registerImport } from './commands/import.js';
import { registerLaunch } from './commands/launch.js';
import { registerList } from './commands/list.js';
import { registerOpen } from './commands/open.js';
import { registerRekey } from './commands/rekey.js';
import { registerRestore } from './commands/restore.js';
import { registerRm } from './commands/rm.js';
import { registerSave } from './commands/save.js';
import { registerShow } from './commands/show.js';
import { registerStats } from './commands/stats.js';
import { registerStop } from './commands/stop.js';
import { registerValidate } from './commands/validate.js';
import { registerUi } from './commands/ui.js';
import { registerLogin } from './commands/login.js';
import { registerKeep } from './commands/keep.js';
import { registerWatch } from './commands/watch.js';

const COMMANDS: Register[] = [
  registerLaunch,
  registerSave,
  registerRestore,
  registerStop,
  registerOpen,
  registerList,
  registerShow,
  registerValidate,
  registerRm,
  registerClean,
  registerExport,
  registerImport,
  registerWatch,
  registerStats,
  registerDoctor,
  registerConfig,
  registerCrawl,
  registerRekey,
  registerLogin,
  registerKeep,
  registerUi,
];

/** The command whose usage a commander error is about, for the "see --help" hint. */
export const usageCommand = new WeakMap<CommanderError, Command>();

export function buildProgram(io: CliIo, run: Run): Command {
  const program = new Command('raptor')
    .description('Keep Playwright browser sessions alive: save, list, restore, export and clean named sessions.')
    .version(packageVersion(), '-V, --version')
    .option('--dir <path>', 'sessions directory (default: $RAPTOR_SESSIONS_DIR, else $RAPTOR_HOME/sessions, else ~/.raptor/sessions)')
    .option('--store <url>', 'session store: postgres://user:pw@host/db[?table=name], memory: or a directory (default: $RAPTOR_STORE, else the file store)')
    .option('--json', 'print one JSON document on stdout (NDJSON for watch); logs stay on stderr')
    .addOption(new Option('--log-level <level>', 'stderr log level (default: the logLevel setting, else warn); debug also prints stack traces').choices(LOG_LEVELS))
    .showSuggestionAfterError(true)
    .configureOutput({
      writeOut: (text) => void io.stdout.write(text),
      writeErr: (text) => void io.stderr.write(text),
      outputError: () => undefined, // main prints every error, in one format
    })
    .addHelpText(
      'after',
      examples([
        ['raptor launch acme-admin https://app.acme.test/login --headed', 'log in by hand in a kept-alive browser'],
        ['raptor save acme-admin --tag admin --ttl 12h', 'capture that browser as a session'],
        ['raptor list --json', 'every session as JSON'],
        ['raptor restore acme-admin', 'reattach, or relaunch with the saved state'],
        ['raptor export acme-admin --format playwright -o .auth/admin.json', 'storageState for Playwright Test'],
      ]) +
        '\nExit codes: 0 ok, 1 failure, 2 usage, 3 not found, 4 invalid or expired session, 5 browser unreachable.\n',
    );
  for (const register of COMMANDS) register(program, run);
  // Global options work after the subcommand too (`raptor list --json`): commander parses the
  // root's options anywhere unless positional options are enabled, which we leave off.
  for (const command of allCommands(program)) {
    command.exitOverride((error) => {
      usageCommand.set(error, command);
      throw error;
    });
  }
  return program;
}

function allCommands(command: Command): Command[] {
  return [command, ...command.commands.flatMap(allCommands)];
}

/** `raptor config set` -> `raptor config set`, for hints. */
export function commandPath(command: Command): string {
  const names: string[] = [];
  for (let current: Command | null = command; current; current = current.parent) names.unshift(current.name());
  return names.join(' ');
}

function packageVersion(): string {
  // dist/cli/program.js and src/cli/program.ts are both two levels below package.json.
  const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string };
  return pkg.version;
}
