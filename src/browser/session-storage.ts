/**
 * Puts saved sessionStorage back. sessionStorage belongs to a tab, so it is restored by an
 * init script that runs in every new document: it fills the tab's sessionStorage for its
 * origin only while that tab's storage is still empty, so reloads keep what the app wrote.
 */
import type { BrowserContext } from 'playwright-core';
import type { SessionStorageMap } from '../core/record.js';

function restoreSessionStorage(saved: Record<string, Record<string, string>>): void {
  try {
    const items = saved[location.origin];
    if (!items || sessionStorage.length > 0) return;
    for (const key of Object.keys(items)) sessionStorage.setItem(key, items[key]!);
  } catch {
    // opaque origins and sandboxed frames have no sessionStorage; nothing to restore there
  }
}

/** Removes an init script again (what `addInitScript` returns from Playwright 1.56 on). */
export interface InitScriptHandle {
  dispose(): Promise<void>;
}

/**
 * Adds the restoring init script. Returns its handle where Playwright gives one (so a caller that
 * replaces the state, e.g. after a failed check, can drop the old script), else `undefined`.
 */
export async function addSessionStorage(context: BrowserContext, saved: SessionStorageMap | undefined): Promise<InitScriptHandle | undefined> {
  if (!saved || Object.keys(saved).length === 0) return undefined;
  const handle = (await context.addInitScript(restoreSessionStorage, saved)) as unknown;
  return handle && typeof (handle as InitScriptHandle).dispose === 'function' ? (handle as InitScriptHandle) : undefined;
}
