/**
 * `raptor ui`: the local dashboard over the configured store, until Ctrl-C or SIGTERM. The web
 * server lives in `src/ui/` and is loaded only by this command, so `raptor list` stays light.
 * Its first stdout line is the URL that opens it (with `--json`: `{"url": …}`): that URL holds
 * the token, so it is printed for the user and never logged.
 */
import { spawn } from 'node:child_process';
import type { Command } from 'commander';
import { RaptorError } from '../../core/errors.js';
import type { Run } from '../command.js';
import { withManager, type CliContext } from '../context.js';
import { examples, type CommandOutput } from '../output.js';
import { signalled } from '../signals.js';

export interface UiFlags {
  port: string;
  host: string;
  open: boolean;
}

export function registerUi(program: Command, run: Run): void {
  program
    .command('ui')
    .summary('open a local dashboard of sessions, live browsers, crawls and the fleet')
    .description(
      'Serve a dashboard over the configured store (file or PostgreSQL) until Ctrl-C: sessions live, a live view of every kept-alive browser with take-over for a login by hand, crawl and fleet charts. Loopback only unless --host says otherwise; the printed URL carries a one-time token',
    )
    .option('--port <n>', 'port to listen on (0: any free port)', '0')
    .option('--host <address>', 'address to listen on; anything but loopback exposes your sessions to the network', '127.0.0.1')
    .option('--no-open', 'do not open a browser (also the default with --json)')
    .addHelpText(
      'after',
      examples([
        ['raptor ui', 'open the dashboard in your browser'],
        ['raptor ui --port 7117 --no-open', 'a fixed port, on a server: open the printed URL through an SSH tunnel'],
        ['raptor ui --json | head -1', '{"url":"http://127.0.0.1:…/?token=…"} for a script'],
      ]),
    )
    .action(run((cli, flags: UiFlags) => ui(cli, flags)));
}

export async function ui(cli: CliContext, flags: UiFlags, until: Promise<unknown> = signalled()): Promise<CommandOutput> {
  const port = Number(flags.port);
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new RaptorError('USAGE', `--port must be a port number (0-65535), got \`${flags.port}\``);
  const { startDashboard, isLoopback } = await import('../../ui/index.js');
  if (!isLoopback(flags.host)) {
    cli.notice(`listening on ${flags.host}: anyone who can reach it and has the token can use your sessions. Prefer 127.0.0.1 and an SSH tunnel.`);
  }
  await withManager(cli, {}, async (manager) => {
    const dashboard = await startDashboard({ manager, logger: cli.logger, host: flags.host, port });
    try {
      cli.emitRevealed({ url: dashboard.url }, `raptor ui: ${dashboard.url}\n(Ctrl-C to stop; the link holds a token: do not share it)`);
      if (flags.open && !cli.globals.json) openInBrowser(dashboard.url, cli);
      await until;
    } finally {
      await dashboard.close();
    }
  });
  return {};
}

/** The desktop's own opener; on a machine without one the printed URL is the way in. */
function openInBrowser(url: string, cli: CliContext): void {
  const [command, args] = process.platform === 'darwin' ? ['open', [url]] : process.platform === 'win32' ? ['cmd', ['/c', 'start', '', url]] : ['xdg-open', [url]];
  try {
    const child = spawn(command, args, { stdio: 'ignore', detached: true });
    child.once('error', () => cli.notice('could not open a browser here: open the URL above yourself'));
    child.unref();
  } catch {
    cli.notice('could not open a browser here: open the URL above yourself');
  }
}
