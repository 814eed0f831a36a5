/**
 * The one contract every session store implements (DESIGN.md "Store interface").
 * `test/store-contract.ts` checks it against every backend. Nothing here knows Playwright.
 */
import type { SessionRecord, SessionStorageMap, SessionSummary, StorageState } from '../core/record.js';
import type { Json } from '../core/sanitize.js';

export interface SessionFilter {
  /** Only sessions carrying this tag. */
  tag?: string;
  /** Only expired (`true`) or only unexpired (`false`) sessions. */
  expired?: boolean;
  /** Only names starting with this prefix. */
  prefix?: string;
}

export interface PutOptions {
  /**
   * Fail with `REVISION_CONFLICT` unless the stored revision is exactly this
   * (`0` = the session must not exist yet). Omit to overwrite whatever is there.
   */
  expectedRevision?: number;
}

export interface LeaseOptions {
  ttlMs: number;
  /** Who holds the lease, e.g. `host:pid:worker-3`. */
  owner: string;
}

/** Exclusive use of one session until `expiresAt`, unless renewed. */
export interface Lease {
  name: string;
  owner: string;
  token: string;
  expiresAt: string;
  renew(ttlMs?: number): Promise<void>;
  release(): Promise<void>;
}

export interface AcquireOptions {
  /** Only sessions carrying this tag: the pool. Omit to draw from every session. */
  tag?: string;
  /** The lease lasts this long unless renewed; a worker that dies loses it after this. */
  leaseMs: number;
  /** Who holds the lease, e.g. `host:pid:worker-3`. */
  owner: string;
}

/**
 * How the use of a leased session went (Crawlee's session-pool semantics, see `pool.ts`):
 * `success` = `markGood()`, `error` = `markBad()`, `blocked` (401/403/429) = `retire()`.
 */
export type ReleaseOutcome = 'success' | 'error' | 'blocked';

export interface ReleaseOptions {
  outcome: ReleaseOutcome;
  /** The state the worker ends with (`context.storageState()`); omitted: the stored state is kept. */
  storageState?: StorageState;
  /** sessionStorage by origin; omitted: kept. */
  sessionStorage?: SessionStorageMap;
  /** Merged into the record's metadata (top-level keys replaced). The `pool` key is the store's own. */
  metadata?: Record<string, Json>;
}

/** Exclusive use of one session of a pool, handed out by `acquire()`. */
export interface PoolLease {
  readonly name: string;
  readonly owner: string;
  readonly token: string;
  /** When the lease ends unless renewed (ISO). */
  readonly expiresAt: string;
  /** The session as it was when it was handed out. */
  readonly session: SessionRecord;
  /** Extends the lease by `leaseMs` (default: the acquire's) from now. `LOCKED` when it was lost. */
  renew(leaseMs?: number): Promise<void>;
  /**
   * Writes the state back, counts the outcome, ends the lease; returns the stored record.
   * `LOCKED` (and nothing written) when the lease expired and another worker took the session.
   */
  release(options: ReleaseOptions): Promise<SessionRecord>;
  /**
   * Writes a change of the session under the lease, which stays held (a fleet worker's refresh:
   * `manager.refreshLease`). `change` gets the stored record and returns the next one; over a
   * concurrent plain write it is applied again on top of it (revision check), never over it.
   * `LOCKED` (and nothing written) when the lease was lost; what `change` throws is written nowhere.
   */
  update(change: UpdateFn): Promise<SessionRecord>;
  /**
   * Ends the lease without writing or counting a use: for a worker that cannot use the session at
   * all (e.g. its key cannot open it), so the session is free again at once, its accounting untouched.
   */
  abandon(): Promise<void>;
}

/** The change a read-modify-write makes: the current record in, the next one out (may be async). */
export type UpdateFn = (current: SessionRecord) => SessionRecord | Promise<SessionRecord>;

/** The change feed's connection (stores with a server): lost, then restored. Events in between are missed. */
export interface FeedConnectionChange {
  state: 'lost' | 'restored';
  /** For the person watching, e.g. "lost the connection to PostgreSQL, reconnecting…". */
  message: string;
}

export type StoreEvent =
  | { type: 'put'; name: string; revision: number }
  | { type: 'delete'; name: string }
  | { type: 'quarantine'; name: string; reason: string };

/**
 * DESIGN.md's eight members (and `location`). Everything generic is composed on top of them, not
 * re-implemented per backend: the pool's `acquire` (`pool.ts`), read-modify-write (`update.ts`),
 * encryption (`encrypting.ts`). What only some backends can do is an optional capability
 * (`capabilities.ts`), found with a type guard.
 */
