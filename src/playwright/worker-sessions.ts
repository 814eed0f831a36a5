/**
 * What a Playwright Test worker knows about its roles (`raptor-sessions/test`'s `raptorSessions`
 * fixture). Loaded by a dynamic import the first time a worker needs a role: it brings the
 * session manager (zod, pino, the stores), which the runner process, listing tests, never needs.
 *
 * A role is resolved once per worker. When its saved session needs a `check()` (no fresh stamp,
 * `login-stamps.ts`), the test's context is made with the saved state and the check comes after:
 * in the test's own page when it uses `page` (`verifyInPage`), since a new context + page is most
 * of what a test costs; else in a separate context before the test gets its `context`
 * (`verifyContext`). A failed check logs in and puts the new state into the test's context with
 * `context.setStorageState()`. On Playwright without it (or without init-script handles), and for
 * the `sessions` fixture, the check runs before the context is made, as `ensureSession` does it.
 */
import type { Browser, BrowserContext, BrowserContextOptions, Page } from '@playwright/test';
import { captureContext } from '../browser/capture.js';
import { toPlaywrightState } from '../browser/launch.js';
import { addSessionStorage, type InitScriptHandle } from '../browser/session-storage.js';
import { RaptorError, isRaptorError } from '../core/errors.js';
import type { SessionRecord } from '../core/record.js';
import { SessionManager } from '../manager.js';
import { checkOnce } from '../login/check-flight.js';
import { recipeCheck } from '../login/ensure.js';
import { CHECK_FAILED, checkPage, contextWithSession, ensureSession, findReusable, logInUnderLock, needsCheck, roleWork, runCheck, savedProblem, staleReason, writeStateFile } from './ensure-session.js';
import type { RoleOptions } from './ensure-session.js';
import { roleOptions } from './roles.js';
import { openTab } from '../browser/connection-bound.js';

/** A role's record for one test: `verified` false means its `check()` is still to run in the test's page. */
export interface Resolved {
  record: SessionRecord;
  verified: boolean;
}

/** What one test carries between its `storageState`, `context` and `page` fixtures. */
export interface TestPlan {
  /** The test asked for `page` before its `context` was set up: a pending check runs in that page. */
  pageWanted: boolean;
  record?: SessionRecord;
  /** The check is still to run: in the test's `context` fixture, or its page when `pageWanted`. */
  pending: boolean;
  /** The sessionStorage init script added to the test's context, to drop if the state is replaced. */
  sessionStorageScript?: InitScriptHandle | undefined;
}

export interface WorkerSessions {
  /** The role's record; with `deferCheck`, possibly one whose check is left to `verifyInPage` / `verifyContext` (`verified: false`). */
  get(role: string, contextOptions: BrowserContextOptions, deferCheck: boolean): Promise<Resolved>;
  /** Runs the role's pending check in `page` (then back to `about:blank`); logs in and replaces the context's state when it fails. */
  verifyInPage(role: string, page: Page, plan: TestPlan, contextOptions: BrowserContextOptions): Promise<void>;
  /** Runs the role's pending check in a separate context, before the test's `context` is handed over; logs in and replaces its state when it fails. */
  verifyContext(role: string, context: BrowserContext, plan: TestPlan, contextOptions: BrowserContextOptions): Promise<void>;
  /** Re-saves the state a passing test left behind, for roles with `rotate`. */
  rotate(role: string, previous: SessionRecord, context: BrowserContext, contextOptions: BrowserContextOptions): Promise<void>;
  close(): Promise<void>;
}

export async function openWorkerSessions(browser: Browser, sessionsDir: string | undefined): Promise<WorkerSessions> {
  const manager = await SessionManager.open({ ...(sessionsDir ? { dir: sessionsDir } : {}), autoCleanup: false });
  const cache = new Map<string, Promise<Resolved>>();
  let inPlace: Promise<boolean> | undefined; // asked on first need
  const work = (role: string, options: RoleOptions, contextOptions: BrowserContextOptions) =>
    roleWork(role, { ...options, contextOptions }, manager, async () => browser);

  const resolve = async (role: string, contextOptions: BrowserContextOptions, deferCheck: boolean): Promise<Resolved> => {
    const options = roleOptions(role);
    if (!options) return { record: await savedWithoutLogin(manager, role), verified: true };
    if (!deferCheck || !options.check || !(await (inPlace ??= canReplaceStateInPlace(browser)))) return { record: (await ensureSession(role, { ...options, browser, manager, contextOptions })).record, verified: true };
    const roleAt = work(role, options, contextOptions);
    const first = await findReusable(manager, role);
    const problem = savedProblem(roleAt, first);
    if (problem) return { record: (await logInUnderLock(roleAt, first, problem)).record, verified: true };
    await writeStateFile(manager, first!);
    return { record: first!, verified: !needsCheck(roleAt, first!) };
  };

  /** After a role's check: kept when it passed, else a login (once, under the lock) whose state `apply` puts in place. */
  const settle = async (role: string, plan: TestPlan, passed: boolean, contextOptions: BrowserContextOptions, apply: (fresh: SessionRecord) => Promise<void>): Promise<void> => {
    let verified = plan.record!;
    if (!passed) {
      verified = (await logInUnderLock(work(role, roleOptions(role)!, contextOptions), verified, CHECK_FAILED)).record;
      await apply(verified);
    }
    plan.record = verified;
    plan.pending = false;
    cache.set(role, Promise.resolve({ record: verified, verified: true }));
  };

  return {
    get(role, contextOptions, deferCheck) {
      const cached = cache.get(role);
      // A record whose check is still pending is checked now by a caller that cannot defer it.
      // A failed resolution stays cached, as before: the worker's later tests of the role fail with it at once.
      const pending = cached ? cached.then((resolved) => (resolved.verified || deferCheck ? resolved : resolve(role, contextOptions, false))) : resolve(role, contextOptions, deferCheck);
      cache.set(role, pending);
      return pending;
    },
    async verifyInPage(role, page, plan, contextOptions) {
      const options = roleOptions(role)!;
      const record = plan.record!;
      const passed = await checkOnce(manager.paths.home, record, () => checkPage(page, options, contextOptions));
      await settle(role, plan, passed, contextOptions, async (fresh) => replaceState(page, plan, fresh));
      if (page.url() !== 'about:blank') await page.goto('about:blank');
    },
    async verifyContext(role, context, plan, contextOptions) {
      const options = roleOptions(role)!;
      const record = plan.record!;
      const passed = await checkOnce(manager.paths.home, record, () => runCheck(browser, record, { ...options, contextOptions }));
      await settle(role, plan, passed, contextOptions, (fresh) => setState(context, fresh));
    },
    async rotate(role, previous, context, contextOptions) {
      const options = roleOptions(role);
      if (!options?.rotate) return;
      const rotated = await rotateState(role, options, previous, context, manager, contextOptions);
      if (rotated) cache.set(role, Promise.resolve({ record: rotated, verified: true }));
    },
    close: () => manager.close(),
  };
}

