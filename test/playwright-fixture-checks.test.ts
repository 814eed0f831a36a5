/**
 * Where raptor-sessions/test spends a warm run's time (issue 10, bench:playwright), run the way a
 * project runs it (`npx playwright test` in its own directory, against the tiny login app):
 *
 * - a role whose saved session needs a check is checked in the test's own page, which the test
 *   then gets at `about:blank`; when that check fails, the fresh login is put into the test's
 *   context (the cookie the test sees is the new session's);
 * - `ensureSessions()` as `globalSetup` checks every role once, and fixture-style workers of the
 *   same run reuse those checks; when every role was verified a moment ago it launches no browser;
 * - importing `raptor-sessions/test` (what the runner process does to list tests) does not load
 *   the session manager, zod or pino.
 */
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { startLoginApp } from '../fixtures/login-app/server.js';
import { SessionManager } from '../src/manager.js';
import { ROOT, ensureBuilt } from './helpers/cli.js';
import { createPlaywrightProject } from './helpers/playwright-project.js';
import { createTempDir } from './helpers/temp-dir.js';

const config = (extra: string) => `
import { defineConfig } from '@playwright/test';
import { raptorLaunchOptions } from 'raptor-sessions/test';
export default defineConfig({
  testDir: 'tests',
  reporter: 'line',
  timeout: 90_000,
  use: { baseURL: process.env.LOGIN_APP_URL, launchOptions: raptorLaunchOptions() },
  ${extra}
});
`;

/** Roles that log in at the app; `check` fails once when the file FAIL_CHECK_ONCE names exists (then removes it). */
const roles = (names: string[]) => `
import { existsSync, rmSync } from 'node:fs';
import { defineRole } from 'raptor-sessions/test';
for (const role of ${JSON.stringify(names)}) {
  defineRole(role, {
    async login(page) {
      await page.goto('/login');
      await page.fill('#username', role);
      await page.fill('#password', 'secret');
      await page.click('#submit');
      await page.waitForURL('**/me');
    },
    url: '/me?check',
    async check(page) {
      const flag = process.env.FAIL_CHECK_ONCE;
      if (flag && existsSync(flag)) return (rmSync(flag), false);
      return (await page.locator('#user').innerText()) === role;
    },
  });
}`;

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const step of cleanups.splice(0).reverse()) await step();
});

async function setUp(files: Record<string, string>) {
  const app = await startLoginApp({});
  cleanups.push(() => app.close());
  const project = await createPlaywrightProject(files);
  cleanups.push(() => project.remove());
  const home = await createTempDir('raptor-pw-checks-home-');
  cleanups.push(() => home.remove());
  const env = { LOGIN_APP_URL: app.url, RAPTOR_HOME: home.path };
  /** A later run: the one-minute trust in a passed check is over. */
  const forgetVerifications = async () => {
    const dir = join(home.path, 'playwright');
    for (const name of await readdir(dir)) if (name.endsWith('.verified.json')) await rm(join(dir, name));
  };
  return { app, project, home: home.path, env, forgetVerifications };
}

describe('a check the fixture style needs', () => {
  it('runs in the test’s own page, handed over at about:blank; a failed one puts the fresh login into the test’s context', async () => {
    const { app, project, home, env, forgetVerifications } = await setUp({
      'playwright.config.ts': config('workers: 1,'),
      'tests/roles.ts': roles(['solo']),
      'tests/solo.spec.ts': `
import { writeFileSync } from 'node:fs';
import { test, expect } from 'raptor-sessions/test';
import './roles';
test.use({ session: 'solo' });
test('1 first test of the worker', async ({ page }) => {
  expect(page.url()).toBe('about:blank');
  // A page the check ran in has history: the first blank page, the check's url, then about:blank.
  writeFileSync(process.env.OUT + '.history', String(await page.evaluate(() => history.length)));
  await page.goto('/me');
  await expect(page.locator('#user')).toHaveText('solo');
  const sid = (await page.context().cookies()).find((c) => c.name === 'sid')?.value ?? '';
  writeFileSync(process.env.OUT + '.sid', sid);
});
test('2 a later test gets a fresh page', async ({ page }) => {
  expect(await page.evaluate(() => history.length)).toBe(1);
  await page.goto('/me');
  await expect(page.locator('#user')).toHaveText('solo');
});
test('3 a test of context only', async ({ context }) => {
  const page = await context.newPage();
  await page.goto('/me');
  await expect(page.locator('#user')).toHaveText('solo');
});`,
    });
    const out = join(home, 'out');
    const savedSid = async () => {
      const manager = await SessionManager.open({ env: { ...process.env, RAPTOR_HOME: home, RAPTOR_SESSIONS_DIR: '' }, autoCleanup: false });
      try {
        return (await manager.get('solo')).storageState.cookies.find((c) => c.name === 'sid')?.value;
      } finally {
        await manager.close();
      }
    };

    const cold = await project.run({ ...env, OUT: out });
    expect(cold.code, cold.output).toBe(0);
    expect(app.logins()).toBe(1);
    expect(await readFile(`${out}.history`, 'utf8')).toBe('1'); // just logged in and checked: nothing to check

    await forgetVerifications();
    const checksBefore = app.checks();
    const warm = await project.run({ ...env, OUT: out });
    expect(warm.code, warm.output).toBe(0);
    expect(warm.output).toMatch(/3 passed/);
    expect(app.logins()).toBe(1);
    expect(app.checks() - checksBefore).toBe(1);
    expect(await readFile(`${out}.history`, 'utf8')).toBe('3');

    // The check fails once: raptor logs in, and test 1's own context carries the new session.
    await forgetVerifications();
    const oldSid = await savedSid();
    const flag = join(home, 'fail-check-once');
    await writeFile(flag, '');
    const relogin = await project.run({ ...env, OUT: out, FAIL_CHECK_ONCE: flag });
    expect(relogin.code, relogin.output).toBe(0);
    expect(existsSync(flag)).toBe(false);
    expect(app.logins()).toBe(2);
    const newSid = await savedSid();
    expect(newSid).not.toBe(oldSid);
    expect(await readFile(`${out}.sid`, 'utf8')).toBe(newSid);
  }, 300_000);
});

