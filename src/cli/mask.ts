/**
 * Masking for `raptor show`: cookie values, localStorage / sessionStorage values and IndexedDB
 * record values are credentials. A masked value keeps only its length, never a prefix: the first
 * characters of a token are often what identifies (or half-leaks) it.
 */
import { redactUrl } from '../log.js';
import type { SessionRecord } from '../record.js';

export const MASK = '••••••';

/** `•••••• (40 chars)`: the length helps tell an empty value from a real one. */
export function maskValue(value: unknown): string {
  const length = typeof value === 'string' ? [...value].length : JSON.stringify(value ?? null).length;
  return `${MASK} (${length} ${length === 1 ? 'char' : 'chars'})`;
}

/**
 * The URL with its credentials (`user:pass@`, query values) replaced by `***`. A URL without
 * any is returned unchanged (`redactUrl` would also normalize it, e.g. add a trailing `/`).
 */
export function maskUrl(url: string): string {
  try {
    const parsed = new URL(url);
    if (!parsed.username && !parsed.password && parsed.search === '') return url;
  } catch {
    // unparseable: redactUrl refuses to echo it
  }
  return redactUrl(url);
}

/** A deep copy of `record` with every stored value masked and the CDP URL's credentials redacted. */
export function maskRecord(record: SessionRecord): SessionRecord {
  const copy = structuredClone(record);
  if (copy.cdpUrl !== undefined) copy.cdpUrl = maskUrl(copy.cdpUrl);
  for (const cookie of copy.storageState.cookies) cookie.value = maskValue(cookie.value);
  for (const origin of copy.storageState.origins) {
    for (const item of origin.localStorage) item.value = maskValue(item.value);
    maskIndexedDb((origin as Record<string, unknown>)['indexedDB']);
  }
  if (copy.sessionStorage) {
    for (const items of Object.values(copy.sessionStorage)) {
      for (const key of Object.keys(items)) items[key] = maskValue(items[key]);
    }
  }
  return copy;
}

/**
 * Playwright's `origins[].indexedDB`: `[{ name, version, stores: [{ name, records: [{ key, value,
 * valueEncoded, ... }] }] }]`. Walked defensively: the shape is Playwright's, not ours, and may grow.
 */
function maskIndexedDb(databases: unknown): void {
  if (!Array.isArray(databases)) return;
  for (const database of databases) {
    const stores = isObject(database) ? database['stores'] : undefined;
    if (!Array.isArray(stores)) continue;
    for (const store of stores) {
      const records = isObject(store) ? store['records'] : undefined;
      if (!Array.isArray(records)) continue;
      for (const item of records) {
        if (!isObject(item)) continue;
        for (const field of ['value', 'valueEncoded'] as const) {
          if (field in item) item[field] = maskValue(item[field]);
        }
      }
    }
  }
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
