/**
 * What every Playwright connection to a kept-alive browser must set again (`attachOnly` in
 * core/identity.ts, plus the viewport): these live in the connection, not in the browser, and end
 * with it. The one function every attach calls: the relaunch, `tryReattach` and the slow second try.
 *
 * Found by experiment on a `connectOverCDP` default context (Chromium 156, playwright-core 1.65,
 * test/identity-restore.test.ts "what every attach sets again"): `context.setExtraHTTPHeaders`,
 * `grantPermissions`, `setGeolocation` and `setHTTPCredentials` work on it, for pages open and
 * opened later while attached; the color scheme has no context-level setter after creation, so
 * `page.emulateMedia` runs on every page and on each page opened later, and so does
 * `page.setViewportSize`. Without them, a new connection finds every one of these gone (no
 * header, geolocation denied, light scheme, and the window's size: 900x513 for
 * `--window-size=900,600` headless); only Basic credentials that once worked survive, in
 * Chromium's own per-origin cache.
 */
import type { BrowserContext, Page } from 'playwright-core';
import { attachOnly, type Identity } from '../core/identity.js';

/** Applies the connection-bound part of `identity` to `context` and to every page it opens while attached. */
export async function applyAttachIdentity(context: BrowserContext, identity: Identity | undefined): Promise<void> {
  if (!identity) return;
  const fields = attachOnly(identity);
  const headers = { ...acceptLanguageOf(identity), ...fields.extraHTTPHeaders };
  if (Object.keys(headers).length > 0) await context.setExtraHTTPHeaders(headers);
  if (fields.permissions) await context.grantPermissions(fields.permissions);
  if (fields.geolocation) await context.setGeolocation(fields.geolocation);
  // Deprecated in Playwright's docs in favour of newContext({ httpCredentials }), which a default context cannot take.
  if (fields.httpCredentials) await context.setHTTPCredentials(fields.httpCredentials);
  const perPage = pageSetter(identity);
  if (!perPage) return;
  context.on('page', (page) => void perPage(page).catch(() => undefined)); // a page closed at once has nothing to set
  await Promise.all(context.pages().map(perPage));
}

/**
 * Accept-Language as a Playwright context with `locale` sends it: the locale alone (`de-DE`).
 * Chromium launched with `--lang`/`--accept-lang` always expands it (`de-DE,de;q=0.9`, measured
 * on Chromium 156; no flag or feature stops that), so a login made in a Playwright context (a
 * role, an owned restore) would look like another browser to a server that compares the header.
 * Set on every connection, it matches while raptor (or its caller) drives the browser; a person
 * using the window between connections sends Chromium's own form. A header the identity names
 * itself wins.
 */
function acceptLanguageOf(identity: Identity): Record<string, string> {
  const own = Object.keys(identity.extraHTTPHeaders ?? {}).some((name) => name.toLowerCase() === 'accept-language');
  return identity.locale && !own ? { 'Accept-Language': identity.locale } : {};
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
