/**
 * A browser for a person: the session loaded in a (headed) browser, the state saved back into
 * the keeper when the person is done. Like `playwright open --load-storage x --save-storage x`,
 * but the result is validated and written atomically, and sessionStorage comes along.
 *
 * "Done" is the last tab closing, the window closing, or `stop()` (Ctrl-C in the CLI). Closing
 * the window kills the context before anyone can ask it for its state, so the state is also
 * captured every few seconds and after every page load while the person works, and the latest
 * capture is what is saved. sessionStorage lives in tabs: once the last tab is closed it can only
 * come from what the tabs reported while they were open (`session-storage-mirror.ts`).
 */
import type { BrowserContext } from 'playwright-core';
import { captureContext, type Captured } from './capture.js';
import { launchWithState, type BrowserLaunchOptions, type SavedState } from './launch.js';
import { mirrorSessionStorage } from './session-storage-mirror.js';
import { openTab } from './connection-bound.js';

export interface InteractiveOptions {
  url?: string;
  launchOptions?: BrowserLaunchOptions;
  /** How often the state is captured while the browser is open. @default 2000 */
  snapshotIntervalMs?: number;
  /** Called once the context is ready: for automation and tests. */
  onReady?: (context: BrowserContext) => void | Promise<void>;
  /** Resolve this to close the browser and save, as Ctrl-C does in the CLI. */
  stop?: Promise<void>;
}

export interface Browsed {
  /** The latest capture, or undefined when nothing could be captured. */
  captured: Captured | undefined;
  snapshots: number;
}

/** The state the person ends with, loaded from `state` (a blank state for a new session). */
export async function browseInteractively(state: SavedState, options: InteractiveOptions = {}): Promise<Browsed> {
  const { browser, context } = await launchWithState(state, { headless: false, ...options.launchOptions, callerHandlesSignals: true });
  const reported = await mirrorSessionStorage(context);
  let latest: Captured | undefined;
  let snapshots = 0;
  // Captures run one after another, so an older capture can never land after a newer one.
  let queue = Promise.resolve();
  const snapshot = (): Promise<void> => (queue = queue.then(capture));
  const capture = async (): Promise<void> => {
    try {
      const captured = await captureContext(context);
      // No tab left: what the tabs reported last (a capture taken a moment ago may predate it).
      if (context.pages().length === 0) captured.sessionStorage = withoutEmpty({ ...(latest?.sessionStorage ?? {}), ...reported() });
      latest = captured;
      snapshots++;
    } catch {
      // The context is closing under us (the person closed the window): keep the previous capture.
    }
  };

  const done = new Promise<void>((resolve) => {
    browser.on('disconnected', () => resolve());
    context.on('page', (page) => {
      page.on('load', () => void snapshot());
      page.on('close', () => {
        if (context.pages().length === 0) void snapshot().then(resolve);
      });
    });
    void options.stop?.then(resolve);
  });
  const page = await openTab(context);
  if (options.url) await page.goto(options.url);
  await options.onReady?.(context);

  const timer = setInterval(() => void snapshot(), options.snapshotIntervalMs ?? 2000);
  try {
    await done;
    if (browser.isConnected() && context.pages().length > 0) await snapshot();
  } finally {
    clearInterval(timer);
    await browser.close().catch(() => undefined); // already gone when the person closed the window
  }
  return { captured: latest, snapshots };
}

function withoutEmpty(map: Record<string, Record<string, string>>): Record<string, Record<string, string>> {
  return Object.fromEntries(Object.entries(map).filter(([, items]) => Object.keys(items).length > 0));
}
