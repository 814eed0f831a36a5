/**
 * Who runs a crawl. One process owns it at a time: it holds `owner.lock` (the same lock as the
 * file store's, refreshed every `heartbeatMs`) and writes `heartbeat.json` with its progress and
 * health. A live owner blocks a second process with `LOCKED`; an owner whose process died, or
 * whose heartbeat is older than 3 intervals, has crashed and the crawl can be taken over.
 */
import { readFile } from 'node:fs/promises';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { errnoCode } from '../errors.js';
import { writeFileAtomic } from '../store/file-io.js';
import { acquireLock } from '../store/file-lock.js';
import type { Progress } from './state.js';

export const HEARTBEAT_FILE = 'heartbeat.json';
export const OWNER_LOCK = 'owner.lock';

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
}

export interface Ownership {
  startedAt: string;
  beat(heartbeat: Omit<Heartbeat, 'pid' | 'host' | 'startedAt' | 'at' | 'intervalMs'>): Promise<void>;
  release(): Promise<void>;
}

export async function takeOwnership(dir: string, session: string, heartbeatMs: number): Promise<Ownership> {
  const release = await acquireLock(join(dir, OWNER_LOCK), {
    staleMs: 3 * heartbeatMs,
    timeoutMs: 0,
    what: `The crawl of \`${session}\` (another process is running it; stop that one, or wait ${Math.ceil((3 * heartbeatMs) / 1000)} s if it just died)`,
  });
  const startedAt = new Date().toISOString();
  return {
    startedAt,
    async beat(heartbeat) {
      const full: Heartbeat = { ...heartbeat, pid: process.pid, host: hostname(), startedAt, at: new Date().toISOString(), intervalMs: heartbeatMs };
      await writeFileAtomic(dir, HEARTBEAT_FILE, `${JSON.stringify(full, null, 2)}\n`);
    },
    release,
  };
}

export async function readHeartbeat(dir: string): Promise<Heartbeat | undefined> {
  try {
    return JSON.parse(await readFile(join(dir, HEARTBEAT_FILE), 'utf8')) as Heartbeat;
  } catch (error) {
    if (errnoCode(error) === 'ENOENT' || error instanceof SyntaxError) return undefined;
    throw error;
  }
}
