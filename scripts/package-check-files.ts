/**
 * The files of the scratch project `package-check.ts` builds: what a user writes after reading
 * the README, once as CommonJS (`cjs/`) and once as ESM (`esm/`), plus two probes run with node.
 */

const TSCONFIG = {
  compilerOptions: {
    strict: true,
    module: 'nodenext',
    moduleResolution: 'nodenext',
    target: 'es2022',
    noEmit: true,
    // Checked too: raptor's own .d.ts must compile against the user's Playwright, not only the user's code.
    skipLibCheck: false,
    types: ['node'],
  },
  include: ['cjs/**/*.ts', 'esm/**/*.ts'],
};

const config = `import { defineConfig } from '@playwright/test';
import { raptorLaunchOptions } from 'raptor-sessions/test';

export default defineConfig({
  testDir: 'tests',
  workers: 2,
  fullyParallel: true,
  timeout: 60_000, // two cores shared with everything else
  use: { baseURL: process.env.LOGIN_APP_URL, launchOptions: raptorLaunchOptions() },
});
`;

const roles = `import { defineRole } from 'raptor-sessions/test';

for (const user of ['alice', 'bob']) {
  defineRole(user, {
    async login(page) {
      await page.goto('/login');
      await page.fill('#username', user);
      await page.fill('#password', 'secret');
      await page.click('#submit');
      await page.waitForURL('**/me');
    },
    url: '/me',
    check: async (page) => (await page.locator('#user').innerText()) === user,
    authCookies: ['sid'],
  });
}
`;

const spec = (ext: string) => `import { test, expect } from 'raptor-sessions/test';
import './roles${ext}';

for (const user of ['alice', 'bob']) {
  test.describe(user, () => {
    test.use({ session: user });
    test(\`\${user} sees their name\`, async ({ page }) => {
      await page.goto('/me');
      await expect(page.locator('#user')).toHaveText(user);
    });
  });
}

test('one test, two roles', async ({ sessions }) => {
  const alice = await sessions.page('alice');
  const bob = await sessions.page('bob');
  await alice.goto('/me');
  await bob.goto('/me');
  await expect(alice.locator('#user')).toHaveText('alice');
  await expect(bob.locator('#user')).toHaveText('bob');
});
`;

/** Compiled, never run: every exported option, fed with the project's own Playwright objects. */
const everyOption = `import { chromium, type Browser, type BrowserContext, type Page } from '@playwright/test';
import {
  defineRole,
  ensureSession,
  expect,
  raptorLaunchOptions,
  sessionStatePath,
  test as base,
  type EnsuredSession,
  type EnsureSessionOptions,
  type RaptorTestOptions,
  type RaptorWorkerOptions,
  type RoleOptions,
  type SessionsFixture,
} from 'raptor-sessions/test';
import { SessionManager, type RestoredSession } from 'raptor-sessions';

const role: RoleOptions = {
  login: async (page: Page) => void (await page.goto('/login')),
  check: async (page: Page) => page.locator('#user').isVisible(),
  url: '/me',
  maxAge: '1h',
  authCookies: ['sid'],
  loginTimeout: 30_000,
  rotate: false,
  reuseCheckFor: 10_000,
};
export const typed: string = defineRole('typed', role);

export async function setUp(): Promise<EnsuredSession> {
  const browser: Browser = await chromium.launch(raptorLaunchOptions());
  const manager = await SessionManager.open({ dir: '/tmp/raptor-types', autoCleanup: false });
  const options: EnsureSessionOptions = {
    ...role,
    browser,
    launchOptions: { ...raptorLaunchOptions(), headless: true, timeoutMs: 10_000 },
    contextOptions: { baseURL: 'http://127.0.0.1', viewport: { width: 800, height: 600 }, locale: 'en-GB' },
    manager,
    dir: '/tmp/raptor-types',
    env: process.env,
  };
  const ensured = await ensureSession('typed', options);
  const statePath: string = sessionStatePath('typed', process.env);
  const context: BrowserContext = await browser.newContext({ storageState: statePath });
  await manager.save('typed-copy', { context });
  await manager.save('typed-browser', { browser });
  const restored: RestoredSession = await manager.restore('typed-copy');
  const again: Browser = restored.browser;
  const page: Page | undefined = restored.page;
  void again;
  void page;
  await manager.close();
  return ensured;
}

const test = base.extend<{ userName: string }>({ userName: async ({}, use) => use('typed') });
const session: RaptorTestOptions['session'] = 'typed';
const sessionsDir: RaptorWorkerOptions['sessionsDir'] = '/tmp/raptor-types';
test.use({ session, sessionsDir });
test('types only', async ({ page, context, sessions, userName }) => {
  const fixture: SessionsFixture = sessions;
  const other: Page = await fixture.page(userName);
  const otherContext: BrowserContext = await fixture.context(userName);
  expect(page).toBeTruthy();
  expect(context).toBeTruthy();
  expect(other).toBeTruthy();
  expect(otherContext).toBeTruthy();
});
`;

/** Makes raptor throw from deep inside and prints the stack, source-mapped. */
const stack = `import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SessionManager } from 'raptor-sessions';

const manager = await SessionManager.open({ dir: join(mkdtempSync(join(tmpdir(), 'raptor-stack-')), 'sessions') });
try {
  await manager.get('no-such-session');
  console.error('expected NOT_FOUND');
  process.exitCode = 1;
} catch (error) {
  console.log(error.stack);
} finally {
  await manager.close();
}
`;

/** Without \`pg\`, \`raptor-sessions/postgres\` still loads, and opening a store says what to install. */
const postgres = `const { openPostgresStore } = await import('raptor-sessions/postgres');
try {
  await openPostgresStore({ url: 'postgres://127.0.0.1:9/none', connectTimeoutMs: 500 });
  console.error('opened a PostgreSQL store without pg?');
  process.exitCode = 1;
} catch (error) {
  if (error.code !== 'STORE_UNAVAILABLE' || !error.message.includes('npm i pg')) {
    console.error('expected STORE_UNAVAILABLE saying npm i pg, got', error);
    process.exitCode = 1;
  }
}
`;

export function scratchFiles(): Record<string, string> {
  const files: Record<string, string> = {
    'tsconfig.json': `${JSON.stringify(TSCONFIG, null, 2)}\n`,
    'stack.mjs': stack,
    'postgres.mjs': postgres,
  };
  for (const [kind, type, ext] of [['cjs', 'commonjs', ''], ['esm', 'module', '.js']] as const) {
    files[`${kind}/package.json`] = `${JSON.stringify({ private: true, type })}\n`;
    files[`${kind}/playwright.config.ts`] = config;
    files[`${kind}/tests/roles.ts`] = roles;
    files[`${kind}/tests/app.spec.ts`] = spec(ext);
    files[`${kind}/tests/every-option.ts`] = everyOption;
  }
  return files;
}
