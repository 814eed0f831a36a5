/**
 * A crawl that is logged out halfway logs in again and carries on. The login app forgets every
 * session after its 100th item page (a server restart mid-crawl); the crawl must notice (by the
 * page saying `anonymous`, or by a 401), log in once with the session's recipe, put the fresh
 * login into its running browser and finish every page as alice. A login that fails stops the
 * crawl with its progress whole, and a later run with the right password finishes it.
 */
import { stat } from 'node:fs/promises';
import { resolve } from 'node:path';
import { Writable } from 'node:stream';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { PASSWORD, startLoginApp, type LoginApp, type LoginAppOptions } from '../fixtures/login-app/server.js';
import { Crawl, type CrawlOptions, type PageHandler } from '../src/crawler/index.js';
import { readJournal } from '../src/crawler/journal.js';
import { readHeartbeat } from '../src/crawler/owner.js';
import { isRaptorError } from '../src/core/errors.js';
import { crawlDirFor } from '../src/env/paths.js';
import { createLogger } from '../src/env/log.js';
import { createRaptorEnv } from './helpers/env.js';
import { serve } from '../fixtures/http/serve.js';
import type { Page } from 'playwright-core';
import { runCliInProcess } from './helpers/cli-in-process.js';

const RECIPE = resolve('fixtures/login-app/recipe.ts');
/** The first story's crawl; the others are shorter (a loaded 2-core machine does ~10 pages a second). */
const PAGES = 300;
const FORGET_AFTER = 100;
const SHORT = { pages: 100, forgetAfterItems: 40 };
/** One page at a time (see below): fewer pages. */
const SERIAL = { pages: 50, forgetAfterItems: 20 };

/** What a user's handler keeps: who the page says is logged in. */
const handler: PageHandler = async ({ page }) => ({ user: await page.locator('#user').innerText() });

/** Log lines at `info`, as a user running with `RAPTOR_LOG_LEVEL=info` sees them. */
class Lines extends Writable {
  text = '';
  override _write(chunk: Buffer, _encoding: BufferEncoding, done: () => void): void {
    this.text += chunk.toString();
    done();
  }
}

