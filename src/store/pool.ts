/**
 * The session pool every store shares: which session may be handed out, and what a release
 * does to its usage and error accounting (Crawlee's `Session`: `usageCount`, `maxUsageCount`,
 * `errorScore`, `maxErrorScore`, `markGood` / `markBad` / `retire`).
 *
 * The accounting lives in the record, under `metadata.pool`, so it travels with the session
 * (export, import, any store). The PostgreSQL store mirrors it into columns for its queries.
 */
import { z } from 'zod';
import { RaptorError, isRaptorError } from '../core/errors.js';
import { isExpired, parseRecordValue, type SessionRecord, type SessionSummary } from '../core/record.js';
import type { Json } from '../core/sanitize.js';
import { hasNativeAcquire } from './capabilities.js';
import type { AcquireOptions, Lease, PoolLease, ReleaseOptions, SessionStore, UpdateFn } from './types.js';

/** Crawlee's defaults (`SessionOptions`). */
export const DEFAULT_MAX_USAGE_COUNT = 50;
export const DEFAULT_MAX_ERROR_SCORE = 3;
export const ERROR_SCORE_DECREMENT = 0.5;
/** The tag of a retired session, whoever retired it (the pool, or a crawl that was blocked). */
export const RETIRED_TAG = 'retired';

export type RetiredReason = 'usage' | 'errors' | 'blocked';

export interface PoolStats {
  usageCount: number;
  errorScore: number;
  maxUsageCount: number;
  maxErrorScore: number;
  retired?: boolean;
  retiredReason?: RetiredReason;
  retiredAt?: string;
  lastOutcome?: ReleaseOptions['outcome'];
  /** Logins its lease holders ran because it was logged out (`refreshLease`), over its whole life: what `list` and the dashboard show. */
  refreshes?: number;
  /** Refreshes since its last successful use: what `maxRefreshes` limits. A `success` release resets it. */
  refreshesSinceSuccess?: number;
  lastRefreshAt?: string;
}

// Metadata is the user's JSON: a missing or malformed field falls back to its default rather
// than making the session unusable.
const count = (fallback: number) => z.number().finite().nonnegative().catch(fallback);
const PoolStatsSchema = z.object({
  usageCount: count(0).default(0),
  errorScore: count(0).default(0),
  maxUsageCount: count(DEFAULT_MAX_USAGE_COUNT).default(DEFAULT_MAX_USAGE_COUNT),
  maxErrorScore: count(DEFAULT_MAX_ERROR_SCORE).default(DEFAULT_MAX_ERROR_SCORE),
  retired: z.boolean().optional().catch(undefined),
  retiredReason: z.enum(['usage', 'errors', 'blocked']).optional().catch(undefined),
  retiredAt: z.string().optional().catch(undefined),
  lastOutcome: z.enum(['success', 'error', 'blocked']).optional().catch(undefined),
  refreshes: count(0).optional(),
  refreshesSinceSuccess: count(0).optional(),
  lastRefreshAt: z.string().optional().catch(undefined),
});

/** The pool accounting of a session (defaults when it was never leased). */
export function poolStats(metadata: Record<string, Json>): PoolStats {
  const raw = metadata['pool'];
  const parsed = PoolStatsSchema.safeParse(raw !== null && typeof raw === 'object' && !Array.isArray(raw) ? raw : {});
  return dropUndefined(parsed.success ? parsed.data : PoolStatsSchema.parse({}));
}

/** Retired sessions stay stored for a person to inspect, but are never handed out again. */
export function isRetired(session: Pick<SessionSummary, 'tags' | 'metadata'>): boolean {
  return session.tags.includes(RETIRED_TAG) || poolStats(session.metadata).retired === true;
}

/** Whether `acquire()` may hand this session out (leases aside): not expired, not retired. */
export function isAvailable(session: Pick<SessionSummary, 'expiresAt' | 'tags' | 'metadata'>, now = Date.now()): boolean {
  return !isExpired(session.expiresAt, now) && !isRetired(session);
}

