/**
 * A session saved with an identity comes back with it on every restore path (the manager, real
 * Chromium): against the identity app (fixtures/identity-app), which logs a session out when the
 * user agent, Accept-Language, timezone or proxy differ from the login's, through real forward
 * proxies (fixtures/proxy). Every path has a control that drops one field and must be logged out.
 */
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { chromium, type Browser, type BrowserContext } from 'playwright-core';
import { chromiumArgs } from '../src/browser/find.js';
import { identityContextOptions } from '../src/browser/context-options.js';
import { startIdentityApp, type IdentityApp } from '../fixtures/identity-app/server.js';
import { logIn as logInAt, whoAmI } from '../fixtures/identity-app/drive.js';
import { startForwardProxy, type ForwardProxy } from '../fixtures/proxy/forward-proxy.js';
import { serve } from '../fixtures/http/serve.js';
import { readKeepAlive, runningKeepAlive } from '../src/browser/keep-alive.js';
import { isRaptorError } from '../src/core/errors.js';
import { isAlive } from '../src/fs/file-lock.js';
import { profileDirFor } from '../src/env/paths.js';
import type { Identity } from '../src/core/identity.js';
import type { RestoredSession } from '../src/browser/restore.js';
import { createRaptorEnv, testBrowser } from './helpers/env.js';

let app: IdentityApp;
let authed: ForwardProxy; // Basic auth, as a paid proxy: an owned context answers it, a kept-alive browser through raptor's relay
let env: Awaited<ReturnType<typeof createRaptorEnv>>;
let plain: Browser; // where the logins happen
const opened: RestoredSession[] = [];

beforeAll(async () => {
  app = await startIdentityApp();
  authed = await startForwardProxy({ id: 'exit-auth', username: 'alice', password: 'proxy-pass-4711' });
  plain = await chromium.launch({ executablePath: testBrowser(), args: chromiumArgs() });
});
afterAll(async () => {
  await plain?.close();
  await Promise.all([app?.close(), authed?.close()]);
});
beforeEach(async () => {
  env = await createRaptorEnv({ autoCleanup: false });
});
afterEach(async () => {
  for (const session of opened.splice(0)) await session.close().catch(() => undefined);
  await env.dispose();
});

const base = { userAgent: 'RaptorIdentity/1.0 (restore test)', locale: 'de-DE', timezoneId: 'Europe/Berlin' };
const identity = (): Identity => ({ ...base, proxy: { server: authed.url, username: 'alice', password: 'proxy-pass-4711' } });
const launchOptions = () => ({ executablePath: testBrowser() });
const withoutUserAgent = ({ userAgent: _dropped, ...rest }: Identity): Identity => rest;

function track(session: RestoredSession): RestoredSession {
  opened.push(session);
  return session;
}

async function logIn(context: BrowserContext): Promise<void> {
  const page = await context.newPage();
  await logInAt(page, app.url, 'ida');
  await page.close();
}

async function whoIs(context: BrowserContext): Promise<{ user: string; reason: string }> {
  const page = await context.newPage();
  try {
    return await whoAmI(page, app.url);
  } finally {
    await page.close();
  }
}

/**
 * Session `name`: logged in at the app in a plain Playwright context with `identity` (not through
 * raptor, so a restore path that drops a field cannot hide it by dropping it at the login too),
 * saved with that identity.
 */
async function loggedInSession(name: string, identity: Identity): Promise<void> {
  const context = await plain.newContext(identityContextOptions(identity));
  try {
    await logIn(context);
    expect(app.lastBinding()).toMatchObject({ userAgent: identity.userAgent, timezone: identity.timezoneId, acceptLanguage: expect.stringMatching(/^de-DE/) });
    await env.manager.save(name, { context }, { identity });
  } finally {
    await context.close();
  }
}

