/**
 * A session's identity as Playwright context options. The identity's fields are named after
 * `BrowserContextOptions` (core/identity.ts), so an owned browser's context, a Playwright Test
 * context and a fleet worker's context all get it the same way: spread into `newContext()`.
 */
import type { BrowserContextOptions } from 'playwright-core';
import type { Identity } from '../core/identity.js';
import { RaptorError } from '../core/errors.js';
import type { SessionRecord, StorageState } from '../core/record.js';

/** `newContext()` options that give a context `identity` (none: `{}`). Options the caller gives win. */
export function identityContextOptions(identity: Identity | undefined, overrides: BrowserContextOptions = {}): BrowserContextOptions {
  if (!identity) return overrides;
  return { ...(identity as BrowserContextOptions), ...overrides };
}

/**
 * `newContext()` options of a context that is `record`: its storage state and identity. For a
 * fleet worker's context from a lease (`lease.session`), a script's context from
 * `ensureSession()`, or any other browser than the one raptor restores. sessionStorage is not a
 * context option: add it with the session's init script when the site needs it.
 */
export function contextOptionsFor(record: Pick<SessionRecord, 'name' | 'storageState' | 'identity' | 'encrypted'>): BrowserContextOptions {
  if (record.encrypted) {
    throw new RaptorError('ENCRYPTION_KEY', `Session \`${record.name}\` is still sealed: read it through a manager or store opened with its key (RAPTOR_KEY or the key file).`);
  }
  return { ...identityContextOptions(record.identity), storageState: toPlaywrightState(record.storageState) };
}

/** Playwright's own storage state type. raptor's schema is looser (it keeps keys Playwright adds later). */
export type PlaywrightStorageState = Exclude<NonNullable<BrowserContextOptions['storageState']>, string>;

export function toPlaywrightState(state: StorageState): PlaywrightStorageState {
  return state as PlaywrightStorageState;
}
