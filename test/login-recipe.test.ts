/**
 * Login recipes from a terminal and a library (issue 14): `raptor login <name> --recipe <file>`
 * logs in only when the saved session stopped working, records which recipe it used (never its
 * credentials), and `raptor.ensure()` and Playwright Test's roles go through the same code: one
 * module, one lock, one session. The server is asked, not the cookie jar: the login app counts
 * its logins per user, and a session is "logged in" when the app says so for its saved cookie.
 */
import { readFile, readdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { startLoginApp, type LoginApp } from '../fixtures/login-app/server.js';
import { SessionManager } from '../src/manager.js';
import { ROOT, runCli } from './helpers/cli.js';
import { createPlaywrightProject } from './helpers/playwright-project.js';
import { createTempDir } from './helpers/temp-dir.js';

const RECIPE = join(ROOT, 'fixtures/login-app/recipe.ts');
const PASSWORD = 'secret'; // the login app's; a planted secret: it must appear in no output

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const step of cleanups.splice(0).reverse()) await step();
});

async function setUp() {
  const app = await startLoginApp();
  cleanups.push(() => app.close());
  const home = await createTempDir('raptor-login-home-');
  cleanups.push(() => home.remove());
  const env = { RAPTOR_HOME: home.path, LOGIN_APP_PASSWORD: PASSWORD };
  const raptor = (args: string[], extra: NodeJS.ProcessEnv = {}) => runCli(args, { env: { ...env, ...extra }, timeoutMs: 90_000 });
  const manager = async () => {
    const opened = await SessionManager.open({ env: { ...process.env, ...env }, autoCleanup: false });
    cleanups.push(() => opened.close());
    return opened;
  };
  return { app, home: home.path, env, raptor, manager };
}

/** Who the app says the saved session `name` is, asked with its saved cookie. */
async function whoIs(app: LoginApp, manager: SessionManager, name: string): Promise<string> {
  const record = await manager.get(name);
  const sid = record.storageState.cookies.find((c) => c.name === 'sid')?.value ?? '';
  const html = await (await fetch(`${app.url}/me`, { headers: { cookie: `sid=${sid}` } })).text();
  return /<p id="user">([^<]*)<\/p>/.exec(html)?.[1] ?? '(no answer)';
}

