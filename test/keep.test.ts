/**
 * `raptor keep`: the session keeper, as a user runs it (the built CLI in child processes) against
 * the login app, whose server forgets a session idle for 5 s, like a real one's idle timeout.
 * What it must show: a kept session stays logged in without a new login while an unkept one
 * dies; a server that forgot everyone gets one login per session, once; a failing session backs
 * off without stopping the others and without a password in any output.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { PASSWORD, startLoginApp, type LoginApp, type LoginAppOptions } from '../fixtures/login-app/server.js';
import { ROOT, runCli, startCli } from './helpers/cli.js';
import { createRaptorEnv, testBrowser } from './helpers/env.js';
import { launchBrowser } from '../src/browser/launch.js';
import { refreshSession } from '../src/keeper/refresh.js';
import { backoffMs, earliestExpiry, nextRefresh } from '../src/keeper/policy.js';

const RECIPE = join(ROOT, 'fixtures/login-app/recipe.ts');

// The tests run at the same time (most of their time is waiting on a server's idle timeout), so
// each cleans up after itself through its own context, also when it fails.
type Cleanup = (fn: () => Promise<void> | void) => void;

// The in-process logins of the keeper-turn tests read the recipe's credentials from this process's env.
const savedEnv = { user: process.env['LOGIN_APP_USER'], password: process.env['LOGIN_APP_PASSWORD'] };
beforeAll(() => {
  process.env['LOGIN_APP_USER'] = 'dave';
  process.env['LOGIN_APP_PASSWORD'] = PASSWORD;
});
afterAll(() => {
  for (const [key, value] of [['LOGIN_APP_USER', savedEnv.user], ['LOGIN_APP_PASSWORD', savedEnv.password]] as const) {
    if (value === undefined) delete process.env[key];
    else process.env[key] = value;
  }
});

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** A login app and a private raptor home, both removed after the test (`cleanup`: the test's `onTestFinished`). */
async function setUp(cleanup: Cleanup, appOptions: LoginAppOptions = {}) {
  const app = await startLoginApp(appOptions);
  cleanup(() => app.close());
  const raptor = await createRaptorEnv();
  cleanup(() => raptor.dispose());
  const env = (user: string, password = PASSWORD): NodeJS.ProcessEnv => ({ RAPTOR_HOME: raptor.home, RAPTOR_BROWSER: testBrowser(), LOGIN_APP_USER: user, LOGIN_APP_PASSWORD: password });
  return {
    app,
    raptor,
    env,
    /** `raptor login <name>` as `user`, with the login app's recipe. */
    async login(name: string, user: string) {
      const result = await runCli(['login', name, '--recipe', RECIPE, '--base-url', app.url, '--json'], { env: env(user), timeoutMs: 60_000 });
      expect(result.code, result.stderr).toBe(0);
      return result.json<{ loggedIn: boolean; revision: number }>();
    },
    keepOnce(args: string[], user = 'alice', password = PASSWORD) {
      return runCli(['keep', '--once', '--json', ...args], { env: env(user, password), timeoutMs: 90_000 });
    },
    /** Who the server says the saved cookie of `name` belongs to (a `/me` visit, as the recipe's check does). */
    async whoIs(name: string): Promise<string> {
      return whoIsBySid(app, await sidOf(raptor.manager, name));
    },
  };
}

async function sidOf(manager: Awaited<ReturnType<typeof createRaptorEnv>>['manager'], name: string): Promise<string> {
  const sid = (await manager.get(name)).storageState.cookies.find((c) => c.name === 'sid');
  expect(sid, `session ${name} has no sid cookie`).toBeDefined();
  return sid!.value;
}

async function whoIsBySid(app: LoginApp, sid: string): Promise<string> {
  const response = await fetch(`${app.url}/me`, { headers: { cookie: `sid=${sid}` } });
  return /<p id="user">([^<]*)<\/p>/.exec(await response.text())![1]!;
}

