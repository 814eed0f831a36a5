/**
 * Relaunching a session in a browser this process owns: Playwright's `launch()` +
 * `newContext({ storageState, ...identity })`, plus the sessionStorage Playwright does not restore.
 * The identity is context options (user agent, locale, timezone, viewport, headers, credentials,
 * proxy with its password: Chromium takes a proxy per context under Playwright, which answers the
 * proxy's challenge itself).
 */
import type { Browser, BrowserContext } from 'playwright-core';
import { RaptorError } from '../core/errors.js';
import type { BrowserType, SessionStorageMap, StorageState } from '../core/record.js';
import { chromiumArgs, findBrowser, installHint } from './find.js';
import { addSessionStorage } from './session-storage.js';
import { identityContextOptions, toPlaywrightState } from './context-options.js';

export { toPlaywrightState, type PlaywrightStorageState } from './context-options.js';
import type { Identity } from '../core/identity.js';

export interface BrowserLaunchOptions {
  /** A Chromium executable; found with `findBrowser()` when omitted. */
  executablePath?: string;
  /** @default true */
  headless?: boolean;
  /** Extra command-line flags, after raptor's own. */
  args?: string[];
  /** @default 30_000 */
  timeoutMs?: number;
  /**
   * The caller stops on Ctrl-C / SIGTERM itself and saves the browser's state first (`raptor
   * open`). Playwright's own handlers would close the browser at the same signal, racing that
   * save: the state was lost, or the launch failed. @default false
   */
  callerHandlesSignals?: boolean;
}

export interface SavedState {
  browserType: BrowserType;
  storageState: StorageState;
  sessionStorage?: SessionStorageMap;
  /** The browser identity the context gets (`core/identity.ts`). */
  identity?: Identity;
}


export async function launchBrowser(browserType: BrowserType, options: BrowserLaunchOptions = {}): Promise<Browser> {
  const playwright = await import('playwright-core');
  const headless = options.headless ?? true;
  const timeout = options.timeoutMs ?? 30_000;
  const signals = options.callerHandlesSignals ? { handleSIGINT: false, handleSIGTERM: false } : {};
  try {
    if (browserType === 'chromium') {
      const executablePath = options.executablePath ?? (await findBrowser()).executablePath;
      return await playwright.chromium.launch({ executablePath, headless, timeout, ...signals, args: [...chromiumArgs(), ...(options.args ?? [])] });
    }
    return await playwright[browserType].launch({ headless, timeout, ...signals, args: options.args });
  } catch (error) {
    if (error instanceof RaptorError) throw error;
    const message = (error as Error).message;
    if (/Executable doesn't exist|executable.*not found/i.test(message)) {
      throw new RaptorError('BROWSER_NOT_FOUND', `No ${browserType} browser is installed. Install one with ${browserType === 'chromium' ? installHint() : `\`npx playwright install ${browserType}\``}.`, { cause: error });
    }
    throw new RaptorError('BROWSER_FAILED', `Could not launch ${browserType}: ${message.split('\n')[0]}`, { cause: error });
  }
}

/** Launches a browser and opens a context holding `state`. */
export async function launchWithState(state: SavedState, options: BrowserLaunchOptions = {}): Promise<{ browser: Browser; context: BrowserContext }> {
  const browser = await launchBrowser(state.browserType, options);
  try {
    const context = await browser.newContext(identityContextOptions(state.identity, { storageState: toPlaywrightState(state.storageState) }));
    await addSessionStorage(context, state.sessionStorage);
    return { browser, context };
  } catch (error) {
    await browser.close().catch(() => undefined); // report the launch failure, not a second error from cleanup
    throw error;
  }
}
