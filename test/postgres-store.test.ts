/**
 * The PostgreSQL store: the shared contract against a real server, then what only a database
 * store has (schema setup by many processes, an unreachable server, invalid rows, the change
 * feed surviving a dropped connection).
 */
import { describe, expect, it } from 'vitest';
import { isRaptorError } from '../src/core/errors.js';
import { newRecord } from '../src/core/record.js';
import { newKey } from '../src/crypto/encryption.js';
import { withEncryption } from '../src/store/encrypting.js';
import { loadPg } from '../src/store/postgres/client.js';
import { openPostgresStore, type PostgresSessionStore } from '../src/store/postgres/store.js';
import { quarantineScanned } from '../src/store/capabilities.js';
import type { SessionStore, StoreEvent } from '../src/store/types.js';
import { TEST_PG_URL, assertPostgresReachable, randomTable, sql, storeUrl } from './helpers/postgres.js';
import { runStoreContract } from './store-contract.js';

it('has a PostgreSQL server to test against (fails, never skips, when it is down)', async () => {
  await assertPostgresReachable();
});

const postgresContract = (encrypted: boolean) => ({
  create: async () => {
    const store = await openPostgresStore({ url: storeUrl(randomTable()) });
    if (!encrypted) return store;
    const key = newKey();
    return withEncryption(store, { ring: { current: key, all: [key] }, encryptWrites: true });
  },
  destroy: (store: SessionStore) => (store as PostgresSessionStore).drop(),
  capabilities: { maintenance: true, nativeAcquire: true, nativeUpdate: true, connectionFeed: true, leaseListing: true },
  async damage(store: SessionStore, name: string) {
    await sql(`UPDATE "${(store as PostgresSessionStore).table}" SET head = 'not json' WHERE name = $1`, [name]);
  },
  async ageLeftovers(store: SessionStore) {
    await sql(`UPDATE "${(store as PostgresSessionStore).table}_quarantine" SET quarantined_at = now() - interval '2 minutes'`);
    return 0; // expired leases need no sweeping, and there are no temp files
  },
  async breakFeed(store: SessionStore) {
    await sql(`SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE query = $1`, [`LISTEN "${(store as PostgresSessionStore).table}_changes"`]);
  },
});

runStoreContract('postgres', postgresContract(false));
// The encrypting wrapper over the native acquire and update, and every capability delegated through it.
runStoreContract('encrypted postgres', postgresContract(true));

const state = (token: string) => ({
  cookies: [{ name: 'sid', value: token, domain: 'a.test', path: '/', expires: -1, httpOnly: true, secure: false, sameSite: 'Lax' as const }],
  origins: [],
});

async function withStore<T>(fn: (store: PostgresSessionStore, table: string) => Promise<T>): Promise<T> {
  const table = randomTable();
  const store = await openPostgresStore({ url: TEST_PG_URL, table });
  try {
    return await fn(store, table);
  } finally {
    await store.drop();
    await store.close();
  }
}

