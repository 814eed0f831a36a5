/**
 * Encryption at rest as a store decorator: any store (file, memory, PostgreSQL) keeps sessions
 * with their browser state sealed (`src/crypto/encryption.ts`), while everything above sees plain
 * records. Summaries are never encrypted, so `list()` and cleanup work without the key.
 *
 * Which key opens a state and which key a write seals it with is the key policy's
 * (`src/crypto/key-policy.ts`): a write re-seals with the key of the stored version, and is
 * refused when that key is not at hand, so no write here ever moves a session to another key.
 */
import { policyFromKeys, type KeyPolicy, type KeyRing } from '../crypto/key-policy.js';
import { open, seal, type Key } from '../crypto/encryption.js';
import { isRaptorError } from '../core/errors.js';
import { parseRecordValue, type SessionRecord } from '../core/record.js';
import { hasNativeAcquire, hasNativeUpdate } from './capabilities.js';
import { createPoolLease, releaseOverLease } from './pool.js';
import type { AcquireOptions, NativeAcquire, NativeUpdate, PoolLease, PutOptions, SessionStore } from './types.js';

const EMPTY_STATE = { cookies: [], origins: [] };
/** A put that races another writer between reading the stored key id and writing is retried this often. */
const MAX_ATTEMPTS = 20;

export interface EncryptionOptions {
  /** Decides every key (`loadKeyPolicy`). Or `ring`, for a store wrapped by hand with known keys. */
  policy?: KeyPolicy;
  /** `current` seals new sessions, `all` open stored ones; used when `policy` is not given. */
  ring?: KeyRing;
  /** Seal new and plain sessions (encryption on). Sealed sessions stay sealed with their own key either way. */
  encryptWrites: boolean;
}

function policyOf(options: EncryptionOptions): KeyPolicy {
  return options.policy ?? policyFromKeys(options.ring?.current, options.ring?.all ?? []);
}

/**
 * The record as stored, over a stored version sealed with `storedKid` (`undefined`: none, or in
 * the clear). A sealed session is re-sealed with its own key; only a new or plain one with the
 * primary key, and only when encryption is on.
 */
export function sealRecord(record: SessionRecord, storedKid: string | undefined, options: EncryptionOptions): SessionRecord {
  if (storedKid === undefined && !options.encryptWrites) return plainRecord(record);
  return sealWith(record, policyOf(options).sealer(storedKid, record.name));
}

/** `record` (opened) with its state sealed with `key`. The key policy chooses `key`; only `rekey` passes another. */
export function sealWith(record: SessionRecord, key: Key): SessionRecord {
  const { encrypted: _previous, sessionStorage, identity, ...rest } = record;
  const sealed = { storageState: record.storageState, ...(sessionStorage ? { sessionStorage } : {}), ...(identity ? { identity } : {}) };
  return { ...rest, storageState: EMPTY_STATE, encrypted: seal(sealed, key) };
}

/** `record` (opened) stored in the clear. */
export function plainRecord(record: SessionRecord): SessionRecord {
  const { encrypted: _previous, ...rest } = record;
  return rest;
}

/** The record as callers see it: state opened. Plain records pass through. */
export function openRecord(record: SessionRecord, options: EncryptionOptions): SessionRecord {
  if (!record.encrypted) return record;
  const { encrypted, ...rest } = record;
  const state = open(encrypted, policyOf(options).opener(encrypted.kid, record.name), record.name);
  return parseRecordValue({
    ...rest,
    storageState: state.storageState,
    ...(state.sessionStorage ? { sessionStorage: state.sessionStorage } : {}),
    ...(state.identity ? { identity: state.identity } : {}),
  });
}

/**
 * Writes `record` sealed with the key of the version it replaces. The stored key id and the write
 * are tied by revision: if another writer (a rekey) changes the session in between, the put fails
 * with `REVISION_CONFLICT` and, unless the caller asked for a revision, is retried on the new version.
 */
