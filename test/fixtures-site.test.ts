import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';
import { startFixtureSite, type FixtureSite } from '../fixtures/site/server.js';
import { testBrowser } from './helpers/env.js';

const LAUNCH = {
  executablePath: testBrowser(),
  args: [
    '--no-sandbox',
    '--disable-background-networking',
    '--disable-component-update',
    '--disable-sync',
    '--no-first-run',
    '--disable-gpu',
  ],
};

const KINDS = ['cookie', 'localStorage', 'sessionStorage', 'indexedDB'] as const;

let site: FixtureSite | undefined;
let browser: Browser | undefined;

function base(): string {
  if (!site) throw new Error('site not started');
  return site.url;
}

async function newContext(): Promise<BrowserContext> {
  if (!browser) throw new Error('browser not launched');
  return browser.newContext();
}

async function login(page: Page, username = 'alice', password = 'secret'): Promise<void> {
  await page.goto(`${base()}/login`);
  await page.fill('#username', username);
  await page.fill('#password', password);
  // The result page has the same URL as the form, so wait on the POST itself.
  await Promise.all([
    page.waitForResponse((r) => r.url() === `${base()}/login` && r.request().method() === 'POST'),
    page.click('#submit'),
  ]);
  await page.waitForLoadState();
}

async function loginAndWait(page: Page, username = 'alice'): Promise<void> {
  await login(page, username);
  await page.waitForSelector('body[data-ready="true"]');
}

async function readStatus(page: Page): Promise<Record<string, string>> {
  await page.goto(`${base()}/status`);
  await page.waitForSelector('body[data-ready="true"]');
  const out: Record<string, string> = {};
  for (const id of [...KINDS, 'user', 'cookieSent']) {
    out[id] = (await page.textContent(`#${id}`)) ?? '';
  }
  return out;
}

