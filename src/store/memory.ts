/**
 * `MemorySessionStore`: sessions in a Map, for tests and throw-away runs.
 * Records are kept serialized, so a caller can never mutate what is stored. Only valid records
 * get in, and nothing is left behind, so it needs no maintenance capability; the pool and
 * read-modify-write are the generic ones (`pool.ts`, `update.ts`).
 */
import { randomBytes } from 'node:crypto';
import { RaptorError } from '../core/errors.js';
import { assertValidName } from '../core/names.js';
import { parseRecordText, parseRecordValue, serializeRecord, toSummary, type SessionRecord, type SessionSummary } from '../core/record.js';
import { nextRevision } from './revision.js';
import { createLeaseHandle, leaseIsHeld, type LeaseState } from './lease.js';
import {
  matchesFilter,
  type HeldLease,
  type Lease,
  type LeaseListing,
  type LeaseOptions,
  type PutOptions,
  type SessionFilter,
  type SessionStore,
  type StoreEvent,
} from './types.js';

export function createMemoryStore(): MemorySessionStore {
  return new MemorySessionStore();
}

export class MemorySessionStore implements SessionStore, LeaseListing {
  readonly location = 'memory';
  private readonly sessions = new Map<string, string>();
  private readonly leases = new Map<string, LeaseState>();
  private readonly listeners = new Set<(event: StoreEvent) => void>();

  async get(name: string): Promise<SessionRecord | undefined> {
    assertValidName(name);
    const text = this.sessions.get(name);
    return text === undefined ? undefined : parseRecordText(text);
  }

  async put(record: SessionRecord, opts: PutOptions = {}): Promise<SessionRecord> {
    assertValidName(record.name);
    const checked = parseRecordValue(record);
    const existing = this.sessions.get(record.name);
    const current = existing === undefined ? 0 : parseRecordText(existing).revision;
    const stored = nextRevision(checked, current, opts);
    this.sessions.set(record.name, serializeRecord(stored));
    this.emit({ type: 'put', name: record.name, revision: stored.revision });
    return parseRecordText(this.sessions.get(record.name)!);
  }

  async delete(name: string): Promise<boolean> {
    assertValidName(name);
    this.leases.delete(name);
    const existed = this.sessions.delete(name);
    if (existed) this.emit({ type: 'delete', name });
    return existed;
  }

  async *list(filter?: SessionFilter): AsyncIterable<SessionSummary> {
    const now = Date.now();
    for (const text of [...this.sessions.values()]) {
      const summary = toSummary(parseRecordText(text), Buffer.byteLength(text), now);
      if (matchesFilter(summary, filter)) yield summary;
    }
  }

  async quarantine(name: string, reason: string): Promise<void> {
    if (this.sessions.delete(name)) this.emit({ type: 'quarantine', name, reason });
  }

  async lease(name: string, opts: LeaseOptions): Promise<Lease | undefined> {
    assertValidName(name);
    if (!this.sessions.has(name)) throw new RaptorError('NOT_FOUND', `No session \`${name}\` in memory to lease.`);
    const held = this.leases.get(name);
    if (held && leaseIsHeld(held)) return undefined;
    const state: LeaseState = {
      owner: opts.owner,
      token: randomBytes(8).toString('hex'),
      expiresAt: new Date(Date.now() + opts.ttlMs).toISOString(),
    };
    this.leases.set(name, state);
    return createLeaseHandle(name, state, opts.ttlMs, {
      replace: async (expected, next) => {
        if (this.leases.get(name)?.token !== expected.token) return false;
        if (next) this.leases.set(name, next);
        else this.leases.delete(name);
        return true;
      },
    });
  }

  async heldLeases(): Promise<HeldLease[]> {
    const now = Date.now();
    return [...this.leases]
      .filter(([name, state]) => this.sessions.has(name) && leaseIsHeld(state, now))
      .map(([name, { owner, expiresAt }]) => ({ name, owner, expiresAt }));
  }

  watch(onChange: (event: StoreEvent) => void): () => void {
    this.listeners.add(onChange);
    return () => this.listeners.delete(onChange);
  }

  async close(): Promise<void> {
    this.listeners.clear();
  }

  private emit(event: StoreEvent): void {
    for (const listener of this.listeners) listener(event);
  }
}