/** Crawlee's accounting for one use, and retirement once the session is no longer usable. */
export function countOutcome(stats: PoolStats, outcome: ReleaseOptions['outcome'], now = new Date()): PoolStats {
  const next: PoolStats = { ...stats, usageCount: stats.usageCount + 1, lastOutcome: outcome };
  if (outcome === 'success') {
    next.errorScore = Math.max(0, stats.errorScore - ERROR_SCORE_DECREMENT); // markGood
    if (next.refreshesSinceSuccess) next.refreshesSinceSuccess = 0; // the refreshed login worked
  }
  else if (outcome === 'error') next.errorScore = stats.errorScore + 1; // markBad
  else next.errorScore = stats.errorScore + stats.maxErrorScore; // retire(): 401/403/429
  if (!next.retired) {
    const reason: RetiredReason | undefined =
      next.errorScore >= next.maxErrorScore ? (outcome === 'blocked' ? 'blocked' : 'errors') : next.usageCount >= next.maxUsageCount ? 'usage' : undefined;
    if (reason) Object.assign(next, { retired: true, retiredReason: reason, retiredAt: now.toISOString() });
  }
  return next;
}

/** The record a release writes: state back, metadata merged, the outcome counted. Validated. */
export function applyRelease(current: SessionRecord, options: ReleaseOptions, now = new Date()): SessionRecord {
  const metadata: Record<string, Json> = { ...current.metadata, ...options.metadata };
  const stats = countOutcome(poolStats(current.metadata), options.outcome, now);
  metadata['pool'] = stats as unknown as Json;
  const next: SessionRecord = { ...current, metadata, lastAccessedAt: now.toISOString() };
  if (stats.retired && !next.tags.includes(RETIRED_TAG)) next.tags = [...next.tags, RETIRED_TAG]; // `raptor list --tag retired` finds it
  if (options.storageState) next.storageState = options.storageState;
  if (options.sessionStorage) {
    if (Object.keys(options.sessionStorage).length > 0) next.sessionStorage = options.sessionStorage;
    else delete next.sessionStorage;
  }
  return parseRecordValue(next);
}

export function leaseLost(name: string, owner: string): RaptorError {
  return new RaptorError(
    'LOCKED',
    `The lease on \`${name}\` held by \`${owner}\` was lost (it expired and another worker took the session); nothing was written. Renew leases well before \`leaseMs\` runs out.`,
  );
}

/** The pool accounting of one refresh of a session by its lease holder (`login/refresh.ts`). */
export function countRefresh(stats: PoolStats, now = new Date()): PoolStats {
  return { ...stats, refreshes: (stats.refreshes ?? 0) + 1, refreshesSinceSuccess: (stats.refreshesSinceSuccess ?? 0) + 1, lastRefreshAt: now.toISOString() };
}

/** A release or lease-fenced write that keeps meeting concurrent plain writes gives up after this many tries. */
const MAX_RELEASE_ATTEMPTS = 50;

/**
 * Hands a free session of the pool to this caller only: unexpired, not retired, not leased.
 * `undefined` when none is free. Shares its lease with `store.lease(name)`.
 *
 * A store with a native acquire (PostgreSQL's `FOR UPDATE SKIP LOCKED`) does it in one statement;
 * for every other store this is the generic way over `list` + `lease` + `get` + `put`: try the
 * free sessions in random order (so concurrent workers rarely contend for the same one) until a
 * lease is won.
 */
export async function acquire(store: SessionStore, opts: AcquireOptions): Promise<PoolLease | undefined> {
  if (hasNativeAcquire(store)) return store.acquire(opts);
  const candidates: string[] = [];
  for await (const summary of store.list(opts.tag === undefined ? { expired: false } : { tag: opts.tag, expired: false })) {
    if (isAvailable(summary)) candidates.push(summary.name);
  }
  shuffle(candidates);
  for (const name of candidates) {
    let lease: Lease | undefined;
    try {
      lease = await store.lease(name, { ttlMs: opts.leaseMs, owner: opts.owner });
    } catch (error) {
      if (isRaptorError(error, 'NOT_FOUND')) continue; // deleted since it was listed
      throw error;
    }
    if (!lease) continue;
    let session: SessionRecord | undefined;
    try {
      // Read under the lease: the listing may be stale (retired or expired meanwhile).
      session = await store.get(name);
    } catch (error) {
      // This worker cannot use the session (e.g. its key cannot open it): free it at once, uncounted, instead of holding it for `leaseMs`.
      await lease.release();
      throw error;
    }
    if (!session || !isAvailable(session)) {
      await lease.release();
      continue;
    }
    const held = lease;
    const abandon = (): Promise<void> => held.release();
    return createPoolLease(held, session, {
      release: (options) => releaseOverLease(store, held, abandon, options),
      update: (change) => writeOverLease(store, held, change),
      abandon,
    });
  }
  return undefined;
}

