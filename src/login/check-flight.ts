/**
 * One `check()` at a time per revision of a role, across the workers and processes on one
 * RAPTOR_HOME. Every worker of a run meets every role within a second of the start; without
 * this, each of them checks the same saved state at once (2 workers × 4 roles = 8 checks where
 * 4 answer the question). The worker that creates `<stem>.checking.json` (O_EXCL) checks; one
 * that finds it, for the same revision, waits for the stamp the checker writes on success
 * (`login-stamps.ts`). A checker that fails, dies or takes too long leaves no fresh stamp: the
 * waiter then checks for itself, so the marker can delay a check, never skip one.
 */
import { readFileSync } from 'node:fs';
import { mkdir, open, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import { randomBytes } from 'node:crypto';
import { stemFor } from '../core/names.js';
import type { SessionRecord } from '../core/record.js';
import { playwrightDirIn } from '../env/paths.js';
import { recentlyVerified, stampVerified } from './login-stamps.js';

type Checked = Pick<SessionRecord, 'name' | 'revision' | 'updatedAt'>;

/** How long a waiter trusts another worker's check to be still running (a check is a page load). */
export const CHECK_WAIT_MS = 15_000;
const POLL_MS = 20;

const markerPath = (home: string, name: string): string => join(playwrightDirIn(home), `${stemFor(name)}.checking.json`);

/**
 * Runs `check` for this revision of the session, or waits for the one another worker is running
 * right now; stamps a pass. True when the revision is verified logged in.
 */
export async function checkOnce(home: string, record: Checked, check: () => Promise<boolean>, waitMs = CHECK_WAIT_MS): Promise<boolean> {
  const path = markerPath(home, record.name);
  const token = randomBytes(8).toString('hex');
  const owned = await claim(path, record, token);
  if (!owned) {
    const since = Date.now();
    if (await waitForOther(home, path, record, since, waitMs)) return true;
  }
  try {
    const passed = await check();
    if (passed) await stampVerified(home, record);
    return passed;
  } finally {
    if (owned) await releaseIfOurs(path, token);
  }
}

async function claim(path: string, record: Checked, token: string): Promise<boolean> {
  try {
    await mkdir(join(path, '..'), { recursive: true, mode: 0o700 });
    const handle = await open(path, 'wx', 0o600);
    try {
      await handle.writeFile(JSON.stringify({ name: record.name, revision: record.revision, token, startedAt: new Date().toISOString() }));
    } finally {
      await handle.close();
    }
    return true;
  } catch {
    // EEXIST: someone checks (or a dead checker's marker, given up on below); anything else: just check
    return false;
  }
}

function readMarker(path: string): Record<string, unknown> | undefined {
  try {
    const value: unknown = JSON.parse(readFileSync(path, 'utf8'));
    return value && typeof value === 'object' ? (value as Record<string, unknown>) : undefined;
  } catch {
    return undefined; // gone, or being written: both read as "no check running"
  }
}

/** True once a check of this revision passed at or after `since`; false when there is nothing (more) to wait for. */
async function waitForOther(home: string, path: string, record: Checked, since: number, waitMs: number): Promise<boolean> {
  const marker = readMarker(path);
  const started = Date.parse(String(marker?.['startedAt']));
  // A marker for another revision, or older than any check can take, is a leftover: check ourselves.
  if (!marker || marker['revision'] !== record.revision || !(Date.now() - started < waitMs)) {
    if (marker && !(Date.now() - started < waitMs)) await rm(path, { force: true });
    return false;
  }
  const deadline = started + waitMs;
  while (Date.now() < deadline) {
    if (recentlyVerified(home, record, 0, started)) return true;
    const now = readMarker(path);
    if (now?.['token'] !== marker['token']) return recentlyVerified(home, record, 0, started); // the checker is done
    await delay(POLL_MS);
  }
  return recentlyVerified(home, record, 0, since);
}

async function releaseIfOurs(path: string, token: string): Promise<void> {
  if (readMarker(path)?.['token'] === token) await rm(path, { force: true });
}
