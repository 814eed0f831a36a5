/**
 * `raptor watch`: prints store changes as they happen until Ctrl-C (SIGINT) or SIGTERM, then
 * closes the watcher and returns normally, so the exit code is 0. With `--json`, NDJSON: one
 * event per line, `{ "type", "name", "revision"?, "reason"?, "at" }`.
 */
import type { Command } from 'commander';
import type { StoreEvent } from '../../store/types.js';
import type { Run } from '../command.js';
import { withManager, type CliContext } from '../context.js';
import { examples, type CommandOutput } from '../output.js';
import { signalled } from '../signals.js';

export function registerWatch(program: Command, run: Run): void {
  program
    .command('watch')
    .summary('print session changes as they happen')
    .description('Print session changes (put, delete, quarantine) until Ctrl-C. With --json: one JSON event per line')
    .addHelpText(
      'after',
      examples([
        ['raptor watch', 'follow changes'],
        ['raptor watch --json | jq -c "select(.type == \\"delete\\")"', 'react to deletions'],
      ]),
    )
    .action(run((cli) => watch(cli)));
}

export async function watch(cli: CliContext, until: Promise<unknown> = signalled()): Promise<CommandOutput> {
  await withManager(cli, {}, async (manager) => {
    cli.logger.info({ dir: manager.location }, 'watching for session changes; Ctrl-C to stop');
    const stop = manager.watch((event) => {
      const line = { ...event, at: new Date().toISOString() };
      cli.emit(line, describeEvent(line));
    });
    // A store with a server says when its feed drops and comes back: the person watching must know
    // that changes made in between were not shown. On stderr whatever the log level, like a prompt.
    const stopConnection = manager.watchConnection((change) => cli.notice(change.message));
    try {
      await until;
    } finally {
      stopConnection();
      stop();
    }
  });
  return {};
}

function describeEvent(event: StoreEvent & { at: string }): string {
  switch (event.type) {
    case 'put':
      return `${event.at}  put         ${event.name} (revision ${event.revision})`;
    case 'delete':
      return `${event.at}  delete      ${event.name}`;
    case 'quarantine':
      return `${event.at}  quarantine  ${event.name}: ${event.reason}`;
  }
}
