/**
 * Encryption at rest as a store decorator: any store (file, memory, PostgreSQL) keeps sessions
 * with their browser state sealed (`src/encryption.ts`), while everything above sees plain
 * records. Summaries are never encrypted, so `list()` and cleanup work without the key.
 */
import { RaptorError } from '../errors.js';
import { open, seal, type KeyRing } from '../encryption.js';
import { parseRecordValue, type SessionRecord } from '../record.js';
import type { PoolLease, PutOptions, SessionStore, UpdateFn } from './types.js';

const EMPTY_STATE = { cookies: [], origins: [] };

export interface EncryptionOptions {
  ring: KeyRing;
  /** Seal what is written (encryption on); when false, writes are plain and reads still open sealed sessions. */
  encryptWrites: boolean;
}

/** The record as stored: state sealed with the ring's current key. */
export function sealRecord(record: SessionRecord, options: EncryptionOptions): SessionRecord {
  const { encrypted: _previous, sessionStorage, ...rest } = record;
  if (!options.encryptWrites) return record.encrypted ? { ...rest, ...(sessionStorage ? { sessionStorage } : {}) } : record;
  const key = options.ring.current;
  if (!key) {
    throw new RaptorError('ENCRYPTION_KEY', `Encryption is on but no key is set, so \`${record.name}\` cannot be saved. Set RAPTOR_KEY, or run \`raptor config set encryption on\` to create ~/.raptor/key.`);
  }
  return { ...rest, storageState: EMPTY_STATE, encrypted: seal({ storageState: record.storageState, ...(sessionStorage ? { sessionStorage } : {}) }, key) };
}

/** The record as callers see it: state opened. Plain records pass through. */
export function openRecord(record: SessionRecord, options: EncryptionOptions): SessionRecord {
  if (!record.encrypted) return record;
  const { encrypted, ...rest } = record;
  const state = open(encrypted, options.ring, record.name);
  return parseRecordValue({ ...rest, storageState: state.storageState, ...(state.sessionStorage ? { sessionStorage: state.sessionStorage } : {}) });
}

export function withEncryption(store: SessionStore, options: EncryptionOptions): SessionStore {
  return {
    location: store.location,
    delete: (name) => store.delete(name),
    list: (filter) => store.list(filter),
    scan: () => store.scan(),
    quarantine: (name, reason) => store.quarantine(name, reason),
    quarantineEntry: (key, reason) => store.quarantineEntry(key, reason),
    lease: (name, opts) => store.lease(name, opts),
    watch: (onChange) => store.watch(onChange),
    sweep: (opts) => store.sweep(opts),
    async get(name: string) {
      const record = await store.get(name);
      return record && openRecord(record, options);
    },
    async put(record: SessionRecord, opts?: PutOptions) {
      return openRecord(await store.put(sealRecord(record, options), opts), options);
    },
    async acquire(...args: Parameters<SessionStore['acquire']>) {
      const lease = await store.acquire(...args);
      if (!lease) return undefined;
      const sealedLease: PoolLease = {
        name: lease.name,
        owner: lease.owner,
        token: lease.token,
        get expiresAt() {
          return lease.expiresAt;
        },
        session: openRecord(lease.session, options),
        renew: (ms) => lease.renew(ms),
        async release(release) {
          if (release.storageState === undefined && release.sessionStorage === undefined) return openRecord(await lease.release(release), options);
          // Seal the new state while the lease is still held, then release without touching the state.
          const current = openRecord((await store.get(lease.name)) ?? lease.session, options);
          const next = { ...current, ...(release.storageState ? { storageState: release.storageState } : {}), ...(release.sessionStorage ? { sessionStorage: release.sessionStorage } : {}) };
          await store.put(sealRecord(next, options), { expectedRevision: current.revision });
          const { storageState: _s, sessionStorage: _ss, ...rest } = release;
          return openRecord(await lease.release(rest), options);
        },
      };
      return sealedLease;
    },
    // The optional fast paths, forwarded when the store has them: the row-locked update opens
    // what it read and seals what it writes, inside the store's transaction.
    ...(store.update
      ? {
          update: async (name: string, change: UpdateFn) =>
            openRecord(await store.update!(name, async (current) => sealRecord(await change(openRecord(current, options)), options)), options),
        }
      : {}),
    ...(store.watchConnection ? { watchConnection: store.watchConnection.bind(store) } : {}),
    close: () => store.close(),
  };
}