describe('a crawl logged out halfway', () => {
  let env: Awaited<ReturnType<typeof createRaptorEnv>>;
  const apps: LoginApp[] = [];
  const password = process.env['LOGIN_APP_PASSWORD'];
  const log = new Lines();

  beforeAll(async () => {
    env = await createRaptorEnv({ logger: createLogger({ level: 'info', destination: log }) });
    process.env['LOGIN_APP_PASSWORD'] = PASSWORD;
  });
  afterEach(() => {
    process.env['LOGIN_APP_PASSWORD'] = PASSWORD;
  });
  afterAll(async () => {
    if (password === undefined) delete process.env['LOGIN_APP_PASSWORD'];
    else process.env['LOGIN_APP_PASSWORD'] = password;
    for (const app of apps) await app.close();
    await env?.dispose();
  });

  /** A login app that forgets its sessions after item 100, and session `name` logged in to it with the recipe. */
  async function loggedIn(name: string, options: LoginAppOptions & { pages?: number } = {}): Promise<{ app: LoginApp; seeds: string[] }> {
    const { pages = PAGES, ...appOptions } = options;
    const app = await startLoginApp({ forgetAfterItems: FORGET_AFTER, ...appOptions });
    apps.push(app);
    const first = await env.manager.ensure(name, RECIPE, { baseURL: app.url });
    expect(first.loggedIn).toBe(true);
    return { app, seeds: Array.from({ length: pages }, (_, i) => `${app.url}/items/${i + 1}`) };
  }

  async function crawlAll(options: CrawlOptions): Promise<Crawl> {
    // Saves every second: they must never land the stale state over a re-login's.
    const crawl = await Crawl.open({ manager: env.manager, concurrency: 4, heartbeatMs: 500, saveStateEveryMs: 1000, ...options });
    let failure: unknown;
    await crawl.run(handler).catch((error: unknown) => (failure = error));
    await crawl.close(); // a close that fails fails the test by itself
    if (failure !== undefined) throw failure;
    return crawl;
  }

  /** Every URL's result, from the journal as a later run would read it. */
  function results(crawl: Crawl) {
    const state = readJournal(crawl.dir).state;
    return { progress: state.progress(), users: [...state.urls.values()].map((e) => (e.result as { user?: string } | undefined)?.user) };
  }

  it('notices the page says `anonymous`, logs in once, and finishes all 300 pages as alice', async () => {
    const { app, seeds } = await loggedIn('shop');
    const crawl = await crawlAll({ session: 'shop', seeds, relogin: { recipe: RECIPE } });

    const { progress, users } = results(crawl);
    expect(progress).toEqual({ total: PAGES, completed: PAGES, pending: 0, inFlight: 0, failed: 0 });
    expect(users.filter((u) => u === 'alice')).toHaveLength(PAGES); // no page lost, none done as `anonymous`
    expect(app.itemVisits()).toBeGreaterThan(PAGES); // it really was logged out: some pages went twice
    expect(app.logins('alice')).toBe(2); // the first login and exactly one re-login, whatever was in flight

    expect((await readHeartbeat(crawl.dir))?.relogins).toBe(1);
    const status = await runCliInProcess(['crawl', 'status', 'shop', '--json'], { RAPTOR_HOME: env.home });
    expect(status.code, status.stderr).toBe(0);
    expect(status.json().crawls[0]).toMatchObject({ status: 'completed', relogins: 1 });
    const human = await runCliInProcess(['crawl', 'status', 'shop'], { RAPTOR_HOME: env.home });
    expect(human.stdout).toMatch(/relogins:\s+1 /);
    // What the crawl saved is the fresh login, not its stale state: it passes the recipe's check as it is.
    expect((await env.manager.ensure('shop', RECIPE, { baseURL: app.url, reuseCheckFor: 0 })).loggedIn).toBe(false);
    expect(app.logins('alice')).toBe(2);

    // Said in the log, once, without a secret.
    const lines = log.text.split('\n').filter((l) => l.includes('"session":"shop"'));
    expect(lines.filter((l) => l.includes('the crawl was logged out; logging in again'))).toHaveLength(1);
    expect(lines.filter((l) => l.includes('logged in again; the crawl resumes'))).toHaveLength(1);
    const sid = (await env.manager.get('shop')).storageState.cookies.find((c) => c.name === 'sid')!.value;
    expect(log.text).not.toContain(sid);
    expect(log.text).not.toContain(PASSWORD);
  }, 150_000);

  it('takes 401 for logged out, not blocked: the session is not retired', async () => {
    const { app, seeds } = await loggedIn('shop-401', { loggedOutStatus: 401, ...SERIAL });
    // Status alone detects it (no page check), and with `maxBlocked: 1` a single 401 counted as
    // blocked would retire the session (it also means one request out at a time).
    // No recipe given: the one the first login recorded with the session (path and base URL).
    const crawl = await crawlAll({ session: 'shop-401', seeds, maxBlocked: 1, relogin: { checkPages: false } });

    const { progress, users } = results(crawl);
    expect(progress).toMatchObject({ total: SERIAL.pages, completed: SERIAL.pages, failed: 0 });
    expect(users.filter((u) => u === 'alice')).toHaveLength(SERIAL.pages);
    expect(app.logins('alice')).toBe(2);
    expect((await readHeartbeat(crawl.dir))?.relogins).toBe(1);
    const record = await env.manager.head('shop-401');
    expect(record.tags).not.toContain('retired');
    expect(record.metadata['retired']).toBeUndefined();
  }, 120_000);

  it('still retires a session the site keeps refusing right after a successful re-login', async () => {
    // A site whose login always works but whose items past 20 always answer 401: logging in again cannot help.
    let logins = 0;
    const site = await serve(async (req, res) => {
      const path = new URL(req.url ?? '/', 'http://x').pathname;
      if (path === '/login') {
        logins++;
        res.writeHead(200, { 'content-type': 'text/html', 'set-cookie': `sid=${logins}; Path=/` }).end('<p>welcome</p>');
        return;
      }
      const n = Number(/^\/items\/(\d+)$/.exec(path)?.[1] ?? 0);
      res.writeHead(n > 0 && n <= 20 ? 200 : 401, { 'content-type': 'text/html' }).end('<p id="user">alice</p>');
    });
    try {
      const url = `http://127.0.0.1:${site.port}`;
      const recipe = { login: async (page: Page) => void (await page.goto('/login')), authCookies: ['sid'] };
      await env.manager.ensure('refused', recipe, { baseURL: url });
      let stopped: unknown;
      const seeds = Array.from({ length: 40 }, (_, i) => `${url}/items/${i + 1}`);
      await crawlAll({ session: 'refused', seeds, relogin: { recipe } }).catch((error: unknown) => (stopped = error));
      expect(isRaptorError(stopped, 'SESSION_BLOCKED'), String(stopped)).toBe(true);
      expect(logins).toBe(2); // one re-login, then the 401s are a block, not a reason to log in again
      const record = await env.manager.head('refused');
      expect(record.tags).toContain('retired');
      expect(readJournal(crawlDirFor(env.home, 'refused')).state.progress()).toMatchObject({ completed: 20, failed: 0, inFlight: 0 });
    } finally {
      await site.close();
    }
  }, 90_000);

  it('refuses `relogin: true` for a session that records no recipe, before anything is written', async () => {
    await env.manager.save('by-hand', { storageState: { cookies: [], origins: [] } });
    const opening = Crawl.open({ manager: env.manager, session: 'by-hand', seeds: ['http://127.0.0.1:9/items/1'], relogin: true });
    await expect(opening).rejects.toMatchObject({ code: 'INVALID_INPUT', message: expect.stringMatching(/raptor login by-hand --recipe/) });
    await expect(stat(crawlDirFor(env.home, 'by-hand'))).rejects.toMatchObject({ code: 'ENOENT' });
  });

  it('stops with SESSION_BLOCKED when the re-login fails, keeps its progress, and a resume with the right password finishes', async () => {
    const { app, seeds } = await loggedIn('shop-failed', SHORT);
    const wrong = 'not-the-password-7f3a';
    process.env['LOGIN_APP_PASSWORD'] = wrong; // for the re-login only: the first login is done

    let stopped: unknown;
    await crawlAll({ session: 'shop-failed', seeds, relogin: { recipe: RECIPE } }).catch((error: unknown) => (stopped = error));
    expect(isRaptorError(stopped, 'SESSION_BLOCKED'), String(stopped)).toBe(true);
    expect((stopped as Error).message).toMatch(/logging in again failed/);
    expect((stopped as Error).message).toMatch(/resumes where it stopped/);
    expect((stopped as Error).message).not.toContain(wrong);

    const dir = crawlDirFor(env.home, 'shop-failed');
    const afterStop = readJournal(dir).state.progress();
    // The pages served before the server forgot the login are done; every other one waits, none failed.
    expect(afterStop).toEqual({ total: SHORT.pages, completed: SHORT.forgetAfterItems, pending: SHORT.pages - SHORT.forgetAfterItems, inFlight: 0, failed: 0 });
    expect((await readHeartbeat(dir))?.status).toBe('paused'); // closed properly, not crashed
    expect((await env.manager.head('shop-failed')).tags).not.toContain('retired'); // a wrong password is not a block
    expect(app.logins('alice')).toBe(1);

    process.env['LOGIN_APP_PASSWORD'] = PASSWORD;
    const resumed = await crawlAll({ session: 'shop-failed', mode: 'resume', relogin: { recipe: RECIPE } });
    expect(resumed.resumed).toBe(true);
    const { progress, users } = results(resumed);
    expect(progress).toEqual({ total: SHORT.pages, completed: SHORT.pages, pending: 0, inFlight: 0, failed: 0 });
    expect(users.filter((u) => u === 'alice')).toHaveLength(SHORT.pages);
    expect(app.logins('alice')).toBe(2);
  }, 150_000);
});
