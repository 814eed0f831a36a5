/**
 * Issue 12 in Playwright Test: a role with an identity (user agent, locale, timezone and a proxy
 * with a password, through a real forward proxy) against an app that logs a session out when
 * the browser it sees is not the one that logged in. Run as the user runs it: `npx playwright
 * test` in the project's own directory.
 *
 * - fixture style: run 1 logs in once, run 2 reuses the session, every test (page, context,
 *   `sessions` fixture) is logged in and reports the role's identity, though the config's `use`
 *   names another user agent, locale and timezone (the role's identity wins over it);
 *   control: a spec that sets another timezone with `test.use` is logged out, and the role is
 *   not logged in again for it;
 * - globalSetup style: `ensureSessions()` logs in, and a plain `@playwright/test` project whose
 *   `use` is `sessionContextOptions(role)` is logged in; control: the state file alone is not.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { startIdentityApp } from '../fixtures/identity-app/server.js';
import { startForwardProxy } from '../fixtures/proxy/forward-proxy.js';
import { SessionManager } from '../src/manager.js';
import { createPlaywrightProject } from './helpers/playwright-project.js';
import { createTempDir } from './helpers/temp-dir.js';

const PROXY_PASSWORD = 'proxy-pass-7f3a';

const identity = (proxyUrl: string) => ({
  userAgent: 'RaptorPW/1.0 (identity)',
  locale: 'de-DE',
  timezoneId: 'Europe/Berlin',
  proxy: { server: proxyUrl, username: 'alice', password: PROXY_PASSWORD },
});

const roles = `
import { defineRole } from 'raptor-sessions/test';
export const identity = {
  userAgent: 'RaptorPW/1.0 (identity)',
  locale: 'de-DE',
  timezoneId: 'Europe/Berlin',
  proxy: { server: process.env.PROXY_URL, username: 'alice', password: process.env.PROXY_PASSWORD },
};
defineRole('ida', {
  identity,
  url: '/me',
  // Every worker checks (no shared "verified a moment ago"): the check runs in the test's own page.
  reuseCheckFor: 0,
  async check(page) {
    await page.waitForFunction(() => document.getElementById('user')?.textContent !== '…');
    return (await page.locator('#user').innerText()) === 'ida';
  },
  async login(page) {
    await page.goto('/login');
    await page.fill('#username', 'ida');
    await page.fill('#password', 'secret');
    await page.click('#submit');
    await page.waitForURL('**/me');
  },
});
`;

const fixtureConfig = `
import { defineConfig } from '@playwright/test';
import { raptorLaunchOptions } from 'raptor-sessions/test';
export default defineConfig({
  testDir: 'tests',
  testMatch: new RegExp(process.env.SPECS ?? 'logged-in'),
  fullyParallel: true,
  workers: 2,
  timeout: 60_000,
  reporter: 'line',
  // Project-wide options that disagree with the role's identity: the role's identity wins.
  use: { baseURL: process.env.IDENTITY_APP_URL, launchOptions: raptorLaunchOptions(), userAgent: 'FromTheConfig/1.0', locale: 'en-GB', timezoneId: 'UTC' },
});
`;

const browserOf = `
const browserOf = (page) => page.evaluate(() => [navigator.userAgent, navigator.language, Intl.DateTimeFormat().resolvedOptions().timeZone]);
`;

const loggedInSpec = `
import { test, expect } from 'raptor-sessions/test';
import { identity } from './roles';
${browserOf}
test.use({ session: 'ida' });
for (let i = 1; i <= 3; i++) {
  test(\`page \${i} is ida, in the role's browser\`, async ({ page }) => {
    await page.goto('/me');
    await expect(page.locator('#user')).toHaveText('ida');
    expect(await browserOf(page)).toEqual([identity.userAgent, identity.locale, identity.timezoneId]);
  });
}
test('a test that takes only its context is ida too', async ({ context }) => {
  const page = await context.newPage();
  await page.goto('/me');
  await expect(page.locator('#user')).toHaveText('ida');
});
test('the sessions fixture opens ida in the role\\'s browser', async ({ sessions }) => {
  const page = await sessions.page('ida');
  await page.goto('/me');
  await expect(page.locator('#user')).toHaveText('ida');
  expect(await browserOf(page)).toEqual([identity.userAgent, identity.locale, identity.timezoneId]);
});
`;

const overrideSpec = `
import { test, expect } from 'raptor-sessions/test';
import './roles';
// A spec's own option wins over the role's identity: this test is another browser.
test.use({ session: 'ida', timezoneId: 'America/New_York' });
test('a test in another timezone is logged out', async ({ page }) => {
  await page.goto('/me');
  await expect(page.locator('#user')).toHaveText('anonymous');
  await expect(page.locator('#reason')).toHaveText('timezone changed');
});
`;

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const step of cleanups.splice(0).reverse()) await step();
});

