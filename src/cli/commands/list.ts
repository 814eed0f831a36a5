/** `raptor list`: the saved sessions, one line each. Reads only the cheap head of each file. */
import type { Command } from 'commander';
import { PROBE_CONCURRENCY, type BrowserCheck } from '../../browser/identity.js';
import { mapLimit } from '../../core/map-limit.js';
import type { SessionSummary } from '../../core/record.js';
import type { Run } from '../command.js';
import { maskUrl } from '../mask.js';
import { withManager, type CliContext } from '../context.js';
import { examples, formatBytes, formatExpiry, formatTable, relativeTime, type CommandOutput } from '../output.js';

export interface ListFlags {
  tag?: string;
  expired?: boolean;
  live?: boolean;
}

/** A summary as `list --json` prints it: the CDP URL redacted, `live` only with `--live` (and `browser` saying why not). */
export type ListedSession = SessionSummary & { live?: boolean; browser?: Exclude<BrowserCheck['status'], 'same'> };

export function registerList(program: Command, run: Run): void {
  program
    .command('list')
    .summary('list sessions')
    .alias('ls')
    .description('List saved sessions (expired ones are removed first, as on every start, unless --expired)')
    .option('--tag <tag>', 'only sessions with this tag')
    .option('--expired', 'only expired sessions (skips the startup cleanup that would remove them)')
    .option('--live', "probe each session's browser and show whether it answers")
    .addHelpText(
      'after',
      examples([
        ['raptor list', 'every session'],
        ['raptor list --tag admin --live', 'admin sessions, with whether their browser still runs'],
        ['raptor list --json | jq -r ".sessions[].name"', 'names only'],
      ]),
    )
    .action(run((cli, flags: ListFlags) => listSessions(cli, flags)));
}

export async function listSessions(cli: CliContext, flags: ListFlags): Promise<CommandOutput> {
  const sessions = await withManager(cli, { autoCleanup: !flags.expired }, async (manager) => {
    const found: ListedSession[] = [];
    const filter = { ...(flags.tag ? { tag: flags.tag } : {}), ...(flags.expired ? { expired: true } : {}) };
    for await (const summary of manager.list(filter)) found.push(summary);
    found.sort((a, b) => a.name.localeCompare(b.name));
    if (flags.live) {
      await mapLimit(found, PROBE_CONCURRENCY, async (session) => {
        const check = await manager.checkSessionBrowser(session);
        session.live = check?.status === 'same'; // a stranger on the port, or an unproven browser, is not this session's
        if (check && check.status !== 'same') session.browser = check.status;
      });
    }
    // A CDP URL can carry a token (`wss://…?token=`): `raptor show --reveal` prints it whole.
    return found.map((session) => (session.cdpUrl ? { ...session, cdpUrl: maskUrl(session.cdpUrl) } : session));
  });
  const now = Date.now();
  return {
    data: { sessions },
    text: (view) =>
      sessions.length === 0
        ? flags.tag || flags.expired
          ? 'No sessions match.'
          : 'No sessions yet. Save one with `raptor save <name> --cdp <url>` or `raptor import <file>`.'
        : formatTable(
            sessions,
            [
              { header: 'NAME', value: (s) => s.name },
              { header: 'TAGS', value: (s) => (s.tags.length > 0 ? s.tags.join(',') : '-') },
              { header: 'UPDATED', value: (s) => relativeTime(s.updatedAt, now) },
              { header: 'EXPIRES', value: (s) => formatExpiry(s.expiresAt, now) },
              { header: 'BROWSER', value: (s) => browserCell(s) },
              { header: 'SIZE', value: (s) => formatBytes(s.bytes), align: 'right' },
            ],
            view,
          ),
  };
}

function browserCell(session: ListedSession): string {
  if (!session.cdpUrl) return session.live === undefined ? '-' : '- (none)';
  if (session.live === undefined) return session.cdpUrl;
  if (session.live) return `${session.cdpUrl} (live)`;
  return `${session.cdpUrl} (${session.browser === 'other' ? 'another browser' : session.browser === 'unverified' ? 'unproven browser' : 'gone'})`;
}
