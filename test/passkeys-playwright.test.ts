/**
 * Issue 12, part 1 in Playwright Test: a role that logs in with a passkey keeps it across runs.
 * The role's login registers a passkey in Playwright's virtual authenticator and logs in with
 * it; the login's capture keeps the passkey, so each test's context has it and logs in with it
 * again; `rotate: true` saves the state back after the test, so the signature counter the next
 * run starts from is the one the relying party last saw. Run 1 and run 2 both log in with the
 * passkey, the counter rising; the relying party refuses nothing. Control: the same role without
 * `rotate` starts run 2 from the login's counter, a cloned authenticator, and is refused.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { startPasskeyApp } from '../fixtures/passkey-app/server.js';
import { createPlaywrightProject } from './helpers/playwright-project.js';
import { createTempDir } from './helpers/temp-dir.js';

const config = `
import { defineConfig } from '@playwright/test';
import { raptorLaunchOptions } from 'raptor-sessions/test';
export default defineConfig({
  testDir: 'tests',
  workers: 1,
  timeout: 60_000,
  reporter: 'line',
  use: { baseURL: process.env.PASSKEY_APP_URL, launchOptions: raptorLaunchOptions() },
});
`;

const roles = (rotate: boolean) => `
import { defineRole } from 'raptor-sessions/test';
export async function press(page, button) {
  await page.locator('#result').evaluate((el) => (el.textContent = ''));
  await page.click(button);
  await page.waitForFunction(() => (document.getElementById('result')?.textContent ?? '') !== '');
  return page.locator('#result').innerText();
}
defineRole('olga', {
  authCookies: ['sid'],
  rotate: ${rotate},
  async login(page) {
    await page.context().credentials.install();
    await page.goto('/');
    await page.fill('#username', 'olga');
    if ((await press(page, '#register')) !== 'registered') throw new Error('registration failed');
    if ((await press(page, '#login')) !== 'logged in as olga') throw new Error('passkey login failed');
  },
});
`;

const spec = `
import { test, expect } from 'raptor-sessions/test';
import { press } from './roles';
test.use({ session: 'olga' });
test('logs in with the passkey the session keeps', async ({ page }) => {
  await page.goto('/');
  expect(await press(page, '#login')).toBe('logged in as olga');
});
`;

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const step of cleanups.splice(0).reverse()) await step();
});

async function setUp(rotate: boolean) {
  const app = await startPasskeyApp();
  cleanups.push(() => app.close());
  const project = await createPlaywrightProject({ 'playwright.config.ts': config, 'tests/roles.ts': roles(rotate), 'tests/passkey.spec.ts': spec });
  cleanups.push(() => project.remove());
  const home = await createTempDir('raptor-pw-home-');
  cleanups.push(() => home.remove());
  return { app, run: () => project.run({ PASSKEY_APP_URL: app.url, RAPTOR_HOME: home.path }) };
}

describe('a passkey login in Playwright Test, across runs', () => {
  it('logs in with the passkey in run 1 and run 2, the counter rising, nothing refused', async () => {
    const { app, run } = await setUp(true);
    const first = await run();
    expect(first.code, first.output).toBe(0);
    expect(app.registrations()).toBe(1);
    const afterFirst = app.counterOf('olga')!;
    const second = await run();
    expect(second.code, second.output).toBe(0);
    expect(app.counterOf('olga')!).toBeGreaterThan(afterFirst);
    expect(app.registrations()).toBe(1);
    expect(app.refusals()).toEqual([]);
  }, 240_000);

  it('control: without rotate, run 2 starts from the login’s counter and the relying party refuses it', async () => {
    const { app, run } = await setUp(false);
    expect((await run()).code).toBe(0);
    const second = await run();
    expect(second.code, second.output).toBe(1);
    expect(app.refusals().join('\n')).toMatch(/counter/i);
  }, 240_000);
});
