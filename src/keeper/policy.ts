/**
 * When `raptor keep` visits a session again. Two clocks, the earlier wins:
 *
 * - the round interval (`--every`, default 10 min): a server forgets an idle session, so a
 *   visit at least this often keeps it used;
 * - the session's own expiry: `expiresAt`, else the earliest expiring auth cookie (the recipe's
 *   `authCookies`), else the earliest expiring persistent cookie. A session expiring before the
 *   next round is visited when 80 % of the time left has passed, and never later than a minute
 *   before it expires. A visit that leaves it expiring within that minute (the server did not
 *   renew the cookie) cannot keep it: the keeper logs in again instead.
 *
 * A session whose refresh fails waits `every × 2^failures` (capped at an hour, or at `every`
 * when that is longer) before the next try; a success resets the count.
 */
import type { SessionRecord } from '../core/record.js';

/** A visit must leave the session usable for at least this long, or it is logged in again. */
export const EXPIRY_MARGIN_MS = 60_000;

/** Share of the time left to expiry after which a session expiring before the next round is visited. */
export const EXPIRY_SHARE = 0.8;

/** The longest a failing session waits between tries (unless `every` itself is longer). */
export const MAX_BACKOFF_MS = 3_600_000;

/** When the session stops being usable (ms since the epoch), as far as its record says; `undefined`: never. */
export function earliestExpiry(record: Pick<SessionRecord, 'expiresAt' | 'storageState'>, authCookies?: readonly string[]): number | undefined {
  const times: number[] = [];
  if (record.expiresAt) times.push(Date.parse(record.expiresAt));
  const cookies = record.storageState.cookies.filter((c) => c.expires !== -1 && (!authCookies || authCookies.includes(c.name)));
  times.push(...cookies.map((c) => c.expires * 1000));
  const valid = times.filter((t) => Number.isFinite(t));
  return valid.length > 0 ? Math.min(...valid) : undefined;
}

/** True when a session expiring at `expiry` is too close to it for a visit to keep it (see {@link EXPIRY_MARGIN_MS}). */
export function expiresTooSoon(expiry: number | undefined, now: number): boolean {
  return expiry !== undefined && expiry - now <= EXPIRY_MARGIN_MS;
}

/** When a session just refreshed is due again. */
export function nextRefresh(record: Pick<SessionRecord, 'expiresAt' | 'storageState'>, everyMs: number, authCookies: readonly string[] | undefined, now: number): number {
  const byRound = now + everyMs;
  const expiry = earliestExpiry(record, authCookies);
  if (expiry === undefined) return byRound;
  const left = expiry - now;
  const byExpiry = now + Math.max(0, Math.min(EXPIRY_SHARE * left, left - EXPIRY_MARGIN_MS));
  return Math.min(byRound, byExpiry);
}

/** How long a session that failed `failures` times in a row (≥ 1) waits before its next try. */
export function backoffMs(everyMs: number, failures: number): number {
  const cap = Math.max(MAX_BACKOFF_MS, everyMs);
  return Math.min(cap, everyMs * 2 ** Math.min(failures, 30));
}
