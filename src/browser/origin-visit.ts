/**
 * Visiting origins without reaching them: a helper page whose every request is answered locally
 * by an empty document, so that code can run "on" an origin (its storage) while nothing is sent
 * to the site. Used to make Playwright see origins of tabs opened before `connectOverCDP`
 * (capture.ts) and to put localStorage into a running browser on a Playwright without
 * `setStorageState` (apply-state.ts).
 */
import type { BrowserContext, Page } from 'playwright-core';
import { openTab } from './connection-bound.js';

export async function visitOrigins(context: BrowserContext, origins: string[], onEach?: (page: Page, origin: string) => Promise<void>): Promise<void> {
  if (origins.length === 0) return;
  const page = await openTab(context);
  try {
    await page.route('**/*', (route) => route.fulfill({ status: 200, contentType: 'text/html', body: '<html></html>' }));
    for (const origin of origins) {
      await page.goto(origin);
      await onEach?.(page, origin);
    }
  } finally {
    await page.close();
  }
}