export async function putSealed(store: SessionStore, record: SessionRecord, opts: PutOptions, options: EncryptionOptions): Promise<SessionRecord> {
  for (let attempt = 0; ; attempt++) {
    let stored: SessionRecord | undefined;
    try {
      stored = await store.get(record.name);
    } catch (error) {
      // An unreadable file holds no key id to keep; the store decides whether it may be replaced.
      if (!isRaptorError(error, 'INVALID_SESSION')) throw error;
      return store.put(sealRecord(record, undefined, options), opts);
    }
    const storedKid = stored?.encrypted?.kid;
    const sealed = sealRecord(record, storedKid, options);
    // Over a sealed version the write must land on exactly the version whose key it used; over a plain one a blind put stays blind.
    const expectedRevision = opts.expectedRevision ?? (storedKid === undefined ? undefined : stored!.revision);
    try {
      return await store.put(sealed, expectedRevision === undefined ? opts : { ...opts, expectedRevision });
    } catch (error) {
      if (!isRaptorError(error, 'REVISION_CONFLICT') || opts.expectedRevision !== undefined || attempt >= MAX_ATTEMPTS) throw error;
    }
  }
}

/**
 * `store` with every state sealed on the way in and opened on the way out. Only what carries a
 * state is wrapped: `get`, `put`, and the optional native `acquire` and `update` (whose results
 * and arguments are records). Everything else (list, delete, lease, watch, the maintenance
 * capability, …) is the store's own, delegated as it is, so a member added to a store needs no
 * line here. The generic pool and update (`pool.ts`, `update.ts`) run over the wrapped `get` and
 * `put`, so they seal and open without knowing of encryption.
 */
export function withEncryption<S extends SessionStore>(store: S, options: EncryptionOptions): S {
  const own: Partial<SessionStore & NativeAcquire & NativeUpdate> = {
    async get(name: string) {
      const record = await store.get(name);
      return record && openRecord(record, options);
    },
    async put(record: SessionRecord, opts: PutOptions = {}) {
      return openRecord(await putSealed(store, record, opts, options), options);
    },
  };
  if (hasNativeAcquire(store)) own.acquire = (opts) => acquireOpened(store, wrapped, opts, options);
  // The row-locked update opens what it read and seals what it writes, inside the store's transaction,
  // with the key that sealed what was read: only `raptor rekey` changes a session's key.
  if (hasNativeUpdate(store)) {
    own.update = async (name, change) =>
      openRecord(await store.update(name, async (current) => sealRecord(await change(openRecord(current, options)), current.encrypted?.kid, options)), options);
  }
  const wrapped = new Proxy(store, {
    get(target, property) {
      if (Object.hasOwn(own, property)) return own[property as keyof typeof own];
      const value: unknown = Reflect.get(target, property, target);
      return typeof value === 'function' ? value.bind(target) : value;
    },
  });
  return wrapped;
}

/** A native acquire's lease with its session opened; a release seals the new state with the key of what it replaces. */
async function acquireOpened(store: SessionStore & NativeAcquire, wrapped: SessionStore, opts: AcquireOptions, options: EncryptionOptions): Promise<PoolLease | undefined> {
  const lease = await store.acquire(opts);
  if (!lease) return undefined;
  let session: SessionRecord;
  try {
    session = openRecord(lease.session, options);
  } catch (error) {
    // This worker cannot use the session at all: hand it back at once, uncounted, instead of holding it for `leaseMs`.
    await lease.abandon();
    throw error;
  }
  const abandon = (): Promise<void> => lease.abandon();
  return createPoolLease(lease, session, {
    abandon,
    // The store's own fenced write, opening what it read and sealing what it writes with that
    // version's key, as the native update does.
    update: async (change) => openRecord(await lease.update(async (current) => sealRecord(await change(openRecord(current, options)), current.encrypted?.kid, options)), options),
    // Without a new state nothing needs the key: the store's own release counts the use. With one,
    // the generic release over the wrapped store validates it, proves the lease is still held,
    // and seals it with the key of what it replaces (or refuses, ending the lease uncounted).
    release: async (release) =>
      release.storageState === undefined && release.sessionStorage === undefined
        ? openRecord(await lease.release(release), options)
        : releaseOverLease(wrapped, lease, abandon, release),
  });
}
