/**
 * One session's turn in `raptor keep`: visit, save, check, and log in again only when the visit
 * shows the session logged out.
 *
 * 1. The recipe's `url` (against the recorded base URL) is visited where the session lives: its
 *    kept-alive browser when that still runs (a new tab in its context, closed after: the user's
 *    own tabs are not touched), else a fresh context holding the saved state in the keeper's
 *    shared headless browser.
 * 2. The recipe's `check` runs on the visited page (without one: the captured state must still
 *    show its auth cookies). A passing visit saves the state the server refreshed, **with a
 *    revision check** against the record the visit started from: when another writer (a
 *    `raptor login`, a crawler, a second keeper) saved in between, its record stands and the
 *    visit's state is dropped: the session was refreshed by someone else.
 * 3. A failing check (or a saved state already stale, or one expiring within a minute even after
 *    the visit) goes through `manager.ensure()`, the one login path with its cross-process lock,
 *    told the revision seen logged out, so it is never reused.
 */
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { captureContext, type Captured } from '../browser/capture.js';
import { attachChecked } from '../browser/identity.js';
import { RaptorError, isRaptorError } from '../core/errors.js';
import { firstLineOf } from '../core/error-text.js';
import type { SessionRecord } from '../core/record.js';
import { CHECK_FAILED, contextWithSession, recipeCheck, staleReason, type Recipe } from '../login/ensure.js';
import { missingLoginEvidence } from '../login/login-evidence.js';
import { loadRecipeFor } from '../login/recipe.js';
import type { SessionManager } from '../manager.js';
import { earliestExpiry, expiresTooSoon } from './policy.js';
import { openTab } from '../browser/connection-bound.js';

export type KeepResult = 'refreshed' | 'logged-in' | 'failed';

export interface RefreshOutcome {
  result: Exclude<KeepResult, 'failed'>;
  /** The session's revision after this turn. */
  revision: number;
  /** The record after this turn (the keeper's, or the other writer's that won). */
  record: SessionRecord;
  /** Where the visit ran, when one did. */
  via?: 'browser' | 'headless';
  /** True when another writer saved between the visit and its save: its record was kept. */
  conflict?: boolean;
  /** Why the session was logged in again (`logged-in`). */
  reason?: string;
  /** The recipe's `authCookies`, for the schedule (`policy.ts`). */
  authCookies?: string[];
}

/** A step of a turn, for logs and `--json` events. Never holds a secret. */
export interface VisitStep {
  name: string;
  url: string;
  via: 'browser' | 'headless';
  loggedIn: boolean;
}

export interface RefreshDeps {
  manager: SessionManager;
  /** The keeper's shared headless browser, launched on first use. */
  getBrowser(): Promise<Browser>;
  onVisit?(step: VisitStep): void;
  /** Runs between the visit's capture and its save: where a test puts a concurrent writer. */
  beforeSave?(name: string): Promise<void>;
}

/** One turn for session `name`. Throws (a `RaptorError`) when it cannot be kept this time. */
export async function refreshSession(deps: RefreshDeps, name: string): Promise<RefreshOutcome> {
  const { manager } = deps;
  const record = await manager.find(name);
  if (!record) throw new RaptorError('NOT_FOUND', `No session \`${name}\` in ${manager.location}: it was removed. Log it in again with \`raptor login ${name} --recipe <file>\`.`);
  const { recipe, ref } = await loadRecipeFor(name, undefined, undefined, () => manager.head(name));
  const stale = staleReason(record, undefined, recipe.authCookies, recipe.check !== undefined);
  const cookies = recipe.authCookies ? { authCookies: recipe.authCookies } : {};
  if (stale) return { ...(await logInAgain(deps, name, record.revision, stale)), ...cookies };

  const url = visitUrl(name, recipe, ref.baseURL);
  const visit = await visitSession(deps, record, recipe, url, ref.baseURL);
  deps.onVisit?.({ name, url: visitedPath(url), via: visit.via, loggedIn: visit.loggedIn });
  if (!visit.loggedIn) return { ...(await logInAgain(deps, name, record.revision, CHECK_FAILED)), ...cookies };

  await deps.beforeSave?.(name);
  let saved: SessionRecord;
  try {
    saved = await manager.save(name, { storageState: visit.captured.storageState, sessionStorage: visit.captured.sessionStorage }, { expectedRevision: record.revision });
  } catch (error) {
    if (!isRaptorError(error, 'REVISION_CONFLICT')) throw error;
    // Another writer won: its session is newer than what this visit started from. Keep it.
    const current = await manager.find(name);
    if (!current) throw new RaptorError('NOT_FOUND', `Session \`${name}\` was removed while it was being kept.`);
    return { result: 'refreshed', revision: current.revision, record: current, via: visit.via, conflict: true, ...cookies };
  }
  if (expiresTooSoon(earliestExpiry(saved, recipe.authCookies), Date.now())) {
    return { ...(await logInAgain(deps, name, saved.revision, 'it expires within a minute and the visit did not renew it')), ...cookies };
  }
  return { result: 'refreshed', revision: saved.revision, record: saved, via: visit.via, ...cookies };
}

