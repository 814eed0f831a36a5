/**
 * What crashes leave behind outside the sessions directory, cleaned by `raptor clean` and the
 * startup cleanup:
 * - kept-alive browsers whose session was deleted or expired (stopped: only raptor's own, proven
 *   by pid + profile dir), and their profile dirs;
 * - profile dirs of sessions that no longer exist, with no browser running;
 * - crawl journals of completed crawls, and of crawls whose session is gone, after `crawlRetention`.
 *
 * One RAPTOR_HOME can serve several stores (a file store and a PostgreSQL fleet store): only
 * profiles and crawls that record *this* store are touched; anything else is left alone.
 */
import { readdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { isOwnBrowserRunning, readKeepAlive, stopKeepAlive } from './browser/keep-alive.js';
import { readHeartbeat } from './crawler/owner.js';
import { errnoCode } from './errors.js';
import type { Logger } from './log.js';
import { stemFor } from './names.js';
import type { SessionStore } from './store/types.js';

export interface LeftoverOptions {
  store: SessionStore;
  home: string;
  profilesDir: string;
  crawlRetentionMs: number;
  dryRun: boolean;
  logger: Logger;
}

export interface LeftoverResult {
  orphanBrowsers: number;
  staleProfiles: number;
  oldCrawls: number;
}

async function entries(dir: string): Promise<string[]> {
  try {
    return await readdir(dir);
  } catch (error) {
    if (errnoCode(error) === 'ENOENT') return [];
    throw error;
  }
}

export async function cleanupLeftovers(options: LeftoverOptions): Promise<LeftoverResult> {
  const result: LeftoverResult = { orphanBrowsers: 0, staleProfiles: 0, oldCrawls: 0 };
  const live = new Set<string>();
  for await (const summary of options.store.list()) if (!summary.expired) live.add(stemFor(summary.name));

  for (const stem of await entries(options.profilesDir)) {
    if (live.has(stem)) continue;
    const profileDir = join(options.profilesDir, stem);
    const kept = await readKeepAlive(profileDir);
    if (kept?.store !== options.store.location) continue; // another store's, or unknown: not ours to judge
    if (isOwnBrowserRunning(kept)) {
      result.orphanBrowsers++;
      if (!options.dryRun) await stopKeepAlive(profileDir);
      options.logger.info({ profile: stem, pid: kept.pid }, options.dryRun ? 'would stop an orphaned kept-alive browser' : 'stopped an orphaned kept-alive browser');
    } else {
      result.staleProfiles++;
    }
    if (!options.dryRun) await rm(profileDir, { recursive: true, force: true });
  }

  const crawlsDir = join(options.home, 'crawls');
  const now = Date.now();
  for (const stem of await entries(crawlsDir)) {
    const dir = join(crawlsDir, stem);
    const heartbeat = await readHeartbeat(dir);
    if (heartbeat?.store !== options.store.location) continue;
    const finished = heartbeat.status === 'completed' || !live.has(stem);
    if (!finished || now - Date.parse(heartbeat.at) < options.crawlRetentionMs) continue;
    result.oldCrawls++;
    if (!options.dryRun) await rm(dir, { recursive: true, force: true });
  }
  return result;
}
