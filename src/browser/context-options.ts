/**
 * A session's identity as Playwright context options. The identity's fields are named after
 * `BrowserContextOptions` (core/identity.ts), so an owned browser's context, a Playwright Test
 * context and a fleet worker's context all get it the same way: spread into `newContext()`.
 */
import type { BrowserContextOptions } from 'playwright-core';
import type { Identity } from '../core/identity.js';

/** `newContext()` options that give a context `identity` (none: `{}`). Options the caller gives win. */
export function identityContextOptions(identity: Identity | undefined, overrides: BrowserContextOptions = {}): BrowserContextOptions {
  if (!identity) return overrides;
  return { ...(identity as BrowserContextOptions), ...overrides };
}
