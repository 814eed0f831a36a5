/**
 * What crashes leave behind outside the sessions directory, cleaned by `raptor clean` and the
 * startup cleanup:
 * - kept-alive browsers whose session was deleted or expired (stopped: only raptor's own, proven
 *   by pid + profile dir), their proxy relays, and their profile dirs;
 * - profile dirs of sessions that no longer exist, with no browser running;
 * - crawl journals of completed crawls, and of crawls whose session is gone, after `crawlRetention`.
 *
 * One RAPTOR_HOME can serve several stores (a file store and a PostgreSQL fleet store): only
 * profiles and crawls that record *this* store are touched; anything else is left alone.
 * Territory (src/fs/territory.ts): `profiles/`, `crawls/` and each entry in them must be real
 * directories; a link or a file there is reported in `errors` and left untouched, never followed.
 */
import { readdir } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { isOwnBrowserRunning, readKeepAlive, stopKeepAlive } from '../browser/keep-alive.js';
import { stopProxyRelay } from '../browser/proxy-relay.js';
import { CRAWL_FILES, HOME_DIRS } from '../env/paths.js';
import { readJsonObject } from '../fs/json-file.js';
import { entryAt, ownSubdir, removeOwnTree } from '../fs/territory.js';
import type { Logger } from '../env/log.js';
import { stemFor } from '../core/names.js';
import type { SessionStore } from '../store/types.js';

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
  /** Entries left alone because they are not raptor's (a link, a file where a directory belongs). */
  errors: { key: string; message: string }[];
}

/** The directories in `parent/name`, or none when it is missing; every non-directory entry is reported, not followed. */
async function ownEntries(parent: string, name: string, errors: LeftoverResult['errors']): Promise<{ dir: string; names: string[] }> {
  let dir: string | undefined;
  try {
    dir = ownSubdir(parent, name);
  } catch (error) {
    errors.push({ key: join(parent, name), message: (error as Error).message });
    return { dir: join(parent, name), names: [] };
  }
  if (!dir) return { dir: join(parent, name), names: [] };
  const names: string[] = [];
  for (const entry of await readdir(dir)) {
    const { kind } = entryAt(join(dir, entry));
    if (kind === 'dir') names.push(entry);
    else if (kind === 'symlink') errors.push({ key: join(dir, entry), message: `\`${join(dir, entry)}\` is a symbolic link, not a directory raptor made; left untouched. Move it away.` });
    // A plain file among profiles or crawls is someone's note: not raptor's, not worth an error.
  }
  return { dir, names };
}

export async function cleanupLeftovers(options: LeftoverOptions): Promise<LeftoverResult> {
  const result: LeftoverResult = { orphanBrowsers: 0, staleProfiles: 0, oldCrawls: 0, errors: [] };
  const live = new Set<string>();
  for await (const summary of options.store.list()) if (!summary.expired) live.add(stemFor(summary.name));

  const profiles = await ownEntries(dirname(options.profilesDir), basename(options.profilesDir), result.errors);
  for (const stem of profiles.names) {
    if (live.has(stem)) continue;
    const profileDir = join(profiles.dir, stem);
    const kept = await readKeepAlive(profileDir);
    if (kept?.store !== options.store.location) continue; // another store's, or unknown: not ours to judge
    if (isOwnBrowserRunning(kept)) {
      result.orphanBrowsers++;
      if (!options.dryRun) await stopKeepAlive(profileDir);
      options.logger.info({ profile: stem, pid: kept.pid }, options.dryRun ? 'would stop an orphaned kept-alive browser' : 'stopped an orphaned kept-alive browser');
    } else {
      result.staleProfiles++;
      // Its proxy relay exits by itself within a second of the browser; one that has not yet must not outlive the profile.
      if (!options.dryRun) await stopProxyRelay(profileDir);
    }
    if (!options.dryRun) await removeOwnTree(profiles.dir, stem);
  }

  const crawls = await ownEntries(options.home, HOME_DIRS.crawls, result.errors);
  const now = Date.now();
  for (const stem of crawls.names) {
    const dir = join(crawls.dir, stem);
    // The crawler's heartbeat (crawler/owner.ts), read for the three fields that say whose crawl
    // it is and whether it is over: maintenance sits below the crawler and does not import it.
    const heartbeat = await readJsonObject(join(dir, CRAWL_FILES.heartbeat));
    if (heartbeat?.['store'] !== options.store.location) continue;
    const finished = heartbeat['status'] === 'completed' || !live.has(stem);
    if (!finished || now - Date.parse(String(heartbeat['at'])) < options.crawlRetentionMs) continue;
    result.oldCrawls++;
    if (!options.dryRun) await removeOwnTree(crawls.dir, stem);
  }
  return result;
}
