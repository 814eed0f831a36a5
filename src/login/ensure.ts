/**
 * The one login path: a logged-in session for a recipe, logging in only when the saved one is
 * really unusable. Playwright Test's roles and `ensureSession()`, `raptor login`, `raptor keep`,
 * `raptor.ensure()`, a crawl's re-login and a fleet worker's refresh all come through here. The decision is measured, not guessed from file age alone:
 *
 * 1. the session exists, is not past `expiresAt` / `maxAge`, and its auth cookies have not expired;
 * 2. when a `check(page)` is given, a fresh context with the saved state passes it.
 *
 * Otherwise `login(page)` runs, under a cross-process lock so that N workers starting at once
 * log in once: the others wait, then find the fresh session and reuse it. A login that throws,
 * hangs past `loginTimeout`, or ends logged out (per `check`, or, without one, leaving no sign
 * of a login: see `login-evidence.ts`) saves nothing, so the previous valid session, if any, stays.
 *
 * A passed check is shared for a minute (`reuseCheckFor`, `login-stamps.ts`): the workers of every
 * process that ask for the role right after it was verified reuse that verification instead of
 * checking again, and a worker that waited on the lock trusts any check made while it waited.
 */
import type { Browser, BrowserContext, BrowserContextOptions, Page } from 'playwright-core';
import { captureContext, type Captured } from '../browser/capture.js';
import { toPlaywrightState } from '../browser/launch.js';
import { addSessionStorage } from '../browser/session-storage.js';
import { identityContextOptions } from '../browser/context-options.js';
import { HOME_DIRS, loginLockPath } from '../env/paths.js';
import { parseDuration } from '../core/duration.js';
import { withTimeout } from '../core/deadline.js';
import { firstLineOf } from '../core/error-text.js';
import { RaptorError, isRaptorError } from '../core/errors.js';
import { ownDirs } from '../fs/territory.js';
import type { SessionRecord, SessionStorageMap, StorageState } from '../core/record.js';
import type { Json } from '../core/sanitize.js';
import { withLock } from '../fs/file-lock.js';
import { redactKnownSecrets } from '../env/secrets.js';
import { sessionExpired } from '../core/validate.js';
import type { Identity } from '../core/identity.js';
import { missingLoginEvidence } from './login-evidence.js';
import { checkOnce } from './check-flight.js';
import { VERIFIED_REUSE_MS, clearFailed, failedSince, recentlyVerified, stampFailed, stampVerified } from './login-stamps.js';
import { identityProblem, loginContextOptions, roleIdentity } from './role-identity.js';
import { openTab } from '../browser/connection-bound.js';

/**
 * A login recipe: how one session logs in and how to tell it still is. The same shape serves
 * Playwright Test's roles (`defineRole`), `raptor login` / `raptor keep` (an ES module whose
 * default export it is), the library's `raptor.ensure()`, a crawl's re-login and a fleet
 * worker's refresh: one code path decides reuse or login for all of them.
 */
export interface Recipe {
  /**
   * Logs in from a blank page. Relative URLs resolve against `contextOptions.baseURL`. `session`
   * is the name of the session being logged in: one recipe can pick per-session credentials from
   * the environment (`process.env[\`ACME_PASSWORD_${session}\`]`), e.g. for `raptor keep`.
   */
  login(page: Page, about: { session: string }): Promise<void>;
  /** Says whether `page`, opened at `url` with the saved state, is still logged in. */
  check?(page: Page): Promise<boolean>;
  /** Where `check` runs (and what `raptor keep` visits). @default the context's baseURL, else `about:blank` */
  url?: string;
  /** Log in again after this long (`'1h'`, or ms), whatever the cookies say. */
  maxAge?: string | number;
  /**
   * Names of the cookies that carry the login: a login that does not set all of them is refused,
   * and the session is unusable once any has expired.
   * @default any cookie or storage counts as a login; a session is stale once every persistent cookie expired
   */
  authCookies?: string[];
  /**
   * The browser the login is bound to (user agent, locale, timezone, proxy…; Playwright's
   * `BrowserContextOptions` names). The login, every check and every context of the session get
   * it, and it is saved with the session. A saved session logged in with another identity (the
   * recipe's changed) is logged in again.
   * @default none: Playwright's defaults
   */
  identity?: Identity;
}

