/**
 * Who runs a crawl. One process owns it at a time: it holds `owner.lock` (the same lock as the
 * file store's, refreshed every `heartbeatMs`) and writes `heartbeat.json` with its progress and
 * health. A live owner blocks a second process with `LOCKED`; an owner whose process died, or
 * whose heartbeat is older than 3 intervals, has crashed and the crawl can be taken over.
 * Taking it bumps the crawl's epoch (fence.ts): an old owner that wakes up stops before writing.
 */
import { hostname } from 'node:os';
import { join } from 'node:path';
import { writeFileAtomic } from '../fs/file-io.js';
import { readJsonObject } from '../fs/json-file.js';
import { acquireLock, isAlive, readOwner } from '../fs/file-lock.js';
import { CRAWL_FILES } from '../env/paths.js';
import { bumpEpoch, Fence } from './fence.js';
import type { Progress } from './state.js';


export interface Heartbeat {
  session: string;
  /** The store the session lives in (its `location`). */
  store: string;
  pid: number;
  host: string;
  startedAt: string;
  at: string;
  intervalMs: number;
  /** `running` while owned; `paused` after a clean stop with work left; `completed` when nothing is left. */
  status: 'running' | 'paused' | 'completed';
  progress: Progress;
  /** 0–1: recent success rate × browser responsiveness × memory headroom. */
  health: number;
  browserId?: string;
  mode?: 'reattached' | 'relaunched';
  /** Times this run logged in again after being logged out (crawl option `relogin`). */
  relogins?: number;
  /** The owner epoch that wrote it (fence.ts). */
  epoch?: number;
}

/** The holder whose lock a taker broke: it never released it, so it died, or it still runs but stopped answering (frozen, hung). */
export interface PreviousOwner {
  pid: number;
  host: string;
  /** True unless it is known to be dead (a live pid on this host, or any pid on another host). */
  alive: boolean;
}

export interface Ownership {
  startedAt: string;
  /** This owner's epoch and the check every write runs first. */
  fence: Fence;
  /** Set when this owner took the crawl over from one that did not release it. */
  previous?: PreviousOwner;
  /** Fenced: throws `OWNERSHIP_LOST` instead of writing once another process took over. */
  beat(heartbeat: Omit<Heartbeat, 'pid' | 'host' | 'startedAt' | 'at' | 'intervalMs' | 'epoch'>): Promise<void>;
  release(): Promise<void>;
}

export async function takeOwnership(dir: string, session: string, heartbeatMs: number): Promise<Ownership> {
  const lockPath = join(dir, CRAWL_FILES.ownerLock);
  // A lock file still there is the lock of an owner that did not release it: read who it was before breaking it.
  const before = readOwner(lockPath);
  const release = await acquireLock(lockPath, {
    staleMs: 3 * heartbeatMs,
    timeoutMs: 0,
    what: `The crawl of \`${session}\` (another process is running it; stop that one, or wait ${Math.ceil((3 * heartbeatMs) / 1000)} s if it just died)`,
  });
  let fence: Fence;
  try {
    fence = new Fence(dir, bumpEpoch(dir), session);
  } catch (error) {
    await release();
    throw error;
  }
  const startedAt = new Date().toISOString();
  const previous = before && { pid: before.pid, host: before.host, alive: before.host !== hostname() || isAlive(before.pid) };
  return {
    startedAt,
    fence,
    ...(previous ? { previous } : {}),
    async beat(heartbeat) {
      fence.check();
      const full: Heartbeat = { ...heartbeat, pid: process.pid, host: hostname(), startedAt, at: new Date().toISOString(), intervalMs: heartbeatMs, epoch: fence.epoch };
      await writeFileAtomic(dir, CRAWL_FILES.heartbeat, `${JSON.stringify(full, null, 2)}\n`);
    },
    release,
  };
}

export async function readHeartbeat(dir: string): Promise<Heartbeat | undefined> {
  return (await readJsonObject(join(dir, CRAWL_FILES.heartbeat))) as Heartbeat | undefined;
}
