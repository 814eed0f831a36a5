/**
 * A tab that was opening when the browser died must not hang raptor.
 *
 * The line to a kept-alive browser is cut (fixtures/cdp/cut-relay.ts) right after the browser
 * answered `Target.createTarget`, before the new tab attached: what a crawler sees when the
 * browser is killed while it opens its tabs. Playwright's own `newPage()` then never settles (the
 * control); raptor's `openTab` and the crawler's tab ledger reject at once, so the crawler
 * relaunches instead of running out of work (Node's exit code 13, found by CI in the
 * browser-kill test of crawler-crash).
 */
import { chromium, type Browser, type BrowserContext } from 'playwright-core';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { startCutRelay, type CutRelay } from '../fixtures/cdp/cut-relay.js';
import { probeCdp } from '../src/browser/connect.js';
import { launchKeepAlive, stopKeepAlive } from '../src/browser/keep-alive.js';
import { openTab } from '../src/browser/connection-bound.js';
import { TabLedger, readTabs } from '../src/crawler/tabs.js';
import { testBrowser } from './helpers/env.js';
import { createTempDir } from './helpers/temp-dir.js';

/** Long enough to show a hang on a loaded machine: a healthy answer takes milliseconds. */
const HANG_MS = 5000;

type Outcome = { settled: 'resolved' | 'rejected'; message?: string; afterMs: number } | { settled: 'pending' };

async function outcomeOf(work: Promise<unknown>, started: number): Promise<Outcome> {
  let timer: NodeJS.Timeout | undefined;
  const pending = new Promise<Outcome>((resolve) => (timer = setTimeout(() => resolve({ settled: 'pending' }), HANG_MS)));
  const settled = work.then(
    (): Outcome => ({ settled: 'resolved', afterMs: Date.now() - started }),
    (error: Error): Outcome => ({ settled: 'rejected', message: error.message, afterMs: Date.now() - started }),
  );
  return Promise.race([settled, pending]).finally(() => clearTimeout(timer));
}

describe('opening a tab while the line to the browser dies', () => {
  let home: Awaited<ReturnType<typeof createTempDir>>;
  let relay: CutRelay;
  let browser: Browser;
  let context: BrowserContext;

  beforeEach(async () => {
    home = await createTempDir('raptor-open-tab-');
    const kept = await launchKeepAlive({ profileDir: home.path, executablePath: testBrowser() });
    const probe = await probeCdp(kept.cdpUrl);
    if (!probe.alive) throw new Error(`the browser did not answer: ${probe.reason}`);
    relay = await startCutRelay(probe.webSocketDebuggerUrl);
    browser = await chromium.connectOverCDP(relay.wsUrl);
    context = browser.contexts()[0]!;
  });
  afterEach(async () => {
    await browser?.close().catch(() => undefined);
    await relay?.close();
    await stopKeepAlive(home.path);
    await home.remove();
  });

  it("control: Playwright's newPage() never settles once the line is cut after the tab was created", async () => {
    const cut = relay.cutAfter('Target.createTarget');
    const outcome = outcomeOf(context.newPage(), Date.now());
    await cut;
    expect(await outcome).toEqual({ settled: 'pending' });
    expect(browser.isConnected()).toBe(false);
  });

  it('openTab rejects as soon as the browser disconnects', async () => {
    const cut = relay.cutAfter('Target.createTarget');
    const started = Date.now();
    const outcome = outcomeOf(openTab(context), started);
    await cut;
    expect(await outcome).toMatchObject({ settled: 'rejected', message: 'The browser disconnected while a tab was opening.' });
  });

  it("the crawler's tab ledger rejects too, and records no tab", async () => {
    const ledger = new TabLedger(home.path, () => undefined);
    const cut = relay.cutAfter('Target.createTarget');
    const outcome = outcomeOf(ledger.open(context), Date.now());
    await cut;
    expect(await outcome).toMatchObject({ settled: 'rejected' });
    expect(readTabs(home.path)).toEqual([]);
  });

  it('opens tabs as before while the browser lives', async () => {
    const page = await openTab(context);
    expect(page.url()).toBe('about:blank');
    await page.close();
  });
});