async function setUp(files: Record<string, string>) {
  const app = await startIdentityApp();
  cleanups.push(() => app.close());
  const proxy = await startForwardProxy({ id: 'exit-pw', username: 'alice', password: PROXY_PASSWORD });
  cleanups.push(() => proxy.close());
  const project = await createPlaywrightProject(files);
  cleanups.push(() => project.remove());
  const home = await createTempDir('raptor-pw-home-');
  cleanups.push(() => home.remove());
  const env = { IDENTITY_APP_URL: app.url, PROXY_URL: proxy.url, PROXY_PASSWORD, RAPTOR_HOME: home.path };
  const saved = async (name: string) => {
    const manager = await SessionManager.open({ env: { ...process.env, RAPTOR_HOME: home.path }, autoCleanup: false });
    try {
      return await manager.find(name);
    } finally {
      await manager.close();
    }
  };
  const run = async (extra: NodeJS.ProcessEnv = {}) => {
    const result = await project.run({ ...env, ...extra });
    expect(result.output).not.toContain(PROXY_PASSWORD);
    return result;
  };
  return { app, proxy, run, saved };
}

describe('a role with an identity, fixture style', () => {
  it('logs in once through the proxy, run 2 reuses it, every test is the role’s browser; a test with another timezone is logged out', async () => {
    const { app, proxy, run, saved } = await setUp({
      'playwright.config.ts': fixtureConfig,
      'tests/roles.ts': roles,
      'tests/logged-in.spec.ts': loggedInSpec,
      'tests/override.spec.ts': overrideSpec,
    });
    const first = await run();
    expect(first.code, first.output).toBe(0);
    expect(first.output).toMatch(/5 passed/);
    expect(app.logins()).toBe(1);
    expect(app.lastBinding()).toEqual({ userAgent: 'RaptorPW/1.0 (identity)', acceptLanguage: expect.stringMatching(/^de-DE/), timezone: 'Europe/Berlin', proxy: 'exit-pw' });
    expect((await saved('ida'))?.identity).toEqual(identity(proxy.url));

    const second = await run();
    expect(second.code, second.output).toBe(0);
    expect(second.output).toMatch(/5 passed/);
    expect(app.logins()).toBe(1);
    expect(app.logouts()).toEqual([]);

    // Control: the spec's timezone reaches the app, which ends the session: the test can fail.
    // The role's check ran in a context of the role's identity, so it was not logged in again.
    const control = await run({ SPECS: 'override' });
    expect(control.code, control.output).toBe(0);
    expect(app.logouts()).toEqual([{ user: 'ida', field: 'timezone', was: 'Europe/Berlin', now: 'America/New_York' }]);
    expect(app.logins()).toBe(1);
  }, 300_000);
});

describe('a role with an identity, globalSetup style', () => {
  const config = `
import { defineConfig } from '@playwright/test';
import { raptorLaunchOptions, sessionContextOptions, sessionStatePath } from 'raptor-sessions/test';
import './tests/roles';
export default defineConfig({
  testDir: 'tests',
  testMatch: /plain\.spec\.ts/,
  globalSetup: './global-setup.ts',
  reporter: 'line',
  use: {
    baseURL: process.env.IDENTITY_APP_URL,
    launchOptions: raptorLaunchOptions(),
    ...(process.env.STATE_ONLY ? { storageState: sessionStatePath('ida') } : sessionContextOptions('ida')),
  },
});
`;
  const plainSpec = `
import { test, expect } from '@playwright/test';
test('the project is the session', async ({ page }) => {
  await page.goto('/me');
  await expect(page.locator('#user')).toHaveText(process.env.EXPECT_USER ?? 'ida');
});
`;

  it('use: sessionContextOptions(role) is logged in; the state file alone is not', async () => {
    const { app, run } = await setUp({
      'playwright.config.ts': config,
      'global-setup.ts': `import { ensureSessions } from 'raptor-sessions/test';\nimport './tests/roles';\nexport default ensureSessions();\n`,
      'tests/roles.ts': roles,
      'tests/plain.spec.ts': plainSpec,
    });
    const first = await run();
    expect(first.code, first.output).toBe(0);
    expect(first.output).toMatch(/1 passed/);
    expect(app.logins()).toBe(1);
    const control = await run({ STATE_ONLY: '1', EXPECT_USER: 'anonymous' });
    expect(control.code, control.output).toBe(0);
    expect(app.logouts()).toHaveLength(1);
    expect(app.logins()).toBe(1);
  }, 240_000);
});