async function waitFor(check: () => boolean | Promise<boolean>, what: string, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

describe('postgres store', () => {
  it('sets up its tables once when many processes open a new store at the same time', async () => {
    const table = randomTable();
    const stores = await Promise.all(Array.from({ length: 8 }, () => openPostgresStore({ url: TEST_PG_URL, table, poolSize: 2 })));
    try {
      expect(await sql(`SELECT version FROM "${table}_schema"`)).toEqual([{ version: 1 }]);
      await stores[0]!.put(newRecord('shared', state('one')));
      expect((await stores[7]!.get('shared'))?.storageState.cookies[0]?.value).toBe('one');
      // A newer raptor's tables are left alone.
      await sql(`UPDATE "${table}_schema" SET version = 99`);
      const error = await openPostgresStore({ url: TEST_PG_URL, table }).catch((e) => e);
      expect(isRaptorError(error, 'STORE_UNAVAILABLE')).toBe(true);
      expect(error.message).toContain('newer raptor');
    } finally {
      await stores[0]!.drop();
      await Promise.all(stores.map((s) => s.close()));
    }
  });

  it('reports an unreachable server as STORE_UNAVAILABLE with the password redacted', async () => {
    const error = await openPostgresStore({ url: 'postgres://fleet:s3cret-pw@127.0.0.1:1/test', connectTimeoutMs: 2000 }).catch((e) => e);
    expect(isRaptorError(error, 'STORE_UNAVAILABLE')).toBe(true);
    expect(error.message).toContain('127.0.0.1:1');
    expect(error.message).toMatch(/RAPTOR_STORE|--store/);
    expect(error.message).not.toContain('s3cret-pw');
  });

  it('says how to install pg when it is missing', async () => {
    const missing = Object.assign(new Error("Cannot find package 'pg'"), { code: 'ERR_MODULE_NOT_FOUND' });
    const error = await loadPg(() => Promise.reject(missing)).catch((e) => e);
    expect(isRaptorError(error, 'STORE_UNAVAILABLE')).toBe(true);
    expect(error.message).toContain('npm i pg');
  });

  it('refuses a table name that is not a plain identifier', async () => {
    const error = await openPostgresStore({ url: TEST_PG_URL, table: 'x"; DROP TABLE y; --' }).catch((e) => e);
    expect(isRaptorError(error, 'INVALID_INPUT')).toBe(true);
  });

  it('round-trips values jsonb could not hold (NUL characters)', () =>
    withStore(async (store) => {
      const stored = await store.put(newRecord('nul', state('a\u0000b')));
      expect(await store.get('nul')).toEqual(stored);
    }));

  it('lists from the summary columns only and validates whole records on read', () =>
    withStore(async (store, table) => {
      await store.put(newRecord('torn-state', state('x'), { tags: ['t'] }));
      await sql(`UPDATE "${table}" SET state = '{"storageState": 42}' WHERE name = 'torn-state'`);
      const listed: string[] = [];
      for await (const s of store.list({ tag: 't' })) listed.push(s.name);
      expect(listed).toEqual(['torn-state']); // list never decoded the state
      await expect(store.get('torn-state')).rejects.toMatchObject({ code: 'INVALID_SESSION' });
      const scanned = [];
      for await (const entry of store.scan()) scanned.push(entry);
      expect(scanned).toMatchObject([{ ok: false, key: 'torn-state' }]);
    }));

  it('keeps an encrypted state out of the summary columns, and opens it again', () =>
    withStore(async (plain, table) => {
      const key = newKey();
      const store = withEncryption(plain, { ring: { current: key, all: [key] }, encryptWrites: true });
      const stored = await store.put(newRecord('sealed', state('secret-cookie'), { tags: ['t'] }));
      const [row] = await sql<{ head: string; state: string }>(`SELECT head, state FROM "${table}" WHERE name = 'sealed'`);
      expect(row!.head).not.toContain('encrypted');
      expect(row!.state).toContain('encrypted');
      expect(row!.head + row!.state).not.toContain('secret-cookie');
      expect(await store.get('sealed')).toEqual(stored);
      for await (const s of store.list({ tag: 't' })) expect(s.name).toBe('sealed');
    }));

  it('quarantines an invalid row into <table>_quarantine with its reason, and purges it after the retention', () =>
    withStore(async (store, table) => {
      await store.put(newRecord('broken', state('x')));
      await sql(`UPDATE "${table}" SET head = 'not json' WHERE name = 'broken'`);
      for await (const entry of store.scan()) if (!entry.ok) await quarantineScanned(store, entry);
      expect(await store.get('broken')).toBeUndefined();
      const rows = await sql<{ name: string; reason: string }>(`SELECT name, reason FROM "${table}_quarantine"`);
      expect(rows).toEqual([{ name: 'broken', reason: expect.stringContaining('not valid') }]);
      expect(await store.sweep({ quarantineRetentionMs: 60_000 })).toEqual({ tempFiles: 0, purgedQuarantine: 0 });
      await sql(`UPDATE "${table}_quarantine" SET quarantined_at = now() - interval '2 minutes'`);
      expect(await store.sweep({ quarantineRetentionMs: 60_000, dryRun: true })).toEqual({ tempFiles: 0, purgedQuarantine: 1 });
      expect(await store.sweep({ quarantineRetentionMs: 60_000 })).toEqual({ tempFiles: 0, purgedQuarantine: 1 });
      expect(await sql(`SELECT 1 FROM "${table}_quarantine"`)).toEqual([]);
    }));

  it('tells a watcher in one process about writes made through another connection', () =>
    withStore(async (store, table) => {
      const other = await openPostgresStore({ url: TEST_PG_URL, table });
      const events: StoreEvent[] = [];
      const stop = store.watch((e) => events.push(e));
      try {
        await waitFor(async () => (await listenerPids(table)).length === 1, 'the LISTEN connection');
        const stored = await other.put(newRecord('from-elsewhere', state('x')));
        await waitFor(() => events.some((e) => e.type === 'put' && e.name === 'from-elsewhere' && e.revision === stored.revision), 'the put event');
        await other.quarantine('from-elsewhere', 'checked by a person');
        await waitFor(() => events.some((e) => e.type === 'quarantine' && e.reason === 'checked by a person'), 'the quarantine event');
      } finally {
        stop();
        await other.close();
      }
    }));

  it('keeps the change feed going after its connection is killed', () =>
    withStore(async (store, table) => {
      const events: StoreEvent[] = [];
      const stop = store.watch((e) => events.push(e));
      try {
        await waitFor(async () => (await listenerPids(table)).length === 1, 'the LISTEN connection');
        const [first] = await listenerPids(table);
        await sql('SELECT pg_terminate_backend($1)', [first]);
        await waitFor(async () => {
          const pids = await listenerPids(table);
          return pids.length === 1 && pids[0] !== first;
        }, 'the listener to reconnect');
        await store.put(newRecord('after-reconnect', state('x')));
        await waitFor(() => events.some((e) => e.type === 'put' && e.name === 'after-reconnect'), 'an event after reconnecting');
      } finally {
        stop();
      }
      await waitFor(async () => (await listenerPids(table)).length === 0, 'the listener to close when nobody watches');
    }));
});

async function listenerPids(table: string): Promise<number[]> {
  const rows = await sql<{ pid: number }>(
    `SELECT pid FROM pg_stat_activity WHERE application_name = 'raptor-watch' AND query = $1 AND state <> 'disabled'`,
    [`LISTEN "${table}_changes"`],
  );
  return rows.map((r) => r.pid);
}