export interface SessionStore {
  /** Where the sessions live, for messages: a directory, `memory`, a redacted database URL. */
  readonly location: string;
  /** The record, or `undefined`. Throws `INVALID_SESSION` when what is stored does not pass the schema. */
  get(name: string): Promise<SessionRecord | undefined>;
  /** Writes `record` as revision `stored + 1` and returns what was stored. */
  put(record: SessionRecord, opts?: PutOptions): Promise<SessionRecord>;
  delete(name: string): Promise<boolean>;
  /** Summaries without storage state. Invalid entries are skipped; `StoreMaintenance.scan()` reports them. */
  list(filter?: SessionFilter): AsyncIterable<SessionSummary>;
  /** Moves a session aside with a reason; it no longer counts as a session. */
  quarantine(name: string, reason: string): Promise<void>;
  /** Exclusive use of session `name` until the lease expires; `undefined` while another holds it, `NOT_FOUND` when absent. */
  lease(name: string, opts: LeaseOptions): Promise<Lease | undefined>;
  watch(onChange: (event: StoreEvent) => void): () => void;
  close(): Promise<void>;
}

/**
 * Optional capability: what cleanup, `stats` and `validate --all` need of a store that can hold
 * entries which are not sessions (a damaged file, a row written behind raptor's back) and
 * leftovers (temp files, old quarantine). A store without it holds only valid sessions.
 */
export interface StoreMaintenance {
  /** Every entry, valid or not. */
  scan(): AsyncIterable<ScanEntry>;
  /** Removes leftovers that are not sessions: stale temp files, old quarantine entries. */
  sweep(opts: SweepOptions): Promise<SweepResult>;
  /**
   * Quarantines an entry `scan()` reported as invalid, by its `key`. Only for stores whose keys are
   * not session names (the file store's are file names, and a damaged file may name no session);
   * elsewhere `quarantineScanned` uses `quarantine(name)`.
   */
  quarantineEntry?(key: string, reason: string): Promise<void>;
}

/**
 * Optional capability: a native `acquire` (PostgreSQL: one `FOR UPDATE SKIP LOCKED` statement)
 * that `acquire()` in `pool.ts` uses instead of its generic walk over `list` + `lease`.
 */
export interface NativeAcquire {
  acquire(opts: AcquireOptions): Promise<PoolLease | undefined>;
}

/**
 * Optional capability: read-modify-write of one session that never fails from contention
 * (PostgreSQL: the row lock). `updateSession()` falls back to `get` + `put` with
 * `expectedRevision` and retries when a store has none. `NOT_FOUND` when the session is absent;
 * an error thrown by `change` writes nothing and reaches the caller.
 */
export interface NativeUpdate {
  update(name: string, change: UpdateFn): Promise<SessionRecord>;
}

/** A lease someone holds now, as others may see it: never its token (the token is what lets the holder write). */
export interface HeldLease {
  name: string;
  owner: string;
  /** When the lease ends unless renewed (ISO). */
  expiresAt: string;
}

/** Optional capability: the leases held right now (unexpired), for a person watching the fleet. Never their tokens. */
export interface LeaseListing {
  heldLeases(): Promise<HeldLease[]>;
}

/** Optional capability: hears when the change feed of `watch()` loses and regains its connection. */
export interface ConnectionFeed {
  watchConnection(onChange: (change: FeedConnectionChange) => void): () => void;
}

export interface SweepOptions {
  /** Quarantined entries older than this are purged. */
  quarantineRetentionMs: number;
  dryRun?: boolean;
}

export interface SweepResult {
  tempFiles: number;
  purgedQuarantine: number;
}

/** One stored entry as `scan()` sees it: a valid summary, or why it is not one. */
export type ScanEntry =
  | { ok: true; summary: SessionSummary; key: string }
  | {
      ok: false;
      /** Store-specific key (file name for the file store, the name elsewhere) used to quarantine it. */
      key: string;
      /** The session name when it could be read. */
      name?: string;
      reason: string;
      /** Files written by a newer raptor are reported but never quarantined. */
      newerVersion?: boolean;
    };

export function matchesFilter(summary: SessionSummary, filter: SessionFilter = {}): boolean {
  if (filter.tag !== undefined && !summary.tags.includes(filter.tag)) return false;
  if (filter.expired !== undefined && summary.expired !== filter.expired) return false;
  if (filter.prefix !== undefined && !summary.name.startsWith(filter.prefix)) return false;
  return true;
}
