/**
 * Every path raptor uses under RAPTOR_HOME, in one place, so that "where does raptor write?"
 * has one answer (and the territory rules in `fs/territory.ts` one list to guard):
 *
 * ```text
 * $RAPTOR_HOME (~/.raptor)
 *   config.json                  settings (env/config.ts)
 *   key, key.next                encryption key, and the next one during `raptor rekey`
 *   sessions/                    the file store (RAPTOR_SESSIONS_DIR overrides it)
 *   profiles/<stem>/             user-data dirs of kept-alive browsers
 *   crawls/<stem>/               one crawl per session: owner.lock, heartbeat.json, journals
 *   locks/<stem>.login.lock      single-flight logins (Playwright Test, ensureSession)
 *   playwright/<stem>.json       Playwright storage-state mirror of a role
 *   playwright/<stem>.verified.json, .failed.json   what workers tell each other about a login
 * ```
 *
 * `<stem>` is the session name's file stem (`core/names.ts`), so a hostile name never escapes.
 */
import { homedir } from 'node:os';
import { join, resolve } from 'node:path';
import { stemFor } from '../core/names.js';

export interface Paths {
  home: string;
  sessionsDir: string;
  profilesDir: string;
  configFile: string;
}

export interface PathOptions {
  /** Overrides RAPTOR_SESSIONS_DIR and `<home>/sessions`. */
  dir?: string;
  env?: NodeJS.ProcessEnv;
}

export function resolvePaths(options: PathOptions = {}): Paths {
  const env = options.env ?? process.env;
  const home = resolve(env['RAPTOR_HOME'] || join(homedir(), '.raptor'));
  const sessionsDir = resolve(options.dir || env['RAPTOR_SESSIONS_DIR'] || join(home, 'sessions'));
  return { home, sessionsDir, profilesDir: join(home, 'profiles'), configFile: join(home, 'config.json') };
}

/** Names of the sub-directories of RAPTOR_HOME, for `ownDirs(home, [...])`. */
export const HOME_DIRS = { crawls: 'crawls', locks: 'locks', playwright: 'playwright', profiles: 'profiles' } as const;

export const KEY_FILE = 'key';
/** The key `raptor rekey` is moving to; it becomes `key` once every session is re-sealed. */
export const NEXT_KEY_FILE = 'key.next';

export function profileDirFor(profilesDir: string, name: string): string {
  return join(profilesDir, stemFor(name));
}

export function crawlsDirIn(home: string): string {
  return join(home, HOME_DIRS.crawls);
}

export function crawlDirFor(home: string, session: string): string {
  return join(crawlsDirIn(home), stemFor(session));
}

/** Inside a crawl's directory: who owns it, and what the owner last said (crawler/owner.ts). */
export const CRAWL_FILES = { ownerLock: 'owner.lock', heartbeat: 'heartbeat.json' } as const;

export function loginLockPath(home: string, name: string): string {
  return join(home, HOME_DIRS.locks, `${stemFor(name)}.login.lock`);
}

export function playwrightDirIn(home: string): string {
  return join(home, HOME_DIRS.playwright);
}

/** The Playwright storage-state file `ensureSession` mirrors a role into. */
export function playwrightStatePath(home: string, name: string): string {
  return join(playwrightDirIn(home), `${stemFor(name)}.json`);
}

/** The file name of a role's login stamp (`playwright/login-stamps.ts`), inside {@link playwrightDirIn}. */
export function loginStampFile(name: string, kind: 'verified' | 'failed'): string {
  return `${stemFor(name)}.${kind}.json`;
}
