/**
 * `ensureSession()`: Playwright Test's door to the one login path (`login/ensure.ts`). It adds
 * what a Playwright project needs around it: a manager and a browser opened (and closed) when
 * the caller gives none, and the session mirrored as a storage-state file for `use.storageState`.
 */
import { basename, dirname } from 'node:path';
// Types from the user's Playwright Test, the one package of theirs this entry is sure to share:
// `playwright-core` may be a second copy when it was installed in the same step (see package.json).
import type { Browser, BrowserContextOptions, Page } from '@playwright/test';
import { launchBrowser, type BrowserLaunchOptions } from '../browser/launch.js';
import { contextOptionsFor } from '../browser/context-options.js';
import { HOME_DIRS, playwrightStatePath } from '../env/paths.js';
import { MAX_FILE_BYTES, type SessionRecord } from '../core/record.js';
import { ownDirs, readOwnFile } from '../fs/territory.js';
import { writeFileAtomic } from '../fs/file-io.js';
import { SessionManager } from '../manager.js';
import { ensureWith, logInUnderLock as logInUnderLockCore, type LoginOptions, type Recipe, type RoleWork } from '../login/ensure.js';

/**
 * A role: a login recipe (`login`, `check`, `url`, `maxAge`, `authCookies`, `identity`, the same
 * shape `raptor login --recipe` loads) and how Playwright Test uses it.
 */
export interface RoleOptions extends Omit<Recipe, 'login' | 'check'>, Pick<LoginOptions, 'loginTimeout' | 'reuseCheckFor'> {
  /** Logs in from a blank page. Relative URLs resolve against `contextOptions.baseURL`; `session` is the role's name. */
  login(page: Page, about: { session: string }): Promise<void>;
  /** Says whether `page`, opened at `url` with the saved state, is still logged in. */
  check?(page: Page): Promise<boolean>;
  /** Re-save the state after each passing test (apps that rotate refresh tokens on every load). @default false */
  rotate?: boolean;
}

export interface EnsureSessionOptions extends RoleOptions {
  /** Browser for login and check; one is launched (and closed) when omitted. */
  browser?: Browser;
  launchOptions?: BrowserLaunchOptions;
  /** Options for the contexts used to log in and check (`baseURL`, `viewport`, ...). */
  contextOptions?: BrowserContextOptions;
  /** An open manager to use; else one is opened on `dir` (or the default sessions dir) and closed again. */
  manager?: SessionManager;
  dir?: string;
  env?: NodeJS.ProcessEnv;
}

export interface EnsuredSession {
  record: SessionRecord;
  /** True when this call ran `login`. */
  loggedIn: boolean;
  /** Why the saved session was not reused (when `loggedIn`). */
  reason?: string;
  /** A Playwright storage-state file of this session (for `use.storageState`), refreshed by this call. */
  statePath: string;
  /**
   * `newContext()` options of a context that is this session: its state and identity
   * (`contextOptionsFor(record)`). sessionStorage is not among them (`addSessionStorage`).
   */
  contextOptions: BrowserContextOptions;
}

export { sessionStatePath } from './state-path.js';
export { CHECK_FAILED, checkPage, contextWithSession, findReusable, needsCheck, roleWork, runCheck, savedProblem, staleReason } from '../login/ensure.js';

export async function ensureSession(name: string, options: EnsureSessionOptions): Promise<EnsuredSession> {
  let browser = options.browser;
  const ownBrowser = browser === undefined;
  try {
    return await ensureSessionWith(name, options, async () => (browser ??= (await launchBrowser('chromium', options.launchOptions))));
  } finally {
    if (ownBrowser && browser) await browser.close();
  }
}

/** `ensureSession` with the browser given as a function, called only when a check or a login needs one. */
export async function ensureSessionWith(name: string, options: Omit<EnsureSessionOptions, 'browser'>, getBrowser: () => Promise<Browser>): Promise<EnsuredSession> {
  const env = options.env ?? process.env;
  const manager = options.manager ?? (await SessionManager.open({ ...(options.dir ? { dir: options.dir } : {}), env, autoCleanup: false }));
  try {
    const result = await ensureWith(manager, name, options as LoginOptions, getBrowser);
    return { ...result, statePath: await writeStateFile(manager, result.record), contextOptions: contextOptionsFor(result.record) };
  } finally {
    if (!options.manager) await manager.close();
  }
}

/** The core's `logInUnderLock`, with the role's state file written for `use.storageState`. */
export async function logInUnderLock(work: RoleWork, first: SessionRecord | undefined, firstProblem: string): Promise<EnsuredSession> {
  const result = await logInUnderLockCore(work, first, firstProblem);
  const manager = work.sessions as SessionManager;
  return { ...result, statePath: await writeStateFile(manager, result.record), contextOptions: contextOptionsFor(result.record) };
}

/**
 * Mirrors the session as a Playwright state file (0600, atomic) for `use: { storageState }`.
 * A file that already holds exactly this state is left as it is: every warm run would otherwise
 * rewrite (and fsync) every role's file for nothing.
 */
export async function writeStateFile(manager: SessionManager, record: SessionRecord): Promise<string> {
  const path = playwrightStatePath(manager.paths.home, record.name);
  ownDirs(manager.paths.home, [HOME_DIRS.playwright]); // territory: never a link out of RAPTOR_HOME
  const text = `${JSON.stringify(record.storageState, null, 2)}\n`;
  if (currentText(path) !== text) await writeFileAtomic(dirname(path), basename(path), text);
  return path;
}

/** The file's text when it is a plain file of ours, else `undefined`: a link, or anything else, is replaced by the write. */
function currentText(path: string): string | undefined {
  try {
    return readOwnFile(path, MAX_FILE_BYTES);
  } catch {
    return undefined; // not ours (a link, a hard link): the atomic rename replaces it, never writes through it
  }
}
