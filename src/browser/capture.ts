/**
 * Capturing what a browser knows: Playwright's storage state (cookies, localStorage, IndexedDB)
 * plus what Playwright leaves out.
 *
 * - sessionStorage: Playwright never keeps it (microsoft/playwright#8874). raptor reads it from
 *   every open page, per origin.
 * - localStorage and IndexedDB of tabs that were open before `connectOverCDP`: Playwright only
 *   collects origins it saw navigate while attached (`addVisitedOrigin`), so `storageState()`
 *   returns `origins: []` for those tabs although they hold data. raptor reads the pages
 *   themselves, makes Playwright visit the origins it missed, and merges what is still missing.
 */
import type { BrowserContext, Page } from 'playwright-core';
import { withTimeout } from '../core/deadline.js';
import { RaptorError } from '../core/errors.js';
import type { SessionStorageMap, StorageState } from '../core/record.js';
import { visitOrigins } from './origin-visit.js';

export interface Captured {
  storageState: StorageState;
  sessionStorage: SessionStorageMap;
}

interface PageStorage {
  origin: string;
  local: Record<string, string>;
  session: Record<string, string>;
  indexedDB: boolean;
}

/** Reads both web storages of one page; `undefined` for pages without a real origin or that are gone. */
// A string, not a function: page.evaluate() serializes functions with their source, and
// transpilers (tsx, esbuild keepNames) inject helpers such as `__name` that do not exist in the page.
const READ_STORAGE_SCRIPT = `(async () => {
  const dump = (storage) => {
    const out = {};
    for (let i = 0; i < storage.length; i++) {
      const key = storage.key(i);
      if (key !== null) out[key] = storage.getItem(key) ?? '';
    }
    return out;
  };
  try {
    const databases = indexedDB.databases ? await indexedDB.databases() : [];
    return { origin: location.origin, local: dump(localStorage), session: dump(sessionStorage), indexedDB: databases.length > 0 };
  } catch {
    return undefined;
  }
})()`;

/** Reads both web storages of one page; `undefined` for pages without a real origin or that are gone. */
async function readPageStorage(page: Page, timeoutMs: number): Promise<PageStorage | undefined> {
  const read = page.evaluate(READ_STORAGE_SCRIPT) as Promise<PageStorage | undefined>;
  try {
    const result = await withTimeout(read, timeoutMs, () => undefined); // a hung page has nothing we can read
    return result && result.origin !== 'null' ? result : undefined;
  } catch {
    return undefined; // the page closed or crashed while we read it: it has nothing left to save
  }
}

export interface CaptureOptions {
  /** Per open page, for reading its web storage. @default 2000 */
  pageTimeoutMs?: number;
  /**
   * The whole capture. A browser that dies mid-capture fails at once; one that hangs (stopped,
   * frozen) fails after this long instead of hanging the caller. @default 5000
   */
  timeoutMs?: number;
}

/** Captures the full state of `context` (all its pages), or `BROWSER_UNREACHABLE` within `timeoutMs`. */
export async function captureContext(context: BrowserContext, options: CaptureOptions = {}): Promise<Captured> {
  const timeoutMs = options.timeoutMs ?? 5000;
  try {
    return await withTimeout(capture(context, options), timeoutMs, () => {
      throw new RaptorError('BROWSER_UNREACHABLE', `The browser did not hand over its state within ${timeoutMs} ms (is it frozen?). Nothing was saved.`);
    });
  } catch (error) {
    if (error instanceof RaptorError) throw error;
    throw new RaptorError('BROWSER_UNREACHABLE', `The browser went away while its state was being captured (${(error as Error).message.split('\n')[0]}). Nothing was saved.`, { cause: error });
  }
}

/**
 * Everything Playwright can carry: IndexedDB (1.51), passkeys with their private keys and
 * signature counters (`credentials`, 1.62) and the origin private file system (`opfs`, 1.63).
 * Older versions in the peer range ignore the options they do not know and capture the rest.
 */
const EVERYTHING = { indexedDB: true, opfs: true, credentials: true } as const;

async function capture(context: BrowserContext, options: CaptureOptions): Promise<Captured> {
  const [first, pages] = await Promise.all([
    context.storageState(EVERYTHING),
    Promise.all(context.pages().map((page) => readPageStorage(page, options.pageTimeoutMs ?? 2000))),
  ]);
  let state = first;
  const known = new Set(state.origins.map((o) => o.origin));
  const unseen = [...new Set(pages.filter((p) => p && !known.has(p.origin) && (p.indexedDB || Object.keys(p.local).length > 0)).map((p) => p!.origin))];
  if (unseen.length > 0) {
    await visitOrigins(context, unseen);
    // Playwright now knows those origins (their localStorage and IndexedDB are in the state).
    state = await context.storageState(EVERYTHING);
  }
  const storageState = JSON.parse(JSON.stringify(state)) as StorageState;
  const sessionStorage: SessionStorageMap = {};
  for (const page of pages) {
    if (!page) continue;
    if (Object.keys(page.session).length > 0) sessionStorage[page.origin] = { ...sessionStorage[page.origin], ...page.session };
    mergeLocalStorage(storageState, page.origin, page.local);
  }
  return { storageState, sessionStorage };
}

/** Adds keys Playwright did not report; what Playwright reported wins. */
function mergeLocalStorage(state: StorageState, origin: string, local: Record<string, string>): void {
  const names = Object.keys(local);
  if (names.length === 0) return;
  let entry = state.origins.find((o) => o.origin === origin);
  if (!entry) {
    entry = { origin, localStorage: [] };
    state.origins.push(entry);
  }
  const known = new Set(entry.localStorage.map((item) => item.name));
  for (const name of names) if (!known.has(name)) entry.localStorage.push({ name, value: local[name]! });
}
