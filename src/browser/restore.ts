/**
 * How a saved session comes back (DESIGN.md "SessionManager"):
 *
 * 1. Reattach: the recorded CDP URL answers within the probe timeout *and* is the recorded
 *    browser (`browser/identity.ts`) -> attach over its pinned endpoint, use the default context. Milliseconds.
 * 2. Reattach to this session's own kept-alive browser if it runs under another URL.
 * 3. Relaunch with the saved state: detached (keepAlive) or owned by this process.
 *
 * Every path applies the session's identity: an owned browser as context options (`launch.ts`),
 * a detached one through its launch flags (`keep-alive.ts`) plus, on every attach, what lives in
 * the connection (`apply-identity.ts`). A kept-alive browser launched with another identity is
 * relaunched (`identity-change.ts`).
 */
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { connectCdp } from './connect.js';
import { attachChecked, liveBrowserOf, pinnedEndpoint, type RecordedBrowser } from './identity.js';
import { findBrowser } from './find.js';
import { launchKeepAlive, runningKeepAlive, stopKeepAlive, type KeptAliveBrowser } from './keep-alive.js';
import { firstLineOf } from '../core/error-text.js';
import { RaptorError } from '../core/errors.js';
import { launchWithState, type BrowserLaunchOptions } from './launch.js';
import { addSessionStorage } from './session-storage.js';
import { applyState, reinstallPasskeys } from './apply-state.js';
import { applyAttachIdentity } from './apply-identity.js';
import { retireOutdatedBrowser, type IdentityChangeContext } from './identity-change.js';
import type { SessionRecord } from '../core/record.js';
import { redactUrlsIn } from '../core/redact-url.js';
import { redactUrl, type Logger } from '../env/log.js';
import { profileDirFor } from '../env/paths.js';
import { openTab, unlessDisconnected } from './connection-bound.js';

export type RestoreMode = 'reattached' | 'relaunched';

/** How long attaching to a browser that answered its probe may take before raptor relaunches instead. */
const CONNECT_TIMEOUT_MS = 3000;
/**
 * How long attaching to the kept-alive browser raptor has just launched may take. It already
 * answered its probe and there is nothing to fall back to, so only a browser that is truly stuck
 * should fail here: on a loaded machine (load 14 on 2 cores) Playwright's attach took over 5 s.
 */
const FRESH_CONNECT_TIMEOUT_MS = 30_000;

export interface RestoreOptions {
  launchOptions?: BrowserLaunchOptions;
  /**
   * Relaunch as a detached browser that outlives this process; its CDP URL is saved so the
   * next `restore` reattaches. @default false
   */
  keepAlive?: boolean;
  /** How long the CDP probe waits. @default 1500 (or the `probeTimeoutMs` setting) */
  probeTimeoutMs?: number;
  /** Open this URL in the restored context (reuses the first page when there is one). */
  url?: string;
}

export interface RestoredSession {
  browser: Browser;
  context: BrowserContext;
  mode: RestoreMode;
  session: SessionRecord;
  /** The page opened for `url`, or the first page of a reattached browser. */
  page?: Page;
  /** Why reattaching was not possible (when relaunched). */
  reattachFailure?: string;
  /** Set when the browser is detached: where to reattach next time. */
  cdpUrl?: string;
  browserId?: string;
  /** Ends this process's use: disconnects from a detached browser (it keeps running), closes an owned one. */
  close(): Promise<void>;
}

export interface RestoreContext {
  profilesDir: string;
  /** The store's `location`, recorded with kept-alive browsers. */
  store?: string;
  logger: Logger;
  configuredBrowser?: string;
  /** Stores a state captured from a browser about to be relaunched with the session's changed identity (`identity-change.ts`). */
  keepState: IdentityChangeContext['keepState'];
}

interface Attached {
  browser: Browser;
  context: BrowserContext;
  cdpUrl: string;
  browserId: string;
}

/**
 * Tries the recorded browser, then this session's kept-alive browser, each through the one
 * identity check (`browser/identity.ts`): only a browser proven to be the session's own is
 * attached to. Returns why none could be otherwise.
 */