/** How one call resolves a recipe: the recipe, plus what the caller decides. */
export interface LoginOptions extends Recipe {
  /**
   * How long `login` may take. In Playwright Test this time is not charged to the test that
   * needed the role: its timeout is extended by the time spent logging in (or waiting for
   * another worker's login). @default 60_000
   */
  loginTimeout?: number;
  /**
   * How long (ms) a passed `check` of the saved session is trusted by every worker and process
   * on this RAPTOR_HOME before it is run again; 0 checks every time. A worker that waited on the
   * login lock always trusts a check made while it waited. @default 60_000
   */
  reuseCheckFor?: number;
  /** Options for the contexts used to log in and check (`baseURL`, `viewport`, ...). */
  contextOptions?: BrowserContextOptions;
  /** How long `check` may take before it counts as "not logged in". @default 30_000 */
  checkTimeout?: number;
  /**
   * The revision of the session the caller saw logged out (a crawl's page, a keeper's check): it
   * is not reused whatever its cookies say, but a newer one (another process's re-login) is.
   */
  loggedOutRevision?: number;
  /** Merged into the session's metadata when a login saves it (`raptor login` records its recipe here). */
  metadata?: Record<string, Json>;
}

/** What the login path needs of a `SessionManager` (which is one): kept narrow so this layer sits below it. */
export interface LoginSessions {
  readonly paths: { readonly home: string };
  find(name: string): Promise<SessionRecord | undefined>;
  save(
    name: string,
    source: { storageState: StorageState; sessionStorage: SessionStorageMap },
    options: { expiresAt: Date | null; identity: Identity | null; mergeMetadata?: Record<string, Json> },
  ): Promise<SessionRecord>;
}

export interface LoginResult {
  record: SessionRecord;
  /** True when this call ran `login`. */
  loggedIn: boolean;
  /** Why the saved session was not reused (when `loggedIn`). */
  reason?: string;
}

/**
 * A logged-in session `name`, reusing the saved one unless it is unusable. The browser is given
 * as a function, called only when a check or a login needs one: a caller resolving many roles
 * at once (`ensureSessions()`) shares one browser, and launches none when every role was
 * verified a moment ago.
 */
export async function ensureWith(sessions: LoginSessions, name: string, options: LoginOptions, getBrowser: () => Promise<Browser>): Promise<LoginResult> {
  const work = roleWork(name, options, sessions, getBrowser);
  const first = await findReusable(sessions, name);
  let problem = savedProblem(work, first);
  if (!problem && needsCheck(work, first!)) {
    const passed = await checkOnce(work.home, first!, async () => runCheck(await work.getBrowser(), first!, work.options));
    if (!passed) problem = CHECK_FAILED;
  }
  if (!problem) return { record: first!, loggedIn: false };
  return await logInUnderLock(work, first, problem);
}

/** Why a saved session was not reused when its user saw it logged out. */
export const LOGGED_OUT = 'this revision was seen logged out';

/** Why a saved session was not reused when its `check()` failed. */
export const CHECK_FAILED = 'check() says the saved state is logged out';

/** One session's resolution: its options, where sessions are saved, and a browser opened only when needed. */
export interface RoleWork {
  name: string;
  options: LoginOptions;
  sessions: LoginSessions;
  home: string;
  maxAgeMs: number | undefined;
  reuseCheckFor: number;
  getBrowser(): Promise<Browser>;
}

export function roleWork(name: string, options: LoginOptions, sessions: LoginSessions, getBrowser: () => Promise<Browser>): RoleWork {
  const maxAgeMs = options.maxAge === undefined ? undefined : parseDuration(options.maxAge, 'maxAge');
  const identity = roleIdentity(name, options.identity);
  loginContextOptions(name, identity, options.contextOptions); // a conflict fails before anything runs
  options = { ...options, identity };
  return { name, options, sessions, home: sessions.paths.home, maxAgeMs, reuseCheckFor: options.reuseCheckFor ?? VERIFIED_REUSE_MS, getBrowser };
}

/**
 * The saved record, or `undefined` when there is none or its file is invalid (not reusable: a
 * login replaces it). A store that is down or a wrong key is thrown with its own code: logging in
 * again over a session that is only unreadable right now would clobber it.
 */
export async function findReusable(sessions: LoginSessions, name: string): Promise<SessionRecord | undefined> {
  try {
    return await sessions.find(name);
  } catch (error) {
    if (isRaptorError(error, 'INVALID_SESSION')) return undefined;
    throw error;
  }
}

/** Why `record` cannot be reused without asking the browser, or `undefined`. */
export function savedProblem(work: RoleWork, record: SessionRecord | undefined): string | undefined {
  if (!record) return 'no saved session';
  if (record.revision === work.options.loggedOutRevision) return LOGGED_OUT;
  return identityProblem(record, work.options.identity) ?? staleReason(record, work.maxAgeMs, work.options.authCookies, work.options.check !== undefined);
}