/** Live processes started with this raptor home in their environment: the CLI and every browser it launched. */
function processesOf(home: string): number[] {
  const marker = `RAPTOR_HOME=${home}\0`;
  const found: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      if (readFileSync(`/proc/${entry}/environ`, 'latin1').includes(marker)) found.push(Number(entry));
    } catch {
      // gone meanwhile, or not ours to read
    }
  }
  return found;
}

function events(stdout: string): Array<Record<string, any>> {
  return stdout
    .split('\n')
    .filter((line) => line.trim() !== '')
    .map((line) => JSON.parse(line));
}

describe('raptor keep', () => {
  test.concurrent('keeps a session alive past the server idle timeout without logging in again, while an unkept one dies', { timeout: 120_000 }, async ({ onTestFinished }) => {
    const { app, raptor, env, login, whoIs } = await setUp(onTestFinished, { idleTimeoutMs: 5000 });
    await login('control', 'alice');
    await login('kept', 'bob');
    expect([app.logins('alice'), app.logins('bob')]).toEqual([1, 1]);

    const keeper = await startCli(['keep', 'kept', '--every', '2s', '--json'], { env: env('bob') });
    onTestFinished(() => void keeper.child.kill('SIGKILL'));
    // Until the keeper's first visit, `kept` is in use (as in a person's browser): on a loaded
    // machine the keeper's start and its browser's launch alone can take the 5 s the server
    // allows. The 30 s count from the moment the keeper took over.
    const keptSid = await sidOf(raptor.manager, 'kept');
    const tookOver = () => events(keeper.out.stdout).some((e) => e.type === 'visited' && e.name === 'kept');
    for (let waited = 0; !tookOver() && waited < 60_000; waited += 1000) {
      expect(await whoIsBySid(app, keptSid)).toBe('bob');
      await sleep(1000);
    }
    expect(tookOver(), keeper.out.stderr).toBe(true);
    await sleep(10_000);
    expect(await whoIs('control')).toBe('anonymous'); // 10 s idle: the server forgot it, `raptor login` would log in again
    await sleep(20_000);
    expect(keeper.child.exitCode, keeper.out.stderr).toBeNull(); // still running after 30 s
    expect(await whoIs('kept')).toBe('bob');
    expect(app.logins('bob')).toBe(1); // kept by visits, not by logging in again

    const running = processesOf(raptor.home);
    expect(running).toContain(keeper.child.pid);
    keeper.child.kill('SIGTERM');
    const exit = await Promise.race([keeper.exited, sleep(30_000).then(() => 'hung' as const)]);
    expect(exit, keeper.out.stderr).toEqual({ code: 0, signal: null });
    expect(processesOf(raptor.home)).toEqual([]); // the keeper and its headless browser are gone

    const kept = events(keeper.out.stdout).filter((e) => e.name === 'kept');
    expect(kept.filter((e) => e.type === 'refreshed').length).toBeGreaterThanOrEqual(5);
    expect(kept.filter((e) => e.type === 'logged-in' || e.type === 'failed')).toEqual([]);
    const status = (await raptor.manager.get('kept')).metadata['keep'] as Record<string, unknown>;
    expect(status).toMatchObject({ result: 'refreshed', failures: 0 });
  });

  test.concurrent('SIGTERM while a login hangs abandons it: nothing is written, the browser is closed, exit 0', { timeout: 120_000 }, async ({ onTestFinished }) => {
    const { raptor, env, login } = await setUp(onTestFinished);
    await login('stuck', 'erin');
    // Its site moves to a server whose login never answers (a hung identity provider) and that knows no session.
    const hung = await startLoginApp({ loginDelayMs: -1 });
    onTestFinished(() => hung.close());
    const recipe = (await raptor.manager.head('stuck')).metadata['recipe'] as Record<string, string>;
    await raptor.manager.updateMetadata('stuck', { recipe: { ...recipe, baseURL: hung.url } });
    const before = await raptor.manager.get('stuck');

    const keeper = await startCli(['keep', 'stuck', '--json', '--log-level', 'info'], { env: env('erin') });
    onTestFinished(() => void keeper.child.kill('SIGKILL'));
    for (let waited = 0; !keeper.out.stdout.includes('"visited"') && waited < 60_000; waited += 250) await sleep(250);
    expect(events(keeper.out.stdout)).toMatchObject([{ type: 'visited', name: 'stuck', loggedIn: false }]);
    await sleep(1000); // the login is now in flight, and hangs
    keeper.child.kill('SIGTERM');
    // Bound: the keeper gives the turn 5 s, then abandons it. Waiting for the login instead would
    // take until the recipe's own 30 s timeout.
    const exit = await Promise.race([keeper.exited, sleep(20_000).then(() => 'hung' as const)]);
    expect(exit, keeper.out.stderr).toEqual({ code: 0, signal: null });
    expect(processesOf(raptor.home)).toEqual([]);
    expect(keeper.out.stderr).toContain('abandoned on stop');
    expect(events(keeper.out.stdout).map((e) => e.type)).toEqual(['visited']); // no failure reported: it was stopped
    const after = await raptor.manager.get('stuck');
    expect(after.revision).toBe(before.revision); // nothing written, no status either
    expect(after.storageState).toEqual(before.storageState);
  });

  test.concurrent('`raptor login` twice in a row logs in once', { timeout: 60_000 }, async ({ onTestFinished }) => {
    const { app, login, whoIs } = await setUp(onTestFinished);
    expect((await login('twice', 'carol')).loggedIn).toBe(true);
    expect((await login('twice', 'carol')).loggedIn).toBe(false);
    expect(app.logins('carol')).toBe(1);
    expect(await whoIs('twice')).toBe('carol');
  });

  test.concurrent('a named session without a recipe is a usage error that says how to give one', { timeout: 60_000 }, async ({ onTestFinished }) => {
    const { raptor, keepOnce } = await setUp(onTestFinished);
    await raptor.manager.save('by-hand', { storageState: { cookies: [], origins: [] } });
    const result = await keepOnce(['by-hand']);
    expect(result.code).toBe(2);
    expect(result.json().error).toMatchObject({ code: 'USAGE' });
    expect(result.json().error.message).toContain('raptor login by-hand --recipe');
  });

  // One keeper turn (keeper/refresh.ts), in-process.
  /** The login app, a raptor home, a headless browser and a session logged in in-process (the recipe reads this process's env). */
  async function loggedIn(cleanup: Cleanup, name: string) {
    const { app, raptor } = await setUp(cleanup);
    const browser = await launchBrowser('chromium', { executablePath: testBrowser() });
    cleanup(() => browser.close());
    await raptor.manager.ensure(name, RECIPE, { baseURL: app.url, browser });
    return { app, manager: raptor.manager, getBrowser: async () => browser };
  }

  test.concurrent('a writer that saves between the visit and its save wins: the keeper does not clobber it', { timeout: 60_000 }, async ({ onTestFinished }) => {
    const { manager, getBrowser } = await loggedIn(onTestFinished, 'contended');
    const before = await manager.get('contended');
    let theirs: Awaited<ReturnType<typeof manager.save>> | undefined;
    const outcome = await refreshSession(
      {
        manager,
        getBrowser,
        // Another process (a `raptor login --force`, a crawler) saves at the worst moment.
        beforeSave: async () => {
          const cookie = { ...before.storageState.cookies[0]!, name: 'written-by-the-other', value: 'theirs' };
          theirs = await manager.save('contended', { storageState: { ...before.storageState, cookies: [...before.storageState.cookies, cookie] } });
        },
      },
      'contended',
    );
    expect(outcome).toMatchObject({ result: 'refreshed', conflict: true, revision: theirs!.revision });
    const stored = await manager.get('contended');
    expect(stored.revision).toBe(theirs!.revision);
    expect(stored.storageState.cookies.map((c) => c.name)).toContain('written-by-the-other');

    // Without a concurrent writer the same turn does save what it visited.
    const alone = await refreshSession({ manager, getBrowser }, 'contended');
    expect(alone).toMatchObject({ result: 'refreshed', revision: theirs!.revision + 1, via: 'headless' });
    expect(alone.conflict).toBeUndefined();
  });

  test.concurrent("a session whose kept-alive browser runs is visited in that browser, in a tab of its own that is closed again", { timeout: 60_000 }, async ({ onTestFinished }) => {
    const { app, manager, getBrowser } = await loggedIn(onTestFinished, 'live');
    const restored = await manager.launch('live', { launchOptions: { executablePath: testBrowser() } });
    const tabs = restored.context.pages().length;
    const checksBefore = app.checks();
    const outcome = await refreshSession({ manager, getBrowser }, 'live');
    expect(outcome).toMatchObject({ result: 'refreshed', via: 'browser' });
    expect(app.checks()).toBe(checksBefore + 1);
    expect(restored.context.pages().length).toBe(tabs);
    await restored.close();
  });

  // Heavier (many browsers): one at a time, after the tests above.
  test('after the server forgot everyone, `--once` logs each session in exactly once; a second `--once` logs in none', { timeout: 120_000 }, async ({ onTestFinished }) => {
    const { app, login, keepOnce, whoIs } = await setUp(onTestFinished);
    for (const name of ['s1', 's2', 's3']) await login(name, 'alice');
    expect(app.logins('alice')).toBe(3);
    app.forgetAll();
    for (const name of ['s1', 's2', 's3']) expect(await whoIs(name)).toBe('anonymous');

    const first = await keepOnce([]);
    expect(first.code, first.stderr).toBe(0);
    // Each of the three was dead and is alive again, after three logins in all: one each.
    expect(app.logins('alice')).toBe(6);
    for (const name of ['s1', 's2', 's3']) expect(await whoIs(name)).toBe('alice');
    const done = events(first.stdout).at(-1)!;
    expect(done.type).toBe('done');
    expect(done.sessions.map((s: { name: string; result: string }) => [s.name, s.result])).toEqual([
      ['s1', 'logged-in'],
      ['s2', 'logged-in'],
      ['s3', 'logged-in'],
    ]);

    const second = await keepOnce([]);
    expect(second.code, second.stderr).toBe(0);
    expect(app.logins('alice')).toBe(6);
    expect(events(second.stdout).at(-1)!.sessions.map((s: { result: string }) => s.result)).toEqual(['refreshed', 'refreshed', 'refreshed']);
  });

  test('a session whose login fails is reported, backs off, and does not stop the others; no password in any output', { timeout: 120_000 }, async ({ onTestFinished }) => {
    const { app, raptor, env, login, whoIs } = await setUp(onTestFinished);
    await login('good', 'alice');
    await login('bad', 'alice');
    // The server no longer knows `bad`'s cookie, and the keeper runs with a wrong password: its login must fail.
    const bad = await raptor.manager.get('bad');
    const sid = bad.storageState.cookies.find((c) => c.name === 'sid')!;
    await raptor.manager.save('bad', { storageState: { ...bad.storageState, cookies: [{ ...sid, value: 'revoked' }] } });
    const password = 'wrong-pw-5f3a9c1e7b';
    const goodSid = await sidOf(raptor.manager, 'good');

    const keeper = await startCli(['keep', '--every', '1s', '--json', '--log-level', 'debug'], { env: env('alice', password) });
    onTestFinished(() => void keeper.child.kill('SIGKILL'));
    const failures = () => events(keeper.out.stdout).filter((e) => e.type === 'failed' && e.name === 'bad');
    const refreshes = () => events(keeper.out.stdout).filter((e) => e.type === 'refreshed' && e.name === 'good');
    for (let waited = 0; (failures().length < 2 || refreshes().length < 2) && waited < 60_000; waited += 250) await sleep(250);
    keeper.child.kill('SIGTERM');
    expect(await keeper.exited, keeper.out.stderr).toEqual({ code: 0, signal: null });

    const failed = failures();
    expect(failed.map((e) => e.failures).slice(0, 2)).toEqual([1, 2]);
    expect(failed.every((e) => e.code === 'LOGIN_FAILED')).toBe(true);
    // Each failure waits twice as long as the one before: 2 s, then 4 s with `--every 1s`.
    const waits = failed.slice(0, 2).map((e) => Date.parse(e.nextAt) - Date.parse(e.at));
    expect(waits).toEqual([2000, 4000]);
    expect(refreshes().length).toBeGreaterThanOrEqual(2); // the good one was kept all along
    expect(await whoIs('good')).toBe('alice');
    expect(app.logins('alice')).toBe(2); // nobody logged in: `bad`'s logins were refused

    const status = (await raptor.manager.get('bad')).metadata['keep'] as Record<string, any>;
    expect(status).toMatchObject({ result: 'failed', failures: failed.length });
    expect(status['error']).toContain('login() for `bad` failed');
    expect(Date.parse(status['nextAt'])).toBeGreaterThan(Date.parse(status['at']));

    const once = await runCli(['keep', 'bad', '--once', '--json'], { env: env('alice', password), timeoutMs: 60_000 });
    expect(once.code).toBe(1);
    expect(events(once.stdout).at(-1)).toMatchObject({ type: 'done', ok: false, sessions: [{ name: 'bad', result: 'failed', failures: failed.length + 1 }] });

    const outputs = [keeper.out.stdout, keeper.out.stderr, once.stdout, once.stderr, JSON.stringify(status)];
    expect(outputs.join('\n')).toContain('bad'); // the scan does read what was printed
    expect(outputs.filter((text) => [password, PASSWORD, sid.value, goodSid].some((secret) => text.includes(secret)))).toEqual([]);
  });
});

