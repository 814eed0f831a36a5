/**
 * Storage fidelity: what a context holds comes back exactly after save -> relaunch, for every
 * kind of state and every cookie variant; Playwright's own state files import and export
 * byte for byte.
 */
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startFixtureSite, type FixtureSite } from '../fixtures/site/server.js';
import { launchBrowser } from '../src/browser/launch.js';
import type { Cookie } from '../src/core/record.js';
import { runCli } from './helpers/cli.js';
import { createRaptorEnv } from './helpers/env.js';

const byName = (a: { name: string }, b: { name: string }) => a.name.localeCompare(b.name);

/** Every cookie shape a test author meets: each sameSite, httpOnly, secure, session and partitioned. */
function cookieVariants(): Cookie[] {
  const base = { domain: 'localhost', path: '/', expires: Math.floor(Date.now() / 1000) + 3600, httpOnly: false, secure: false };
  return [
    { ...base, name: 'strict', value: 's', sameSite: 'Strict' },
    { ...base, name: 'lax', value: 'l', sameSite: 'Lax' },
    { ...base, name: 'none', value: 'n', sameSite: 'None', secure: true },
    { ...base, name: 'http-only', value: 'h', sameSite: 'Lax', httpOnly: true },
    { ...base, name: 'secure', value: 'sec', sameSite: 'Lax', secure: true },
    { ...base, name: 'session', value: 'per-tab', sameSite: 'Lax', expires: -1 },
    { ...base, name: 'sub-path', value: 'p', sameSite: 'Lax', path: '/app' },
    { ...base, name: 'dot-domain', value: 'd', sameSite: 'Lax', domain: '.localhost' },
    { ...base, name: 'partitioned', value: 'chips', sameSite: 'None', secure: true, partitionKey: 'https://top.example' },
    { ...base, name: 'unicode', value: 'caf%C3%A9%20%E2%9C%93', sameSite: 'Lax' },
  ] as Cookie[];
}

const SESSION_ITEMS = { plain: 'v', empty: '', unicode: '日本語 ✓ café', json: '{"a":[1,2,{"b":null}]}', 'key with spaces': 'x'.repeat(1000) };

/** Writes typed values into IndexedDB; returns a description the restored page must reproduce. */
const WRITE_IDB = `new Promise((resolve, reject) => {
  const open = indexedDB.open('typed', 2);
  open.onupgradeneeded = () => {
    open.result.createObjectStore('inline', { keyPath: 'id' });
    open.result.createObjectStore('auto', { autoIncrement: true }).createIndex('byKind', 'kind');
  };
  open.onerror = () => reject(open.error);
  open.onsuccess = () => {
    try {
    const tx = open.result.transaction(['inline', 'auto'], 'readwrite');
    tx.objectStore('inline').put({ id: 'v1', when: new Date(Date.UTC(2026, 10, 21, 10, 0, 0, 123)), big: 12345678901234567890n, nested: { list: [1, 'two', null, true, { deep: 3.5 }] }, neg: -0, inf: Infinity, nan: NaN, re: /ra[pt]+or/gi, bytes: new Uint8Array([0, 1, 254, 255]) });
    tx.objectStore('auto').put({ kind: 'a', n: 1 });
    tx.objectStore('auto').put({ kind: 'b', n: 2 });
    tx.oncomplete = () => resolve(true);
    tx.onerror = () => reject(tx.error);
    } catch (error) {
      reject(error);
    }
  };
})`;

const READ_IDB = `new Promise((resolve, reject) => {
  const open = indexedDB.open('typed');
  open.onerror = () => reject(open.error);
  open.onsuccess = () => {
    const db = open.result;
    const tx = db.transaction(['inline', 'auto'], 'readonly');
    const get = tx.objectStore('inline').get('v1');
    const all = tx.objectStore('auto').getAll();
    const keys = tx.objectStore('auto').getAllKeys();
    const indexes = [...tx.objectStore('auto').indexNames];
    tx.onerror = () => reject(tx.error);
    tx.oncomplete = () => {
      const v = get.result;
      resolve({
        version: db.version,
        stores: [...db.objectStoreNames],
        indexes,
        whenIsDate: v.when instanceof Date,
        when: v.when.toISOString(),
        big: typeof v.big === 'bigint' ? v.big.toString() : typeof v.big,
        nested: v.nested,
        negZero: Object.is(v.neg, -0),
        inf: v.inf === Infinity,
        nan: Number.isNaN(v.nan),
        re: v.re instanceof RegExp ? String(v.re) : typeof v.re,
        bytes: v.bytes instanceof Uint8Array ? [...v.bytes] : typeof v.bytes,
        auto: all.result,
        autoKeys: keys.result,
      });
    };
  };
})`;