/** True when `record` must pass `check()` before use: a check is declared and no recent one covers this revision. */
export function needsCheck(work: RoleWork, record: SessionRecord, waitingSince?: number): boolean {
  return work.options.check !== undefined && !recentlyVerified(work.home, record, work.reuseCheckFor, waitingSince);
}

/**
 * Logs in under the role's cross-process lock, so that N workers log in once: a worker that
 * waited finds the fresh session (or the failure) of the one that logged in. `first` is the
 * record whose `firstProblem` brought us here.
 */
export async function logInUnderLock(work: RoleWork, first: SessionRecord | undefined, firstProblem: string): Promise<LoginResult> {
  const { name, options, sessions, home } = work;
  const usable = async (record: SessionRecord | undefined, waitingSince: number): Promise<boolean> => {
    if (savedProblem(work, record)) return false;
    if (!needsCheck(work, record!, waitingSince)) return true;
    if (!(await runCheck(await work.getBrowser(), record!, options))) return false;
    await stampVerified(home, record!);
    return true;
  };
  const lockPath = loginLockPath(home, name);
  ownDirs(home, [HOME_DIRS.locks]); // territory: a `locks` that is a link or a file is FOREIGN_DIRECTORY
  const loginTimeout = options.loginTimeout ?? 60_000;
  const waitingSince = Date.now();
  return withLock(
    lockPath,
    async () => {
      // Another worker may have logged in while we waited for the lock.
      const current = await findReusable(sessions, name);
      if (current && current.revision !== first?.revision && (await usable(current, waitingSince))) {
        return { record: current, loggedIn: false };
      }
      // ...or tried and failed: that failure is ours too, rather than a second wait for a hung login.
      const failed = failedSince(home, name, waitingSince);
      if (failed) throw new RaptorError('LOGIN_FAILED', `Another worker's login of \`${name}\` failed while this one waited for it: ${failed}`);
      try {
        const captured = await verifiedLogin(work, loginTimeout);
        const record = await sessions.save(name, { storageState: captured.storageState, sessionStorage: captured.sessionStorage }, {
          expiresAt: work.maxAgeMs === undefined ? null : new Date(Date.now() + work.maxAgeMs),
          identity: options.identity ?? null,
          ...(options.metadata ? { mergeMetadata: options.metadata } : {}),
        });
        await stampVerified(home, record);
        await clearFailed(home, name);
        return { record, loggedIn: true, reason: firstProblem };
      } catch (error) {
        if (error instanceof RaptorError && error.code === 'LOGIN_FAILED') await stampFailed(home, name, error.message);
        throw error;
      }
    },
    { what: `The login of \`${name}\``, timeoutMs: loginTimeout * 2 + 30_000 },
  );
}

/**
 * Runs `login` in a fresh context and proves it logged in: evidence in the state, and `check`
 * passing on it. The captured state, or `LOGIN_FAILED` (nothing to save). Also a fleet worker's
 * refresh (`refresh.ts`), which saves it under its lease instead of the login lock.
 */
export async function verifiedLogin(work: Pick<RoleWork, 'name' | 'options' | 'getBrowser'>, loginTimeout: number): Promise<Captured> {
  const { name, options } = work;
  const captured = await runLogin(await work.getBrowser(), name, options, loginTimeout);
  const candidate = { storageState: captured.storageState, sessionStorage: captured.sessionStorage, ...(options.identity ? { identity: options.identity } : {}) };
  const noEvidence = missingLoginEvidence(candidate.storageState, candidate.sessionStorage, options.authCookies);
  if (noEvidence && !options.check) {
    throw new RaptorError(
      'LOGIN_FAILED',
      `login() for \`${name}\` left no sign of a login: ${noEvidence}. Nothing was saved. Check the credentials; if the login does succeed, name its cookies in \`authCookies\` or give the role a \`check\`.`,
    );
  }
  if (noEvidence && options.authCookies) {
    throw new RaptorError('LOGIN_FAILED', `login() for \`${name}\` finished, but ${noEvidence}. Nothing was saved. Check the credentials and the names in \`authCookies\`.`);
  }
  if (options.check && !(await runCheck(await work.getBrowser(), candidate, options))) {
    throw new RaptorError('LOGIN_FAILED', `login() for \`${name}\` finished, but check() says the browser is not logged in. Nothing was saved.`);
  }
  return captured;
}

/**
 * Why a record cannot be reused without even opening a browser, or `undefined`. Without a
 * `check` to ask (`checked: false`), a state that shows no login at all is not reusable either.
 */