/** Puts a fresh login into the test's live context: cookies and localStorage, and its sessionStorage in place of the old. */
async function replaceState(page: Page, plan: TestPlan, record: SessionRecord): Promise<void> {
  const context = page.context();
  // The tab already holds the old sessionStorage of the origin it checked; the init script only fills an empty one.
  await page.evaluate(() => {
    try {
      sessionStorage.clear();
    } catch {
      // an opaque origin has none
    }
  });
  await plan.sessionStorageScript?.dispose();
  await setState(context, record);
  plan.sessionStorageScript = await addSessionStorage(context, record.sessionStorage);
}

/** `context.setStorageState()`, which {@link canReplaceStateInPlace} found there. */
async function setState(context: BrowserContext, record: SessionRecord): Promise<void> {
  await (context as BrowserContext & { setStorageState(state: unknown): Promise<void> }).setStorageState(toPlaywrightState(record.storageState));
}

/**
 * Can this Playwright put a new state into a live context (`setStorageState`) and drop an init
 * script again (a handle from `addInitScript`)? Asked once per worker of a throwaway context (~10 ms).
 */
async function canReplaceStateInPlace(browser: Browser): Promise<boolean> {
  const probe = await browser.newContext();
  try {
    if (typeof (probe as { setStorageState?: unknown }).setStorageState !== 'function') return false;
    const handle = (await probe.addInitScript('')) as unknown;
    return !!handle && typeof (handle as InitScriptHandle).dispose === 'function';
  } finally {
    await probe.close();
  }
}

/** A role no `defineRole` declares: a session saved by other means (e.g. `raptor save`) is used while it is valid. */
async function savedWithoutLogin(manager: SessionManager, role: string): Promise<SessionRecord> {
  const record = await findReusable(manager, role);
  const problem = record ? staleReason(record, undefined, undefined, false) : 'it does not exist';
  if (!record || problem) {
    throw new RaptorError(
      'NOT_FOUND',
      `Session \`${role}\` cannot be used (${problem}) and no role declares how to log in. Add \`defineRole('${role}', { login })\` in a file your specs import.`,
    );
  }
  return record;
}

/**
 * Saves the state a passing test left behind, for apps that rotate refresh tokens on every
 * load, unless it looks logged out: the auth cookies must still be alive and `check` (when
 * given) must pass in a fresh context. A concurrent rotation by another worker wins; ours is dropped.
 */
async function rotateState(name: string, role: RoleOptions, previous: SessionRecord, context: BrowserContext, manager: SessionManager, contextOptions: BrowserContextOptions): Promise<SessionRecord | undefined> {
  let captured;
  try {
    captured = await captureContext(context);
  } catch {
    return undefined; // the test closed its context: nothing to rotate
  }
  const candidate = { ...previous, storageState: captured.storageState, sessionStorage: captured.sessionStorage };
  if (staleReason(candidate, undefined, role.authCookies, role.check !== undefined)) return undefined;
  if (role.check) {
    const browser = context.browser();
    if (!browser) return undefined;
    const checkContext = await contextWithSession(browser, candidate, contextOptions);
    try {
      const page = await openTab(checkContext);
      const url = role.url ?? contextOptions.baseURL;
      if (url) await page.goto(url);
      if (!(await recipeCheck(role.check, page))) return undefined;
    } finally {
      await checkContext.close();
    }
  }
  try {
    return await manager.save(name, { storageState: captured.storageState, sessionStorage: captured.sessionStorage }, { expectedRevision: previous.revision });
  } catch (error) {
    if (isRaptorError(error, 'REVISION_CONFLICT')) return undefined;
    throw error;
  }
}
