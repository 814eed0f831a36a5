/**
 * What the workers of every `playwright test` process on one RAPTOR_HOME tell each other about a
 * role's login, next to its state file in `$RAPTOR_HOME/playwright/`:
 *
 * - `<stem>.verified.json`: revision R of the session passed `check()` (or was just logged in
 *   and checked) at time T. Another worker that finds R within {@link VERIFIED_REUSE_MS} reuses
 *   it instead of running `check()` again; before, each waiter re-checked while holding the
 *   login lock, one after another, and tests timed out (issue 10, item 6).
 * - `<stem>.failed.json`: the login failed at time T with this message. A worker that waited on
 *   the lock for that very login fails with it at once, instead of running (and, for a hanging
 *   identity provider, waiting out) the same login again.
 *
 * Both are hints: a missing, torn or foreign file just means "check" / "try the login".
 */
import { readFileSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { loginStampFile, playwrightDirIn } from '../env/paths.js';
import type { SessionRecord } from '../core/record.js';
import { nodeFs, writeFileAtomic } from '../fs/file-io.js';

/**
 * How long a passed `check()` is trusted by other workers and processes: a minute covers the
 * start of a parallel run (every worker asks for every role within seconds) while a session the
 * server revoked is still noticed by the next run, or by this one a minute later.
 */
export const VERIFIED_REUSE_MS = 60_000;

type Stamped = Pick<SessionRecord, 'name' | 'revision' | 'updatedAt'>;

const dirOf = playwrightDirIn;
const fileOf = loginStampFile;

function readJson(home: string, name: string, kind: 'verified' | 'failed'): Record<string, unknown> | undefined {
  try {
    const value: unknown = JSON.parse(readFileSync(join(dirOf(home), fileOf(name, kind)), 'utf8'));
    return value && typeof value === 'object' ? (value as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
}

async function writeJson(home: string, name: string, kind: 'verified' | 'failed', value: object): Promise<void> {
  await mkdir(dirOf(home), { recursive: true, mode: 0o700 });
  await writeFileAtomic(dirOf(home), fileOf(name, kind), `${JSON.stringify(value)}\n`);
}

/** Records that `record`, exactly this revision, was verified logged in just now. */
export function stampVerified(home: string, record: Stamped, now = Date.now()): Promise<void> {
  return writeJson(home, record.name, 'verified', { name: record.name, revision: record.revision, updatedAt: record.updatedAt, verifiedAt: new Date(now).toISOString() });
}

/**
 * True when this very revision of the session was verified less than `windowMs` ago, or at or
 * after `since` (a waiter on the login lock: any verification made while it waited is news).
 */
export function recentlyVerified(home: string, record: Stamped, windowMs: number, since?: number, now = Date.now()): boolean {
  const stamp = readJson(home, record.name, 'verified');
  if (!stamp || stamp['name'] !== record.name || stamp['revision'] !== record.revision || stamp['updatedAt'] !== record.updatedAt) return false;
  const at = Date.parse(String(stamp['verifiedAt']));
  if (!Number.isFinite(at) || at > now) return false;
  return now - at < windowMs || (since !== undefined && at >= since);
}

export function stampFailed(home: string, name: string, message: string, now = Date.now()): Promise<void> {
  return writeJson(home, name, 'failed', { name, message, failedAt: new Date(now).toISOString() });
}

/** The message of a login of `name` that failed at or after `since`, if any. */
export function failedSince(home: string, name: string, since: number): string | undefined {
  const stamp = readJson(home, name, 'failed');
  if (!stamp || stamp['name'] !== name || typeof stamp['message'] !== 'string') return undefined;
  const at = Date.parse(String(stamp['failedAt']));
  return Number.isFinite(at) && at >= since ? stamp['message'] : undefined;
}

export async function clearFailed(home: string, name: string): Promise<void> {
  await nodeFs.unlink(join(dirOf(home), fileOf(name, 'failed')));
}
