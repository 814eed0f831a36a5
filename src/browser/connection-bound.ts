/**
 * Playwright calls bounded by the browser's connection, so that a browser dying meanwhile cannot hang raptor.
 *
 * Found by experiment (playwright-core 1.65, Chromium 156; test/open-tab.test.ts): when the line
 * to the browser goes down after `Target.createTarget` answered but before the new tab finished
 * attaching (a kept-alive browser killed while a crawler opens its tabs), `context.newPage()`
 * never settles, although the browser's `disconnected` event fires. No timer is left pending
 * either, so a crawler awaiting it simply ran out of work: Node exited with code 13 (an
 * unsettled top-level await) instead of relaunching the browser. Putting a saved state into a
 * browser killed meanwhile hung the same way. Every tab raptor opens goes through `openTab`, and
 * a restore's work on a browser it just reached through `unlessDisconnected`: the caller then
 * sees an error and a disconnected browser, as after any other browser death.
 */
import type { Browser, BrowserContext, Page } from 'playwright-core';

/** A new tab in `context`; rejects (a plain `Error`) as soon as its browser disconnects. */
export function openTab(context: BrowserContext): Promise<Page> {
  return unlessDisconnected(context.browser(), context.newPage(), 'a tab was opening');
}

/**
 * `work`, or a rejection once `browser` has disconnected. A persistent context has no browser
 * object (`null`): it closes with its context, and `work` is awaited as it is.
 */
export function unlessDisconnected<T>(browser: Browser | null, work: Promise<T>, doing: string): Promise<T> {
  if (!browser) return work;
  const gone = (): Error => new Error(`The browser disconnected while ${doing}.`);
  if (!browser.isConnected()) {
    work.catch(() => undefined); // it fails on its own too; only one answer is given
    return Promise.reject(gone());
  }
  return new Promise<T>((resolve, reject) => {
    const onDisconnected = (): void => reject(gone());
    browser.once('disconnected', onDisconnected);
    work.then(resolve, reject).finally(() => browser.off('disconnected', onDisconnected));
  });
}