async function logInAgain(deps: RefreshDeps, name: string, loggedOutRevision: number, why: string): Promise<RefreshOutcome> {
  const result = await deps.manager.ensure(name, undefined, { loggedOutRevision, reuseCheckFor: 0, browser: await deps.getBrowser() });
  // Not logged in by us: another process logged in (or refreshed) it meanwhile and ensure reused that.
  if (!result.loggedIn) return { result: 'refreshed', revision: result.record.revision, record: result.record, conflict: true };
  return { result: 'logged-in', revision: result.record.revision, record: result.record, reason: result.reason ?? why };
}

/** The recipe's `url` made absolute against the recorded base URL. */
function visitUrl(name: string, recipe: Recipe, baseURL: string | undefined): string {
  const target = recipe.url ?? baseURL;
  try {
    if (target !== undefined) return new URL(target, baseURL).href;
  } catch {
    // not a URL: said below
  }
  throw new RaptorError(
    'USAGE',
    `Session \`${name}\` cannot be kept: its recipe has no absolute \`url\` to visit and no base URL was recorded. Give one with \`raptor login ${name} --base-url <url>\`, or an absolute \`url\` in the recipe.`,
  );
}

/** A URL for logs: origin and path only (a query may carry a token). */
function visitedPath(url: string): string {
  const parsed = new URL(url);
  return `${parsed.origin}${parsed.pathname}`;
}

interface Visit {
  via: 'browser' | 'headless';
  loggedIn: boolean;
  captured: Captured;
}

/** Visits `url` in the session's live browser, else in a context holding its saved state. */
async function visitSession(deps: RefreshDeps, record: SessionRecord, recipe: Recipe, url: string, baseURL: string | undefined): Promise<Visit> {
  const check = await deps.manager.checkSessionBrowser(record);
  if (check?.status === 'same') {
    const browser = await attachChecked(check);
    try {
      const context = browser.contexts()[0];
      if (context) return { via: 'browser', ...(await visitIn(context, recipe, url, true)) };
    } finally {
      await browser.close(); // over CDP: disconnects, the browser keeps running
    }
  }
  const context = await contextWithSession(await deps.getBrowser(), record, baseURL ? { baseURL } : {});
  try {
    return { via: 'headless', ...(await visitIn(context, recipe, url, false)) };
  } finally {
    await context.close();
  }
}

async function visitIn(context: BrowserContext, recipe: Recipe, url: string, ownTab: boolean): Promise<Omit<Visit, 'via'>> {
  const page = await openTab(context);
  try {
    await goto(page, url);
    const passed = recipe.check ? await checkPassed(recipe, page) : true;
    const captured = await captureContext(context);
    // Without a check, the state must still show the login (its auth cookies): a server that
    // logged the session out on the visit cleared them.
    const loggedIn = passed && (recipe.check !== undefined || !missingLoginEvidence(captured.storageState, captured.sessionStorage, recipe.authCookies));
    return { loggedIn, captured };
  } finally {
    if (ownTab) await page.close().catch(() => undefined); // the tab raptor opened in the user's browser
  }
}

async function goto(page: Page, url: string): Promise<void> {
  try {
    await page.goto(url);
  } catch (error) {
    // The site did not answer: that says nothing about the login, so no login is tried.
    throw new RaptorError('BROWSER_FAILED', `Could not visit ${visitedPath(url)} to keep the session: ${firstLineOf(error)}. The keeper tries again later.`, { cause: error });
  }
}

function checkPassed(recipe: Recipe, page: Page): Promise<boolean> {
  return recipeCheck(recipe.check!, page); // one that throws or hangs has not shown a logged-in page
}
