/**
 * `raptor keep [names…]`: keeps sessions logged in, in the foreground, until Ctrl-C or SIGTERM
 * (or, with `--once`, for one round: for cron). The loop is `src/keeper/`, loaded only by this
 * command; here: options, one line (or NDJSON event) per step, the exit code.
 */
import type { Command } from 'commander';
import { parseDuration } from '../../core/duration.js';
import type { KeepEvent, KeepSummary } from '../../keeper/keeper.js';
import type { Run } from '../command.js';
import { withManager, type CliContext } from '../context.js';
import { usage } from '../options.js';
import { examples, type CommandOutput } from '../output.js';
import { signalled } from '../signals.js';
import { loadSecretsFile } from '../secrets-file.js';

export interface KeepFlags {
  every: string;
  once?: boolean;
  concurrency: string;
  secretsFile?: string;
}

export function registerKeep(program: Command, run: Run): void {
  program
    .command('keep')
    .summary('keep sessions logged in: visit them on a schedule, log in again when they are not')
    .description(
      "Keep sessions logged in until Ctrl-C: each round visits every session's recipe url (in its kept-alive browser when it runs, else headless with the saved state), saves what the server refreshed and, when the recipe's check says it is logged out, logs in again with its recorded recipe. Sessions expiring before the next round are visited earlier; failing ones are retried less and less often (up to hourly). Without names: every session with a recorded recipe. Status in each session's metadata.keep",
    )
    .argument('[names...]', 'sessions to keep (default: every session logged in with `raptor login --recipe`)')
    .option('--every <duration>', 'how often each session is visited', '10m')
    .option('--once', 'one round over every session, then exit (for cron): exit 1 when any failed')
    .option('--concurrency <n>', 'sessions refreshed at the same time', '2')
    .option('--secrets-file <file>', "read the recipes' credentials from this dotenv file (into this process's environment only; never stored)")
    .addHelpText(
      'after',
      examples([
        ['raptor keep', 'keep every session that has a recipe, visiting each every 10 minutes'],
        ['raptor keep acme-admin acme-viewer --every 2m', 'only these two, more often'],
        ['raptor keep --once --json', 'one round for cron: NDJSON events, the last one lists each session'],
        ['raptor keep --secrets-file /etc/raptor/acme.env', 'the credentials a re-login needs, from a dotenv file'],
      ]) + '\nExit codes: 0 stopped by a signal, or every session kept (--once); 1 a session failed (--once); 2 a bad option, or a named session has no recipe; 3 a named session does not exist.\n',
    )
    .action(run((cli, names: string[], flags: KeepFlags) => keep(cli, names, flags)));
}

export async function keep(cli: CliContext, names: string[], flags: KeepFlags, until: Promise<unknown> = signalled()): Promise<CommandOutput> {
  const everyMs = parseDuration(flags.every, '--every');
  if (everyMs < 1000) throw usage(`\`--every ${flags.every}\` is too short: give at least \`1s\`.`);
  const concurrency = Number(flags.concurrency);
  if (!Number.isInteger(concurrency) || concurrency < 1 || concurrency > 64) throw usage(`\`--concurrency\` must be a whole number from 1 to 64, got \`${flags.concurrency}\`.`);
  if (flags.secretsFile) loadSecretsFile(flags.secretsFile);
  const { keepSessions } = await import('../../keeper/keeper.js');
  const summary = await withManager(cli, {}, (manager) =>
    keepSessions({
      manager,
      names,
      everyMs,
      once: flags.once === true,
      concurrency,
      logger: cli.logger,
      onEvent: (event) => cli.emit(event, describe(event)),
      until,
    }),
  );
  if (flags.once) cli.emit({ type: 'done', ...summary }, describeSummary(summary));
  return flags.once && !summary.ok ? { exitCode: 1 } : {};
}

function describe(event: KeepEvent): string {
  switch (event.type) {
    case 'visited':
      return `${event.at}  visited     ${event.name} (${event.via}): ${event.loggedIn ? 'logged in' : 'logged out'}`;
    case 'refreshed':
      return `${event.at}  refreshed   ${event.name} (revision ${event.revision}${event.conflict ? ', saved by another writer meanwhile' : ''}); next at ${event.nextAt}`;
    case 'logged-in':
      return `${event.at}  logged in   ${event.name} again (${event.reason ?? 'it was logged out'}); next at ${event.nextAt}`;
    case 'failed':
      return `${event.at}  failed      ${event.name} (${event.code}, ${event.failures} in a row): ${event.error}; retry at ${event.nextAt}`;
  }
}

function describeSummary(summary: KeepSummary): string {
  const count = (result: string) => summary.sessions.filter((s) => s.result === result).length;
  return `kept ${summary.sessions.length} session(s): ${count('refreshed')} refreshed, ${count('logged-in')} logged in again, ${count('failed')} failed`;
}