describe('storage fidelity through save and relaunch', () => {
  let site: FixtureSite;
  let env: Awaited<ReturnType<typeof createRaptorEnv>>;
  let browser: Browser;
  let original: BrowserContext;
  let originalIdb: unknown;
  let localhost: string;

  beforeAll(async () => {
    site = await startFixtureSite();
    localhost = site.url.replace('127.0.0.1', 'localhost');
    env = await createRaptorEnv();
    browser = await launchBrowser('chromium');
    original = await browser.newContext();
    await original.addCookies(cookieVariants() as Parameters<BrowserContext['addCookies']>[0]);
    const page = await original.newPage();
    await page.goto(`${localhost}/`);
    await page.evaluate((items) => {
      for (const [k, v] of Object.entries(items)) sessionStorage.setItem(k, v);
      localStorage.setItem('local', 'L');
    }, SESSION_ITEMS);
    await page.evaluate(WRITE_IDB);
    originalIdb = await page.evaluate(READ_IDB);
    await env.manager.save('fidelity', { context: original });
  });

  afterAll(async () => {
    await browser?.close();
    await env?.dispose();
    await site?.close();
  });

  async function relaunched(): Promise<{ context: BrowserContext; page: Page; close(): Promise<void> }> {
    const restored = await env.manager.restore('fidelity');
    expect(restored.mode).toBe('relaunched');
    const page = await restored.context.newPage();
    await page.goto(`${localhost}/`);
    return { context: restored.context, page, close: restored.close };
  }

  it('brings back every cookie variant unchanged', async () => {
    const before = (await original.storageState()).cookies.sort(byName);
    expect(before.map((c) => c.name)).toEqual(cookieVariants().map((c) => c.name).sort());
    const after = await relaunched();
    try {
      expect((await after.context.storageState()).cookies.sort(byName)).toEqual(before);
    } finally {
      await after.close();
    }
  });

  it('brings back sessionStorage exactly, in a new tab of the same origin', async () => {
    const after = await relaunched();
    try {
      expect(await after.page.evaluate(() => ({ ...sessionStorage }))).toEqual(SESSION_ITEMS);
      expect(await after.page.evaluate(() => localStorage.getItem('local'))).toBe('L');
    } finally {
      await after.close();
    }
  });

  it('brings back IndexedDB with its typed values, stores, indexes and generated keys', async () => {
    expect(originalIdb).toMatchObject({ whenIsDate: true, big: '12345678901234567890', negZero: true, nan: true });
    const after = await relaunched();
    try {
      expect(await after.page.evaluate(READ_IDB)).toEqual(originalIdb);
    } finally {
      await after.close();
    }
  });

  it('imports a Playwright state file and exports it back byte for byte', async () => {
    const file = join(env.home, 'user.json');
    await original.storageState({ path: file, indexedDB: true });
    const imported = await runCli(['import', file, '--name', 'from-playwright', '--json'], { env: { RAPTOR_HOME: env.home } });
    expect(imported.code, imported.stderr).toBe(0);
    const out = join(env.home, 'back.json');
    const exported = await runCli(['export', 'from-playwright', '--format', 'playwright', '--out', out], { env: { RAPTOR_HOME: env.home } });
    expect(exported.code, exported.stderr).toBe(0);
    expect(await readFile(out, 'utf8')).toBe(await readFile(file, 'utf8'));
  });

  it('exports a state that Playwright itself loads into a new context', async () => {
    const out = join(env.home, 'for-playwright.json');
    const exported = await runCli(['export', 'fidelity', '--format', 'playwright', '--out', out], { env: { RAPTOR_HOME: env.home } });
    expect(exported.code, exported.stderr).toBe(0);
    const context = await browser.newContext({ storageState: out });
    try {
      expect((await context.storageState()).cookies.sort(byName)).toEqual((await original.storageState()).cookies.sort(byName));
    } finally {
      await context.close();
    }
    await writeFile(out, ''); // leave no credentials behind in the temp home before dispose
  });
});
