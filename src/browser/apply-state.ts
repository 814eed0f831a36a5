/**
 * Putting a saved state into a context that already exists: the default context of a kept-alive
 * browser, which lives in its profile and so cannot be created with `newContext({ storageState })`.
 *
 * Playwright 1.59 added `context.setStorageState()` (it clears what the context held and sets
 * cookies, localStorage, IndexedDB, and in later versions OPFS and passkeys). The peer range starts
 * at 1.57, so without it raptor sets cookies and localStorage itself; a state that also holds
 * IndexedDB, OPFS or passkeys cannot be put back that way, and is refused before anything
 * changes, rather than half restored: a browser missing part of the session would save that
 * loss back into the session on its next capture.
 */
import type { BrowserContext } from 'playwright-core';
import { RaptorError } from '../core/errors.js';
import type { StorageState } from '../core/record.js';
import { toPlaywrightState, type PlaywrightStorageState } from './launch.js';
import { visitOrigins } from './origin-visit.js';

type WithSetStorageState = { setStorageState?: (state: PlaywrightStorageState) => Promise<void> };

/** What of `state` only `setStorageState` can restore, for the message; empty when cookies and localStorage are all. */
function beyondCookiesAndLocalStorage(state: StorageState): string[] {
  const kinds = new Set<string>();
  for (const origin of state.origins as (StorageState['origins'][number] & { indexedDB?: unknown[]; opfs?: unknown[] })[]) {
    if (Array.isArray(origin.indexedDB) && origin.indexedDB.length > 0) kinds.add('IndexedDB');
    if (Array.isArray(origin.opfs) && origin.opfs.length > 0) kinds.add('OPFS');
  }
  const credentials = (state as { credentials?: unknown[] }).credentials;
  if (Array.isArray(credentials) && credentials.length > 0) kinds.add('passkeys');
  return [...kinds];
}

export async function applyState(context: BrowserContext, state: StorageState): Promise<void> {
  const set = (context as unknown as WithSetStorageState).setStorageState;
  if (typeof set === 'function') return set.call(context, toPlaywrightState(state));

  const missing = beyondCookiesAndLocalStorage(state);
  if (missing.length > 0) {
    throw new RaptorError(
      'BROWSER_FAILED',
      `This session holds ${missing.join(', ')}, which this playwright-core cannot put into a running (kept-alive) browser: \`context.setStorageState()\` came in Playwright 1.59. Nothing was changed. Upgrade playwright-core (\`npm i -D playwright-core@latest\`), or restore without keep-alive (a new context can be given the whole state).`,
    );
  }
  await context.clearCookies();
  if (state.cookies.length > 0) await context.addCookies(toPlaywrightState(state).cookies);
  const byOrigin = new Map(state.origins.map((o) => [o.origin, o.localStorage]));
  await visitOrigins(context, [...byOrigin.keys()], async (page, origin) => {
    // A string, not a function: transpilers inject helpers into functions that do not exist in the page.
    await page.evaluate(`((items) => { localStorage.clear(); for (const { name, value } of items) localStorage.setItem(name, value); })(${JSON.stringify(byOrigin.get(origin) ?? [])})`);
  });
}

interface SavedPasskey {
  id: string;
  rpId: string;
  userHandle: string;
  privateKey: string;
  publicKey: string;
  signCount: number;
}

type WithCredentials = { credentials?: { create(rpId: string, credential: Omit<SavedPasskey, 'rpId'>): Promise<unknown>; install(): Promise<void> } };

/**
 * Passkeys live in a virtual authenticator that belongs to the Playwright connection which
 * installed it: when that process disconnects from a kept-alive browser, the authenticator and
 * its passkeys are gone, although cookies and storage stay. So on every reattach the session's
 * passkeys are seeded again, at the signature counter saved with the session (saved back after
 * each use: a lower one would look like a cloned authenticator to the relying party).
 * Returns how many were put back; 0 when the session has none or Playwright cannot (before 1.62).
 */
export async function reinstallPasskeys(context: BrowserContext, state: StorageState): Promise<number> {
  const passkeys = (state as { credentials?: SavedPasskey[] }).credentials;
  const credentials = (context as unknown as WithCredentials).credentials;
  if (!Array.isArray(passkeys) || passkeys.length === 0 || !credentials) return 0;
  for (const { rpId, ...credential } of passkeys) await credentials.create(rpId, credential);
  await credentials.install();
  return passkeys.length;
}
