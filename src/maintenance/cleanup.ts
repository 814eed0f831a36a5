/**
 * Startup and on-demand cleanup: expired sessions removed, invalid ones quarantined,
 * leftovers (stale temp files, old quarantine entries) swept. Never throws for a bad file:
 * each problem is logged and reported, and every valid session is left alone.
 */
import { cleanupLeftovers } from './leftovers.js';
import type { Logger } from '../env/log.js';
import { quarantineScanned, scanStore, sweepStore } from '../store/capabilities.js';
import type { SessionStore } from '../store/types.js';
import { sessionExpired } from '../core/validate.js';

export interface CleanupOptions {
  /** Remove expired sessions. @default true */
  expired?: boolean;
  /** Quarantine sessions that fail validation. @default true */
  invalid?: boolean;
  /** Report what would happen, change nothing. @default false */
  dryRun?: boolean;
}

export interface CleanupResult {
  /** Names of expired sessions removed (or that would be, with `dryRun`). */
  removed: string[];
  /** Invalid entries moved to quarantine, with the reason. */
  quarantined: { key: string; name?: string; reason: string }[];
  /** Files written by a newer raptor: left alone. */
  skipped: { key: string; reason: string }[];
  tempFiles: number;
  purgedQuarantine: number;
  /** Kept-alive browsers stopped because their session is gone or expired. */
  orphanBrowsers: number;
  /** Profile dirs removed because their session is gone. */
  staleProfiles: number;
  /** Crawl journals removed after `crawlRetention`. */
  oldCrawls: number;
  /** Problems that stopped one entry from being cleaned; the others were still cleaned. */
  errors: { key: string; message: string }[];
  dryRun: boolean;
}

export interface CleanupContext {
  store: SessionStore;
  logger: Logger;
  maxAgeMs?: number;
  quarantineRetentionMs: number;
  /** Called for each expired session before it is deleted (stops its kept-alive browser). */
  onRemove?: (name: string) => Promise<void>;
  /** Where kept-alive browsers and crawls live; without it only the store is cleaned. */
  leftovers?: { home: string; profilesDir: string; crawlRetentionMs: number };
}

export async function cleanupStore(ctx: CleanupContext, options: CleanupOptions = {}): Promise<CleanupResult> {
  const { store, logger } = ctx;
  const dryRun = options.dryRun ?? false;
  const result: CleanupResult = { removed: [], quarantined: [], skipped: [], tempFiles: 0, purgedQuarantine: 0, orphanBrowsers: 0, staleProfiles: 0, oldCrawls: 0, errors: [], dryRun };
  const now = Date.now();
  for await (const entry of scanStore(store)) {
    try {
      if (!entry.ok) {
        if (entry.newerVersion) {
          result.skipped.push({ key: entry.key, reason: entry.reason });
        } else if (options.invalid ?? true) {
          if (!dryRun) await quarantineScanned(store, entry);
          result.quarantined.push({ key: entry.key, ...(entry.name ? { name: entry.name } : {}), reason: entry.reason });
        }
      } else if ((options.expired ?? true) && sessionExpired(entry.summary, ctx.maxAgeMs, now)) {
        if (!dryRun) {
          await ctx.onRemove?.(entry.summary.name);
          await store.delete(entry.summary.name);
        }
        result.removed.push(entry.summary.name);
      }
    } catch (error) {
      result.errors.push({ key: entry.key, message: (error as Error).message });
      logger.warn({ key: entry.key, err: (error as Error).message }, 'cleanup could not handle an entry; left it in place');
    }
  }
  try {
    const swept = await sweepStore(store, { quarantineRetentionMs: ctx.quarantineRetentionMs, dryRun });
    result.tempFiles = swept.tempFiles;
    result.purgedQuarantine = swept.purgedQuarantine;
  } catch (error) {
    // e.g. a `.quarantine` that is a link (FOREIGN_DIRECTORY): reported, and the rest of cleanup still runs.
    result.errors.push({ key: store.location, message: (error as Error).message });
    logger.warn({ err: (error as Error).message }, 'could not sweep temp files and old quarantine entries');
  }
  if (ctx.leftovers) {
    try {
      const { errors, ...counts } = await cleanupLeftovers({ ...ctx.leftovers, store, dryRun, logger });
      Object.assign(result, counts);
      result.errors.push(...errors);
    } catch (error) {
      result.errors.push({ key: ctx.leftovers.profilesDir, message: (error as Error).message });
      logger.warn({ err: (error as Error).message }, 'could not clean kept-alive browsers and crawls');
    }
  }
  const { orphanBrowsers, staleProfiles, oldCrawls } = result;
  if (result.removed.length + result.quarantined.length + result.tempFiles + result.purgedQuarantine + orphanBrowsers + staleProfiles + oldCrawls > 0) {
    logger.info(
      { removed: result.removed.length, quarantined: result.quarantined.length, tempFiles: result.tempFiles, purgedQuarantine: result.purgedQuarantine, orphanBrowsers, staleProfiles, oldCrawls, dryRun },
      dryRun ? 'cleanup would change the sessions directory' : 'cleaned up the sessions directory',
    );
  }
  for (const q of result.quarantined) logger.warn({ file: q.key, reason: q.reason }, dryRun ? 'would quarantine an invalid session file' : 'quarantined an invalid session file');
  return result;
}
