/**
 * Does a storage state show that a login happened? Without a `check`, this is all raptor can
 * ask before saving a login and before reusing one (issue 10: a wrong password saved
 * `{"cookies":[],"origins":[]}`, which every worker and every later run then reused).
 *
 * A blank context holds nothing, so evidence is anything beyond it: a cookie, a localStorage
 * item, an IndexedDB database, a sessionStorage item. When the role names its `authCookies`,
 * every one of them must be there. A site that sets cookies for anonymous visitors defeats the
 * first rule: such a role needs `authCookies` or, better, a `check`.
 */
import type { SessionStorageMap, StorageState } from '../core/record.js';

/** Why `state` does not show a login, or `undefined` when it does. */
export function missingLoginEvidence(state: StorageState, sessionStorage: SessionStorageMap | undefined, authCookies: string[] | undefined): string | undefined {
  if (authCookies && authCookies.length > 0) {
    const missing = authCookies.find((wanted) => !state.cookies.some((c) => c.name === wanted));
    return missing === undefined ? undefined : `auth cookie \`${missing}\` is missing`;
  }
  const stored = state.origins.some((o) => o.localStorage.length > 0 || (Array.isArray(o['indexedDB']) && o['indexedDB'].length > 0));
  const tabs = Object.values(sessionStorage ?? {}).some((items) => Object.keys(items).length > 0);
  if (state.cookies.length > 0 || stored || tabs) return undefined;
  return 'it holds no cookie, localStorage, IndexedDB or sessionStorage';
}