export function staleReason(record: SessionRecord, maxAgeMs: number | undefined, authCookies: string[] | undefined, checked: boolean, now = Date.now()): string | undefined {
  if (sessionExpired(record, maxAgeMs, now)) return 'the saved session expired';
  const alive = (expires: number): boolean => expires === -1 || expires * 1000 > now;
  const cookies = record.storageState.cookies;
  if (authCookies) {
    for (const wanted of authCookies) {
      const cookie = cookies.find((c) => c.name === wanted);
      if (!cookie) return `auth cookie \`${wanted}\` is missing`;
      if (!alive(cookie.expires)) return `auth cookie \`${wanted}\` expired`;
    }
  } else if (cookies.length > 0 && !cookies.some((c) => alive(c.expires))) {
    return 'every cookie expired';
  }
  const noEvidence = checked ? undefined : missingLoginEvidence(record.storageState, record.sessionStorage, authCookies);
  if (noEvidence) return `the saved state shows no login (${noEvidence})`;
  return undefined;
}

/** Opens a context holding `record`'s state (with its sessionStorage) and identity. */
export async function contextWithSession(browser: Browser, record: Pick<SessionRecord, 'storageState' | 'sessionStorage' | 'identity'>, contextOptions: BrowserContextOptions = {}): Promise<BrowserContext> {
  const context = await browser.newContext({ ...identityContextOptions(record.identity, contextOptions), storageState: toPlaywrightState(record.storageState) });
  await addSessionStorage(context, record.sessionStorage);
  return context;
}

/** `check()` on a fresh context holding `record` (closed again). */
export async function runCheck(browser: Browser, record: Pick<SessionRecord, 'storageState' | 'sessionStorage' | 'identity'>, options: Pick<LoginOptions, 'check' | 'url' | 'contextOptions' | 'checkTimeout'>): Promise<boolean> {
  const context = await contextWithSession(browser, record, options.contextOptions);
  try {
    return await checkPage(await openTab(context), options, options.contextOptions);
  } finally {
    await context.close();
  }
}

/** `check()` in `page`, opened at the role's `url` (else the baseURL). */
export async function checkPage(page: Page, options: Pick<LoginOptions, 'check' | 'url' | 'checkTimeout'>, contextOptions: BrowserContextOptions | undefined): Promise<boolean> {
  try {
    const url = options.url ?? contextOptions?.baseURL;
    if (url) await page.goto(url);
    return await recipeCheck(options.check!, page, options.checkTimeout);
  } catch {
    return false; // a check that cannot even run (page error, timeout) has not shown a logged-in browser
  }
}

/** How long a recipe's `check` may take: it reads a page that is already loaded. */
export const CHECK_TIMEOUT_MS = 30_000;

/**
 * The recipe's `check` on `page`: true only for an explicit `true` within {@link CHECK_TIMEOUT_MS}.
 * One that throws or never answers has not shown a logged-in page (and must not hang a login,
 * `raptor login`, or a keeper's round).
 */
export async function recipeCheck(check: NonNullable<Recipe['check']>, page: Page, timeoutMs = CHECK_TIMEOUT_MS): Promise<boolean> {
  return (await checkAnswer(check, page, timeoutMs)) === true;
}

/** The recipe's `check` on `page`: `true` or `false` as it said, `undefined` when it threw, said something else, or did not answer within `timeoutMs`. */
export async function checkAnswer(check: NonNullable<Recipe['check']>, page: Page, timeoutMs = CHECK_TIMEOUT_MS): Promise<boolean | undefined> {
  const answer = Promise.resolve()
    .then(() => check(page))
    .then(
      (said: unknown) => (typeof said === 'boolean' ? said : undefined),
      () => undefined,
    );
  return withTimeout(answer, timeoutMs, () => undefined);
}

async function runLogin(browser: Browser, name: string, options: LoginOptions, timeoutMs: number) {
  const context = await browser.newContext(loginContextOptions(name, options.identity, options.contextOptions));
  try {
    const page = await openTab(context);
    try {
      await withTimeout(options.login(page, { session: name }), timeoutMs, () => {
        throw new RaptorError('LOGIN_FAILED', `login() for \`${name}\` did not finish within ${timeoutMs} ms. Nothing was saved; raise \`loginTimeout\` if the login is just slow.`);
      });
    } catch (error) {
      if (error instanceof RaptorError) throw error;
      throw new RaptorError('LOGIN_FAILED', `login() for \`${name}\` failed: ${firstLine(error)}. Nothing was saved.`, { cause: error });
    }
    return await captureContext(context);
  } finally {
    await context.close(); // also ends a login still hanging in this context
  }
}

/** A recipe error's first line, without any credential the recipe read: the user's code may quote one (`env/secrets.ts`). */
function firstLine(error: unknown): string {
  return redactKnownSecrets(firstLineOf(error));
}
