/**
 * `raptor rm <name...>`: deletes sessions, their kept-alive browsers and profiles.
 * Without `--force`, a missing name fails the whole command before anything is deleted,
 * so a typo never leaves a half-done removal.
 */
import type { Command } from 'commander';
import { RaptorError, isRaptorError } from '../../core/errors.js';
import type { SessionManager } from '../../manager.js';
import type { Run } from '../command.js';
import { withManager, type CliContext } from '../context.js';
import { examples, quote, type CommandOutput } from '../output.js';

export interface RmFlags {
  force?: boolean;
}

export function registerRm(program: Command, run: Run): void {
  program
    .command('rm')
    .summary('delete sessions')
    .alias('delete')
    .description('Delete sessions, stop their kept-alive browsers and remove their profiles. Invalid sessions can be removed too')
    .argument('<name...>', 'sessions to delete')
    .option('-f, --force', 'ignore names that do not exist')
    .addHelpText(
      'after',
      examples([
        ['raptor rm acme-admin', 'delete one session'],
        ['raptor rm old-1 old-2 --force', 'delete several, ignoring missing ones'],
      ]),
    )
    .action(run((cli, names: string[], flags: RmFlags) => removeSessions(cli, names, flags)));
}

export async function removeSessions(cli: CliContext, names: string[], flags: RmFlags): Promise<CommandOutput> {
  const unique = [...new Set(names)];
  const { removed, missing } = await withManager(cli, { autoCleanup: false }, async (manager) => {
    if (!flags.force) {
      const absent: string[] = [];
      for (const name of unique) if (!(await exists(manager, name))) absent.push(name);
      if (absent.length > 0) {
        throw new RaptorError(
          'NOT_FOUND',
          `No session ${absent.map(quote).join(', ')} in ${manager.location}; nothing was deleted. Run \`raptor list\` to see sessions, or pass \`--force\` to ignore missing ones.`,
        );
      }
    }
    const result = { removed: [] as string[], missing: [] as string[] };
    for (const name of unique) (await manager.delete(name) ? result.removed : result.missing).push(name);
    return result;
  });
  return {
    data: { removed, missing },
    text: () =>
      [...removed.map((name) => `Deleted ${quote(name)}.`), ...missing.map((name) => `No session ${quote(name)}; skipped.`)].join('\n'),
  };
}

/**
 * True when a file is stored for `name`, valid or not (an invalid one can be removed too). Reads
 * metadata only: deleting needs no key, so a session the key at hand cannot open is removed too.
 */
async function exists(manager: SessionManager, name: string): Promise<boolean> {
  try {
    await manager.head(name);
    return true;
  } catch (error) {
    if (isRaptorError(error, 'INVALID_SESSION')) return true;
    if (isRaptorError(error, 'NOT_FOUND')) return false;
    throw error;
  }
}