describe('identity on every restore path: still logged in at an app that binds the login to it', () => {
  it('after a relaunch of a kept-alive browser and after a reattach to it; control: the reattach after dropping the user agent', async () => {
    await loggedInSession('kept', identity());
    const before = authed.forwarded();
    const relaunched = track(await env.manager.restore('kept', { keepAlive: true, launchOptions: launchOptions() }));
    expect(relaunched.mode).toBe('relaunched');
    expect(await whoIs(relaunched.context)).toEqual({ user: 'ida', reason: '' });
    expect(authed.forwarded()).toBeGreaterThan(before); // through the proxy, authenticated (by the relay)
    await relaunched.close(); // disconnects; the browser keeps running

    const reattached = track(await env.manager.restore('kept', { keepAlive: true, launchOptions: launchOptions() }));
    expect(reattached.mode).toBe('reattached');
    expect(await whoIs(reattached.context)).toEqual({ user: 'ida', reason: '' });
    await reattached.close();

    // Control for the reattach: the same running browser, but the session's identity without the
    // user agent now. It is not reused as it is (that would hide the change): it is relaunched, logged out.
    const dropped = track(await env.manager.restore('kept', { keepAlive: true, identity: withoutUserAgent(identity()), launchOptions: launchOptions() }));
    expect(dropped.mode).toBe('relaunched');
    expect(await whoIs(dropped.context)).toEqual({ user: 'anonymous', reason: 'userAgent changed' });
  });

  it('control: a kept-alive relaunch from a record without the user agent is logged out', async () => {
    await loggedInSession('kept-control', identity());
    const relaunched = track(await env.manager.restore('kept-control', { keepAlive: true, identity: withoutUserAgent(identity()), launchOptions: launchOptions() }));
    expect(await whoIs(relaunched.context)).toEqual({ user: 'anonymous', reason: 'userAgent changed' });
  });

  it('control: a kept-alive relaunch with a wrong proxy password is refused by the proxy, never logged in', async () => {
    await loggedInSession('kept-wrong', identity());
    const wrong: Identity = { ...identity(), proxy: { server: authed.url, username: 'alice', password: 'not-the-password' } };
    const refused = authed.refused();
    const relaunched = track(await env.manager.restore('kept-wrong', { keepAlive: true, identity: wrong, launchOptions: launchOptions() }));
    const page = await relaunched.context.newPage();
    const loaded = await page.goto(`${app.url}/me`).then((response) => response?.status(), (error: Error) => error.message);
    expect(loaded === 502 || typeof loaded === 'string', String(loaded)).toBe(true); // the relay's 502, or a failed load
    expect(authed.refused()).toBeGreaterThan(refused);
  });

  it('after a relaunch in an owned browser, through a proxy that wants a password', async () => {
    await loggedInSession('owned', identity());
    const before = authed.forwarded();
    const relaunched = track(await env.manager.restore('owned', { launchOptions: launchOptions() }));
    expect(relaunched.mode).toBe('relaunched');
    expect(await whoIs(relaunched.context)).toEqual({ user: 'ida', reason: '' });
    expect(authed.forwarded()).toBeGreaterThan(before);
  });

  it('control: an owned relaunch without the user agent is logged out', async () => {
    await loggedInSession('owned-control', identity());
    const relaunched = track(await env.manager.restore('owned-control', { identity: withoutUserAgent(identity()), launchOptions: launchOptions() }));
    expect(await whoIs(relaunched.context)).toEqual({ user: 'anonymous', reason: 'userAgent changed' });
  });
});

describe('a kept-alive browser launched with another identity', () => {
  it('relaunches a browser launched with another identity, keeping what only that browser knew', async () => {
    const first = track(await env.manager.launch('changed', { identity: { userAgent: 'Before/1.0' }, launchOptions: launchOptions() }));
    const page = await first.context.newPage();
    await page.goto(`${app.url}/login`);
    await page.evaluate(() => localStorage.setItem('only-in-the-browser', 'kept'));
    await first.close();

    const second = track(await env.manager.restore('changed', { keepAlive: true, identity: { userAgent: 'After/2.0' }, launchOptions: launchOptions() }));
    expect(second.mode).toBe('relaunched');
    const check = await second.context.newPage();
    await check.goto(`${app.url}/login`);
    expect(await check.evaluate(() => navigator.userAgent)).toBe('After/2.0');
    expect(await check.evaluate(() => localStorage.getItem('only-in-the-browser'))).toBe('kept');
    expect(second.cdpUrl).not.toBe(first.cdpUrl);
    // ...and the same identity again reattaches: nothing to relaunch for.
    await second.close();
    const third = track(await env.manager.restore('changed', { keepAlive: true, launchOptions: launchOptions() }));
    expect(third.mode).toBe('reattached');
  });

  it('leaves that browser running, and says how to go on, when its state cannot be saved first', async () => {
    const first = track(await env.manager.launch('frozen', { identity: { userAgent: 'Before/1.0' }, launchOptions: launchOptions() }));
    await first.close();
    const profileDir = profileDirFor(env.manager.paths.profilesDir, 'frozen');
    const kept = (await readKeepAlive(profileDir))!;
    process.kill(kept.pid, 'SIGSTOP'); // frozen: it answers no probe, so what it holds cannot be saved
    try {
      const error = await env.manager.restore('frozen', { keepAlive: true, identity: { userAgent: 'After/2.0' }, launchOptions: launchOptions() }).catch((e: unknown) => e);
      expect(isRaptorError(error, 'BROWSER_UNREACHABLE'), String(error)).toBe(true);
      expect((error as Error).message).toContain('raptor save frozen');
      expect(await runningKeepAlive(profileDir)).toMatchObject({ pid: kept.pid }); // not stopped: it may hold what the session does not
    } finally {
      if (isAlive(kept.pid)) process.kill(kept.pid, 'SIGCONT'); // so dispose() can stop it; gone only when the test already failed
    }
  });
});

