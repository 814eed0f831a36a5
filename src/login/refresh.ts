/**
 * A fleet worker's refresh: the worker holding the lease on a session it found logged out logs
 * it in again with the recipe and writes the fresh state under that lease, instead of retiring
 * the session.
 *
 * The lease is the single flight. The PostgreSQL store is shared by machines, and the login file
 * lock of `ensure.ts` is per machine (`RAPTOR_HOME`): across machines it is the lease that makes
 * "one worker logs this session in". So no lock is taken here; the write is the lease-fenced
 * `lease.update()`, which fails with `LOCKED` (nothing written) when the lease was lost during the
 * login, and applies the refresh on top of a concurrent plain write instead of over it.
 *
 * `maxRefreshes` bounds the logins a session that will not stay logged in can cost: refreshes
 * since its last successful use are counted in `metadata.pool.refreshesSinceSuccess` (a `success`
 * release resets it); once it reaches the limit the session is retired (`release({ outcome:
 * 'blocked' })`) as it was before refreshes existed. `metadata.pool.refreshes` and
 * `lastRefreshAt` count every refresh, for `raptor list` and the dashboard.
 */
import type { Browser } from 'playwright-core';
import type { Captured } from '../browser/capture.js';
import { parseDuration } from '../core/duration.js';
import type { SessionRecord } from '../core/record.js';
import type { Json } from '../core/sanitize.js';
import { savedRecord } from '../core/saved-record.js';
import { countRefresh, poolStats, withSession } from '../store/pool.js';
import type { PoolLease } from '../store/types.js';
import { verifiedLogin, type LoginOptions, type Recipe } from './ensure.js';
import { loginContextOptions, roleIdentity } from './role-identity.js';

/** Refreshes since a session's last successful use before it is retired instead. */
export const DEFAULT_MAX_REFRESHES = 3;

export interface RefreshOptions extends Pick<LoginOptions, 'loginTimeout' | 'contextOptions'> {
  /** Retire the session instead once it was refreshed this often since its last successful use. @default 3 */
  maxRefreshes?: number;
  /** Merged into the session's metadata by the refresh (the manager records a recipe file here). */
  metadata?: Record<string, Json>;
}

export type RefreshResult =
  /** Logged in again and written under the lease, which is still held: `lease.session` is the fresh record. */
  | { refreshed: true; lease: PoolLease }
  /** Past `maxRefreshes`: retired and released (the lease has ended); `session` is the retired record. */
  | { refreshed: false; retired: true; session: SessionRecord };

/**
 * Logs the leased session in again with `recipe` and stores the state under the lease. A login
 * that fails throws `LOGIN_FAILED` with nothing written and the lease still held (release it as
 * the caller sees fit); a lost lease throws `LOCKED`, before the login when it is already lost.
 */
export async function refreshLeased(lease: PoolLease, recipe: Recipe, options: RefreshOptions, getBrowser: () => Promise<Browser>): Promise<RefreshResult> {
  const maxRefreshes = options.maxRefreshes ?? DEFAULT_MAX_REFRESHES;
  if ((poolStats(lease.session.metadata).refreshesSinceSuccess ?? 0) >= maxRefreshes) {
    return { refreshed: false, retired: true, session: await lease.release({ outcome: 'blocked' }) };
  }
  const identity = roleIdentity(lease.name, recipe.identity);
  loginContextOptions(lease.name, identity, options.contextOptions); // a conflict fails before anything runs
  const maxAgeMs = recipe.maxAge === undefined ? undefined : parseDuration(recipe.maxAge, 'maxAge');
  // A lease already lost costs no login; one lost during the login anyway is caught by the fenced write.
  await lease.renew();
  const heartbeat = keepHeld(lease);
  let captured: Captured;
  try {
    captured = await verifiedLogin(
      { name: lease.name, options: { ...recipe, identity, ...(options.contextOptions ? { contextOptions: options.contextOptions } : {}) }, getBrowser },
      options.loginTimeout ?? 60_000,
    );
  } finally {
    await heartbeat.stop();
  }
  // Saved as a login saves it (`ensure.ts`), over the record as it is now, with the refresh counted.
  const stored = await lease.update((current) => {
    const now = new Date();
    return savedRecord(current.name, current, captured, {
      expiresAt: maxAgeMs === undefined ? null : new Date(now.getTime() + maxAgeMs),
      identity: identity ?? null,
      mergeMetadata: { ...options.metadata, pool: countRefresh(poolStats(current.metadata), now) as unknown as Json },
    }, now);
  });
  return { refreshed: true, lease: withSession(lease, stored) };
}

/**
 * Renews `lease` every third of its length while a login runs, so a login slower than the lease
 * (an SSO round trip, a loaded machine) does not lose it. A renewal that fails (the lease was
 * taken) stops the heartbeat; the fenced write then fails with `LOCKED`.
 */
function keepHeld(lease: PoolLease): { stop(): Promise<void> } {
  const periodMs = Math.max(50, (Date.parse(lease.expiresAt) - Date.now()) / 3);
  let stopped = false;
  let inFlight: Promise<void> = Promise.resolve();
  let timer: NodeJS.Timeout | undefined;
  const beat = (): void => {
    timer = setTimeout(() => {
      inFlight = lease.renew().then(
        () => void (stopped || beat()),
        () => undefined, // lost: nothing more to keep
      );
    }, periodMs);
  };
  beat();
  return {
    async stop() {
      stopped = true;
      clearTimeout(timer);
      await inFlight;
    },
  };
}
