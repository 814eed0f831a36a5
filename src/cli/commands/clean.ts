/**
 * `raptor clean`: removes expired sessions, quarantines invalid files, sweeps stale temp files
 * and old quarantine entries. The manager is opened without its own startup cleanup, so
 * `--dry-run` really changes nothing and the report lists everything that was done.
 */
import type { Command } from 'commander';
import type { CleanupResult } from '../../maintenance/cleanup.js';
import type { Run } from '../command.js';
import { withManager, type CliContext } from '../context.js';
import { examples, quote, type CommandOutput } from '../output.js';

export interface CleanFlags {
  dryRun?: boolean;
  /** `--no-expired` sets this to false. */
  expired: boolean;
  /** `--no-invalid` sets this to false. */
  invalid: boolean;
}

export function registerClean(program: Command, run: Run): void {
  program
    .command('clean')
    .summary('remove expired and quarantine invalid sessions')
    .description('Remove expired sessions and quarantine invalid ones (moved to .quarantine/, never deleted outright)')
    .option('-n, --dry-run', 'report what would be done, change nothing')
    .option('--no-expired', 'keep expired sessions')
    .option('--no-invalid', 'leave invalid files in place')
    .addHelpText(
      'after',
      examples([
        ['raptor clean --dry-run', 'see what would be removed'],
        ['raptor clean --no-expired', 'only quarantine invalid files'],
      ]),
    )
    .action(run((cli, flags: CleanFlags) => clean(cli, flags)));
}

export async function clean(cli: CliContext, flags: CleanFlags): Promise<CommandOutput> {
  // The report below names every file; cleanup's own warnings would say it twice. `--log-level` still wins.
  const quiet = cli.globals.logLevel ? cli : { ...cli, logger: cli.logger.child({}, { level: 'error' }) };
  const result = await withManager(quiet, { autoCleanup: false }, (manager) =>
    manager.cleanup({ expired: flags.expired, invalid: flags.invalid, dryRun: flags.dryRun === true }),
  );
  return {
    data: result,
    // Entries cleanup could not handle were left in place: the run did not do what was asked.
    exitCode: result.errors.length > 0 ? 1 : 0,
    text: () => describeCleanup(result),
  };
}

function describeCleanup(result: CleanupResult): string {
  const would = result.dryRun;
  const lines = [
    ...result.removed.map((name) => `${would ? 'Would remove' : 'Removed'} expired session ${quote(name)}.`),
    ...result.quarantined.map((q) => `${would ? 'Would quarantine' : 'Quarantined'} ${quote(q.key)}${q.name && `${q.name}.json` !== q.key ? ` (session ${quote(q.name)})` : ''}: ${q.reason}`),
    ...result.skipped.map((s) => `Left ${quote(s.key)} alone: ${s.reason}`),
    ...result.errors.map((e) => `Could not clean ${quote(e.key)}: ${e.message}`),
  ];
  if (result.tempFiles > 0) lines.push(`${would ? 'Would delete' : 'Deleted'} ${result.tempFiles} stale temp file(s).`);
  if (result.purgedQuarantine > 0) lines.push(`${would ? 'Would purge' : 'Purged'} ${result.purgedQuarantine} old quarantined file(s).`);
  if (lines.length === 0) return 'Nothing to clean.';
  if (would) lines.push('Dry run: nothing was changed.');
  return lines.join('\n');
}
