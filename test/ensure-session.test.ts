/**
 * ensureSession(): reuse while valid, log in when not, and never save a failed login.
 */
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Page } from 'playwright-core';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { logIn } from '../fixtures/site/drive.js';
import { startFixtureSite, type FixtureSite } from '../fixtures/site/server.js';
import { launchBrowser } from '../src/browser/launch.js';
import { isRaptorError } from '../src/core/errors.js';
import { newKey } from '../src/crypto/encryption.js';
import { SessionManager } from '../src/manager.js';
import { ensureSession, type EnsureSessionOptions } from '../src/playwright/ensure-session.js';
import { runCli } from './helpers/cli.js';
import { createRaptorEnv } from './helpers/env.js';
import { createTempDir } from './helpers/temp-dir.js';
import type { Browser } from 'playwright-core';

describe('ensureSession', () => {
  let site: FixtureSite;
  let env: Awaited<ReturnType<typeof createRaptorEnv>>;
  let browser: Browser;
  const check = async (page: Page) => (await page.locator('#cookie').innerText()) === 'yes';
  const options = (extra: Partial<EnsureSessionOptions> = {}): EnsureSessionOptions => ({
    login: (page) => logIn(page, site.url, 'alice'),
    check,
    url: `${site.url}/status`,
    browser,
    manager: env.manager,
    ...extra,
  });

  beforeAll(async () => {
    site = await startFixtureSite();
    env = await createRaptorEnv();
    browser = await launchBrowser('chromium');
  });
  afterAll(async () => {
    await browser?.close();
    await env?.dispose();
    await site?.close();
  });

  it('logs in once, then reuses the session while check() passes', async () => {
    const first = await ensureSession('alice', options());
    expect(first.loggedIn).toBe(true);
    const second = await ensureSession('alice', options());
    expect(second.loggedIn).toBe(false);
    expect(second.record.revision).toBe(first.record.revision);
    expect(site.loginCount()).toBe(1);
  });

  it('logs in again when the server forgot the session, found by check()', async () => {
    const before = site.loginCount();
    site.invalidateSessions();
    // reuseCheckFor: 0, because the check a moment ago would otherwise still be trusted (issue 10).
    const again = await ensureSession('alice', options({ reuseCheckFor: 0 }));
    expect(again.loggedIn).toBe(true);
    expect(again.reason).toMatch(/check\(\)/);
    expect(site.loginCount()).toBe(before + 1);
  });

  it('logs in again when maxAge has passed, without opening a browser to check', async () => {
    await ensureSession('aged', options({ maxAge: '1h' }));
    await env.manager.update('aged', (r) => ({ ...r, expiresAt: new Date(Date.now() - 1000).toISOString() }));
    const again = await ensureSession('aged', options({ maxAge: '1h' }));
    expect(again).toMatchObject({ loggedIn: true, reason: 'the saved session expired' });
  });

  it('fails with the login’s own error and keeps the previous valid session untouched', async () => {
    const before = await env.manager.get('alice');
    const error = await ensureSession('alice', options({ reuseCheckFor: 0, check: async () => false, login: async () => Promise.reject(new Error('wrong password for alice')) })).catch((e) => e);
    expect(isRaptorError(error, 'LOGIN_FAILED')).toBe(true);
    expect(error.message).toMatch(/wrong password for alice/);
    expect(await env.manager.get('alice')).toEqual(before);
  });

  it('gives up on a login that hangs past loginTimeout, saving nothing', async () => {
    const started = Date.now();
    const error = await ensureSession('hangs', options({ loginTimeout: 1000, login: () => new Promise(() => undefined) })).catch((e) => e);
    expect(isRaptorError(error, 'LOGIN_FAILED')).toBe(true);
    expect(error.message).toMatch(/did not finish within 1000 ms/);
    expect(Date.now() - started).toBeLessThan(10_000);
    expect(await env.manager.find('hangs')).toBeUndefined();
  });

  it('refuses to save a login that ends logged out', async () => {
    const error = await ensureSession('ghost', options({ login: async (page) => void (await page.goto(`${site.url}/`)) })).catch((e) => e);
    expect(isRaptorError(error, 'LOGIN_FAILED')).toBe(true);
    expect(error.message).toMatch(/not logged in/);
    expect(await env.manager.find('ghost')).toBeUndefined();
  });

  it('trusts a check made a moment ago, by any worker or process, instead of checking again', async () => {
    await ensureSession('carol', options({ login: (page) => logIn(page, site.url, 'carol') }));
    let checks = 0;
    const counting = async (page: Page) => (checks++, check(page));
    for (let i = 0; i < 3; i++) expect((await ensureSession('carol', options({ check: counting }))).loggedIn).toBe(false);
    expect(checks).toBe(0);
    expect((await ensureSession('carol', options({ check: counting, reuseCheckFor: 0 }))).loggedIn).toBe(false);
    expect(checks).toBe(1);
  });

  it('mirrors the session as a Playwright state file for use.storageState', async () => {
    const { statePath, record } = await ensureSession('alice', options());
    const { readFile, stat } = await import('node:fs/promises');
    expect(JSON.parse(await readFile(statePath, 'utf8'))).toEqual(record.storageState);
    expect((await stat(statePath)).mode & 0o777).toBe(0o600);
    expect(statePath.startsWith(env.home)).toBe(true);
  });
});

