/**
 * The passkey relying party tested on its own with plain Playwright (1.65's virtual WebAuthn
 * credentials), so that raptor's passkey tests stand on a fixture known to (1) verify real
 * ceremonies, (2) refuse an old copy of a passkey whose counter went backwards, and (3) read back
 * a token kept in the origin private file system.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';
import { chromiumArgs, findBrowserSync } from '../src/browser/find.js';
import { press } from '../fixtures/passkey-app/drive.js';
import { startPasskeyApp, type PasskeyApp } from '../fixtures/passkey-app/server.js';

let app: PasskeyApp;
let browser: Browser;

beforeAll(async () => {
  app = await startPasskeyApp();
  browser = await chromium.launch({ executablePath: findBrowserSync().executablePath, args: chromiumArgs() });
});

afterAll(async () => {
  await browser?.close();
  await app?.close();
});

async function withPasskeys(state?: Parameters<Browser['newContext']>[0]): Promise<{ context: BrowserContext; page: Page }> {
  const context = await browser.newContext(state);
  if (!state?.storageState) await context.credentials.install();
  const page = await context.newPage();
  await page.goto(app.url);
  return { context, page };
}

describe('passkey fixture: a relying party that verifies WebAuthn and refuses a cloned authenticator', () => {
  it('registers a passkey, logs in with it, and the counter moves on every use', async () => {
    const { context, page } = await withPasskeys();
    try {
      expect(await press(page, '#register')).toBe('registered');
      expect(await press(page, '#login')).toBe('logged in as pia');
      const first = app.counterOf('pia')!;
      expect(await press(page, '#login')).toBe('logged in as pia');
      expect(app.counterOf('pia')!).toBeGreaterThan(first);
      await page.goto(`${app.url}/me`);
      expect(await page.locator('#user').innerText()).toBe('pia');
    } finally {
      await context.close();
    }
  });

  it('logs in from a saved state that carries the passkey, and refuses an older copy of it', async () => {
    const { context, page } = await withPasskeys();
    await page.fill('#username', 'quinn');
    expect(await press(page, '#register')).toBe('registered');
    expect(await press(page, '#login')).toBe('logged in as quinn');
    const old = await context.storageState({ credentials: true });
    expect(await press(page, '#login')).toBe('logged in as quinn'); // the counter moves past `old`'s
    const current = await context.storageState({ credentials: true });
    await context.close();

    const restored = await withPasskeys({ storageState: current });
    try {
      expect(await press(restored.page, '#login')).toBe('logged in as quinn');
    } finally {
      await restored.context.close();
    }
    const refusedBefore = app.refusals().length;
    const stale = await withPasskeys({ storageState: old });
    try {
      expect(await press(stale.page, '#login')).toMatch(/^error: .*counter/i);
      expect(app.refusals().length).toBe(refusedBefore + 1);
    } finally {
      await stale.context.close();
    }
  });

  it('keeps a token in OPFS that a saved state with opfs carries to a new context', async () => {
    const { context, page } = await withPasskeys();
    await page.fill('#opfs-value', 'opfs-token-42');
    expect(await press(page, '#opfs-write')).toBe('opfs written');
    const withOpfs = await context.storageState({ opfs: true });
    const without = await context.storageState();
    await context.close();
    const read = async (state: typeof without): Promise<string> => {
      const next = await browser.newContext({ storageState: state });
      try {
        const p = await next.newPage();
        await p.goto(`${app.url}/opfs`);
        await p.waitForFunction(() => document.getElementById('opfs')?.textContent !== '…');
        return await p.locator('#opfs').innerText();
      } finally {
        await next.close();
      }
    };
    expect(await read(withOpfs)).toBe('opfs-token-42');
    expect(await read(without)).toBe('(none)'); // the control: without opfs the token is lost
  });
});
