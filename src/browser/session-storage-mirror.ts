/**
 * sessionStorage as the page has it right now, reported by the page itself. sessionStorage dies
 * with its tab, and a person closing the last tab (or the window) leaves nothing to capture: a
 * capture taken a moment earlier may predate what the app wrote last (seen under load: a login
 * page wrote its tab token, the next capture ran only after the tab was gone). So every document
 * reports its origin's sessionStorage through a binding whenever it changes, on load and when
 * the page is hidden; the last report per origin is what the tabs held.
 */
import type { BrowserContext } from 'playwright-core';
import type { SessionStorageMap } from '../core/record.js';

const BINDING = '__raptorSessionStorage';

/** Runs in every document: reports after each write and on load / pagehide. */
function reportSessionStorage(binding: string): void {
  const send = (): void => {
    try {
      const items: Record<string, string> = {};
      for (let i = 0; i < sessionStorage.length; i++) {
        const key = sessionStorage.key(i);
        if (key !== null) items[key] = sessionStorage.getItem(key) ?? '';
      }
      const report = (window as unknown as Record<string, ((origin: string, items: string) => Promise<void>) | undefined>)[binding];
      void report?.(location.origin, JSON.stringify(items))?.catch(() => undefined);
    } catch {
      // opaque origins and sandboxed frames have no sessionStorage
    }
  };
  try {
    const proto = Storage.prototype as unknown as Record<string, (...args: unknown[]) => unknown>;
    for (const method of ['setItem', 'removeItem', 'clear']) {
      const original = proto[method]!;
      proto[method] = function (this: Storage, ...args: unknown[]) {
        const result = original.apply(this, args);
        if (this === window.sessionStorage) send();
        return result;
      };
    }
  } catch {
    // a frozen prototype: load and pagehide still report
  }
  addEventListener('load', send);
  addEventListener('pagehide', send);
}

/** Starts the reports in `context`; the function returns the latest report per origin (`{}` for one the app emptied). */
export async function mirrorSessionStorage(context: BrowserContext): Promise<() => SessionStorageMap> {
  const latest: SessionStorageMap = {};
  await context.exposeBinding(BINDING, (_source, origin: unknown, items: unknown) => {
    if (typeof origin !== 'string' || typeof items !== 'string' || origin === 'null') return;
    try {
      latest[origin] = JSON.parse(items) as Record<string, string>; // `{}` too: the app cleared it
    } catch {
      // not ours to fail on: a page that overwrote the binding sends what it likes
    }
  });
  await context.addInitScript(reportSessionStorage, BINDING);
  return () => structuredClone(latest);
}