describe('ensureSessions() as globalSetup', () => {
  it('checks every role once before the workers start, and fixture-style workers reuse those checks', async () => {
    const names = ['north', 'south', 'east'];
    const { app, project, env, forgetVerifications } = await setUp({
      'playwright.config.ts': config(`workers: 2, fullyParallel: true, globalSetup: './global-setup.ts',`),
      'tests/roles.ts': roles(names),
      'global-setup.ts': `
import { ensureSessions } from 'raptor-sessions/test';
import './tests/roles';
// NO_BROWSER=1: a browser that cannot launch, to show when none is needed.
export default ensureSessions(process.env.NO_BROWSER ? { launchOptions: { executablePath: '/nonexistent/chromium' } } : {});
`,
      'tests/roles.spec.ts': `
import { test, expect } from 'raptor-sessions/test';
import './roles';
for (const role of ${JSON.stringify(names)}) {
  test.describe(role, () => {
    test.use({ session: role });
    for (let i = 1; i <= 3; i++) {
      test(\`\${role} \${i}\`, async ({ page }) => {
        await page.goto('/me');
        await expect(page.locator('#user')).toHaveText(role);
      });
    }
  });
}`,
    });
    const cold = await project.run(env);
    expect(cold.code, cold.output).toBe(0);
    expect(app.logins()).toBe(names.length);
    expect(app.checks()).toBe(names.length); // each fresh login's own check, in global setup

    await forgetVerifications();
    const warm = await project.run(env);
    expect(warm.code, warm.output).toBe(0);
    expect(warm.output).toMatch(/9 passed/);
    expect(app.logins()).toBe(names.length);
    expect(app.checks()).toBe(2 * names.length); // global setup's, none by the workers

    // Run again within the minute a passed check is trusted: global setup launches no browser at all.
    const again = await project.run({ ...env, NO_BROWSER: '1' });
    expect(again.code, again.output).toBe(0);
    expect(app.checks()).toBe(2 * names.length);
    // The control: with the checks forgotten, the same setup needs its browser and says it cannot launch it.
    await forgetVerifications();
    const needsOne = await project.run({ ...env, NO_BROWSER: '1' });
    expect(needsOne.code).not.toBe(0);
    expect(needsOne.output).toMatch(/nonexistent\/chromium/);
  }, 300_000);
});

describe('importing raptor-sessions/test', () => {
  it('loads neither the session manager nor zod nor pino until a worker needs a role', async () => {
    await ensureBuilt();
    const tmp = await createTempDir('raptor-pw-imports-');
    cleanups.push(() => tmp.remove());
    const log = join(tmp.path, 'resolved.txt');
    await writeFile(join(tmp.path, 'hooks.mjs'), `
import { appendFileSync } from 'node:fs';
export async function resolve(specifier, context, next) {
  const result = await next(specifier, context);
  appendFileSync(${JSON.stringify(log)}, result.url + '\\n');
  return result;
}`);
    await writeFile(join(tmp.path, 'register.mjs'), `import { register } from 'node:module'; register(${JSON.stringify(pathToFileURL(join(tmp.path, 'hooks.mjs')).href)});`);
    const script = `
import { appendFileSync } from 'node:fs';
await import(${JSON.stringify(pathToFileURL(join(ROOT, 'dist/playwright/test.js')).href)});
appendFileSync(${JSON.stringify(log)}, '--- a worker needs a role\\n');
await import(${JSON.stringify(pathToFileURL(join(ROOT, 'dist/playwright/worker-sessions.js')).href)});
`;
    const code = await new Promise<number | null>((resolve) => {
      const child = spawn(process.execPath, ['--import', pathToFileURL(join(tmp.path, 'register.mjs')).href, '--input-type=module', '-e', script], { cwd: ROOT, stdio: 'inherit' });
      child.once('exit', resolve);
    });
    expect(code).toBe(0);
    const [listing, worker] = (await readFile(log, 'utf8')).split('--- a worker needs a role\n') as [string, string];
    const heavy = /\/dist\/manager\.js$|\/node_modules\/(zod|pino)\//m;
    expect(listing, 'loaded by importing raptor-sessions/test').not.toMatch(heavy);
    expect(worker, 'the hook sees what a worker loads (control)').toMatch(heavy);
  }, 60_000);
});
