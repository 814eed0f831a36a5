/** `raptor stop <name>`: stops the kept-alive browser raptor launched for a session and forgets its CDP URL. */
import type { Command } from 'commander';
import type { Run } from '../command.js';
import { withManager, type CliContext } from '../context.js';
import { examples, quote, type CommandOutput } from '../output.js';

export function registerStop(program: Command, run: Run): void {
  program
    .command('stop')
    .summary("stop a session's kept-alive browser")
    .description("Stop the browser raptor keeps alive for a session (never a browser raptor did not start) and clear the session's CDP URL")
    .argument('<name>', 'session name')
    .addHelpText('after', examples([['raptor stop acme-admin', 'stop its browser; the saved state stays']]))
    .action(run((cli, name: string) => stop(cli, name)));
}

export async function stop(cli: CliContext, name: string): Promise<CommandOutput> {
  const { stopped, cleared } = await withManager(cli, {}, async (manager) => {
    // NOT_FOUND for a typo, before anything is touched. Metadata only: stopping needs no key.
    const current = await manager.head(name);
    const wasRunning = await manager.stopBrowser(name, { forget: true });
    return { stopped: wasRunning, cleared: current.cdpUrl !== undefined };
  });
  return {
    data: { name, stopped, cleared },
    text: () =>
      [
        stopped ? `Stopped the browser of ${quote(name)}.` : `No browser raptor launched for ${quote(name)} was running.`,
        ...(cleared ? ['Cleared its recorded CDP URL; the next restore relaunches with the saved state.'] : []),
      ].join(' '),
  };
}
