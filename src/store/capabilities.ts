/**
 * The optional capabilities of a store (`types.ts`), found by type guard, and the generic
 * behaviour for a store that lacks one. Callers never test `'scan' in store` by hand.
 */
import type { ConnectionFeed, HeldLease, LeaseListing, NativeAcquire, NativeUpdate, ScanEntry, SessionStore, StoreMaintenance, SweepOptions, SweepResult } from './types.js';

export function hasMaintenance<S extends SessionStore>(store: S): store is S & StoreMaintenance {
  return typeof (store as Partial<StoreMaintenance>).scan === 'function' && typeof (store as Partial<StoreMaintenance>).sweep === 'function';
}

export function hasNativeAcquire<S extends SessionStore>(store: S): store is S & NativeAcquire {
  return typeof (store as Partial<NativeAcquire>).acquire === 'function';
}

export function hasNativeUpdate<S extends SessionStore>(store: S): store is S & NativeUpdate {
  return typeof (store as Partial<NativeUpdate>).update === 'function';
}

export function hasConnectionFeed<S extends SessionStore>(store: S): store is S & ConnectionFeed {
  return typeof (store as Partial<ConnectionFeed>).watchConnection === 'function';
}

export function hasLeaseListing<S extends SessionStore>(store: S): store is S & LeaseListing {
  return typeof (store as Partial<LeaseListing>).heldLeases === 'function';
}

/** The leases held now, in name order, without tokens; none for a store that cannot list them. */
export async function heldLeases(store: SessionStore): Promise<HeldLease[]> {
  if (!hasLeaseListing(store)) return [];
  const leases = await store.heldLeases();
  // Copied field by field: whatever else a backend's object carries (a token) never leaves here.
  return leases.map(({ name, owner, expiresAt }) => ({ name, owner, expiresAt })).sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
}

/** Every entry of `store`, valid or not. A store without maintenance holds only valid sessions: its list is the scan. */
export async function* scanStore(store: SessionStore): AsyncIterable<ScanEntry> {
  if (hasMaintenance(store)) {
    yield* store.scan();
    return;
  }
  for await (const summary of store.list()) yield { ok: true, key: summary.name, summary };
}

/** Quarantines an invalid entry `scanStore()` reported: by key where the store keys entries otherwise than by name. */
export async function quarantineScanned(store: SessionStore, entry: Extract<ScanEntry, { ok: false }>): Promise<void> {
  if (hasMaintenance(store) && store.quarantineEntry) return store.quarantineEntry(entry.key, entry.reason);
  return store.quarantine(entry.name ?? entry.key, entry.reason);
}

/** Sweeps what is not a session; a store without maintenance leaves nothing behind to sweep. */
export async function sweepStore(store: SessionStore, opts: SweepOptions): Promise<SweepResult> {
  return hasMaintenance(store) ? store.sweep(opts) : { tempFiles: 0, purgedQuarantine: 0 };
}
