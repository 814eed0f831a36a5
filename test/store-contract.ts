/**
 * The store contract (DESIGN.md "Store interface"). Every backend runs this one suite;
 * a backend's own test file only says how to create a fresh, empty store.
 */
import { randomUUID } from 'node:crypto';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { isRaptorError } from '../src/core/errors.js';
import { newRecord, type SessionRecord } from '../src/core/record.js';
import { hasConnectionFeed, hasLeaseListing, heldLeases, hasMaintenance, hasNativeAcquire, hasNativeUpdate, quarantineScanned, scanStore, sweepStore } from '../src/store/capabilities.js';
import { acquire } from '../src/store/pool.js';
import { updateSession } from '../src/store/update.js';
import type { FeedConnectionChange, ScanEntry, SessionStore, StoreEvent } from '../src/store/types.js';

export interface ContractContext {
  create(): Promise<SessionStore>;
  destroy?(store: SessionStore): Promise<void>;
  /** The optional capabilities the backend declares; the suite checks the type guards find exactly these. */
  capabilities: { maintenance: boolean; nativeAcquire: boolean; nativeUpdate: boolean; connectionFeed: boolean; leaseListing: boolean };
  /** Maintenance: damages stored session `name` behind the store's back (a torn file, a bad row). */
  damage?(store: SessionStore, name: string): Promise<void>;
  /** Maintenance: makes every quarantined entry older than the retention, and leaves this many stale temp files for `sweep`. */
  ageLeftovers?(store: SessionStore): Promise<number>;
  /** Connection feed: cuts the change feed's connection (the feed must report it lost, then restored). */
  breakFeed?(store: SessionStore): Promise<void>;
}

const state = (token: string) => ({
  cookies: [
    { name: 'sid', value: token, domain: '127.0.0.1', path: '/', expires: -1, httpOnly: true, secure: false, sameSite: 'Lax' as const },
  ],
  origins: [{ origin: 'http://127.0.0.1:1', localStorage: [{ name: 'token', value: token }] }],
});