describe('raptor login <name> --recipe <file>', () => {
  it('logs in once, reuses it while the server says it is logged in, and logs in again once the server forgot it', async () => {
    const { app, raptor, manager } = await setUp();
    const first = await raptor(['login', 'alice', '--recipe', RECIPE, '--base-url', app.url, '--json']);
    expect(first.code, first.stderr).toBe(0);
    expect(first.json()).toMatchObject({ name: 'alice', loggedIn: true, reason: 'no saved session', recipe: { path: RECIPE } });
    const second = await raptor(['login', 'alice', '--json']); // the recorded recipe
    expect(second.code, second.stderr).toBe(0);
    expect(second.json()).toMatchObject({ loggedIn: false, revision: first.json().revision });
    expect(app.logins('alice')).toBe(1);
    expect(app.checks()).toBeGreaterThanOrEqual(2); // the second call asked the server (once in login, once to reuse)

    app.forgetAll(); // a server restart: the saved cookie is dead, though it has not expired
    const third = await raptor(['login', 'alice']);
    expect(third.code, third.stderr).toBe(0);
    expect(third.stdout).toMatch(/Logged in `alice` \(check\(\) says the saved state is logged out\)/);
    expect(app.logins('alice')).toBe(2);
    expect(await whoIs(app, await manager(), 'alice')).toBe('alice');
  }, 120_000);

  it('logs in once when two processes ask at the same moment', async () => {
    const { app, raptor } = await setUp();
    const both = await Promise.all([0, 1].map(() => raptor(['login', 'bob', '--recipe', RECIPE, '--base-url', app.url, '--json'], { LOGIN_APP_USER: 'bob' })));
    for (const run of both) expect(run.code, run.stderr).toBe(0);
    expect(both.map((r) => r.json().loggedIn).sort()).toEqual([false, true]);
    expect(app.logins('bob')).toBe(1);
  }, 120_000);

  it('records the recipe with the session, never its credentials', async () => {
    const { app, home, raptor } = await setUp();
    const runs = [await raptor(['login', 'alice', '--recipe', RECIPE, '--base-url', app.url, '--log-level', 'trace'])];
    runs.push(await raptor(['show', 'alice', '--json']));
    for (const run of runs) expect(run.code, run.stderr).toBe(0);
    const shown = runs[1]!.json();
    expect(shown.metadata?.recipe ?? shown.session?.metadata?.recipe).toMatchObject({ path: RECIPE, baseURL: `${app.url}/` });
    expect((shown.metadata?.recipe ?? shown.session?.metadata?.recipe).sha256).toMatch(/^[0-9a-f]{64}$/);
    const files = await readdir(join(home, 'sessions'));
    const stored = await Promise.all(files.filter((f) => f.endsWith('.json')).map((f) => readFile(join(home, 'sessions', f), 'utf8')));
    for (const text of [...stored, ...runs.flatMap((r) => [r.stdout, r.stderr])]) expect(text).not.toContain(`"${PASSWORD}"`);
    for (const run of runs) expect(run.stdout + run.stderr).not.toMatch(/\bsecret\b/);
  }, 120_000);

  it('a login that fails saves nothing and keeps the session that was there', async () => {
    const { app, raptor, manager } = await setUp();
    expect((await raptor(['login', 'alice', '--recipe', RECIPE, '--base-url', app.url])).code).toBe(0);
    const before = await (await manager()).get('alice');
    const wrong = await raptor(['login', 'alice', '--force', '--json'], { LOGIN_APP_PASSWORD: 'not-the-password' });
    expect(wrong.code).toBe(1);
    expect(wrong.json().error).toMatchObject({ code: 'LOGIN_FAILED' });
    expect(wrong.json().error.message).toMatch(/the app refused the login: Wrong user name or password.*Nothing was saved/);
    expect(wrong.stdout + wrong.stderr).not.toContain('not-the-password');
    const after = await (await manager()).get('alice');
    expect(after.revision).toBe(before.revision);
    expect(await whoIs(app, await manager(), 'alice')).toBe('alice');
  }, 120_000);

  it('turns every bad recipe into an error with a code and a way out, never a stack trace', async () => {
    const { app, home, raptor } = await setUp();
    const write = async (name: string, text: string) => {
      const path = join(home, name);
      await writeFile(path, text);
      return path;
    };
    const cases: [string[], number, string, RegExp][] = [
      [['login', 'x', '--recipe', join(home, 'missing.ts')], 3, 'NOT_FOUND', /There is no recipe at .*missing\.ts/],
      [['login', 'x', '--recipe', await write('empty.mjs', 'export const nothing = 1;\n')], 2, 'INVALID_INPUT', /has no default export object|has no `login\(page\)` function/],
      [['login', 'x', '--recipe', await write('nologin.ts', 'export default { url: "/" };\n')], 2, 'INVALID_INPUT', /has no `login\(page\)` function/],
      [['login', 'x', '--recipe', await write('syntax.ts', 'export default { login( {\n')], 2, 'INVALID_INPUT', /could not be loaded/],
      [['login', 'x', '--recipe', await write('age.mjs', 'export default { login: async () => {}, maxAge: "soon" };\n')], 2, 'INVALID_INPUT', /maxAge/],
      [['login', 'x', '--recipe', RECIPE, '--base-url', 'not a url'], 2, 'USAGE', /is not a URL/],
      [['login', 'x', '--recipe', RECIPE, '--base-url', `http://u:pw@127.0.0.1:1/`], 2, 'USAGE', /must not carry a user name or password/],
      [['login', 'never-logged-in'], 2, 'USAGE', /does not exist yet: give its login recipe once/],
      [['login', 'x', '--recipe', RECIPE, '--secrets-file', join(home, 'nope.env')], 3, 'NOT_FOUND', /no secrets file/],
    ];
    for (const [args, code, errorCode, message] of cases) {
      const run = await raptor([...args, '--json']);
      expect(run.code, `${args.join(' ')}\n${run.stderr}`).toBe(code);
      expect(run.json().error.code, args.join(' ')).toBe(errorCode);
      expect(run.json().error.message, args.join(' ')).toMatch(message);
      expect(run.stderr, args.join(' ')).not.toMatch(/\n\s+at /);
    }
    expect(app.logins()).toBe(0);
  }, 180_000);

  it('tells the recipe which session it logs in, so one recipe can pick per-session credentials', async () => {
    const { app, home, raptor } = await setUp();
    const recipe = join(home, 'per-session.mjs');
    await writeFile(
      recipe,
      `export default {
  async login(page, { session }) {
    await page.goto('/login');
    await page.fill('#username', session);
    await page.fill('#password', process.env['PASSWORD_' + session.toUpperCase()] ?? '');
    await page.click('#submit');
    await page.waitForURL('**/me');
  },
  url: '/me',
  check: async (page) => (await page.locator('#user').innerText()) !== 'anonymous',
};\n`,
    );
    for (const user of ['dave', 'erin']) {
      const run = await raptor(['login', user, '--recipe', recipe, '--base-url', app.url], { [`PASSWORD_${user.toUpperCase()}`]: PASSWORD });
      expect(run.code, run.stderr).toBe(0);
      expect(app.logins(user)).toBe(1);
    }
  }, 120_000);

  it('a recipe error that quotes its credential: masked in every output and in the status raptor keep records', async () => {
    const { app, home, raptor, manager } = await setUp();
    const planted = 'Planted-Pw-4f9c2e71';
    const secrets = join(home, 'acme.env');
    await writeFile(secrets, `LOGIN_APP_PASSWORD=${planted}\n`);
    const leaky = join(home, 'leaky.mjs');
    // The user's code, careless: its error names the password it read.
    await writeFile(leaky, `export default {
  async login() { throw new Error('the app refused password ' + process.env.LOGIN_APP_PASSWORD); },
  url: '/me',
  check: async (page) => (await page.locator('#user').innerText()) !== 'anonymous',
};\n`);
    const runs = [await raptor(['login', 'leak', '--recipe', leaky, '--base-url', app.url, '--secrets-file', secrets, '--json', '--log-level', 'debug'], { LOGIN_APP_PASSWORD: undefined })];
    expect(runs[0]!.code).toBe(1);
    expect(runs[0]!.json().error.message).toMatch(/refused password \*\*\*/);
    // A session the keeper must log in again with that recipe: its failure is recorded.
    await writeFile(join(home, 'state.json'), JSON.stringify({ cookies: [{ name: 'sid', value: 'dead', domain: '127.0.0.1', path: '/', expires: -1, httpOnly: true, secure: false, sameSite: 'Lax' }], origins: [] }));
    expect((await raptor(['save', 'leak', '--from', join(home, 'state.json'), '--metadata', JSON.stringify({ recipe: { path: leaky, sha256: '0'.repeat(64), baseURL: `${app.url}/` } })])).code).toBe(0);
    runs.push(await raptor(['keep', 'leak', '--once', '--json', '--log-level', 'debug', '--secrets-file', secrets], { LOGIN_APP_PASSWORD: undefined }));
    expect(runs[1]!.code).toBe(1);
    const status = (await (await manager()).get('leak')).metadata['keep'] as Record<string, string>;
    expect(status['error']).toMatch(/refused password \*\*\*/);
    const files = await readdir(join(home, 'sessions'));
    const stored = await Promise.all(files.filter((f) => f.endsWith('.json')).map((f) => readFile(join(home, 'sessions', f), 'utf8')));
    for (const text of [...runs.flatMap((r) => [r.stdout, r.stderr]), ...stored]) expect(text).not.toContain(planted);
  }, 120_000);

  it('a check that never answers cannot hang a login: it counts as logged out, and nothing is saved', async () => {
    const { app, manager } = await setUp();
    process.env['LOGIN_APP_PASSWORD'] = PASSWORD;
    cleanups.push(async () => void delete process.env['LOGIN_APP_PASSWORD']);
    const { default: recipe } = await import('../fixtures/login-app/recipe.js');
    const hanging = { ...recipe, check: () => new Promise<boolean>(() => undefined) };
    const raptor = await manager();
    const started = performance.now();
    await expect(raptor.ensure('hung-check', hanging, { baseURL: app.url, checkTimeout: 1000 })).rejects.toMatchObject({ code: 'LOGIN_FAILED' });
    expect(performance.now() - started, 'bounded by the check timeout, not forever').toBeLessThan(60_000);
    expect(await raptor.find('hung-check')).toBeUndefined();
  }, 120_000);

  it('reads the credentials from --secrets-file, and stores none of them', async () => {
    const { app, home, raptor } = await setUp();
    const secretsFile = join(home, 'alice.env');
    await writeFile(secretsFile, `LOGIN_APP_PASSWORD=${PASSWORD}\nLOGIN_APP_USER=carol\n`);
    const run = await raptor(['login', 'carol', '--recipe', RECIPE, '--base-url', app.url, '--secrets-file', secretsFile, '--json'], { LOGIN_APP_PASSWORD: '' });
    // The environment wins over the file (dotenv's rule): an empty password is "set". Unset it instead.
    expect(run.code).toBe(1);
    const unset = await runCli(['login', 'carol', '--recipe', RECIPE, '--base-url', app.url, '--secrets-file', secretsFile, '--json'], { env: { RAPTOR_HOME: home }, timeoutMs: 90_000 });
    expect(unset.code, unset.stderr).toBe(0);
    expect(app.logins('carol')).toBe(1);
  }, 120_000);
});