describe('what every attach sets again (the connection-bound part of an identity)', () => {
  const attachIdentity = (): Identity => ({
    viewport: { width: 900, height: 600 },
    colorScheme: 'dark',
    extraHTTPHeaders: { 'X-Team': 'blue' },
    httpCredentials: { username: 'bob', password: 'basic-pass' },
    geolocation: { latitude: 52.5, longitude: 13.4 },
    permissions: ['geolocation'],
  });

  /**
   * What a page opened while attached reports, against a new server each time: Chromium keeps
   * Basic credentials that once worked in its own cache, per origin, so only a new origin proves
   * that this connection answers the challenge.
   */
  async function report(context: BrowserContext) {
    let header: string | undefined;
    const site = await serve(async (req, res) => {
      header = req.headers['x-team'] as string | undefined;
      if (req.url === '/basic' && req.headers.authorization !== `Basic ${Buffer.from('bob:basic-pass').toString('base64')}`) {
        res.writeHead(401, { 'www-authenticate': 'Basic realm="t"' }).end();
        return;
      }
      res.writeHead(200, { 'content-type': 'text/html' }).end('<p>ok</p>');
    });
    const page = await context.newPage();
    try {
      const url = `http://127.0.0.1:${site.port}`;
      await page.goto(`${url}/`);
      return {
        header,
        size: await page.evaluate(() => [innerWidth, innerHeight]),
        dark: await page.evaluate(() => matchMedia('(prefers-color-scheme: dark)').matches),
        // An error code instead of a throw, so a failure shows every field at once.
        position: await page.evaluate(
          () => new Promise<number[] | string>((resolve) => navigator.geolocation.getCurrentPosition((p) => resolve([p.coords.latitude, p.coords.longitude]), (e) => resolve(`error ${e.code}`), { timeout: 5000 })),
        ),
        basic: await page.goto(`${url}/basic`).then((r) => r?.status(), (e: Error) => e.message.split(' ')[1]), // last: a refusal is an error page
      };
    } finally {
      await page.close();
      await site.close();
    }
  }

  const expected = { basic: 200, header: 'blue', size: [900, 600], dark: true, position: [52.5, 13.4] };

  it('on the relaunch of a kept-alive browser and on every reattach to it', async () => {
    const launched = track(await env.manager.launch('attach', { identity: attachIdentity(), launchOptions: launchOptions() }));
    expect(await report(launched.context)).toEqual(expected);
    await launched.close();
    const reattached = track(await env.manager.restore('attach', { keepAlive: true, launchOptions: launchOptions() }));
    expect(reattached.mode).toBe('reattached');
    expect(await report(reattached.context)).toEqual(expected);
  });

  it('on the relaunch in an owned browser (context options)', async () => {
    await env.manager.save('attach-owned', { storageState: { cookies: [], origins: [] } }, { identity: attachIdentity() });
    const owned = track(await env.manager.restore('attach-owned', { launchOptions: launchOptions() }));
    expect(owned.mode).toBe('relaunched');
    expect(await report(owned.context)).toEqual(expected);
  });
});