describe('when a session is due (keeper/policy.ts)', () => {
  const now = Date.parse('2026-12-01T12:00:00.000Z');
  const cookie = (name: string, expiresInMs: number) => ({ name, value: 'v', domain: 'app.test', path: '/', expires: expiresInMs < 0 ? -1 : (now + expiresInMs) / 1000, httpOnly: true, secure: false, sameSite: 'Lax' as const });
  const record = (cookies: ReturnType<typeof cookie>[], expiresAt: string | null = null) => ({ expiresAt, storageState: { cookies, origins: [] } });
  const minute = 60_000;

  test('a session that outlives the next round waits for it', () => {
    expect(nextRefresh(record([cookie('sid', 24 * 60 * minute)]), 10 * minute, ['sid'], now)).toBe(now + 10 * minute);
    expect(nextRefresh(record([cookie('sid', -1)]), 10 * minute, ['sid'], now)).toBe(now + 10 * minute); // a session cookie does not expire
  });

  test('one expiring before the next round is visited at 80 % of the time left, never later than a minute before', () => {
    expect(nextRefresh(record([cookie('sid', 20 * minute)]), 60 * minute, ['sid'], now)).toBe(now + 16 * minute);
    expect(nextRefresh(record([cookie('sid', 3 * minute)]), 60 * minute, ['sid'], now)).toBe(now + 2 * minute);
    expect(nextRefresh(record([], new Date(now + 20 * minute).toISOString()), 60 * minute, undefined, now)).toBe(now + 16 * minute);
  });

  test('the earliest auth cookie counts; without authCookies, the earliest persistent cookie', () => {
    const cookies = [cookie('tracking', 5 * minute), cookie('sid', 50 * minute), cookie('csrf', -1)];
    expect(earliestExpiry(record(cookies), ['sid'])).toBe(now + 50 * minute);
    expect(earliestExpiry(record(cookies), undefined)).toBe(now + 5 * minute);
    expect(earliestExpiry(record([cookie('csrf', -1)]), undefined)).toBeUndefined();
  });

  test('a failing session waits twice as long each time, up to an hour', () => {
    expect([1, 2, 3].map((failures) => backoffMs(10 * minute, failures))).toEqual([20 * minute, 40 * minute, 60 * minute]);
    expect(backoffMs(10 * minute, 50)).toBe(60 * minute);
    expect(backoffMs(2 * 60 * minute, 1)).toBe(2 * 60 * minute); // never more often than the rounds themselves
  });
});
