/** `raptor stats`: how many sessions, how big, how many expired / invalid / with a live browser. */
import type { Command } from 'commander';
import type { Run } from '../command.js';
import { withManager, type CliContext } from '../context.js';
import { examples, formatBytes, formatFields, type CommandOutput } from '../output.js';

export function registerStats(program: Command, run: Run): void {
  program
    .command('stats')
    .summary('count sessions')
    .description('Count sessions: total, bytes, expired, invalid, with a live browser. Does not run the startup cleanup, so expired and invalid ones are counted')
    .addHelpText('after', examples([['raptor stats --json', '{ "stats": { "count", "bytes", "expired", "invalid", "live" } }']]))
    .action(run((cli) => stats(cli)));
}

export async function stats(cli: CliContext): Promise<CommandOutput> {
  const result = await withManager(cli, { autoCleanup: false }, (manager) => manager.stats());
  return {
    data: { stats: result },
    text: () =>
      formatFields([
        ['sessions', String(result.count)],
        ['size', `${formatBytes(result.bytes)} (${result.bytes} bytes)`],
        ['expired', String(result.expired)],
        ['invalid', String(result.invalid)],
        ['live browsers', String(result.live)],
      ]),
  };
}
