/**
 * `npm run screenshots`: the dashboard's pages as the README and docs/dashboard.md show them,
 * made against the fixture site so they stay true. Everything lives in a temp RAPTOR_HOME:
 * a few saved sessions (one pool with leases held), a kept-alive browser logged in on the
 * fixture site, and a crawl running in this process while the crawls page is shot.
 * Writes docs/images/dashboard-<page>.png.
 */
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import { chromium, type Page } from 'playwright-core';
import { logIn } from '../fixtures/site/drive.js';
import { startFixtureSite } from '../fixtures/site/server.js';
import { chromiumArgs, findBrowser } from '../src/browser/find.js';
import { stopKeepAlive } from '../src/browser/keep-alive.js';
import { Crawl } from '../src/crawler/index.js';
import { silentLogger } from '../src/env/log.js';
import { profileDirFor } from '../src/env/paths.js';
import { SessionManager } from '../src/manager.js';
import { startDashboard } from '../src/ui/index.js';

const OUT = 'docs/images';
const home = await mkdtemp(join(tmpdir(), 'raptor-screenshots-'));
const env = { ...process.env, RAPTOR_HOME: home };
const site = await startFixtureSite({ pages: 400 });
const manager = await SessionManager.open({ env });
const { executablePath } = await findBrowser();
const viewer = await chromium.launch({ executablePath, args: chromiumArgs() });
const say = (text: string): void => console.error(`screenshots: ${text}`);
const cleanups: Array<() => Promise<unknown>> = [];

try {
  await mkdir(OUT, { recursive: true });
  say('a logged-in session with a kept-alive browser');
  const launched = await manager.launch('acme-admin');
  const tab = launched.context.pages()[0] ?? (await launched.context.newPage());
  await logIn(tab, site.url, 'alice');
  await manager.save('acme-admin', { context: launched.context }, { tags: ['admin'], ttl: '12h' });
  await tab.goto(`${site.url}/status`);
  await launched.close(); // detaches; the browser stays alive for the live view
  cleanups.push(() => stopKeepAlive(profileDirFor(manager.paths.profilesDir, 'acme-admin')));

  say('a pool of sessions, two of them leased');
  const state = (await manager.get('acme-admin')).storageState;
  for (let i = 1; i <= 6; i++) await manager.save(`pool-${i}`, { storageState: state }, { tags: ['pool'], ttl: `${i * 3}h` });
  for (const name of ['viewer', 'billing', 'support']) await manager.save(name, { storageState: state }, { tags: ['team'], ttl: '30d' });
  for (const owner of ['crawler-1:4711', 'crawler-2:4712']) {
    const lease = await manager.acquire({ tag: 'pool', leaseMs: 10 * 60_000, owner });
    if (lease) cleanups.push(() => lease.abandon());
  }

  say('a crawl, running');
  const crawlSession = await manager.launch('crawler-demo');
  await logIn(crawlSession.context.pages()[0] ?? (await crawlSession.context.newPage()), site.url, 'crawler');
  await manager.save('crawler-demo', { context: crawlSession.context }, { tags: ['crawler'] });
  await crawlSession.close();
  cleanups.push(() => stopKeepAlive(profileDirFor(manager.paths.profilesDir, 'crawler-demo')));
  const crawl = await Crawl.open({ session: 'crawler-demo', manager, seeds: [`${site.url}/pages/1`], concurrency: 2, heartbeatMs: 500 });
  const crawling = crawl.run(async ({ page, enqueue }) => {
    enqueue(await page.$$eval('a[href^="/pages/"]', (anchors) => anchors.map((a) => (a as HTMLAnchorElement).href)));
    await delay(60); // slow enough that the charts have a few seconds of history
  });
  cleanups.push(async () => {
    crawl.stop();
    await crawling.catch(() => undefined);
    await crawl.close();
  });

  const dashboard = await startDashboard({ manager, logger: silentLogger });
  cleanups.push(() => dashboard.close());
  const page = await (await viewer.newContext({ viewport: { width: 1280, height: 760 }, deviceScaleFactor: 1 })).newPage();
  await page.goto(dashboard.url);
  await shoot(page, 'sessions', '#/sessions', '#session-rows tr[data-name]');
  await shoot(page, 'session', `#/session/${encodeURIComponent('acme-admin')}`);
  await shoot(page, 'live', '#/live', undefined, 2500);
  await shoot(page, 'crawls', '#/crawls', undefined, 6000);
  await shoot(page, 'fleet', '#/fleet');
} finally {
  for (const cleanup of cleanups.reverse()) await cleanup().catch((error: unknown) => say(`cleanup: ${String(error)}`));
  await viewer.close();
  await manager.close();
  await site.close();
  await rm(home, { recursive: true, force: true });
}

/** Opens `hash`, waits for `selector` (or the page to settle), then `settleMs` for live parts, and shoots. */
async function shoot(page: Page, name: string, hash: string, selector?: string, settleMs = 1200): Promise<void> {
  await page.evaluate((h) => (location.hash = h), hash);
  if (selector) await page.waitForSelector(selector);
  await page.waitForLoadState('networkidle').catch(() => undefined);
  await delay(settleMs);
  const path = join(OUT, `dashboard-${name}.png`);
  await page.screenshot({ path, fullPage: true });
  say(`wrote ${path}`);
}
