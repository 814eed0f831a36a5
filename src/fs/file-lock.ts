/**
 * A cross-process lock on one session: a lock file created with O_EXCL.
 *
 * The lock file holds `{ pid, host, token }` and its mtime is refreshed while held. It is stale
 * when its process is gone (same host) or its mtime is older than `staleMs` (a hung holder, or
 * a holder on another machine sharing the directory). Breaking a stale lock happens under a
 * second, short-lived "break" lock and re-checks the token, so two processes breaking the same
 * stale lock can never remove a lock that a third has just taken.
 * Within one process, an in-memory queue serializes holders first (they share a pid).
 *
 * The lock file appears with its owner already in it: the body is written to a temp file and
 * hard-linked to the lock path (link fails if the path exists, like O_EXCL). A crash or a full
 * disk between create and write used to leave an empty lock that every writer waited `staleMs`
 * for; now a failed write leaves no lock at all. An empty or unparseable lock file (an older
 * raptor's, or debris) is stale once `UNREADABLE_GRACE_MS` old.
 */
import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import { closeSync, linkSync, openSync, readFileSync, unlinkSync, writeSync } from 'node:fs';
import { lstat, open, stat, utimes } from 'node:fs/promises';
import { deadline as deadlineIn, sleep, withTimeout, type Deadline } from '../core/deadline.js';
import { RaptorError, errnoCode } from '../core/errors.js';
import { fsFault } from './fs-errors.js';
import { readOwnFile } from './territory.js';
import { nodeFs } from './file-io.js';

/**
 * A lock file without a readable owner may be one an older raptor is between creating and
 * writing (microseconds); older than this, it is debris of a crash or a full disk.
 */
export const UNREADABLE_GRACE_MS = 2_000;

export interface LockOptions {
  /** A lock untouched for this long is stale. @default 10_000 */
  staleMs?: number;
  /** Give up with `LOCKED` after waiting this long. Holders keep a lock for milliseconds; a minute rides out a machine under heavy load. @default 60_000 */
  timeoutMs?: number;
  /** What the lock protects, for the error message. */
  what?: string;
}

export interface LockOwner {
  pid: number;
  host: string;
  token: string;
}

const HOST = hostname();
const inProcess = new Map<string, Promise<void>>();

/** Runs `fn` while holding the lock at `path`. */
export async function withLock<T>(path: string, fn: () => Promise<T>, options: LockOptions = {}): Promise<T> {
  const release = await acquireLock(path, options);
  try {
    return await fn();
  } finally {
    await release();
  }
}

/** Takes the lock at `path`; resolves to a function that releases it. */
export async function acquireLock(path: string, options: LockOptions = {}): Promise<() => Promise<void>> {
  const staleMs = options.staleMs ?? 10_000;
  const timeoutMs = options.timeoutMs ?? 60_000;
  const deadline = deadlineIn(timeoutMs); // one budget for the in-process queue and the file

  // In-process queue first: the file lock cannot tell two holders of one pid apart.
  const previous = inProcess.get(path) ?? Promise.resolve();
  let releaseLocal!: () => void;
  const mine = new Promise<void>((resolve) => (releaseLocal = resolve));
  const tail = previous.then(() => mine);
  inProcess.set(path, tail);
  const clearLocal = (): void => {
    releaseLocal();
    if (inProcess.get(path) === tail) inProcess.delete(path);
  };
  try {
    await withTimeout(previous, deadline, () => {
      throw lockedError(path, options.what);
    });
    const token = await acquireFile(path, staleMs, deadline, options.what);
    const refresh = setInterval(() => {
      const now = new Date();
      utimes(path, now, now).catch(() => undefined); // best effort: a missed refresh only risks an early break after staleMs
    }, Math.max(50, Math.floor(staleMs / 3)));
    refresh.unref();
    let released = false;
    return async () => {
      if (released) return;
      released = true;
      clearInterval(refresh);
      try {
        if (readOwner(path)?.token === token) await nodeFs.unlink(path);
      } finally {
        clearLocal();
      }
    };
  } catch (error) {
    clearLocal();
    throw error;
  }
}

async function acquireFile(path: string, staleMs: number, deadline: Deadline, what?: string): Promise<string> {
  const token = randomBytes(8).toString('hex');
  const body = JSON.stringify({ pid: process.pid, host: HOST, token } satisfies LockOwner);
  // Written once, linked on every attempt: a waiting writer costs one syscall per try, as with O_EXCL.
  const temp = `${path}.${token}.tmp`;
  writeBody(temp, body, path);
  try {
    let delay = 2;
    for (;;) {
      if (linkLock(temp, body, path)) return token;
      if (await isStale(path, staleMs)) {
        await breakStaleLock(path, staleMs);
        continue;
      }
      if (deadline.expired()) throw lockedError(path, what);
      await sleep(delay);
      delay = Math.min(delay * 2, 50);
    }
  } finally {
    try {
      unlinkSync(temp);
    } catch {
      // never created, or already gone: nothing to clean up
    }
  }
}

