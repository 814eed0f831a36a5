/**
 * The crawler's tabs in the kept-alive browser, so that a killed crawler's tabs do not pile up.
 *
 * The browser outlives the crawler by design, and so do the tabs a SIGKILLed crawler had open
 * (4 per kill with 4 pages at a time). Each owner keeps the CDP target ids of the tabs it opened
 * in `tabs.json` (rewritten, fenced, whenever one opens or closes); the next owner closes the
 * ones still open before it starts. Only tabs the crawl itself opened are ever closed: a tab a
 * person opened in the same browser is not in the file.
 */
import { renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { BrowserContext, Page } from 'playwright-core';
import { httpBase } from '../browser/connect.js';
import type { BrowserCheck } from '../browser/identity.js';
import { isRaptorError } from '../core/errors.js';
import { readJsonFileSync } from '../fs/json-file.js';
import { openTab } from '../browser/connection-bound.js';

export const TABS_FILE = 'tabs.json';

/** What this owner has open; every change is written before the tab is used (or after it is closed). */
export class TabLedger {
  private readonly ids = new Map<Page, string>();

  constructor(
    private readonly dir: string,
    /** Throws when this owner lost the crawl (fence.ts). */
    private readonly check: () => void,
  ) {}

  /** Opens a tab in `context` and records it. */
  async open(context: BrowserContext): Promise<Page> {
    const page = await openTab(context);
    try {
      const id = await targetIdOf(context, page);
      this.ids.set(page, id);
      this.write();
    } catch (error) {
      await page.close().catch(() => undefined); // unrecorded, it would outlive us as a stray tab
      throw error;
    }
    return page;
  }

  async close(page: Page): Promise<void> {
    await page.close().catch(() => undefined); // the browser may be gone; nothing to close then
    if (this.ids.delete(page)) this.writeUnlessLost();
  }

  /** Forgets tabs of a browser that died (they died with it). */
  forgetAll(): void {
    this.ids.clear();
    this.writeUnlessLost();
  }

  private writeUnlessLost(): void {
    try {
      this.write();
    } catch (error) {
      // The new owner closes what is listed; an owner that lost the crawl must not write, and need not.
      if (!isRaptorError(error, 'OWNERSHIP_LOST')) throw error;
    }
  }

  private write(): void {
    this.check();
    const temp = join(this.dir, `.${TABS_FILE}.${process.pid}.tmp`);
    // No fsync: after a power loss the browser and its tabs are gone too.
    writeFileSync(temp, JSON.stringify([...this.ids.values()]), { mode: 0o600 });
    renameSync(temp, join(this.dir, TABS_FILE));
  }
}

export async function targetIdOf(context: BrowserContext, page: Page): Promise<string> {
  const cdp = await context.newCDPSession(page);
  try {
    const { targetInfo } = (await cdp.send('Target.getTargetInfo')) as { targetInfo: { targetId: string } };
    return targetInfo.targetId;
  } finally {
    await cdp.detach().catch(() => undefined); // the page may be closing; the id is what we came for
  }
}

export function readTabs(dir: string): string[] {
  const parsed = readJsonFileSync(join(dir, TABS_FILE));
  return Array.isArray(parsed) ? parsed.filter((id): id is string => typeof id === 'string' && /^[A-Za-z0-9]+$/.test(id)) : [];
}

/**
 * Closes the tabs a previous owner listed, in the browser at `cdpUrl`, and only when `check`
 * (`manager.checkSessionBrowser`) found it to be the browser the session recorded: the ids mean
 * nothing in another one. Returns how many closed.
 */
export async function closeStrayTabs(cdpUrl: string, check: BrowserCheck | undefined, ids: string[]): Promise<number> {
  if (ids.length === 0 || check?.status !== 'same') return 0;
  const base = httpBase(cdpUrl);
  let closed = 0;
  for (const id of ids) {
    const response = await fetch(`${base}/json/close/${id}`, { signal: AbortSignal.timeout(1500) }).catch(() => undefined);
    if (response?.ok) closed++; // 404: already gone
  }
  return closed;
}