describe('raptor.ensure() and Playwright Test roles: the same recipe module, the same session', () => {
  it('the library reuses what the CLI logged in, and a Playwright role with the same module reuses it too', async () => {
    const { app, env, raptor, manager } = await setUp();
    expect((await raptor(['login', 'alice', '--recipe', RECIPE, '--base-url', app.url])).code).toBe(0);

    process.env['LOGIN_APP_PASSWORD'] = PASSWORD; // a recipe run in this process reads this process's env
    cleanups.push(async () => void delete process.env['LOGIN_APP_PASSWORD']);
    const library = await manager();
    const ensured = await library.ensure('alice'); // the recorded recipe
    expect(ensured).toMatchObject({ loggedIn: false, recipe: { path: RECIPE } });

    const project = await createPlaywrightProject({
      'playwright.config.ts': `
import { defineConfig } from '@playwright/test';
import { raptorLaunchOptions } from 'raptor-sessions/test';
export default defineConfig({ testDir: 'tests', reporter: 'line', use: { baseURL: process.env.LOGIN_APP_URL, launchOptions: raptorLaunchOptions() } });`,
      // The very module `raptor login` loaded: the role is the recipe.
      'tests/roles.ts': `
import { defineRole } from 'raptor-sessions/test';
import recipe from ${JSON.stringify(RECIPE)};
// reuseCheckFor 0: ask the server every run (by default a pass is trusted for a minute, and this test revokes within one)
defineRole('alice', { ...recipe, reuseCheckFor: 0 });`,
      'tests/me.spec.ts': `
import { test, expect } from 'raptor-sessions/test';
import './roles';
test.use({ session: 'alice' });
test('alice is logged in', async ({ page }) => {
  await page.goto('/me');
  await expect(page.locator('#user')).toHaveText('alice');
});`,
    });
    cleanups.push(() => project.remove());
    const run = await project.run({ ...env, LOGIN_APP_URL: app.url });
    expect(run.code, run.output).toBe(0);
    expect(app.logins('alice'), 'the role logged in again instead of reusing the CLI’s login').toBe(1);

    app.forgetAll();
    const again = await project.run({ ...env, LOGIN_APP_URL: app.url });
    expect(again.code, again.output).toBe(0);
    expect(app.logins('alice')).toBe(2); // the role's check failed: one login, by the role
    const cli = await raptor(['login', 'alice', '--json']);
    expect(cli.json()).toMatchObject({ loggedIn: false }); // and the CLI reuses the role's login
    expect(app.logins('alice')).toBe(2);
  }, 240_000);
});
