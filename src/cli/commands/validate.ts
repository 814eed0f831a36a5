/**
 * `raptor validate [name...]`: every problem of the named sessions (or all with `--all`).
 * Opens the manager without the startup cleanup: an invalid session must be reported, not
 * quarantined first and then called missing.
 */
import type { Command } from 'commander';
import type { ValidationResult } from '../../core/validate.js';
import type { Run } from '../command.js';
import { withManager, type CliContext } from '../context.js';
import { usage } from '../options.js';
import { examples, type CommandOutput } from '../output.js';

export interface ValidateFlags {
  live?: boolean;
  all?: boolean;
}

/** A result of `validate --json`; `file` is set for an entry whose file could not be read as a session. */
export type ValidateResultOut = ValidationResult & { file?: string };

export function registerValidate(program: Command, run: Run): void {
  program
    .command('validate')
    .summary('check sessions for problems')
    .description('Check sessions: schema, expiry, cookies, and with --live their browser. Exit 4 if any is invalid or expired, 3 if one does not exist. Does not run the startup cleanup')
    .argument('[name...]', 'sessions to check')
    .option('--all', 'check every session in the directory, including files that are not valid sessions')
    .option('--live', 'also check that the recorded browser answers')
    .addHelpText(
      'after',
      examples([
        ['raptor validate acme-admin', 'one session'],
        ['raptor validate --all --live', 'every session, and whether its browser runs'],
      ]),
    )
    .action(run((cli, names: string[], flags: ValidateFlags) => validateSessions(cli, names, flags)));
}

export async function validateSessions(cli: CliContext, names: string[], flags: ValidateFlags): Promise<CommandOutput> {
  if (names.length > 0 && flags.all) throw usage('Pass session names or `--all`, not both.');
  if (names.length === 0 && !flags.all) throw usage('Name the sessions to validate, or pass `--all`. Run `raptor list` to see them.');
  const live = flags.live === true;
  const results = await withManager(cli, { autoCleanup: false }, async (manager) => {
    const found: ValidateResultOut[] = [];
    if (!flags.all) {
      for (const name of names) found.push(await manager.validate(name, { live }));
      return found;
    }
    for await (const entry of manager.scan()) {
      if (entry.ok) found.push(await manager.validate(entry.summary.name, { live }));
      else {
        const code = entry.newerVersion ? 'NEWER_VERSION' : 'INVALID';
        found.push({ name: entry.name ?? entry.key, file: entry.key, valid: false, expired: false, issues: [{ code, message: entry.reason, path: '' }] });
      }
    }
    return found.sort((a, b) => a.name.localeCompare(b.name));
  });
  const missing = results.some((r) => r.issues.some((issue) => issue.code === 'NOT_FOUND'));
  const failed = results.some((r) => !r.valid);
  return {
    data: { results },
    // A typo'd name is the first thing to fix, so "not found" wins over "invalid".
    exitCode: missing ? 3 : failed ? 4 : 0,
    text: () =>
      results.length === 0
        ? 'No sessions to validate.'
        : results
            .map((r) => {
              const status = r.valid ? 'valid' : r.issues.some((i) => i.code === 'NOT_FOUND') ? 'not found' : r.expired ? 'expired' : 'invalid';
              const issues = r.issues.map((i) => `  ${i.path || '(file)'}: ${i.message} [${i.code}]`);
              // Information, not an issue: a session that is only state restores by relaunch.
              const note = r.valid && r.browser ? ` (${r.browser.status === 'live' ? 'browser live' : r.browser.message})` : '';
              return [`${r.name}: ${status}${note}`, ...issues].join('\n');
            })
            .join('\n'),
  };
}
