/**
 * What every Playwright connection to a kept-alive browser must set again (`attachOnly` in
 * core/identity.ts, plus the viewport): these live in the connection, not in the browser, and end
 * with it. The one function every attach calls: the relaunch, `tryReattach` and the slow second try.
 *
 * Found by experiment on a `connectOverCDP` default context (Chromium 156, playwright-core 1.65,
 * test/identity-restore.test.ts "attach"): `context.setExtraHTTPHeaders`, `grantPermissions`,
 * `setGeolocation` and `setHTTPCredentials` work on it and on pages opened later while attached;
 * the color scheme has no context-level setter after creation, so `page.emulateMedia` is called
 * on every page, and on each page opened later. The viewport is `page.setViewportSize` likewise:
 * `--window-size` at launch gives a headless page a wrong innerHeight.
 */
import type { BrowserContext, Page } from 'playwright-core';
import { attachOnly, type Identity } from '../core/identity.js';

/** Applies the connection-bound part of `identity` to `context` and to every page it opens while attached. */
export async function applyAttachIdentity(context: BrowserContext, identity: Identity | undefined): Promise<void> {
  if (!identity) return;
  const fields = attachOnly(identity);
  if (fields.extraHTTPHeaders) await context.setExtraHTTPHeaders(fields.extraHTTPHeaders);
  if (fields.permissions) await context.grantPermissions(fields.permissions);
  if (fields.geolocation) await context.setGeolocation(fields.geolocation);
  // Deprecated in Playwright's docs in favour of newContext({ httpCredentials }), which a default context cannot take.
  if (fields.httpCredentials) await context.setHTTPCredentials(fields.httpCredentials);
  const perPage = pageSetter(identity);
  if (!perPage) return;
  context.on('page', (page) => void perPage(page).catch(() => undefined)); // a page closed at once has nothing to set
  await Promise.all(context.pages().map(perPage));
}

/** What each page needs on its own (viewport, color scheme); undefined when nothing. */
function pageSetter(identity: Identity): ((page: Page) => Promise<void>) | undefined {
  const { viewport, colorScheme } = identity;
  if (!viewport && !colorScheme) return undefined;
  return async (page) => {
    if (viewport) await page.setViewportSize(viewport);
    if (colorScheme) await page.emulateMedia({ colorScheme });
  };
}
