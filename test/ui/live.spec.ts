/**
 * The live view, as a person at the dashboard uses it: a kept-alive headless browser shows a
 * tile whose picture follows its page, a take-over logs in through the picture (mouse and
 * keyboard forwarded over CDP), "Save session" captures it, and the saved session restores
 * logged in. Nobody watching → no screencast; the stream endpoints refuse a request without
 * the dashboard's cookie.
 */
import { mkdtemp, rm, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium, type Page } from '@playwright/test';
import { test, expect } from './dashboard.js';
import { startFixtureSite, type FixtureSite } from '../../fixtures/site/server.js';
import { readStatus } from '../../fixtures/site/drive.js';
import { testBrowser } from '../helpers/env.js';

let site: FixtureSite;
test.beforeAll(async () => {
  site = await startFixtureSite();
});
test.afterAll(async () => {
  await site?.close();
});

const NAME = 'live "<b>admin</b>" / ü';

async function frameOf(page: Page, selector: string): Promise<string> {
  await expect(page.locator(selector)).toHaveAttribute('src', /^data:image\/jpeg;base64,/, { timeout: 15_000 });
  return (await page.locator(selector).getAttribute('src'))!;
}

async function status(page: Page, origin: string): Promise<{ attached: number; screencasts: number }> {
  return (await (await page.request.get(`${origin}/api/live/status`)).json()) as { attached: number; screencasts: number };
}

test('a kept-alive browser shows a live tile whose picture follows its page', async ({ page, dashboard }) => {
  const launched = await dashboard.raptor(['launch', NAME, `${site.url}/login`, '--json']);
  expect(launched.code, launched.stderr).toBe(0);
  const { cdpUrl } = JSON.parse(launched.stdout) as { cdpUrl: string };
  await dashboard.open(page, '#/live');
  const tile = page.locator('.live-tile', { hasText: NAME });
  await expect(tile).toHaveCount(1, { timeout: 15_000 });

  // The page changes under one open stream: its tile follows, frame after frame.
  const owner = await chromium.connectOverCDP(cdpUrl);
  try {
    const tab = owner.contexts()[0]!.pages()[0]!;
    let shown = await frameOf(page, '.live-tile .live-frame');
    for (const path of ['/status', '/', '/login']) {
      await tab.goto(`${site.url}${path}`);
      await expect.poll(async () => page.locator('.live-tile .live-frame').getAttribute('src'), { timeout: 15_000 }).not.toBe(shown);
      shown = (await page.locator('.live-tile .live-frame').getAttribute('src'))!;
    }
  } finally {
    await owner.close(); // over CDP: disconnects, the kept-alive browser stays
  }

  // The large view and its address bar drive the same tab.
  await tile.click();
  await expect(page.locator('#live-address')).toHaveValue(`${site.url}/login`);
  const large = await frameOf(page, '#live-screen');
  await page.locator('#live-address').fill(`${site.url}/status`);
  await page.locator('#live-go').click();
  await expect.poll(async () => page.locator('#live-screen').getAttribute('src'), { timeout: 15_000 }).not.toBe(large);
  await page.goto(`${dashboard.origin}/#/live`);
  await expect(page.locator('.live-tile', { hasText: `${site.url}/status` })).toHaveCount(1, { timeout: 15_000 });
});

