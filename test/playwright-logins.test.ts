/**
 * What a Playwright project meets in its first hour with `raptor-sessions/test` (issue 10), run
 * the way the project runs it: `npx playwright test` in its own directory, Playwright's default
 * settings unless the story says otherwise, against a tiny login app.
 *
 * - a login that hangs fails with raptor's message (loginTimeout), not "Test timeout ... while
 *   setting up", and the other workers do not wait it out again;
 * - a login that ends logged out, in a role without `check`, saves nothing;
 * - two `playwright test` processes on one RAPTOR_HOME: one login per role, every test passes,
 *   and the waiters reuse the fresh verification instead of re-running `check()` under the lock.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { startLoginApp } from '../fixtures/login-app/server.js';
import { SessionManager } from '../src/manager.js';
import { createPlaywrightProject } from './helpers/playwright-project.js';
import { createTempDir } from './helpers/temp-dir.js';

const config = (extra: string) => `
import { defineConfig } from '@playwright/test';
import { raptorLaunchOptions } from 'raptor-sessions/test';
export default defineConfig({
  testDir: 'tests',
  fullyParallel: true,
  reporter: 'line',
  use: { baseURL: process.env.LOGIN_APP_URL, launchOptions: raptorLaunchOptions() },
  ${extra}
});
`;

/** A spec with `count` tests per role, each asserting the app sees the role logged in. */
const spec = (roles: string[], count: number) => `
import { test, expect } from 'raptor-sessions/test';
import './roles';
for (const role of ${JSON.stringify(roles)}) {
  test.describe(role, () => {
    test.use({ session: role });
    for (let i = 1; i <= ${count}; i++) {
      test(\`\${role} \${i} is logged in\`, async ({ page }) => {
        await page.goto('/me');
        await expect(page.locator('#user')).toHaveText(role);
      });
    }
  });
}
`;

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const step of cleanups.splice(0).reverse()) await step();
});

async function setUp(appOptions: Parameters<typeof startLoginApp>[0], files: Record<string, string>) {
  const app = await startLoginApp(appOptions);
  cleanups.push(() => app.close());
  const project = await createPlaywrightProject(files);
  cleanups.push(() => project.remove());
  const home = await createTempDir('raptor-pw-home-');
  cleanups.push(() => home.remove());
  const env = { LOGIN_APP_URL: app.url, RAPTOR_HOME: home.path };
  const saved = async (name: string) => {
    const manager = await SessionManager.open({ env: { ...process.env, RAPTOR_HOME: home.path }, autoCleanup: false });
    try {
      return await manager.find(name).catch(() => 'unreadable');
    } finally {
      await manager.close();
    }
  };
  return { app, project, home: home.path, env, saved };
}

describe('a login that hangs, at Playwright and raptor defaults', () => {
  it('fails with raptor’s loginTimeout message, and the waiting worker does not hang a second time', async () => {
    const { app, project, env, saved } = await setUp({ loginDelayMs: -1 }, {
      'playwright.config.ts': config('workers: 2,'), // no timeout: Playwright's 30 s; no loginTimeout: raptor's 60 s
      'tests/roles.ts': `
import { defineRole } from 'raptor-sessions/test';
defineRole('hanger', {
  // The identity provider never answers; the login waits for it without a bound of its own.
  async login(page) {
    await page.goto('/login');
    await page.fill('#username', 'hanger');
    await page.fill('#password', 'secret');
    await page.click('#submit', { noWaitAfter: true });
    await page.waitForURL('**/me', { timeout: 0 });
  },
});`,
      'tests/hang.spec.ts': spec(['hanger'], 2),
    });
    const run = await project.run(env);
    expect(run.code, run.output).toBe(1);
    expect(run.output).toMatch(/login\(\) for `hanger` did not finish within 60000 ms/);
    expect(run.output).not.toMatch(/Test timeout of \d+ms exceeded while setting up/);
    expect(run.output).toMatch(/2 failed/);
    expect(app.logins()).toBe(0);
    expect(await saved('hanger')).toBeUndefined();
  }, 240_000);
});

