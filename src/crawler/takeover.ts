/**
 * What a new owner does to the session's browser before it crawls, so that it makes progress at once.
 *
 * - The previous owner died (SIGKILL, crash): its CDP connection died with it, but its tabs did
 *   not; the ones it listed (tabs.ts) are closed.
 * - The previous owner is alive but stopped answering (SIGSTOP, a hung process): its CDP
 *   connection is still open, and Chromium holds every new tab until *each* attached client lets
 *   it run (Playwright attaches with `waitForDebuggerOnStart`), so a frozen client stalls every
 *   new tab of the browser: the taker would finish no page while the old owner stays frozen.
 *   Only closing that connection helps, and only the browser can close it: the session's own
 *   kept-alive browser is restarted (same profile, so its cookies stay; `restore` relaunches it
 *   with the saved state). A browser raptor did not launch is never stopped; then the taker
 *   reattaches and may wait until the old owner wakes up and stops on its fence.
 */
import { runningKeepAlive, stopKeepAlive } from '../browser/keep-alive.js';
import type { SessionManager } from '../manager.js';
import type { SessionRecord } from '../core/record.js';
import { profileDirFor } from '../env/paths.js';
import type { PreviousOwner } from './owner.js';
import { closeStrayTabs, readTabs } from './tabs.js';

export async function prepareBrowser(manager: SessionManager, record: SessionRecord, dir: string, previous: PreviousOwner | undefined): Promise<void> {
  const log = manager.logger;
  if (previous?.alive) {
    const profileDir = profileDirFor(manager.paths.profilesDir, record.name);
    if (await runningKeepAlive(profileDir)) {
      log.warn(
        { session: record.name, previousPid: previous.pid, previousHost: previous.host },
        'took over the crawl from an owner that still runs but stopped answering; restarting the session\'s kept-alive browser, whose connection to that owner would stall every new tab',
      );
      await stopKeepAlive(profileDir);
      return;
    }
  }
  const tabs = readTabs(dir);
  if (!record.cdpUrl || tabs.length === 0) return;
  const closed = await closeStrayTabs(record.cdpUrl, await manager.checkSessionBrowser(record), tabs);
  if (closed > 0) log.info({ session: record.name, closed }, 'closed the tabs a previous crawler left open');
}