/** The lock's body in a temp file next to it, whole (a full disk fails here, before any lock exists). */
function writeBody(temp: string, body: string, path: string): void {
  try {
    const fd = openSync(temp, 'w', 0o600);
    try {
      if (writeSync(fd, body) !== Buffer.byteLength(body)) throw Object.assign(new Error('short write of a lock file'), { code: 'ENOSPC' });
    } finally {
      closeSync(fd);
    }
  } catch (error) {
    try {
      unlinkSync(temp);
    } catch {
      // never created
    }
    throw lockIoError(path, error);
  }
}

/**
 * Links the written body to the lock path: the lock appears with its owner in it, in one step.
 * False when the lock exists. Synchronous: a metadata operation, cheaper than a thread-pool trip.
 */
function linkLock(temp: string, body: string, path: string, retried = false): boolean {
  try {
    linkSync(temp, path);
    return true;
  } catch (error) {
    if (errnoCode(error) === 'EEXIST') return false;
    // Our temp file was swept meanwhile (a writer waited past the temp-file grace): write it again.
    if (errnoCode(error) === 'ENOENT' && !retried) {
      writeBody(temp, body, path);
      return linkLock(temp, body, path, true);
    }
    throw lockIoError(path, error);
  }
}

/** True when the lock at `path` exists but its holder is gone (dead pid on this host, or untouched for `staleMs`). */
export async function isStale(path: string, staleMs: number): Promise<boolean> {
  let owner: LockOwner | undefined;
  let mtimeMs: number;
  try {
    const stats = await lstat(path);
    // raptor's locks are plain files it created with O_EXCL: a link (or anything else) there is
    // not a lock to wait for or break, and its target is never read or touched.
    if (!stats.isFile()) throw foreignLock(path);
    owner = readOwner(path);
    ({ mtimeMs } = stats);
  } catch (error) {
    if (errnoCode(error) === 'ENOENT') return false; // released meanwhile: just retry
    if (error instanceof RaptorError) throw error;
    throw lockIoError(path, error);
  }
  if (owner && owner.host === HOST && owner.pid !== process.pid && !isAlive(owner.pid)) return true;
  // A lock file without a readable owner is either being written right now by an older raptor
  // or debris of a crash or a full disk: only its age can tell, and a short one does.
  return Date.now() - mtimeMs > (owner ? staleMs : Math.min(staleMs, UNREADABLE_GRACE_MS));
}

async function breakStaleLock(path: string, staleMs: number): Promise<void> {
  const breakPath = `${path}.break`;
  let handle;
  try {
    handle = await open(breakPath, 'wx', 0o600);
  } catch (error) {
    if (errnoCode(error) !== 'EEXIST') throw lockIoError(breakPath, error);
    // Someone else is breaking it. A break lock is held for microseconds; an old one was left by a crash.
    const age = await stat(breakPath).then((s) => Date.now() - s.mtimeMs, () => 0);
    if (age > 2_000) await nodeFs.unlink(breakPath);
    await sleep(2);
    return;
  }
  try {
    await handle.close();
    const before = readOwner(path);
    if (await isStale(path, staleMs)) {
      const after = readOwner(path);
      if (before?.token === after?.token) await nodeFs.unlink(path);
    }
  } finally {
    await nodeFs.unlink(breakPath);
  }
}

/** The holder recorded in a lock file, if it can be read. */
export function readOwner(path: string): LockOwner | undefined {
  try {
    // Never through a symlink. A second hard link is how a lock appears (its body linked into place
    // from a temp file, then the temp unlinked): reading one is safe, the lock is never written.
    const parsed: unknown = JSON.parse(readOwnFile(path, 4096, { hardLinks: 'allow' }) ?? '');
    if (parsed && typeof parsed === 'object' && 'token' in parsed) return parsed as LockOwner;
    return undefined;
  } catch (error) {
    if (error instanceof SyntaxError) return undefined; // missing, being written, or torn by a crash
    throw error;
  }
}

export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch (error) {
    return errnoCode(error) === 'EPERM'; // exists, owned by someone else
  }
  return !isZombie(pid);
}

/** A killed process whose parent has not reaped it yet still answers kill(0), but it is dead. */
function isZombie(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2).startsWith('Z');
  } catch {
    return false; // no /proc (macOS, Windows) or the process just vanished: kill(0) already said it exists
  }
}


function lockedError(path: string, what?: string): RaptorError {
  return new RaptorError(
    'LOCKED',
    `${what ?? 'The session'} is locked by another process (lock file \`${path}\`). Wait for it to finish, or remove the lock file if no raptor process is running.`,
  );
}

function foreignLock(path: string): RaptorError {
  return new RaptorError('FOREIGN_DIRECTORY', `\`${path}\` is not a lock raptor made (it is a link or not a regular file); it was left untouched. Move it away and try again.`);
}

function lockIoError(path: string, cause: unknown): RaptorError {
  const fault = fsFault(cause, path);
  if (fault) return fault;
  return new RaptorError('STORE_UNAVAILABLE', `Cannot lock \`${path}\`: ${(cause as Error).message}.`, { cause });
}

