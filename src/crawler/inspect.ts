/**
 * Recovery analysis: what state each crawl is in and what to do about it, without touching it.
 * Behind `raptor crawl status` and the crawler's `inspectCrawl()`.
 */
import { readdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { RaptorError, errnoCode, isRaptorError } from '../core/errors.js';
import type { SessionManager } from '../manager.js';
import { isStale, readOwner } from '../fs/file-lock.js';
import { isRetired } from '../store/pool.js';
import { sessionExpired } from '../core/validate.js';
import { readJournal } from './journal.js';
import { CRAWL_FILES, crawlDirFor, crawlsDirIn } from '../env/paths.js';
import { readHeartbeat, type Heartbeat } from './owner.js';
import type { Progress } from './state.js';

export type CrawlStatus = 'running' | 'paused' | 'crashed' | 'completed' | 'corrupt';

export interface Recommendation {
  strategy: 'resume' | 'restart' | 'skip' | 'wait';
  reason: string;
}

export interface CrawlReport {
  session: string;
  dir: string;
  status: CrawlStatus;
  progress: Progress | null;
  lastHeartbeat: string | null;
  heartbeatAgeMs: number | null;
  health: number | null;
  /** Times the last (or current) run logged in again after being logged out (crawl option `relogin`). */
  relogins: number;
  owner: { pid: number; host: string; alive: boolean } | null;
  browser: { recorded: boolean; alive: boolean; browserId?: string };
  sessionState: { exists: boolean; expired: boolean; retired: boolean };
  recommendation: Recommendation;
}

const EMPTY: Progress = { total: 0, pending: 0, inFlight: 0, completed: 0, failed: 0 };

export async function inspectCrawl(manager: SessionManager, session: string): Promise<CrawlReport> {
  const dir = crawlDirFor(manager.paths.home, session);
  if (!(await stat(dir).then((s) => s.isDirectory(), () => false))) {
    throw new RaptorError('NOT_FOUND', `No crawl of \`${session}\` in ${crawlsDirIn(manager.paths.home)}. Run \`raptor crawl status\` to see every crawl.`);
  }
  return inspectDir(manager, session, dir);
}

/** Every crawl under `$RAPTOR_HOME/crawls`, by the session name its heartbeat records. */
export async function listCrawls(manager: SessionManager): Promise<CrawlReport[]> {
  const root = crawlsDirIn(manager.paths.home);
  const names = await readdir(root).catch((error: unknown) => {
    if (errnoCode(error) === 'ENOENT') return [] as string[];
    throw error;
  });
  const reports: CrawlReport[] = [];
  for (const stem of names.sort()) {
    const dir = join(root, stem);
    const heartbeat = await readHeartbeat(dir);
    reports.push(await inspectDir(manager, heartbeat?.session ?? stem, dir, heartbeat));
  }
  return reports;
}

async function inspectDir(manager: SessionManager, session: string, dir: string, known?: Heartbeat): Promise<CrawlReport> {
  const heartbeat = known ?? (await readHeartbeat(dir));
  const heartbeatMs = heartbeat?.intervalMs ?? 1000;
  const lockPath = join(dir, CRAWL_FILES.ownerLock);
  const holder = readOwner(lockPath);
  const locked = await stat(lockPath).then(() => true, () => false);
  const ownerAlive = locked && !(await isStale(lockPath, 3 * heartbeatMs));

  let progress: Progress | null = null;
  let corrupt: string | undefined;
  try {
    const loaded = readJournal(dir);
    progress = loaded.state.progress();
  } catch (error) {
    if (!isRaptorError(error, 'JOURNAL_CORRUPT')) throw error;
    corrupt = error.message;
  }

  // Metadata only (no key needed); a deleted session is a finding of the report, any other failure is the caller's.
  const record = await manager.head(session).catch((error: unknown) => {
    if (isRaptorError(error, 'NOT_FOUND')) return undefined;
    throw error;
  });
  const exists = record !== undefined;
  const expired = record ? sessionExpired(record) : false;
  const retired = record ? isRetired(record) : false;
  const retiredInfo = record?.metadata['retired'];
  const retiredReason = retiredInfo && typeof retiredInfo === 'object' && !Array.isArray(retiredInfo) && typeof retiredInfo['reason'] === 'string' ? retiredInfo['reason'] : undefined;
  let alive = false;
  if (record?.cdpUrl) alive = (await manager.checkSessionBrowser(record))?.status === 'same'; // the one identity rule: a stranger on the port is not alive

  const left = progress ? progress.pending + progress.inFlight : 0;
  const status: CrawlStatus = corrupt
    ? 'corrupt'
    : ownerAlive
      ? 'running'
      : heartbeat?.status === 'completed' && left === 0
        ? 'completed'
        : heartbeat?.status === 'paused'
          ? 'paused'
          : 'crashed';

  const at = heartbeat ? Date.parse(heartbeat.at) : NaN;
  const recommendation = recommend({ status, corrupt, progress: progress ?? EMPTY, exists, expired, retired, retiredReason, alive, ownerPid: holder?.pid, session });
  return {
    session,
    dir,
    status,
    progress,
    lastHeartbeat: heartbeat?.at ?? null,
    heartbeatAgeMs: Number.isNaN(at) ? null : Date.now() - at,
    health: heartbeat?.health ?? null,
    relogins: heartbeat?.relogins ?? 0,
    owner: holder ? { pid: holder.pid, host: holder.host, alive: ownerAlive } : null,
    browser: { recorded: record?.cdpUrl !== undefined, alive, ...(record?.browserId ? { browserId: record.browserId } : {}) },
    sessionState: { exists, expired, retired },
    recommendation,
  };
}

function recommend(r: {
  status: CrawlStatus;
  corrupt?: string;
  progress: Progress;
  exists: boolean;
  expired: boolean;
  retired: boolean;
  retiredReason?: string | undefined;
  alive: boolean;
  ownerPid?: number | undefined;
  session: string;
}): Recommendation {
  if (r.status === 'corrupt') return { strategy: 'restart', reason: `the journal cannot be read (${r.corrupt}); progress is lost` };
  if (r.status === 'running') return { strategy: 'wait', reason: `process ${r.ownerPid} is running it and its heartbeat is fresh` };
  if (r.status === 'completed') return { strategy: 'skip', reason: `all ${r.progress.total} URLs are done (${r.progress.failed} failed)` };
  if (!r.exists) return { strategy: 'skip', reason: `session \`${r.session}\` no longer exists; save a logged-in session under that name, then resume` };
  if (r.expired) return { strategy: 'skip', reason: `session \`${r.session}\` expired; log in and save it again, then resume` };
  if (r.retired) {
    // Resuming would be refused (SESSION_BLOCKED): the site blocks this session.
    return { strategy: 'skip', reason: `session \`${r.session}\` was retired as blocked${r.retiredReason ? ` (${r.retiredReason})` : ''}; log in again and save it without the \`retired\` tag, or crawl with another session, then resume` };
  }
  const left = r.progress.pending + r.progress.inFlight;
  if (left === 0) return { strategy: 'skip', reason: 'nothing is left to crawl' };
  const how = r.alive ? 'its browser still runs: resume reattaches in milliseconds' : 'its browser is gone: resume relaunches with the saved state';
  return { strategy: 'resume', reason: `${r.status}: ${left} URLs left of ${r.progress.total}, ${r.progress.completed} done; ${how}` };
}