describe('a login that ends logged out, in a role without check()', () => {
  it('saves nothing: neither an empty state nor one without the named auth cookies', async () => {
    const { app, project, home, env, saved } = await setUp({}, {
      'playwright.config.ts': config('workers: 2, timeout: 60_000,'),
      'tests/roles.ts': `
import { defineRole } from 'raptor-sessions/test';
const wrongPassword = async (page, user) => {
  await page.goto('/login');
  await page.fill('#username', user);
  await page.fill('#password', 'secret-with-a-typo');
  await page.click('#submit');
  await page.waitForSelector('#error');
};
// No check, no authCookies: the login leaves nothing behind.
defineRole('typo', { login: (page) => wrongPassword(page, 'typo') });
// The page stores a preference, but the named auth cookie never came.
defineRole('prefs', {
  authCookies: ['sid'],
  async login(page) {
    await wrongPassword(page, 'prefs');
    await page.evaluate(() => localStorage.setItem('theme', 'dark'));
  },
});`,
      'tests/logged-out.spec.ts': spec(['typo', 'prefs'], 2),
    });
    const run = await project.run(env);
    expect(run.code, run.output).toBe(1);
    expect(run.output).toMatch(/login\(\) for `typo` left no sign of a login/);
    expect(run.output).toMatch(/login\(\) for `prefs` .*auth cookie `sid`/);
    // Two workers per role: the second must not have found a saved logged-out state to reuse.
    expect(run.output, 'a saved logged-out state was reused').not.toMatch(/anonymous/);
    expect(run.output).toMatch(/4 failed/);
    expect(await saved('typo')).toBeUndefined();
    expect(await saved('prefs')).toBeUndefined();
    expect(existsSync(join(home, 'playwright', 'typo.json'))).toBe(false);
    expect(app.logins()).toBe(0);
  }, 240_000);
});

describe('two playwright test processes at once on one RAPTOR_HOME', () => {
  const ROLES = ['alpha', 'beta', 'gamma'];
  const PER_ROLE = 4;

  it('log in once per role in total, every test passes, and waiters do not re-run check() under the lock', async () => {
    const roles = `
import { defineRole } from 'raptor-sessions/test';
for (const role of ${JSON.stringify(ROLES)}) {
  defineRole(role, {
    async login(page) {
      await page.goto('/login');
      await page.fill('#username', role);
      await page.fill('#password', 'secret');
      await page.click('#submit');
      await page.waitForURL('**/me'); // the app answers after 2 s, like an SSO round trip
    },
    url: '/me?check',
    check: async (page) => (await page.locator('#user').innerText()) === role,
  });
}`;
    const { app, project, env } = await setUp({ loginDelayMs: 2000, meDelayMs: 500 }, {
      // A generous test timeout for 8 browsers on a loaded 2-core machine; what is measured is the count.
      'playwright.config.ts': config('workers: 4, timeout: 90_000,'),
      'tests/roles.ts': roles,
      'tests/roles.spec.ts': spec(ROLES, PER_ROLE),
    });
    const [one, two] = await Promise.all([project.run(env), project.run(env)]);
    expect(one.code, one.output).toBe(0);
    expect(two.code, two.output).toBe(0);
    expect(one.output).toMatch(new RegExp(`${ROLES.length * PER_ROLE} passed`));
    expect(two.output).toMatch(new RegExp(`${ROLES.length * PER_ROLE} passed`));
    expect(app.logins()).toBe(ROLES.length);
    // One check per role verifies its fresh login; 8 workers reuse that verification. Re-checking
    // under the lock, one waiter after another, is what made tests time out (up to 8 per role).
    expect(app.checks(), `checks: ${app.checks()}`).toBeLessThanOrEqual(2 * ROLES.length);
  }, 300_000);
});