export function runStoreContract(backend: string, context: ContractContext): void {
  describe(`${backend} store contract`, () => {
    let store: SessionStore;
    const unique = (base: string) => `${base}-${randomUUID().slice(0, 8)}`;
    const record = (name: string, extra: Partial<SessionRecord> = {}) => newRecord(name, state(`tok-${name}`), extra);

    beforeEach(async () => {
      store = await context.create();
    });
    afterEach(async () => {
      await context.destroy?.(store);
      await store.close();
    });

    it('returns undefined for a session that was never saved', async () => {
      expect(await store.get(unique('missing'))).toBeUndefined();
    });

    it('stores a record and gives back exactly what was stored, at revision 1', async () => {
      const name = unique('acme-admin');
      const stored = await store.put(record(name, { tags: ['admin'], metadata: { plan: 'pro', n: [1, 2] } }));
      expect(stored.revision).toBe(1);
      const read = await store.get(name);
      expect(read).toEqual(stored);
      expect(read?.storageState.cookies[0]?.value).toBe(`tok-${name}`);
    });

    it('keeps names that need hashing (spaces, case, unicode) apart', async () => {
      const names = [unique('Acme Admin'), unique('acme admin'), unique('ACME/admin'), unique('café'), unique('cafe\u0301')];
      for (const name of names) await store.put(record(name));
      for (const name of names) expect((await store.get(name))?.name).toBe(name);
      const listed = new Set<string>();
      for await (const s of store.list()) listed.add(s.name);
      for (const name of names) expect(listed.has(name)).toBe(true);
    });

    it('keeps a session’s identity, and leaves it out of summaries', async () => {
      const name = unique('idn');
      const identity = { userAgent: 'RaptorTest/1.0', viewport: { width: 1280, height: 720 }, extraHTTPHeaders: { 'X-Team': 'blue' } };
      await store.put(record(name, { identity }));
      expect((await store.get(name))!.identity).toEqual(identity);
      for await (const summary of store.list({ prefix: name })) expect(summary).not.toHaveProperty('identity');
    });

    it('increments the revision on every write', async () => {
      const name = unique('rev');
      await store.put(record(name));
      const second = await store.put(record(name));
      expect(second.revision).toBe(2);
      expect((await store.get(name))?.revision).toBe(2);
    });

    it('rejects a write with a stale expectedRevision as REVISION_CONFLICT and keeps the newer data', async () => {
      const name = unique('conflict');
      const first = await store.put(record(name, { metadata: { who: 'a' } }));
      await store.put({ ...first, metadata: { who: 'b' } }, { expectedRevision: 1 });
      const error = await store.put({ ...first, metadata: { who: 'c' } }, { expectedRevision: 1 }).catch((e) => e);
      expect(isRaptorError(error, 'REVISION_CONFLICT')).toBe(true);
      expect((await store.get(name))?.metadata).toEqual({ who: 'b' });
    });

    it('treats expectedRevision 0 as "must not exist yet"', async () => {
      const name = unique('create-only');
      await store.put(record(name), { expectedRevision: 0 });
      const error = await store.put(record(name), { expectedRevision: 0 }).catch((e) => e);
      expect(isRaptorError(error, 'REVISION_CONFLICT')).toBe(true);
    });

    it('serializes concurrent read-modify-write updates without losing one', async () => {
      const name = unique('counter');
      await store.put(record(name, { metadata: { count: 0 } }));
      const bump = async (): Promise<void> => {
        for (;;) {
          const current = (await store.get(name))!;
          try {
            await store.put({ ...current, metadata: { count: (current.metadata['count'] as number) + 1 } }, { expectedRevision: current.revision });
            return;
          } catch (error) {
            if (!isRaptorError(error, 'REVISION_CONFLICT')) throw error;
          }
        }
      };
      await Promise.all(Array.from({ length: 20 }, bump));
      const final = (await store.get(name))!;
      expect(final.metadata['count']).toBe(20);
      expect(final.revision).toBe(21);
    });

    it('rejects invalid names with INVALID_NAME', async () => {
      for (const bad of ['', 'a\nb', 'x'.repeat(201), 'nul\u0000byte']) {
        const error = await store.get(bad).catch((e) => e);
        expect(isRaptorError(error, 'INVALID_NAME'), JSON.stringify(bad)).toBe(true);
      }
    });

    it('refuses a record that is not plain JSON and stores nothing', async () => {
      const name = unique('not-json');
      const bad = record(name, { metadata: { when: new Date() as unknown as string } });
      const error = await store.put(bad).catch((e) => e);
      expect(isRaptorError(error, 'INVALID_SESSION')).toBe(true);
      expect(await store.get(name)).toBeUndefined();
    });

    it('drops prototype-polluting keys from metadata', async () => {
      const name = unique('proto');
      const metadata = JSON.parse('{"__proto__": {"polluted": true}, "ok": 1}');
      await store.put(record(name, { metadata }));
      const read = await store.get(name);
      expect(read?.metadata).toEqual({ ok: 1 });
      expect(({} as Record<string, unknown>)['polluted']).toBeUndefined();
    });

    it('deletes a session and reports whether it existed', async () => {
      const name = unique('gone');
      await store.put(record(name));
      expect(await store.delete(name)).toBe(true);
      expect(await store.get(name)).toBeUndefined();
      expect(await store.delete(name)).toBe(false);
    });

    it('lists summaries without storage state, filtered by tag, prefix and expiry', async () => {
      const prefix = unique('list');
      await store.put(record(`${prefix}-a`, { tags: ['admin'] }));
      await store.put(record(`${prefix}-b`, { tags: ['viewer'] }));
      await store.put(record(`${prefix}-old`, { tags: ['admin'], expiresAt: new Date(Date.now() - 1000).toISOString() }));
      const names = async (filter: Parameters<SessionStore['list']>[0]) => {
        const out: string[] = [];
        for await (const s of store.list(filter)) {
          expect(s).not.toHaveProperty('storageState');
          out.push(s.name);
        }
        return out.sort();
      };
      expect(await names({ prefix })).toEqual([`${prefix}-a`, `${prefix}-b`, `${prefix}-old`]);
      expect(await names({ prefix, tag: 'admin' })).toEqual([`${prefix}-a`, `${prefix}-old`]);
      expect(await names({ prefix, expired: true })).toEqual([`${prefix}-old`]);
      expect(await names({ prefix, expired: false })).toEqual([`${prefix}-a`, `${prefix}-b`]);
    });

    it('keeps unknown top-level keys from a newer writer on rewrite', async () => {
      const name = unique('future');
      const withExtra = { ...record(name), futureField: { keep: 'me' } } as SessionRecord;
      const stored = await store.put(withExtra);
      const again = await store.put({ ...stored, tags: ['x'] });
      expect((again as Record<string, unknown>)['futureField']).toEqual({ keep: 'me' });
      expect(((await store.get(name)) as Record<string, unknown>)['futureField']).toEqual({ keep: 'me' });
    });

    it('quarantines a session: it is no longer listed or readable', async () => {
      const name = unique('bad');
      await store.put(record(name));
      await store.quarantine(name, 'test says so');
      expect(await store.get(name)).toBeUndefined();
      for await (const s of store.list()) expect(s.name).not.toBe(name);
    });

    it('leases a session to one owner at a time until released or expired', async () => {
      const name = unique('lease');
      await store.put(record(name));
      const first = await store.lease(name, { ttlMs: 60_000, owner: 'worker-1' });
      expect(first?.owner).toBe('worker-1');
      expect(await store.lease(name, { ttlMs: 60_000, owner: 'worker-2' })).toBeUndefined();
      await first!.release();
      const second = await store.lease(name, { ttlMs: 50, owner: 'worker-2' });
      expect(second).toBeDefined();
      await new Promise((r) => setTimeout(r, 80));
      const third = await store.lease(name, { ttlMs: 60_000, owner: 'worker-3' });
      expect(third?.owner).toBe('worker-3');
      await expect(second!.renew()).rejects.toMatchObject({ code: 'LOCKED' });
      await third!.release();
    });

    it('lists the leases held now with owner and expiry, never their tokens, until released, expired or deleted', async () => {
      const [a, b, c] = [unique('held-a'), unique('held-b'), unique('held-c')];
      for (const name of [a, b, c]) await store.put(record(name, { tags: ['pool-held'] }));
      const mine = (leases: Awaited<ReturnType<typeof heldLeases>>) => leases.filter((l) => [a, b, c].includes(l.name));
      expect(mine(await heldLeases(store))).toEqual([]);
      const first = await store.lease(a, { ttlMs: 60_000, owner: 'worker-1' });
      const pooled = await acquire(store, { tag: 'pool-held', leaseMs: 60_000, owner: 'worker-2' });
      const short = await store.lease(pooled!.name === b ? c : b, { ttlMs: 200, owner: 'worker-3' });
      const listed = mine(await heldLeases(store));
      expect(listed.map((l) => [l.name, l.owner])).toEqual(
        [[a, 'worker-1'], [pooled!.name, 'worker-2'], [short!.name, 'worker-3']].sort((x, y) => (x[0]! < y[0]! ? -1 : 1)),
      );
      for (const l of listed) {
        expect(Object.keys(l).sort()).toEqual(['expiresAt', 'name', 'owner']);
        expect(Math.abs(Date.parse(l.expiresAt) - Date.parse((l.name === a ? first! : l.name === pooled!.name ? pooled! : short!).expiresAt))).toBeLessThan(1000);
      }
      const text = JSON.stringify(hasLeaseListing(store) ? await store.heldLeases() : []);
      for (const token of [first!.token, pooled!.token, short!.token]) expect(text).not.toContain(token);
      await first!.release();
      await pooled!.release({ outcome: 'success' });
      await new Promise((r) => setTimeout(r, 300));
      expect(mine(await heldLeases(store))).toEqual([]);
      const again = await store.lease(a, { ttlMs: 60_000, owner: 'worker-4' });
      expect(mine(await heldLeases(store)).map((l) => l.owner)).toEqual(['worker-4']);
      await store.delete(a);
      expect(mine(await heldLeases(store))).toEqual([]);
      await again!.release();
    });

    it('refuses to lease a session that does not exist', async () => {
      await expect(store.lease(unique('nope'), { ttlMs: 1000, owner: 'w' })).rejects.toMatchObject({ code: 'NOT_FOUND' });
    });

    describe('pool leases (acquire / renew / release)', () => {
      const owner = (n: number) => `worker-${n}`;
      const pool = async (tag: string, count: number, extra: Partial<SessionRecord> = {}) => {
        const names = Array.from({ length: count }, (_, i) => `${tag}-${i}`);
        for (const name of names) await store.put(record(name, { tags: [tag], ...extra }));
        return names;
      };

      it('hands each free session to exactly one of many concurrent acquirers', async () => {
        const tag = unique('pool');
        const names = await pool(tag, 3);
        const leases = await Promise.all(Array.from({ length: 8 }, (_, i) => acquire(store, { tag, leaseMs: 60_000, owner: owner(i) })));
        const won = leases.filter((l) => l !== undefined);
        expect(won.map((l) => l.name).sort()).toEqual(names);
        expect(new Set(won.map((l) => l.owner)).size).toBe(3);
        for (const lease of won) expect(lease.session.storageState.cookies[0]?.value).toBe(`tok-${lease.name}`);
        expect(await acquire(store, { tag, leaseMs: 60_000, owner: owner(9) })).toBeUndefined();
      });

      it('hands out only unexpired, unretired, unleased sessions of the asked pool', async () => {
        const tag = unique('pool');
        await store.put(record(`${tag}-expired`, { tags: [tag], expiresAt: new Date(Date.now() - 1000).toISOString() }));
        await store.put(record(`${tag}-retired`, { tags: [tag], metadata: { pool: { usageCount: 50, errorScore: 0, maxUsageCount: 50, maxErrorScore: 3, retired: true } } }));
        await store.put(record(`${tag}-named`, { tags: [tag] }));
        await store.put(record(`${tag}-blocked-crawl`, { tags: [tag, 'retired'] })); // retired by a crawl that was blocked
        await store.put(record(unique('other-pool'), { tags: ['other'] }));
        const named = await store.lease(`${tag}-named`, { ttlMs: 60_000, owner: 'by-name' });
        expect(named).toBeDefined();
        expect(await acquire(store, { tag, leaseMs: 60_000, owner: owner(1) })).toBeUndefined();
        await store.put(record(`${tag}-good`, { tags: [tag] }));
        const lease = await acquire(store, { tag, leaseMs: 60_000, owner: owner(1) });
        expect(lease?.name).toBe(`${tag}-good`);
        // ...and a pool lease blocks a lease by name, too: it is one lease
        expect(await store.lease(`${tag}-good`, { ttlMs: 60_000, owner: 'by-name' })).toBeUndefined();
      });

      it('writes the state back on release, bumps the revision, counts the use and frees the session', async () => {
        const tag = unique('pool');
        const [name] = await pool(tag, 1);
        const lease = (await acquire(store, { tag, leaseMs: 60_000, owner: owner(1) }))!;
        expect(lease.session.revision).toBe(1);
        const released = await lease.release({ outcome: 'success', storageState: state('rotated'), metadata: { crawled: 7 } });
        expect(released.revision).toBe(2);
        const stored = (await store.get(name!))!;
        expect(stored).toEqual(released);
        expect(stored.storageState.cookies[0]?.value).toBe('rotated');
        expect(stored.metadata['crawled']).toBe(7);
        expect(stored.metadata['pool']).toMatchObject({ usageCount: 1, errorScore: 0, lastOutcome: 'success' });
        const again = await acquire(store, { tag, leaseMs: 60_000, owner: owner(2) });
        expect(again?.session.storageState.cookies[0]?.value).toBe('rotated');
        await again!.release({ outcome: 'success' });
        expect((await store.get(name!))!.storageState.cookies[0]?.value).toBe('rotated'); // no state given: kept
        await expect(lease.release({ outcome: 'success' })).rejects.toMatchObject({ code: 'LOCKED' }); // already released
      });

      it('hands the session out with its identity and keeps the identity through a release', async () => {
        const tag = unique('pool');
        const identity = { userAgent: 'FleetWorker/1.0', locale: 'de-DE', timezoneId: 'Europe/Berlin', proxy: { server: 'http://127.0.0.1:3128', username: 'u', password: 'proxy-pw' } };
        const [name] = await pool(tag, 1, { identity });
        const lease = (await acquire(store, { tag, leaseMs: 60_000, owner: owner(1) }))!;
        expect(lease.session.identity).toEqual(identity); // a worker's context can match the session
        await lease.release({ outcome: 'success', storageState: state('rotated') });
        expect((await store.get(name!))!.identity).toEqual(identity);
      });

      it('counts a release on top of a save that happened during the lease', async () => {
        const tag = unique('pool');
        const [name] = await pool(tag, 1);
        const lease = (await acquire(store, { tag, leaseMs: 60_000, owner: owner(1) }))!;
        const current = (await store.get(name!))!;
        await store.put({ ...current, metadata: { ...current.metadata, note: 'edited meanwhile' } });
        const released = await lease.release({ outcome: 'error' });
        expect(released.revision).toBe(3);
        expect(released.metadata['note']).toBe('edited meanwhile');
        expect(released.metadata['pool']).toMatchObject({ usageCount: 1, errorScore: 1 });
      });

      it('reclaims a session whose lease expired; the late holder can neither renew nor write back', async () => {
        const tag = unique('pool');
        const [name] = await pool(tag, 1);
        // Long enough that a loaded machine cannot let it lapse before the second acquire below.
        const crashed = (await acquire(store, { tag, leaseMs: 3000, owner: owner(1) }))!;
        expect(await acquire(store, { tag, leaseMs: 60_000, owner: owner(2) })).toBeUndefined();
        await sleepPast(crashed.expiresAt);
        const taker = await acquire(store, { tag, leaseMs: 60_000, owner: owner(2) });
        expect(taker?.name).toBe(name);
        await expect(crashed.renew()).rejects.toMatchObject({ code: 'LOCKED' });
        await expect(crashed.release({ outcome: 'success', storageState: state('stale') })).rejects.toMatchObject({ code: 'LOCKED' });
        expect((await store.get(name!))!.storageState.cookies[0]?.value).toBe(`tok-${name}`);
        await taker!.renew(60_000);
        await taker!.release({ outcome: 'success' });
      });

      it('writes under the lease, which stays held, on top of a concurrent save; a lost lease writes nothing (LOCKED)', async () => {
        const tag = unique('pool');
        const [name] = await pool(tag, 1);
        const lease = (await acquire(store, { tag, leaseMs: 3000, owner: owner(1) }))!;
        let calls = 0;
        const refreshed = await lease.update(async (record) => {
          // A plain writer gets in between this write's read and its put: the write must land on top of it, not over it.
          if (calls++ === 0) await store.put({ ...record, metadata: { ...record.metadata, note: 'edited meanwhile' } });
          return { ...record, storageState: state('fresh'), metadata: { ...record.metadata, refreshedBy: owner(1) } };
        });
        expect(calls).toBe(2);
        expect(refreshed).toMatchObject({ revision: 3, metadata: { note: 'edited meanwhile', refreshedBy: owner(1) } });
        expect((await store.get(name!))!.storageState.cookies[0]?.value).toBe('fresh');
        expect(await acquire(store, { tag, leaseMs: 60_000, owner: owner(2) })).toBeUndefined(); // still held
        await expect(lease.update((record) => ({ ...record, name: `${name}-other` }))).rejects.toMatchObject({ code: 'INVALID_INPUT' });

        // The lease lapses and another worker takes the session: the late holder's write is refused.
        await sleepPast(lease.expiresAt);
        const taker = (await acquire(store, { tag, leaseMs: 60_000, owner: owner(2) }))!;
        expect(taker.name).toBe(name);
        await expect(lease.update((record) => ({ ...record, storageState: state('stale') }))).rejects.toMatchObject({ code: 'LOCKED' });
        const after = (await store.get(name!))!;
        expect({ revision: after.revision, cookie: after.storageState.cookies[0]?.value }).toEqual({ revision: 3, cookie: 'fresh' });
        // ...and the taker's lease is untouched: it writes and releases.
        expect((await taker.update((record) => ({ ...record, storageState: state('taker') }))).revision).toBe(4);
        expect((await taker.release({ outcome: 'success' })).storageState.cookies[0]?.value).toBe('taker');
      });

      it('renewing keeps a lease past its first expiry', async () => {
        const tag = unique('pool');
        await pool(tag, 1);
        const lease = (await acquire(store, { tag, leaseMs: 300, owner: owner(1) }))!;
        const firstExpiry = lease.expiresAt;
        // Renewed for a minute, so no stall of a busy machine can let it lapse: the check below
        // then depends only on renew() having moved the expiry, not on timing.
        await lease.renew(60_000);
        expect(Date.parse(lease.expiresAt)).toBeGreaterThan(Date.parse(firstExpiry));
        await sleepPast(firstExpiry);
        expect(await acquire(store, { tag, leaseMs: 60_000, owner: owner(2) })).toBeUndefined();
        await lease.release({ outcome: 'success' });
      });

      it('retires a session after maxUsageCount uses, keeps it stored, and never hands it out again', async () => {
        const tag = unique('pool');
        const [name] = await pool(tag, 1, { metadata: { pool: { maxUsageCount: 2 } } });
        for (let i = 0; i < 2; i++) await (await acquire(store, { tag, leaseMs: 60_000, owner: owner(i) }))!.release({ outcome: 'success' });
        expect(await acquire(store, { tag, leaseMs: 60_000, owner: owner(3) })).toBeUndefined();
        const retired = (await store.get(name!))!;
        expect(retired.metadata['pool']).toMatchObject({ usageCount: 2, maxUsageCount: 2, retired: true, retiredReason: 'usage' });
        expect(retired.tags).toEqual([tag, 'retired']);
      });

      it('retires a blocked session at once and an erroring one after maxErrorScore; success heals the score', async () => {
        const tag = unique('pool');
        const [blocked] = await pool(`${tag}-b`, 1);
        await (await acquire(store, { tag: `${tag}-b`, leaseMs: 60_000, owner: owner(1) }))!.release({ outcome: 'blocked' });
        expect((await store.get(blocked!))!.metadata['pool']).toMatchObject({ errorScore: 3, retired: true, retiredReason: 'blocked' });
        expect(await acquire(store, { tag: `${tag}-b`, leaseMs: 60_000, owner: owner(1) })).toBeUndefined();

        const [flaky] = await pool(`${tag}-e`, 1);
        const use = async (outcome: 'success' | 'error') =>
          (await acquire(store, { tag: `${tag}-e`, leaseMs: 60_000, owner: owner(2) }))!.release({ outcome });
        await use('error');
        await use('error');
        expect((await use('success')).metadata['pool']).toMatchObject({ errorScore: 1.5, usageCount: 3 });
        await use('error');
        const beforeLast = (await store.get(flaky!))!.metadata['pool'];
        expect(beforeLast).toMatchObject({ errorScore: 2.5 });
        expect(beforeLast).not.toHaveProperty('retired');
        const last = await use('error');
        expect(last.metadata['pool']).toMatchObject({ errorScore: 3.5, retired: true, retiredReason: 'errors' });
        expect(await acquire(store, { tag: `${tag}-e`, leaseMs: 60_000, owner: owner(2) })).toBeUndefined();
      });

      it('returns undefined from an empty pool and refuses an invalid state on release, keeping the lease', async () => {
        expect(await acquire(store, { tag: unique('empty'), leaseMs: 1000, owner: owner(1) })).toBeUndefined();
        const tag = unique('pool');
        const [name] = await pool(tag, 1);
        const lease = (await acquire(store, { tag, leaseMs: 60_000, owner: owner(1) }))!;
        const bad = { cookies: [{ name: 'x' }], origins: [] } as unknown as ReturnType<typeof state>;
        await expect(lease.release({ outcome: 'success', storageState: bad })).rejects.toMatchObject({ code: 'INVALID_SESSION' });
        expect(await acquire(store, { tag, leaseMs: 60_000, owner: owner(2) })).toBeUndefined();
        expect((await lease.release({ outcome: 'success' })).name).toBe(name);
      });
    });

    it('has exactly the optional capabilities it declares, found by the type guards', () => {
      expect({
        maintenance: hasMaintenance(store),
        nativeAcquire: hasNativeAcquire(store),
        nativeUpdate: hasNativeUpdate(store),
        connectionFeed: hasConnectionFeed(store),
        leaseListing: hasLeaseListing(store),
      }).toEqual(context.capabilities);
    });

    describe('read-modify-write (updateSession: native where the store has it, optimistic otherwise)', () => {
      it('applies 20 concurrent updates of one session, none lost', async () => {
        const name = unique('updated');
        await store.put(record(name, { metadata: { count: 0 } }));
        await Promise.all(
          Array.from({ length: 20 }, () => updateSession(store, name, async (current) => ({ ...current, metadata: { count: (current.metadata['count'] as number) + 1 } }))),
        );
        const final = (await store.get(name))!;
        expect(final.metadata['count']).toBe(20);
        expect(final.revision).toBe(21);
      });

      it('writes nothing when the change throws, and is NOT_FOUND for an absent session', async () => {
        const name = unique('refused');
        const stored = await store.put(record(name));
        await expect(updateSession(store, name, () => Promise.reject(new Error('caller says no')))).rejects.toThrow('caller says no');
        expect(await store.get(name)).toEqual(stored);
        await expect(updateSession(store, unique('absent'), (r) => r)).rejects.toMatchObject({ code: 'NOT_FOUND' });
      });
    });

    describe('maintenance (scan, quarantine of scanned entries, sweep)', () => {
      it('scans every valid session with its summary (a store without maintenance: its list)', async () => {
        const name = unique('scanned');
        const stored = await store.put(record(name, { tags: ['scan'] }));
        const entries: ScanEntry[] = [];
        for await (const entry of scanStore(store)) entries.push(entry);
        expect(entries.find((e) => e.ok && e.summary.name === name)).toMatchObject({ ok: true, summary: { name, revision: stored.revision, tags: ['scan'] } });
      });

      it('reports a damaged entry, quarantines it by what scan reported, and purges it after the retention', async () => {
        if (!context.damage || !context.ageLeftovers) {
          // A store without maintenance holds only valid sessions and leaves nothing behind.
          expect(context.capabilities.maintenance).toBe(false);
          expect(await sweepStore(store, { quarantineRetentionMs: 0 })).toEqual({ tempFiles: 0, purgedQuarantine: 0 });
          return;
        }
        const name = unique('damaged');
        await store.put(record(name));
        await context.damage(store, name);
        const invalid: Extract<ScanEntry, { ok: false }>[] = [];
        for await (const entry of scanStore(store)) if (!entry.ok) invalid.push(entry);
        expect(invalid).toHaveLength(1);
        expect(invalid[0]!.reason).toMatch(/\w/);
        for await (const s of store.list()) expect(s.name).not.toBe(name);
        await quarantineScanned(store, invalid[0]!);
        for await (const entry of scanStore(store)) expect(entry.ok).toBe(true);
        expect(await sweepStore(store, { quarantineRetentionMs: 60_000 })).toEqual({ tempFiles: 0, purgedQuarantine: 0 });
        const tempFiles = await context.ageLeftovers(store);
        expect(await sweepStore(store, { quarantineRetentionMs: 60_000, dryRun: true })).toEqual({ tempFiles, purgedQuarantine: 1 });
        expect(await sweepStore(store, { quarantineRetentionMs: 60_000 })).toEqual({ tempFiles, purgedQuarantine: 1 });
        expect(await sweepStore(store, { quarantineRetentionMs: 60_000 })).toEqual({ tempFiles: 0, purgedQuarantine: 0 });
      });
    });

    it('reports when the change feed loses its connection and when it is back (stores with a server)', async () => {
      if (!hasConnectionFeed(store) || !context.breakFeed) {
        expect(context.capabilities.connectionFeed).toBe(false);
        return;
      }
      const changes: FeedConnectionChange['state'][] = [];
      const stopConnection = store.watchConnection((change) => changes.push(change.state));
      const stop = store.watch(() => undefined);
      try {
        await new Promise((r) => setTimeout(r, 300)); // let the feed connect
        await context.breakFeed(store);
        await waitFor(() => changes.includes('lost') && changes.includes('restored'), 15_000);
        expect(changes.indexOf('lost')).toBeLessThan(changes.indexOf('restored'));
      } finally {
        stop();
        stopConnection();
      }
    });

    it('tells watchers about writes and deletions', async () => {
      const name = unique('watched');
      const events: StoreEvent[] = [];
      const stop = store.watch((e) => events.push(e));
      try {
        await new Promise((r) => setTimeout(r, 300)); // let a file watcher finish its initial scan
        await store.put(record(name));
        await waitFor(() => events.some((e) => e.type === 'put' && e.name === name));
        await store.delete(name);
        await waitFor(() => events.some((e) => e.type === 'delete' && e.name === name));
      } finally {
        stop();
      }
    });
  });
}

/** Sleeps until the wall clock is past an ISO instant (plus a margin for clock rounding). */
async function sleepPast(iso: string): Promise<void> {
  const wait = Date.parse(iso) - Date.now() + 50;
  if (wait > 0) await new Promise((r) => setTimeout(r, wait));
}

async function waitFor(check: () => boolean, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error('timed out waiting for a store event');
    await new Promise((r) => setTimeout(r, 20));
  }
}