describe('ensureSession on a session it cannot read', () => {
  let site: FixtureSite;
  let browser: Browser;
  let tmp: Awaited<ReturnType<typeof createTempDir>>;
  const open = (extra: NodeJS.ProcessEnv = {}) => {
    const env: NodeJS.ProcessEnv = { ...process.env, RAPTOR_HOME: tmp.path };
    delete env['RAPTOR_KEY'];
    delete env['RAPTOR_SESSIONS_DIR'];
    return SessionManager.open({ env: { ...env, ...extra }, autoCleanup: false });
  };
  const run = async (name: string, extra: NodeJS.ProcessEnv = {}) => {
    const manager = await open(extra);
    try {
      return await ensureSession(name, { login: (page) => logIn(page, site.url, 'alice'), check: async (page) => (await page.locator('#cookie').innerText()) === 'yes', url: `${site.url}/status`, browser, manager });
    } finally {
      await manager.close();
    }
  };

  beforeAll(async () => {
    site = await startFixtureSite();
    browser = await launchBrowser('chromium');
  });
  beforeEach(async () => {
    tmp = await createTempDir('raptor-ensure-unreadable-');
  });
  afterEach(async () => tmp?.remove());
  afterAll(async () => {
    await browser?.close();
    await site?.close();
  });

  it('logs in again over an invalid session file: it is simply not reusable', async () => {
    await (await open()).close(); // a sessions dir of raptor's, with its marker
    await writeFile(join(tmp.path, 'sessions', 'alice.json'), '{"not": "a session"', { mode: 0o600 });
    const manager = await open();
    const invalid = await manager.find('alice').catch((e: unknown) => e);
    await manager.close();
    expect(isRaptorError(invalid, 'INVALID_SESSION'), String(invalid)).toBe(true);
    const before = site.loginCount();
    const result = await run('alice');
    expect(result.loggedIn).toBe(true);
    expect(site.loginCount()).toBe(before + 1);
  });

  it('fails with ENCRYPTION_KEY under a wrong RAPTOR_KEY, and neither logs in nor touches the session', async () => {
    const on = await runCli(['config', 'set', 'encryption', 'on'], { env: { RAPTOR_HOME: tmp.path } });
    expect(on.code, on.stderr).toBe(0);
    expect((await run('alice')).loggedIn).toBe(true);
    const file = join(tmp.path, 'sessions', 'alice.json');
    const saved = await readFile(file, 'utf8');
    const logins = site.loginCount();
    const error = await run('alice', { RAPTOR_KEY: newKey().bytes.toString('base64') }).catch((e: unknown) => e);
    expect(isRaptorError(error, 'ENCRYPTION_KEY'), String(error)).toBe(true);
    expect(site.loginCount()).toBe(logins);
    expect(await readFile(file, 'utf8')).toBe(saved);
  });
});