/**
 * A release over the plain contract: the renewal proves the lease is still this worker's (and
 * keeps it so through the write), `expectedRevision` keeps a concurrent plain save from being
 * overwritten (the release is then counted again on top of it), and only then the lease ends.
 */
export async function releaseOverLease(store: SessionStore, lease: HeldLease, end: () => Promise<void>, options: ReleaseOptions): Promise<SessionRecord> {
  let stored: SessionRecord;
  try {
    stored = await writeOverLease(store, lease, (current) => applyRelease(current, options), 'release'); // an invalid state throws: nothing written, the lease kept
  } catch (error) {
    if (isRaptorError(error, 'ENCRYPTION_KEY')) throw await keyRefused(lease.name, end, error);
    throw error;
  }
  await end();
  return stored;
}

/**
 * A write under the lease over the plain contract, the lease kept: the same fence as a release
 * (renew, then `put` with `expectedRevision`, `change` applied again on top of a concurrent write).
 */
export async function writeOverLease(store: SessionStore, lease: HeldLease, change: UpdateFn, what = 'write'): Promise<SessionRecord> {
  for (let attempt = 0; attempt < MAX_RELEASE_ATTEMPTS; attempt++) {
    try {
      await lease.renew();
    } catch (error) {
      if (isRaptorError(error, 'LOCKED')) throw leaseLost(lease.name, lease.owner);
      throw error;
    }
    try {
      const current = await store.get(lease.name);
      if (!current) throw leaseLost(lease.name, lease.owner); // deleted: the lease went with it
      return await store.put(sameSession(lease.name, await change(current)), { expectedRevision: current.revision });
    } catch (error) {
      if (isRaptorError(error, 'REVISION_CONFLICT')) continue;
      throw error;
    }
  }
  throw new RaptorError('REVISION_CONFLICT', `Session \`${lease.name}\` kept changing under ${MAX_RELEASE_ATTEMPTS} attempts to ${what} it. Retry the ${what}.`);
}

/**
 * Not written: this worker's key cannot open what it would overwrite (e.g. a rekey ran meanwhile).
 * The lease ends uncounted, so a worker with the right key can take the session at once.
 */
async function keyRefused(name: string, end: () => Promise<void>, error: RaptorError): Promise<RaptorError> {
  await end();
  return new RaptorError('ENCRYPTION_KEY', `${error.message} The lease on \`${name}\` was ended, so a worker with the right key can take it.`, { cause: error });
}

/** The held lease a `PoolLease` is built on: a store's `Lease`, or another `PoolLease` (the encrypting wrapper's). */
export type HeldLease = Pick<Lease, 'name' | 'owner' | 'token' | 'expiresAt' | 'renew'>;

/** The one builder of `PoolLease`s: the lease's identity and renewal, with the store's own release and abandon. */
export function createPoolLease(
  lease: HeldLease,
  session: SessionRecord,
  ends: { release(options: ReleaseOptions): Promise<SessionRecord>; update(change: UpdateFn): Promise<SessionRecord>; abandon(): Promise<void> },
): PoolLease {
  return {
    name: lease.name,
    owner: lease.owner,
    token: lease.token,
    get expiresAt() {
      return lease.expiresAt;
    },
    session,
    renew: (leaseMs) => lease.renew(leaseMs),
    release: (options) => ends.release(options),
    update: (change) => ends.update(change),
    abandon: () => ends.abandon(),
  };
}

/** The same lease, seen with `session` (e.g. what a lease-fenced write just stored). */
export function withSession(lease: PoolLease, session: SessionRecord): PoolLease {
  return createPoolLease(lease, session, { release: (options) => lease.release(options), update: (change) => lease.update(change), abandon: () => lease.abandon() });
}

/** `next`, unless a change under the lease of `name` returned another session: a lease fences one session only. */
export function sameSession(name: string, next: SessionRecord): SessionRecord {
  if (next.name !== name) {
    throw new RaptorError('INVALID_INPUT', `A write under the lease on \`${name}\` returned session \`${next.name}\`; it cannot rename or write another session. Nothing was written.`);
  }
  return next;
}

function shuffle<T>(items: T[]): void {
  for (let i = items.length - 1; i > 0; i--) {
    const j = Math.floor(Math.random() * (i + 1));
    [items[i], items[j]] = [items[j]!, items[i]!];
  }
}

function dropUndefined<T extends object>(value: T): T {
  for (const key of Object.keys(value) as (keyof T)[]) if (value[key] === undefined) delete value[key];
  return value;
}