describe('fixture site', () => {
  beforeAll(async () => {
    site = await startFixtureSite({ pages: 7 });
    browser = await chromium.launch(LAUNCH);
  }, 60_000);

  afterAll(async () => {
    // Each step guarded separately so a failed launch still closes the server.
    await browser?.close().catch(() => {});
    await site?.close();
  });

  it('listens on 127.0.0.1 with a real port', () => {
    expect(site!.url).toBe(`http://127.0.0.1:${site!.port}`);
    expect(site!.port).toBeGreaterThan(0);
  });

  it('login sets all four kinds of state', async () => {
    const context = await newContext();
    try {
      const page = await context.newPage();
      await loginAndWait(page, 'alice');
      const status = await readStatus(page);
      for (const kind of KINDS) expect(status[kind], kind).toBe('yes');
      expect(status.user).toBe('alice');

      // sessionStorage belongs to the tab, so a second tab sees only the rest.
      const tab2 = await context.newPage();
      const tab2Status = await readStatus(tab2);
      expect(tab2Status).toMatchObject({ cookie: 'yes', localStorage: 'yes', sessionStorage: 'no', indexedDB: 'yes' });

      const cookies = await context.cookies();
      const sid = cookies.find((c) => c.name === 'sid');
      expect(sid?.httpOnly).toBe(true);
      expect(sid?.sameSite).toBe('Lax');
      expect(sid?.expires).toBeGreaterThan(Date.now() / 1000);

      const state = await page.evaluate(() => fetch('/api/state').then((r) => r.json()));
      expect(state).toEqual({ loggedIn: true, user: 'alice' });
    } finally {
      await context.close();
    }
  });

  it('a fresh context has none of the state', async () => {
    const context = await newContext();
    try {
      const page = await context.newPage();
      const noise: string[] = [];
      page.on('console', (m) => noise.push(`${m.type()}: ${m.text()}`));
      page.on('pageerror', (e) => noise.push(`pageerror: ${e.message}`));
      const status = await readStatus(page);
      for (const kind of KINDS) expect(status[kind], kind).toBe('no');
      expect(status.user).toBe('');
      expect(status.cookieSent).toBe('no');
      // Checking for the record must not leave an empty database behind.
      expect(await page.evaluate(() => indexedDB.databases())).toEqual([]);
      expect(noise).toEqual([]);
    } finally {
      await context.close();
    }
  });

  it('invalidateSessions makes a kept cookie stop counting', async () => {
    const context = await newContext();
    try {
      const page = await context.newPage();
      await loginAndWait(page, 'bob');
      expect((await readStatus(page)).cookie).toBe('yes');

      site!.invalidateSessions();
      const status = await readStatus(page);
      expect(status.cookie).toBe('no');
      expect(status.cookieSent).toBe('yes');
      expect(status.user).toBe('');
      // Client-side state is untouched by server-side expiry.
      expect(status.localStorage).toBe('yes');
      expect(status.indexedDB).toBe('yes');
    } finally {
      await context.close();
    }
  });

  it('counts successful logins only and uses fresh secrets each time', async () => {
    site!.resetLoginCount();
    expect(site!.loginCount()).toBe(0);
    const context = await newContext();
    try {
      const page = await context.newPage();
      await login(page, 'carol', 'wrong');
      expect(await page.textContent('#error')).toContain('Invalid');
      expect(site!.loginCount()).toBe(0);

      const secrets: string[] = [];
      for (let i = 0; i < 2; i++) {
        await loginAndWait(page, 'carol');
        secrets.push(
          await page.evaluate(async () => {
            const record = await new Promise<{ secret: string }>((resolve, reject) => {
              const open = indexedDB.open('raptor-fixture');
              open.onerror = () => reject(open.error);
              open.onsuccess = () => {
                const get = open.result.transaction('kv').objectStore('kv').get('profile');
                get.onsuccess = () => {
                  open.result.close();
                  resolve(get.result);
                };
              };
            });
            return [localStorage.getItem('token'), sessionStorage.getItem('tab'), record.secret].join(' ');
          }),
        );
      }
      expect(site!.loginCount()).toBe(2);
      const logins = await page.evaluate(() => fetch('/api/logins').then((r) => r.json()));
      expect(logins).toEqual({ count: 2 });

      const [first, second] = secrets.map((s) => s.split(' '));
      expect(first).toHaveLength(3);
      expect(first![0]).toMatch(/^tok-[0-9a-f]{32}$/);
      expect(first![1]).toMatch(/^tab-[0-9a-f]{32}$/);
      expect(first![2]).toMatch(/^idb-[0-9a-f]{32}$/);
      for (let i = 0; i < 3; i++) expect(first![i]).not.toBe(second![i]);
    } finally {
      await context.close();
    }
  });

  it('protects /pages behind login and links them all from /pages/1', async () => {
    const context = await newContext();
    try {
      const page = await context.newPage();
      expect((await page.goto(`${base()}/pages/1`))?.status()).toBe(401);
      expect((await page.goto(`${base()}/pages/8`))?.status()).toBe(404);

      await loginAndWait(page);
      const res = await page.goto(`${base()}/pages/1`);
      expect(res?.status()).toBe(200);
      expect(await page.title()).toBe('Page 1');

      // Follow links breadth-first; every page 1..7 must be reachable.
      const seen = new Set<string>(['/pages/1']);
      const queue = ['/pages/1'];
      while (queue.length > 0) {
        const path = queue.shift()!;
        expect((await page.goto(base() + path))?.status()).toBe(200);
        const hrefs = await page.$$eval('a', (as) => as.map((a) => a.getAttribute('href') ?? ''));
        expect(hrefs.length).toBeLessThanOrEqual(3);
        for (const href of hrefs) {
          if (!seen.has(href)) {
            seen.add(href);
            queue.push(href);
          }
        }
      }
      expect([...seen].sort()).toEqual([1, 2, 3, 4, 5, 6, 7].map((n) => `/pages/${n}`));
    } finally {
      await context.close();
    }
  });

  it('logout clears the server session', async () => {
    const context = await newContext();
    try {
      const page = await context.newPage();
      await loginAndWait(page, 'dave');
      await page.goto(`${base()}/`);
      await Promise.all([page.waitForURL(`${base()}/`), page.click('#logout')]);
      expect(await page.textContent('#state')).toBe('Not logged in');
      expect((await readStatus(page)).cookie).toBe('no');
    } finally {
      await context.close();
    }
  });
});
