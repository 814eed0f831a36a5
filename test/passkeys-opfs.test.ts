/**
 * Issue 12, part 1: a session logged in with a passkey, with a token in the origin private file
 * system, is captured whole and restored whole: after a relaunch of an owned browser and of a
 * kept-alive one the passkey still logs in, twice in a row (the counter saved back after each
 * use keeps rising, so the relying party never sees a cloned authenticator), and the OPFS token
 * is still there. Controls: a relaunch whose state was not saved back after use is refused by
 * the relying party; on a Playwright without `setStorageState` a kept-alive relaunch of such a
 * session is refused with BROWSER_FAILED instead of half restored.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { chromium, type Browser, type BrowserContext } from 'playwright-core';
import { applyState } from '../src/browser/apply-state.js';
import { chromiumArgs, findBrowserSync } from '../src/browser/find.js';
import { isRaptorError } from '../src/core/errors.js';
import type { StorageState } from '../src/core/record.js';
import { press } from '../fixtures/passkey-app/drive.js';
import { startPasskeyApp, type PasskeyApp } from '../fixtures/passkey-app/server.js';
import { createRaptorEnv } from './helpers/env.js';

let app: PasskeyApp;
let browser: Browser;
let env: Awaited<ReturnType<typeof createRaptorEnv>>;
const launchOptions = { executablePath: findBrowserSync().executablePath };

beforeAll(async () => {
  app = await startPasskeyApp();
  browser = await chromium.launch({ ...launchOptions, args: chromiumArgs() });
  env = await createRaptorEnv();
});

afterAll(async () => {
  await env?.dispose();
  await browser?.close();
  await app?.close();
});

async function opfsToken(context: BrowserContext): Promise<string> {
  const page = await context.newPage();
  try {
    await page.goto(`${app.url}/opfs`);
    await page.waitForFunction(() => document.getElementById('opfs')?.textContent !== '…');
    return await page.locator('#opfs').innerText();
  } finally {
    await page.close();
  }
}

/** A passkey registered and used once, and an OPFS token, saved as session `name`. */
async function enroll(name: string, user: string): Promise<void> {
  const context = await browser.newContext();
  try {
    await context.credentials.install();
    const page = await context.newPage();
    await page.goto(app.url);
    await page.fill('#username', user);
    expect(await press(page, '#register')).toBe('registered');
    expect(await press(page, '#login')).toBe(`logged in as ${user}`);
    await page.fill('#opfs-value', `token-of-${user}`);
    expect(await press(page, '#opfs-write')).toBe('opfs written');
    await env.manager.save(name, { context });
  } finally {
    await context.close();
  }
}

/** Restores `name`, logs in with the passkey, and (unless told not to) saves the state back. */
async function useOnce(name: string, options: { keepAlive?: boolean; saveBack?: boolean } = {}): Promise<{ result: string; opfs: string; mode: string }> {
  const restored = await env.manager.restore(name, { launchOptions, ...(options.keepAlive ? { keepAlive: true } : {}) });
  try {
    const page = await restored.context.newPage();
    await page.goto(app.url);
    const result = await press(page, '#login');
    const opfs = await opfsToken(restored.context);
    if (options.saveBack !== false) await env.manager.save(name, { context: restored.context });
    return { result, opfs, mode: restored.mode };
  } finally {
    await restored.close();
  }
}

describe('passkeys and OPFS: captured whole, restored whole, the counter kept rising', () => {
  it('logs in with the passkey after a relaunch of an owned browser, twice in a row, OPFS token intact', async () => {
    await enroll('pk-owned', 'olga');
    const saved = await env.manager.get('pk-owned');
    expect((saved.storageState as { credentials?: unknown[] }).credentials).toHaveLength(1);
    const refusedBefore = app.refusals().length;
    const first = await useOnce('pk-owned');
    expect(first).toEqual({ result: 'logged in as olga', opfs: 'token-of-olga', mode: 'relaunched' });
    const counter = app.counterOf('olga')!;
    const second = await useOnce('pk-owned');
    expect(second.result).toBe('logged in as olga');
    expect(app.counterOf('olga')!).toBeGreaterThan(counter);
    expect(app.refusals().length).toBe(refusedBefore);
  });

  it('control: a relaunch from a state that was not saved back after use is a cloned authenticator, refused', async () => {
    await enroll('pk-stale', 'pavel');
    expect((await useOnce('pk-stale', { saveBack: false })).result).toBe('logged in as pavel');
    const refusedBefore = app.refusals().length;
    const again = await useOnce('pk-stale', { saveBack: false });
    expect(again.result).toMatch(/^error: .*counter/i);
    expect(app.refusals().length).toBe(refusedBefore + 1);
  });

  it('logs in with the passkey after a relaunch of a kept-alive browser, and again after reattaching to it', async () => {
    await enroll('pk-kept', 'rita');
    const first = await useOnce('pk-kept', { keepAlive: true });
    expect(first).toEqual({ result: 'logged in as rita', opfs: 'token-of-rita', mode: 'relaunched' });
    const second = await useOnce('pk-kept', { keepAlive: true });
    expect(second).toEqual({ result: 'logged in as rita', opfs: 'token-of-rita', mode: 'reattached' });
    await env.manager.stopBrowser('pk-kept');
  });
});

describe('a Playwright without setStorageState (the peer range starts at 1.57; it came in 1.59)', () => {
  /** The same context, as a Playwright before 1.59 presents it: no `setStorageState`. */
  const older = (context: BrowserContext): BrowserContext => Object.create(context, { setStorageState: { value: undefined } }) as BrowserContext;

  it('puts cookies and localStorage into a running context by hand', async () => {
    const context = await browser.newContext();
    try {
      const state: StorageState = {
        cookies: [{ name: 'sid', value: 'abc', domain: 'localhost', path: '/', expires: -1, httpOnly: true, secure: false, sameSite: 'Lax' }],
        origins: [{ origin: app.url, localStorage: [{ name: 'theme', value: 'dark' }] }],
      };
      await applyState(older(context), state);
      const page = await context.newPage();
      await page.goto(`${app.url}/me`);
      expect(await page.evaluate(() => localStorage.getItem('theme'))).toBe('dark');
      expect((await context.cookies()).map((c) => `${c.name}=${c.value}`)).toEqual(['sid=abc']);
    } finally {
      await context.close();
    }
  });

  it('refuses a state with passkeys, OPFS or IndexedDB instead of half restoring it, and changes nothing', async () => {
    await enroll('pk-old-playwright', 'sven');
    const saved = await env.manager.get('pk-old-playwright');
    const context = await browser.newContext();
    try {
      await context.addCookies([{ name: 'keep', value: 'me', domain: 'localhost', path: '/' }]);
      const error = await applyState(older(context), saved.storageState).catch((e: unknown) => e);
      expect(isRaptorError(error, 'BROWSER_FAILED')).toBe(true);
      expect((error as Error).message).toMatch(/passkeys/);
      expect((error as Error).message).toMatch(/OPFS/);
      expect((await context.cookies()).map((c) => c.name)).toEqual(['keep']);
    } finally {
      await context.close();
    }
  });
});