async function tryReattach(record: SessionRecord, ctx: RestoreContext, probeTimeoutMs: number): Promise<Attached | string> {
  if (record.browserType !== 'chromium') return `${record.browserType} sessions cannot be reattached over CDP`;
  const profileDir = profileDirFor(ctx.profilesDir, record.name);
  const candidates: RecordedBrowser[] = [];
  if (record.cdpUrl) candidates.push({ cdpUrl: record.cdpUrl, browserId: record.browserId });
  const kept = await runningKeepAlive(profileDir);
  if (kept && kept.cdpUrl !== record.cdpUrl) candidates.push({ cdpUrl: kept.cdpUrl, browserId: kept.browserId });
  if (candidates.length === 0) return 'no browser was recorded for this session';
  let reason = '';
  for (const candidate of candidates) {
    const check = (await liveBrowserOf(candidate, profileDir, probeTimeoutMs))!;
    if (check.status === 'gone') {
      reason = `the browser is gone: ${check.reason}`;
      continue;
    }
    if (check.status !== 'same') {
      reason = `${check.reason}; not reattaching to it`;
      ctx.logger.warn({ cdpUrl: candidate.cdpUrl }, 'the browser at the recorded CDP URL is not the one this session recorded; relaunching instead');
      continue;
    }
    let browser: Browser;
    try {
      browser = await attachChecked(check, CONNECT_TIMEOUT_MS);
    } catch (error) {
      // It answered the check but not the attach (hung, dying, or replaced right now): relaunch instead of hanging.
      reason = `the browser at ${redactUrl(candidate.cdpUrl)} answered but could not be attached to: ${(error as Error).message.split('\n')[0]}`;
      continue;
    }
    const context = await attachedContext(browser, record);
    return { browser, context, cdpUrl: candidate.cdpUrl, browserId: check.browserId };
  }
  return reason;
}

/** Restores `record`; the caller persists `cdpUrl`/`browserId`/`lastAccessedAt` from the result. */
export async function restoreRecord(given: SessionRecord, ctx: RestoreContext, options: RestoreOptions = {}): Promise<RestoredSession> {
  const probeTimeoutMs = options.probeTimeoutMs ?? 1500;
  // A browser launched with another identity than the session's now is saved and stopped first, so what follows relaunches.
  const record = (await retireOutdatedBrowser(given, ctx)) ?? given;
  const attached = await tryReattach(record, ctx, probeTimeoutMs);
  if (typeof attached !== 'string') {
    const page = options.url ? await openUrl(attached.context, options.url) : attached.context.pages()[0];
    return {
      ...attached,
      mode: 'reattached',
      session: record,
      ...(page ? { page } : {}),
      close: () => attached.browser.close(), // over CDP, close() disconnects and leaves the browser running
    };
  }
  // A library caller reads this too: whatever Playwright said about the URL, its credentials are masked.
  const reattachFailure = redactUrlsIn(attached);
  ctx.logger.info({ session: record.name, reason: reattachFailure }, 'relaunching with the saved state');

  if (options.keepAlive && record.browserType === 'chromium') {
    const slow = await reattachSlowOwnBrowser(record, ctx);
    if (slow) {
      const page = options.url ? await openUrl(slow.context, options.url) : slow.context.pages()[0];
      return { ...slow, mode: 'reattached', session: record, ...(page ? { page } : {}), close: () => slow.browser.close() };
    }
    const kept = await launchDetached(record, ctx, options);
    const browser = await connectCdp(pinnedEndpoint(kept.cdpUrl, kept.browserId), FRESH_CONNECT_TIMEOUT_MS); // the browser just launched, not a newcomer on its port
    try {
      // Bounded by the connection: a browser killed meanwhile can leave a Playwright call pending forever (connection-bound.ts).
      const { context, page } = await unlessDisconnected(browser, putState(browser, record, options.url), 'its saved state was being put in');
      return {
        browser,
        context,
        mode: 'relaunched',
        session: record,
        reattachFailure,
        cdpUrl: kept.cdpUrl,
        browserId: kept.browserId,
        ...(page ? { page } : {}),
        close: () => browser.close(),
      };
    } catch (error) {
      const failure = stateRejected(record, error, browser); // before closing: was it the browser that went away?
      // Do not leave a detached browser behind that holds half a session.
      await browser.close().catch(() => undefined); // the state error is what the caller must see; stopKeepAlive ends it anyway
      await stopKeepAlive(kept.profileDir);
      throw failure;
    }
  }

  const { browser, context } = await launchWithState(record, await withExecutable(options.launchOptions, ctx, record)).catch((error: unknown) => {
    throw stateRejected(record, error);
  });
  const page = options.url ? await openUrl(context, options.url) : undefined;
  return { browser, context, mode: 'relaunched', session: record, reattachFailure, ...(page ? { page } : {}), close: () => browser.close() };
}

