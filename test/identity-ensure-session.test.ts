/**
 * ensureSession({ identity }): the login runs as the role's browser, the identity is saved with
 * the session and handed back as context options, and a saved session that logged in as another
 * browser (the role's identity changed, or was dropped) is logged in again rather than reused
 * by contexts the app would log out. A field set both in `identity` and, differently, in
 * `contextOptions` is refused before anything runs.
 */
import type { Browser, BrowserContextOptions, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { logIn, whoAmI } from '../fixtures/identity-app/drive.js';
import { startIdentityApp, type IdentityApp } from '../fixtures/identity-app/server.js';
import { launchBrowser } from '../src/browser/launch.js';
import { isRaptorError } from '../src/core/errors.js';
import type { Identity } from '../src/core/identity.js';
import { ensureSession, type EnsureSessionOptions } from '../src/playwright/ensure-session.js';
import { defineRole } from '../src/playwright/roles.js';
import { sessionContextOptions } from '../src/playwright/session-context-options.js';
import { sessionStatePath } from '../src/playwright/state-path.js';
import { createRaptorEnv } from './helpers/env.js';

const berlin: Identity = { userAgent: 'RaptorEnsure/1.0', locale: 'de-DE', timezoneId: 'Europe/Berlin' };

describe('ensureSession with an identity', () => {
  let app: IdentityApp;
  let env: Awaited<ReturnType<typeof createRaptorEnv>>;
  let browser: Browser;
  // No check(): only raptor's own rules decide whether the saved session is reused.
  const options = (identity: Identity | undefined, extra: Partial<EnsureSessionOptions> = {}): EnsureSessionOptions => ({
    login: (page: Page) => logIn(page, app.url, 'ida'),
    authCookies: ['sid'],
    browser,
    manager: env.manager,
    ...(identity ? { identity } : {}),
    ...extra,
  });
  const whoIn = async (contextOptions: BrowserContextOptions) => {
    const context = await browser.newContext(contextOptions);
    try {
      return await whoAmI(await context.newPage(), app.url);
    } finally {
      await context.close();
    }
  };

  beforeAll(async () => {
    app = await startIdentityApp();
    env = await createRaptorEnv();
    browser = await launchBrowser('chromium');
  });
  afterAll(async () => {
    await browser?.close();
    await env?.dispose();
    await app?.close();
  });

  it('logs in as the role’s browser, saves the identity, and hands it back as context options', async () => {
    const first = await ensureSession('ida', options(berlin));
    expect(first.loggedIn).toBe(true);
    expect(app.lastBinding()).toMatchObject({ userAgent: berlin.userAgent, acceptLanguage: expect.stringMatching(/^de-DE/), timezone: 'Europe/Berlin' });
    expect((await env.manager.get('ida')).identity).toEqual(berlin);
    const again = await ensureSession('ida', options(berlin));
    expect(again.loggedIn).toBe(false);
    expect(await whoIn(again.contextOptions)).toEqual({ user: 'ida', reason: '' });
    expect(app.logins()).toBe(1);
  });

  it('logs in again when the role’s identity changed since the saved login, and again when it was dropped', async () => {
    const tokyo = { ...berlin, timezoneId: 'Asia/Tokyo' };
    const changed = await ensureSession('ida', options(tokyo));
    expect(changed.loggedIn).toBe(true);
    expect(changed.reason).toMatch(/identity differs/);
    expect(app.lastBinding()?.timezone).toBe('Asia/Tokyo');
    expect(await whoIn(changed.contextOptions)).toEqual({ user: 'ida', reason: '' });
    // The same identity written in another key order is the same identity: reused.
    expect((await ensureSession('ida', options({ timezoneId: 'Asia/Tokyo', locale: 'de-DE', userAgent: berlin.userAgent }))).loggedIn).toBe(false);

    const dropped = await ensureSession('ida', options(undefined));
    expect(dropped.loggedIn).toBe(true);
    expect((await env.manager.get('ida')).identity).toBeUndefined();
    expect(dropped.contextOptions).not.toHaveProperty('userAgent');
  });

  it('refuses a field set differently in identity and contextOptions, before logging in', async () => {
    const logins = app.logins();
    const error = await ensureSession('eve', options(berlin, { contextOptions: { locale: 'en-US' } })).catch((e: unknown) => e);
    expect(isRaptorError(error, 'INVALID_INPUT'), String(error)).toBe(true);
    expect((error as Error).message).toMatch(/`locale`.*identity.*contextOptions/);
    expect(app.logins()).toBe(logins);
    // The same value in both places is no conflict.
    expect((await ensureSession('eve', options(berlin, { contextOptions: { locale: 'de-DE' } }))).loggedIn).toBe(true);
  });

  it('says which identity field is wrong', async () => {
    const error = await ensureSession('bad', options({ timezoneId: '' } as Identity)).catch((e: unknown) => e);
    expect(isRaptorError(error, 'INVALID_INPUT'), String(error)).toBe(true);
    expect((error as Error).message).toMatch(/identity\.timezoneId/);
  });
});

describe('sessionContextOptions(role), for a config whose projects read a state file', () => {
  it('gives the state file and the declared role’s identity; an undeclared role is NOT_FOUND with the way out', () => {
    const env = { RAPTOR_HOME: '/tmp/raptor-home-of-nobody' };
    defineRole('scoped-buyer', { login: async () => undefined, identity: berlin });
    expect(sessionContextOptions('scoped-buyer', env)).toEqual({ ...berlin, storageState: sessionStatePath('scoped-buyer', env) });
    defineRole('scoped-plain', { login: async () => undefined });
    expect(sessionContextOptions('scoped-plain', env)).toEqual({ storageState: sessionStatePath('scoped-plain', env) });
    let error: unknown;
    try {
      sessionContextOptions('never-declared', env);
    } catch (caught) {
      error = caught;
    }
    expect(isRaptorError(error, 'NOT_FOUND')).toBe(true);
    expect((error as Error).message).toMatch(/Import the file that declares your roles/);
  });
});
