/**
 * `raptor launch <name> [url]`: a kept-alive browser for `name` to log into by hand, then
 * `raptor save <name>` captures it. Reuses the session's browser when it still runs.
 */
import type { Command } from 'commander';
import type { Run } from '../command.js';
import { withManager, type CliContext } from '../context.js';
import { examples, quote, type CommandOutput } from '../output.js';
import { browserOptions, browserOutput, disconnect, type BrowserFlags } from './restore.js';
import { addIdentityOptions, identityChange, identityFor } from '../identity-options.js';

export function registerLaunch(program: Command, run: Run): void {
  const command = program
    .command('launch')
    .summary('start a kept-alive browser for a session')
    .description('Start a browser for a session that keeps running after this command (with the saved state if the session exists)')
    .argument('<name>', 'session name; created empty when it does not exist yet')
    .argument('[url]', 'open this URL, e.g. the login page')
    .option('--headed', 'show the browser window');
  addIdentityOptions(command)
    .addHelpText(
      'after',
      examples([
        ['raptor launch acme-admin https://app.acme.test/login --headed', 'log in by hand, then `raptor save acme-admin`'],
        ['raptor launch scraper --json', 'headless; prints the CDP URL as JSON'],
        ["raptor launch idn --user-agent 'X/1.0' --locale de-DE --timezone Europe/Berlin", 'a browser with that identity, kept with the session'],
      ]),
    )
    .action(run((cli, name: string, url: string | undefined, flags: BrowserFlags) => launch(cli, name, url, flags)));
}

export async function launch(cli: CliContext, name: string, url: string | undefined, flags: BrowserFlags): Promise<CommandOutput> {
  const change = identityChange(flags, cli.env);
  const result = await withManager(cli, {}, async (manager) => {
    const started = performance.now();
    const identity = await identityFor(manager, name, change);
    return disconnect(name, await manager.launch(name, { ...browserOptions(url, flags), ...(identity ? { identity } : {}) }), started);
  });
  return browserOutput(result, `Launched ${quote(name)}`);
}
