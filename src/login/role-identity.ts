/**
 * A role's identity (`defineRole(name, { identity })`, `ensureSession(name, { identity })`) on
 * the contexts raptor opens for it: the login, every check, and (fixture style) every test.
 * The login is bound to it, so a saved session whose identity is not the role's is logged in
 * again instead of being handed to contexts that would look like another browser.
 */
import type { BrowserContextOptions } from '@playwright/test';
import { identityContextOptions } from '../browser/context-options.js';
import { RaptorError } from '../core/errors.js';
import { IDENTITY_FIELDS, parseIdentity, type Identity } from '../core/identity.js';
import type { SessionRecord } from '../core/record.js';

/** The role's identity, checked (`INVALID_INPUT` names the field); `{}` is none. */
export function roleIdentity(name: string, identity: Identity | undefined): Identity | undefined {
  if (identity === undefined) return undefined;
  const parsed = parseIdentity(identity, `role \`${name}\`: identity`);
  return Object.keys(parsed).length > 0 ? parsed : undefined;
}

/**
 * The options of the contexts that log in and check: `contextOptions` with the identity. A field
 * set in both to different values is refused: the login would run in one browser and the session
 * record another, and no rule of precedence would make that what the user meant.
 */
export function loginContextOptions(name: string, identity: Identity | undefined, contextOptions: BrowserContextOptions = {}): BrowserContextOptions {
  for (const field of IDENTITY_FIELDS) {
    const given = (contextOptions as Record<string, unknown>)[field];
    if (identity?.[field] === undefined || given === undefined || canonical(given) === canonical(identity[field])) continue;
    throw new RaptorError(
      'INVALID_INPUT',
      `Role \`${name}\` sets \`${field}\` in both \`identity\` and \`contextOptions\`, to different values. The login is bound to its identity: set \`${field}\` in \`identity\` only.`,
    );
  }
  return identityContextOptions(identity, contextOptions);
}

/** Why `record` was logged in as another browser than the role's identity says, or `undefined`. */
export function identityProblem(record: Pick<SessionRecord, 'identity'>, identity: Identity | undefined): string | undefined {
  if (sameIdentity(record.identity, identity)) return undefined;
  return 'the role’s identity differs from the one the saved session logged in with';
}

export function sameIdentity(a: Identity | undefined, b: Identity | undefined): boolean {
  return canonical(a ?? {}) === canonical(b ?? {});
}

/** JSON with sorted keys: two identities written in another key order are the same identity. */
function canonical(value: unknown): string {
  return JSON.stringify(value, (_key, v: unknown) =>
    v && typeof v === 'object' && !Array.isArray(v) ? Object.fromEntries(Object.entries(v).sort(([x], [y]) => (x < y ? -1 : 1))) : v,
  );
}