test('take-over logs in through the picture, save captures it, and it restores logged in', async ({ page, dashboard }) => {
  const launched = await dashboard.raptor(['launch', NAME, `${site.url}/login`]);
  expect(launched.code, launched.stderr).toBe(0);
  await dashboard.open(page, '#/live');
  await page.locator('.live-tile', { hasText: NAME }).click();
  await frameOf(page, '#live-screen');
  const screen = page.locator('#live-screen');
  const natural = await screen.evaluate((img: HTMLImageElement) => ({ width: img.naturalWidth, height: img.naturalHeight }));

  // Where the form's fields are in the remote tab: the same page at the same viewport, here.
  const probe = await page.context().newPage();
  await probe.setViewportSize(natural);
  await probe.goto(`${site.url}/login`);
  const boxes = { username: (await probe.locator('#username').boundingBox())!, password: (await probe.locator('#password').boundingBox())!, submit: (await probe.locator('#submit').boundingBox())! };
  await probe.close();

  const clickRemote = async (box: { x: number; y: number; width: number; height: number }) => {
    const shown = (await screen.boundingBox())!;
    const scale = shown.width / natural.width;
    await page.mouse.click(shown.x + (box.x + box.width / 2) * scale, shown.y + (box.y + box.height / 2) * (shown.height / natural.height));
  };
  await page.locator('#live-takeover').click();
  await expect(page.locator('#live-takeover')).toHaveAttribute('aria-pressed', 'true');
  await clickRemote(boxes.username);
  await page.keyboard.type('alice');
  await clickRemote(boxes.password);
  await page.keyboard.type('secret');
  await clickRemote(boxes.submit);
  await expect.poll(() => site.loginCount(), { timeout: 15_000 }).toBe(1);
  // The logged-in page is the remote tab's now (its title changed).
  await expect
    .poll(async () => {
      const { browsers } = (await (await page.request.get(`${dashboard.origin}/api/live/tabs`)).json()) as { browsers: Array<{ session: string; tabs: Array<{ title: string }> }> };
      return browsers.find((b) => b.session === NAME)?.tabs.map((t) => t.title);
    }, { timeout: 15_000 })
    .not.toContain('Log in');

  await page.locator('#live-save').click();
  await expect(page.locator('#live-revision')).toHaveText(/saved: revision \d+/, { timeout: 15_000 });

  const stopped = await dashboard.raptor(['stop', NAME]);
  expect(stopped.code, stopped.stderr).toBe(0);
  const dir = await mkdtemp(join(tmpdir(), 'raptor-live-'));
  const browser = await chromium.launch({ executablePath: testBrowser() });
  try {
    const file = join(dir, 'state.json');
    const exported = await dashboard.raptor(['export', NAME, '--format', 'playwright', '-o', file]);
    expect(exported.code, exported.stderr).toBe(0);
    const context = await browser.newContext({ storageState: JSON.parse(await readFile(file, 'utf8')) });
    const restored = await context.newPage();
    expect((await readStatus(restored, site.url)).user).toBe('alice');
  } finally {
    await browser.close();
    await rm(dir, { recursive: true, force: true });
  }
  expect(dashboard.stderr()).not.toContain('secret');
});

test('streams stop when nobody watches; the live endpoints refuse a request without the cookie', async ({ page, dashboard, playwright }) => {
  await dashboard.open(page, '#/live');
  await expect(page.locator('#live-count')).toContainText('No kept-alive browser');
  // Launched while the page is open: its tile appears by itself.
  const launched = await dashboard.raptor(['launch', NAME, `${site.url}/login`]);
  expect(launched.code, launched.stderr).toBe(0);
  await frameOf(page, '.live-tile .live-frame');
  expect(await status(page, dashboard.origin)).toEqual({ attached: 1, screencasts: 1 });
  const target = await page.locator('.live-tile').getAttribute('data-target');

  await page.goto(`${dashboard.origin}/#/sessions`);
  await expect.poll(() => status(page, dashboard.origin), { timeout: 10_000 }).toEqual({ attached: 0, screencasts: 0 });

  const stranger = await playwright.request.newContext();
  try {
    const query = new URLSearchParams({ session: NAME, target: target! });
    expect((await stranger.get(`${dashboard.origin}/api/live/frames?${query}`)).status()).toBe(401);
    expect((await stranger.get(`${dashboard.origin}/api/live/tabs`)).status()).toBe(401);
    const input = await stranger.post(`${dashboard.origin}/api/live/input?${query}`, { headers: { origin: dashboard.origin }, data: { kind: 'text', text: 'x' } });
    expect(input.status()).toBe(401);
  } finally {
    await stranger.dispose();
  }
});
