/**
 * `raptor restore <name> [url]`: brings a session back in a kept-alive browser (reattached while
 * its browser lives, else relaunched with the saved state) and leaves that browser running.
 * The CLI only disconnects, so the process exits and the browser stays for the next command.
 */
import type { Command } from 'commander';
import type { RestoredSession } from '../../browser/restore.js';
import type { Run } from '../command.js';
import { withManager, type CliContext } from '../context.js';
import { examples, formatFields, quote, type CommandOutput } from '../output.js';
import { addIdentityOptions, identityChange, identityFor, type IdentityFlags } from '../identity-options.js';

export interface BrowserFlags extends IdentityFlags {
  headed?: boolean;
}

/** What `launch` and `restore` print: where the kept-alive browser can be reached. */
export interface BrowserResult {
  name: string;
  mode: RestoredSession['mode'];
  cdpUrl: string | null;
  browserId: string | null;
  durationMs: number;
  /** Why the recorded browser could not be reattached (relaunched only). */
  reattachFailure?: string;
}

export function registerRestore(program: Command, run: Run): void {
  const command = program
    .command('restore')
    .summary('reattach to or relaunch a session in a kept-alive browser')
    .description('Bring a session back in a browser that keeps running: reattach to its live browser, else relaunch with the saved state')
    .argument('<name>', 'session name')
    .argument('[url]', 'open this URL in the restored browser')
    .option('--headed', 'show the browser window (when it has to be relaunched)');
  addIdentityOptions(command)
    .addHelpText(
      'after',
      examples([
        ['raptor restore acme-admin', 'reattach or relaunch; prints the CDP URL'],
        ['raptor restore acme-admin https://app.acme.test --headed', 'relaunch visibly and open the app'],
        ['raptor restore acme-admin --timezone America/New_York', 'change one field of its identity (a browser launched with another is saved and relaunched)'],
      ]),
    )
    .action(run((cli, name: string, url: string | undefined, flags: BrowserFlags) => restoreSession(cli, name, url, flags)));
}

export async function restoreSession(cli: CliContext, name: string, url: string | undefined, flags: BrowserFlags): Promise<CommandOutput> {
  const change = identityChange(flags, cli.env);
  const result = await withManager(cli, {}, async (manager) => {
    const started = performance.now();
    const identity = await identityFor(manager, name, change);
    const restored = await manager.restore(name, { keepAlive: true, ...browserOptions(url, flags), ...(identity ? { identity } : {}) });
    return disconnect(name, restored, started);
  });
  return browserOutput(result, `Restored ${quote(name)}`);
}

/** Restore options from `[url]` and `--headed`; headless stays the `headless` setting unless `--headed`. */
export function browserOptions(url: string | undefined, flags: BrowserFlags): { url?: string; launchOptions?: { headless: boolean } } {
  return { ...(url ? { url } : {}), ...(flags.headed ? { launchOptions: { headless: false } } : {}) };
}

/** Ends this process's use of the browser (disconnect only: it keeps running) and describes it. */
export async function disconnect(name: string, restored: RestoredSession, started: number): Promise<BrowserResult> {
  const durationMs = Math.round(performance.now() - started);
  await restored.close();
  return {
    name,
    mode: restored.mode,
    cdpUrl: restored.cdpUrl ?? null,
    browserId: restored.browserId ?? null,
    durationMs,
    ...(restored.reattachFailure ? { reattachFailure: restored.reattachFailure } : {}),
  };
}

export function browserOutput(result: BrowserResult, headline: string): CommandOutput {
  return {
    data: result,
    text: () =>
      `${headline} (${result.mode}) in ${result.durationMs} ms.\n${formatFields([
        ['CDP URL', result.cdpUrl ?? '-'],
        ['browser id', result.browserId ?? '-'],
        ...(result.reattachFailure ? ([['relaunched because', result.reattachFailure]] as const) : []),
      ])}\nThe browser keeps running; stop it with \`raptor stop ${result.name}\`.`,
  };
}
