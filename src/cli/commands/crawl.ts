/**
 * `raptor crawl status [name]`: the recovery analysis of crawls (running / paused / crashed /
 * completed, last heartbeat, progress, whether the browser lives) and what to do next.
 */
import type { Command } from 'commander';
import type { CrawlReport } from '../../crawler/inspect.js';
import type { Run } from '../command.js';
import { withManager, type CliContext } from '../context.js';
import { examples, formatFields, formatTable, type CommandOutput } from '../output.js';

export function registerCrawl(program: Command, run: Run): void {
  const crawl = program
    .command('crawl')
    .summary('inspect crawls bound to sessions')
    .description('Inspect crawls run with raptor-sessions/crawler')
    .addHelpText(
      'after',
      examples([
        ['raptor crawl status', 'every crawl: running, paused, crashed or completed, and what a restart would do'],
        ['raptor crawl status shop-crawler', 'one crawl in detail: progress, heartbeat, health, its browser'],
      ]),
    );
  crawl
    .command('status')
    .summary('state of each crawl and what a restart would do')
    .description('Show whether each crawl is running, paused, crashed or completed, its progress, last heartbeat and health, whether its browser lives, and the recommended strategy (resume, restart, skip, wait)')
    .argument('[name]', 'the crawl of this session only')
    .addHelpText(
      'after',
      examples([
        ['raptor crawl status', 'every crawl, one line each'],
        ['raptor crawl status shop-crawler --json', '{ "crawls": [ { status, progress, recommendation, ... } ] }'],
      ]),
    )
    .action(run((cli, name: string | undefined) => status(cli, name)));
}

export async function status(cli: CliContext, name: string | undefined): Promise<CommandOutput> {
  const { inspectCrawl, listCrawls } = await import('../../crawler/inspect.js');
  const crawls = await withManager(cli, { autoCleanup: false }, async (manager) => (name === undefined ? listCrawls(manager) : [await inspectCrawl(manager, name)]));
  return {
    data: { crawls },
    text: (view) => {
      if (crawls.length === 0) return 'No crawls yet.';
      if (name !== undefined) return detail(crawls[0]!);
      return formatTable(
        crawls,
        [
          { header: 'SESSION', value: (c) => c.session },
          { header: 'STATUS', value: (c) => c.status },
          { header: 'DONE', value: (c) => (c.progress ? `${c.progress.completed}/${c.progress.total}` : '-'), align: 'right' },
          { header: 'HEARTBEAT', value: (c) => (c.heartbeatAgeMs === null ? '-' : formatAge(c.heartbeatAgeMs)) },
          { header: 'BROWSER', value: (c) => (c.browser.alive ? 'alive' : c.browser.recorded ? 'gone' : '-') },
          { header: 'NEXT', value: (c) => c.recommendation.strategy },
        ],
        view,
      );
    },
  };
}

function detail(c: CrawlReport): string {
  const p = c.progress;
  return formatFields([
    ['session', c.session],
    ['status', c.status],
    ['progress', p ? `${p.completed} done, ${p.pending + p.inFlight} left, ${p.failed} failed (of ${p.total})` : 'unreadable'],
    ['heartbeat', c.heartbeatAgeMs !== null ? `${formatAge(c.heartbeatAgeMs)}${c.owner ? ` from pid ${c.owner.pid}${c.owner.alive ? '' : ' (gone)'}` : ''}` : 'never'],
    ['health', c.health === null ? '-' : c.health.toFixed(2)],
    ['relogins', `${c.relogins} (logged in again after being logged out, in the last run)`],
    ['browser', c.browser.alive ? `alive (${c.browser.browserId ?? 'unknown id'})` : c.browser.recorded ? 'gone' : 'none recorded'],
    ['next', `${c.recommendation.strategy}: ${c.recommendation.reason}`],
  ]);
}

/**
 * A heartbeat's age, to the second while that matters: whether a crawler beats every second or
 * has been silent for 12 s (4 missed beats: it is being taken over) is the point of the column,
 * so no "just now" rounding.
 */
export function formatAge(ms: number): string {
  if (ms < 0) return `${Math.round(-ms / 1000)} s in the future (clock skew)`;
  const s = Math.floor(ms / 1000);
  if (s < 120) return `${s} s ago`;
  const m = Math.floor(s / 60);
  if (m < 120) return `${m} min ago`;
  const h = Math.floor(m / 60);
  if (h < 48) return `${h} h ago`;
  return `${Math.floor(h / 24)} d ago`;
}