/** The saved state, sessionStorage and identity put into a browser just launched for `record`; `url` opened. */
async function putState(browser: Browser, record: SessionRecord, url: string | undefined): Promise<{ context: BrowserContext; page?: Page }> {
  const context = browser.contexts()[0] ?? (await browser.newContext());
  await applyState(context, record.storageState);
  await addSessionStorage(context, record.sessionStorage);
  await applyAttachIdentity(context, record.identity);
  return url ? { context, page: await openUrl(context, url) } : { context };
}

/**
 * This session's own kept-alive browser still runs but did not answer the quick probe (a busy
 * machine, a browser under load). A profile holds one browser, so launching another would fail:
 * give it one longer chance, and if it stays silent it is hung: stop it so a relaunch can follow.
 */
async function reattachSlowOwnBrowser(record: SessionRecord, ctx: RestoreContext): Promise<Attached | undefined> {
  const profileDir = profileDirFor(ctx.profilesDir, record.name);
  const kept = await runningKeepAlive(profileDir);
  if (!kept) return undefined;
  const check = (await liveBrowserOf(kept, profileDir, 5000))!;
  if (check.status === 'same') {
    try {
      const browser = await attachChecked(check, 10_000);
      const context = await attachedContext(browser, record);
      ctx.logger.info({ session: record.name }, 'reattached to a slow kept-alive browser on the second try');
      return { browser, context, cdpUrl: kept.cdpUrl, browserId: kept.browserId };
    } catch {
      // It answered but could not be attached to: treat as hung, below.
    }
  }
  ctx.logger.warn({ session: record.name, pid: kept.pid }, 'the kept-alive browser of this session is hung; stopping it to relaunch');
  await stopKeepAlive(profileDir);
  return undefined;
}

/**
 * The context of a browser just attached to, with what a connection must bring again: the
 * session's passkeys (a virtual authenticator of this connection) and the connection-bound
 * part of its identity (headers, credentials, permissions, geolocation, viewport, color scheme).
 */
async function attachedContext(browser: Browser, record: SessionRecord): Promise<BrowserContext> {
  try {
    return await unlessDisconnected(browser, bringConnectionState(browser, record), 'the session was being attached');
  } catch (error) {
    const failure = stateRejected(record, error, browser);
    await browser.close().catch(() => undefined); // disconnects only; the error is what the caller must see
    throw failure;
  }
}

async function bringConnectionState(browser: Browser, record: SessionRecord): Promise<BrowserContext> {
  const context = browser.contexts()[0] ?? (await browser.newContext());
  await reinstallPasskeys(context, record.storageState);
  await applyAttachIdentity(context, record.identity);
  return context;
}

/**
 * Chromium refusing the saved state (e.g. a partitioned cookie without `secure`) is the session's
 * fault, not raptor's. A browser that died meanwhile (killed, crashed) refused nothing: that is
 * `BROWSER_FAILED`, and the session is as good as it was (a crawler relaunches again on it).
 */
function stateRejected(record: SessionRecord, error: unknown, browser?: Browser): unknown {
  if (error instanceof RaptorError) return error;
  const message = firstLineOf(error);
  if (browser && !browser.isConnected()) {
    return new RaptorError('BROWSER_FAILED', `The browser of \`${record.name}\` died while its saved state was being put in (${message}). The session is unchanged: restore it again.`, { cause: error });
  }
  return new RaptorError('INVALID_SESSION', `The browser rejected the saved state of \`${record.name}\`: ${message}. Fix the session file (\`raptor validate ${record.name}\`) or save it again.`, { cause: error });
}

async function launchDetached(record: SessionRecord, ctx: RestoreContext, options: RestoreOptions): Promise<KeptAliveBrowser> {
  const launch = await withExecutable(options.launchOptions, ctx, record);
  return launchKeepAlive({
    ...(record.identity ? { identity: record.identity } : {}),
    profileDir: profileDirFor(ctx.profilesDir, record.name),
    executablePath: launch.executablePath!,
    ...(launch.headless !== undefined ? { headless: launch.headless } : {}),
    ...(launch.args ? { args: launch.args } : {}),
    ...(ctx.store ? { store: ctx.store } : {}),
  });
}

async function withExecutable(launch: BrowserLaunchOptions = {}, ctx: RestoreContext, record: SessionRecord): Promise<BrowserLaunchOptions> {
  if (launch.executablePath || record.browserType !== 'chromium') return launch;
  return { ...launch, executablePath: (await findBrowser({ ...(ctx.configuredBrowser ? { configured: ctx.configuredBrowser } : {}) })).executablePath };
}

async function openUrl(context: BrowserContext, url: string): Promise<Page> {
  const page = context.pages().find((p) => p.url() === 'about:blank') ?? (await openTab(context));
  await page.goto(url);
  return page;
}
