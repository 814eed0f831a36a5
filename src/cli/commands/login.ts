/**
 * `raptor login <name> [--recipe <file>]`: a logged-in session by its login recipe, logging in
 * only when the saved one is unusable: the one path Playwright Test's roles take
 * (`login/ensure.ts`), lock and checks included. The recipe file is recorded with the session
 * (path and hash), so later `raptor login <name>` and `raptor keep` need no `--recipe`.
 */
import type { Command } from 'commander';
import type { Run } from '../command.js';
import { withManager, type CliContext } from '../context.js';
import { usage } from '../options.js';
import { examples, quote, type CommandOutput } from '../output.js';
import { loadSecretsFile } from '../secrets-file.js';

export interface LoginFlags {
  recipe?: string;
  baseUrl?: string;
  secretsFile?: string;
  headed?: boolean;
  force?: boolean;
}

export interface LoginOut {
  name: string;
  /** True when the recipe's `login` ran; false when the saved session was reused. */
  loggedIn: boolean;
  /** Why the saved session was not reused (when `loggedIn`). */
  reason?: string;
  revision: number;
  recipe?: { path: string; sha256: string; baseURL?: string };
}

export function registerLogin(program: Command, run: Run): void {
  program
    .command('login')
    .summary('log a session in with its recipe, unless it still is')
    .description(
      'Make session <name> logged in with a login recipe (an ES or TypeScript module whose default export is { login(page), check?(page), url?, maxAge?, authCookies?, identity? }). The saved session is reused while it is usable; otherwise the recipe logs in, once even when several processes ask at the same time. The recipe file is recorded with the session (its path and hash, never its credentials: recipes read them from the environment)',
    )
    .argument('<name>', 'session name')
    .option('--recipe <file>', 'the recipe module (default: the one recorded with the session)')
    .option('--base-url <url>', "what the recipe's relative URLs resolve against (recorded with the session)")
    .option('--secrets-file <file>', "read the recipe's credentials from this dotenv file (into its environment only; never stored)")
    .option('--headed', 'show the browser window while logging in')
    .option('--force', 'log in even when the saved session is still usable')
    .addHelpText(
      'after',
      examples([
        ['raptor login acme --recipe recipes/acme.ts --base-url https://app.acme.test', 'log in once; later runs reuse it'],
        ['ACME_PASSWORD=… raptor login acme', 'the recorded recipe; logs in only if the session stopped working'],
        ['raptor login acme --secrets-file .env.acme --json', 'credentials from a dotenv file; JSON says whether it logged in'],
      ]) + '\nExit codes: 0 logged in or reused, 1 the login failed (LOGIN_FAILED; nothing saved), 2 a bad recipe or option, 3 no recipe file.\n',
    )
    .action(run((cli, name: string, flags: LoginFlags) => login(cli, name, flags)));
}

export async function login(cli: CliContext, name: string, flags: LoginFlags): Promise<CommandOutput> {
  if (flags.baseUrl !== undefined && flags.baseUrl.trim() === '') throw usage('`--base-url` needs a URL.');
  if (flags.secretsFile) loadSecretsFile(flags.secretsFile);
  const out = await withManager(cli, {}, async (manager): Promise<LoginOut> => {
    const current = flags.force ? await manager.find(name).catch(() => undefined) : undefined;
    const result = await manager.ensure(name, flags.recipe, {
      reuseCheckFor: 0, // a person asking "is it logged in?" gets the server's answer now, not a minute-old one
      ...(flags.baseUrl ? { baseURL: flags.baseUrl } : {}),
      ...(flags.headed ? { launchOptions: { headless: false } } : {}),
      ...(current ? { loggedOutRevision: current.revision } : {}),
    });
    return {
      name,
      loggedIn: result.loggedIn,
      ...(result.reason ? { reason: result.reason } : {}),
      revision: result.record.revision,
      ...(result.recipe ? { recipe: result.recipe } : {}),
    };
  });
  return {
    data: out,
    text: () => (out.loggedIn ? `Logged in ${quote(name)} (${out.reason ?? 'asked to'}); saved as revision ${out.revision}.` : `Reused ${quote(name)}: the saved session is still logged in (revision ${out.revision}).`),
  };
}
