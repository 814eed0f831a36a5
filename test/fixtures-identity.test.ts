/**
 * The identity-bound app and the authenticating proxy, tested on their own with plain Playwright
 * (no raptor), so that the tests of raptor keeping a session's identity stand on a fixture known
 * to log a session out when any one field of the browser's identity changes.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { chromium, type Browser, type BrowserContextOptions } from 'playwright-core';
import { chromiumArgs, findBrowserSync } from '../src/browser/find.js';
import { startIdentityApp, type IdentityApp } from '../fixtures/identity-app/server.js';
import { logIn as logInPage, whoAmI } from '../fixtures/identity-app/drive.js';
import { startForwardProxy, type ForwardProxy } from '../fixtures/proxy/forward-proxy.js';

type State = Awaited<ReturnType<import('playwright-core').BrowserContext['storageState']>>;

let app: IdentityApp;
let proxy: ForwardProxy;
let other: ForwardProxy;
let browser: Browser;

const identity = {
  userAgent: 'RaptorTest/1.0 (identity fixture)',
  locale: 'de-DE',
  timezoneId: 'Europe/Berlin',
};

beforeAll(async () => {
  app = await startIdentityApp();
  proxy = await startForwardProxy({ id: 'exit-a', username: 'alice', password: 'proxy-secret' });
  other = await startForwardProxy({ id: 'exit-b', username: 'alice', password: 'proxy-secret' });
  browser = await chromium.launch({ executablePath: findBrowserSync().executablePath, args: chromiumArgs() });
});

afterAll(async () => {
  await browser?.close();
  await Promise.all([app?.close(), proxy?.close(), other?.close()]);
});

const through = (p: ForwardProxy, password = 'proxy-secret') => ({ server: p.url, username: 'alice', password });

async function whoIs(options: BrowserContextOptions): Promise<{ user: string; reason: string }> {
  const context = await browser.newContext(options);
  try {
    return await whoAmI(await context.newPage(), app.url);
  } finally {
    await context.close();
  }
}

async function logIn(options: BrowserContextOptions): Promise<State> {
  const context = await browser.newContext(options);
  try {
    await logInPage(await context.newPage(), app.url, 'ida');
    return await context.storageState();
  } finally {
    await context.close();
  }
}

describe('identity fixture: a login bound to user agent, language, timezone and proxy', () => {
  it('binds the login to what the browser looked like, through an authenticating proxy', async () => {
    const before = proxy.forwarded();
    const state = await logIn({ ...identity, proxy: through(proxy) });
    expect(proxy.forwarded()).toBeGreaterThan(before);
    expect(app.lastBinding()).toEqual({ userAgent: identity.userAgent, acceptLanguage: expect.stringMatching(/^de-DE/), timezone: 'Europe/Berlin', proxy: 'exit-a' });
    expect(await whoIs({ ...identity, proxy: through(proxy), storageState: state })).toEqual({ user: 'ida', reason: '' });
  });

  // Each control drops or changes one field: the session must end, with that field named.
  const controls: [string, (state: State) => BrowserContextOptions, string][] = [
    ['user agent', (s) => ({ ...identity, userAgent: 'Other/2.0', proxy: through(proxy), storageState: s }), 'userAgent changed'],
    ['locale', (s) => ({ ...identity, locale: 'en-US', proxy: through(proxy), storageState: s }), 'acceptLanguage changed'],
    ['timezone', (s) => ({ ...identity, timezoneId: 'America/New_York', proxy: through(proxy), storageState: s }), 'timezone changed'],
    ['proxy (another exit)', (s) => ({ ...identity, proxy: through(other), storageState: s }), 'proxy changed'],
    ['proxy (none)', (s) => ({ ...identity, storageState: s }), 'proxy changed'],
  ];
  for (const [field, options, reason] of controls) {
    it(`logs the session out when the ${field} differs from the login's`, async () => {
      const state = await logIn({ ...identity, proxy: through(proxy) });
      expect(await whoIs(options(state))).toEqual({ user: 'anonymous', reason });
      // ...and it stays out, even with the right identity again: the server ended it.
      expect(await whoIs({ ...identity, proxy: through(proxy), storageState: state })).toEqual({ user: 'anonymous', reason: 'not logged in' });
    });
  }

  it('refuses requests without the proxy password (407), as a paid proxy does', async () => {
    const refusedBefore = proxy.refused();
    const context = await browser.newContext({ proxy: { server: proxy.url } });
    try {
      const page = await context.newPage();
      const response = await page.goto(`${app.url}/me`).catch((error: Error) => error);
      if (!(response instanceof Error)) expect(response?.status()).toBe(407);
    } finally {
      await context.close();
    }
    expect(proxy.refused()).toBeGreaterThan(refusedBefore);
  });
});
