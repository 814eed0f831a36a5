/**
 * `raptor open <name> [url]`: a browser window with the session loaded, for a person. When the
 * last tab or the window is closed (or on Ctrl-C), the state is saved back into the session.
 */
import type { Command } from 'commander';
import type { InteractiveOptions } from '../../browser/interactive.js';
import { findBrowser } from '../../browser/find.js';
import type { SessionRecord } from '../../core/record.js';
import type { SessionManager } from '../../manager.js';
import type { Run } from '../command.js';
import { withManager, type CliContext } from '../context.js';
import { examples, quote, type CommandOutput } from '../output.js';
import { addIdentityOptions, identityChange, identityFor, type IdentityFlags } from '../identity-options.js';
import type { Identity } from '../../core/identity.js';

interface OpenFlags extends IdentityFlags {
  headless?: boolean;
}

export function registerOpen(program: Command, run: Run): void {
  const command = program
    .command('open')
    .summary('open a browser window with a session; save it back on close')
    .description('Open a browser window with the session loaded (created when new); when you close it, or press Ctrl-C, its state is saved back into the session')
    .argument('<name>', 'session name')
    .argument('[url]', 'open this URL')
    .option('--headless', 'no window (for scripts; stop with Ctrl-C / SIGTERM)');
  addIdentityOptions(command)
    .addHelpText(
      'after',
      examples([
        ['raptor open acme-admin https://app.acme.test', 'use the app as acme-admin; close the window to save'],
        ['raptor open new-account https://app.acme.test/signup', 'log in for the first time; closing saves the new session'],
      ]),
    )
    .action(run((cli, name: string, url: string | undefined, flags: OpenFlags) => open(cli, name, url, flags)));
}

export async function open(cli: CliContext, name: string, url: string | undefined, flags: OpenFlags): Promise<CommandOutput> {
  const change = identityChange(flags, cli.env);
  let stop!: () => void;
  const stopped = new Promise<void>((resolve) => (stop = resolve));
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
  try {
    const result = await withManager(cli, {}, async (manager) => {
      const identity = await identityFor(manager, name, change);
      cli.notice(`opened ${name}${url ? ` at ${url}` : ''}; close the window (or press Ctrl-C) to save.`);
      return openInteractive(manager, name, { ...(url ? { url } : {}), launchOptions: { headless: flags.headless === true }, stop: stopped }, identity);
    });
    const data = { name, saved: result.session !== undefined, created: result.created, revision: result.session?.revision ?? null };
    return {
      data,
      text: () =>
        result.session
          ? `${result.created ? 'Created' : 'Saved'} ${quote(name)} (revision ${result.session.revision}, ${result.session.storageState.cookies.length} cookies).`
          : `Nothing was captured from the browser; ${quote(name)} is unchanged.`,
    };
  } finally {
    process.off('SIGINT', stop);
    process.off('SIGTERM', stop);
  }
}

export interface InteractiveResult {
  /** The saved record, or undefined when nothing could be captured. */
  session: SessionRecord | undefined;
  created: boolean;
  snapshots: number;
}

/**
 * `raptor open` as a function: the session (or a blank one) in a browser for a person, saved back
 * when they are done. The browser has the session's identity, or `identity` when given (then saved with it).
 */
export async function openInteractive(manager: SessionManager, name: string, options: InteractiveOptions = {}, identity?: Identity): Promise<InteractiveResult> {
  const existing = await manager.find(name);
  const executablePath = options.launchOptions?.executablePath ?? (await findBrowser(manager.settings.browser ? { configured: manager.settings.browser } : {})).executablePath;
  const blank = { browserType: 'chromium' as const, storageState: { cookies: [], origins: [] } };
  const { browseInteractively } = await import('../../browser/interactive.js'); // playwright-core loads only for `open`
  const identified = identity ? { ...(existing ?? blank), identity } : (existing ?? blank);
  const { captured, snapshots } = await browseInteractively(identified, { ...options, launchOptions: { ...options.launchOptions, executablePath } });
  if (!captured) return { session: undefined, created: false, snapshots };
  const session = await manager.save(name, { storageState: captured.storageState, sessionStorage: captured.sessionStorage }, identity ? { identity } : {});
  return { session, created: !existing, snapshots };
}
