/**
 * `manager.leases()`: the leases held now, for the dashboard's fleet page: through the encryption
 * layer, never a token, and none (not an error) for a store that cannot list them.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { SessionManager } from '../src/manager.js';
import { newRecord } from '../src/core/record.js';
import { createMemoryStore } from '../src/store/memory.js';
import type { SessionStore } from '../src/store/types.js';
import { createTempDir } from './helpers/temp-dir.js';

type TempDir = Awaited<ReturnType<typeof createTempDir>>;

const state = { cookies: [], origins: [{ origin: 'http://127.0.0.1:1', localStorage: [{ name: 'token', value: 'local-s3cret' }] }] };

describe('manager.leases()', () => {
  let home: TempDir | undefined;
  let manager: SessionManager | undefined;
  afterEach(async () => {
    await manager?.close();
    await home?.remove();
    manager = undefined;
    home = undefined;
  });

  async function open(store: SessionStore): Promise<SessionManager> {
    home = await createTempDir('raptor-leases-');
    manager = await SessionManager.open({ store, autoCleanup: false, env: { RAPTOR_HOME: home.path } });
    return manager;
  }

  it('lists who holds which session until when, in name order, without the token', async () => {
    const store = createMemoryStore();
    for (const name of ['b-shop', 'a-shop']) await store.put(newRecord(name, state, { tags: ['shop'] }));
    const m = await open(store);
    const two = await m.lease('b-shop', { owner: 'w2', ttlMs: 60_000 }); // taken first, listed second
    const one = await m.acquire({ tag: 'shop', owner: 'w1', leaseMs: 60_000 });
    const leases = await m.leases();
    expect(leases.map((l) => l.name)).toEqual(['a-shop', 'b-shop']);
    expect(leases.map((l) => Object.keys(l).sort())).toEqual([['expiresAt', 'name', 'owner'], ['expiresAt', 'name', 'owner']]);
    expect(JSON.stringify(leases)).not.toContain(one!.token);
    expect(JSON.stringify(leases)).not.toContain(two!.token);
    await one!.release({ outcome: 'success' });
    expect((await m.leases()).map((l) => l.owner)).toEqual([two!.owner]);
  });

  it('is empty for a store without the capability', async () => {
    const inner = createMemoryStore();
    await inner.put(newRecord('held', state));
    await inner.lease('held', { ttlMs: 60_000, owner: 'w' });
    // Only the eight members of the contract: no heldLeases.
    const bare: SessionStore = {
      location: 'bare',
      get: (n) => inner.get(n),
      put: (r, o) => inner.put(r, o),
      delete: (n) => inner.delete(n),
      list: (f) => inner.list(f),
      quarantine: (n, r) => inner.quarantine(n, r),
      lease: (n, o) => inner.lease(n, o),
      watch: (f) => inner.watch(f),
      close: () => inner.close(),
    };
    expect(await (await open(bare)).leases()).toEqual([]);
  });
});
