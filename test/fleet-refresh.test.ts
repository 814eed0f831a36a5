/**
 * Fleets: the lease holder refreshes. A pool of logged-in sessions in PostgreSQL, worked by worker
 * processes; the app forgets every login at once (a restart, a revocation). The worker that holds
 * a dead session's lease logs it in again with the recipe and writes the fresh state under its
 * lease, so each session is logged in again exactly once, by its holder, and none is retired.
 *
 * Also: a refresh by a worker that lost its lease writes nothing (`LOCKED`), a session that keeps
 * needing refreshes is retired after `maxRefreshes`, and a session's recorded recipe file is the
 * one a refresh uses when none is given.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { PASSWORD, startLoginApp, type LoginApp } from '../fixtures/login-app/server.js';
import { contextOptionsFor } from '../src/browser/context-options.js';
import { launchBrowser } from '../src/browser/launch.js';
import type { SessionRecord } from '../src/core/record.js';
import type { SessionManager } from '../src/manager.js';
import { isRetired, poolStats } from '../src/store/pool.js';
import type { PoolLease } from '../src/store/types.js';
import { holdOverlaps, readEvents, type HoldEvent } from './fleet/harness.js';
import type { RefreshWorkerConfig } from './fleet/refresh-worker.js';
import { recipeFor, userOf } from './fleet/user-recipe.js';
import { createRaptorEnv } from './helpers/env.js';
import { assertPostgresReachable, randomTable, sql, storeUrl } from './helpers/postgres.js';
import { createTempDir } from './helpers/temp-dir.js';

const WORKER = fileURLToPath(new URL('./fleet/refresh-worker.ts', import.meta.url));
const RECIPE = fileURLToPath(new URL('../fixtures/login-app/recipe.ts', import.meta.url));
const WORKERS = 8;
const SESSIONS = 8;

type Event = HoldEvent & { revision?: number; error?: string; user?: string };

const cleanups: (() => Promise<unknown>)[] = [];
let browser: Browser;

beforeAll(async () => {
  await assertPostgresReachable(); // fails, never skips, when PostgreSQL is down
  vi.stubEnv('LOGIN_APP_PASSWORD', PASSWORD); // the recipe's credentials come from the environment
  browser = await launchBrowser('chromium');
});
afterAll(async () => {
  for (const cleanup of cleanups.reverse()) await cleanup().catch(() => undefined);
  await browser?.close();
  vi.unstubAllEnvs();
});

/** A fresh login app, a fresh PostgreSQL table, and a manager on it (its own RAPTOR_HOME). */
async function fleetStore() {
  const app = await startLoginApp();
  const table = randomTable('refresh');
  const store = storeUrl(table);
  const raptor = await createRaptorEnv({ store, autoCleanup: false });
  cleanups.push(app.close, raptor.dispose, () => sql(`DROP TABLE IF EXISTS "${table}", "${table}_quarantine", "${table}_schema"`));
  return { app, store, table, raptor, manager: raptor.manager };
}

/** Logs sessions `names` in (each as its own user), one by one, with no usage limit in the pool. */
async function logIn(manager: SessionManager, app: LoginApp, names: string[]): Promise<void> {
  for (const name of names) {
    const { loggedIn } = await manager.ensure(name, recipeFor(name), { browser, baseURL: app.url });
    expect(loggedIn).toBe(true);
    await manager.update(name, (record) => ({ ...record, metadata: { ...record.metadata, pool: { maxUsageCount: 1e9 } } }));
  }
}

/** Who `/me` says `record` is logged in as. */
async function whoIs(record: SessionRecord, baseURL: string): Promise<string> {
  const context = await browser.newContext({ ...contextOptionsFor(record), baseURL });
  try {
    const page = await context.newPage();
    await page.goto('/me');
    return await page.locator('#user').innerText();
  } finally {
    await context.close();
  }
}

async function waitFor(what: string, check: () => Promise<boolean>, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

describe('a fleet whose app forgot every login', () => {
  it(`${WORKERS} worker processes on ${SESSIONS} PostgreSQL sessions: each session is logged in again exactly once, by the worker holding its lease`, { timeout: 180_000 }, async () => {
    const { app, store, raptor, manager } = await fleetStore();
    const names = Array.from({ length: SESSIONS }, (_, i) => `refresh-u${i + 1}`);
    const logs = await createTempDir('raptor-refresh-logs-');
    cleanups.push(logs.remove);
    const [go, stop] = [join(logs.path, 'go'), join(logs.path, 'stop')];

    const children: { owner: string; log: string; child: ChildProcess; exited: Promise<{ owner: string; code: number | null }> }[] = [];
    for (let i = 0; i < WORKERS; i++) {
      // Long leases: this test is about refreshes, not expiry (a loaded machine may stall a worker for seconds).
      const config: RefreshWorkerConfig = { store, home: raptor.home, owner: `worker-${i}`, log: join(logs.path, `worker-${i}.ndjson`), baseURL: app.url, leaseMs: 120_000, go, stop };
      const child = spawn(process.execPath, ['--import', 'tsx', WORKER, JSON.stringify(config)], { stdio: ['ignore', 'inherit', 'inherit'], env: process.env });
      const exited = new Promise<{ owner: string; code: number | null }>((resolve) => child.once('exit', (code) => resolve({ owner: config.owner, code })));
      children.push({ owner: config.owner, log: config.log, child, exited });
    }
    cleanups.push(async () => {
      for (const { child } of children) if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    });
    const started = Date.now();
    const phases: string[] = [];
    const phase = (what: string) => phases.push(`${what} ${((Date.now() - started) / 1000).toFixed(1)} s`);
    const events = async (): Promise<Event[]> => (await Promise.all(children.map((c) => readEvents(c.log)))).flat() as Event[];
    const persistedCount = async () => (await events()).filter((e) => e.event === 'persisted').length;

    // The pool is logged in (while the workers start), then the fleet goes to work.
    await logIn(manager, app, names);
    await waitFor('the workers to start', async () => (await events()).filter((e) => e.event === 'ready').length === WORKERS, 120_000);
    phase('logged in, workers ready');
    await writeFile(go, '');
    // The fleet is at work, logged in: sessions changed hands.
    await waitFor('the workers to use the pool', async () => (await persistedCount()) >= SESSIONS, 120_000);
    phase('in use');
    app.forgetAll();
    const forgotAt = process.hrtime.bigint();
    // Every session was found logged out, refreshed, and released with its fresh state...
    await waitFor('every session to be refreshed and used', async () => {
      const all = await events();
      return names.every((name) => {
        const refreshed = all.find((e) => e.event === 'refreshed' && e.session === name);
        return refreshed !== undefined && all.some((e) => e.event === 'persisted' && e.session === name && e.at > refreshed.at);
      });
    }, 90_000);
    // ...and then the fleet went on with it for a while: later holders found them logged in.
    phase('refreshed');
    const before = await persistedCount();
    await waitFor('the fleet to use the refreshed sessions', async () => (await persistedCount()) >= before + SESSIONS, 60_000);
    await writeFile(stop, '');
    phase('used again');
    const exits = await Promise.all(children.map((c) => c.exited));
    phase('stopped');
    const all = (await events()).sort((a, b) => (a.at < b.at ? -1 : a.at > b.at ? 1 : 0));
    console.info(`fleet refresh: ${all.filter((e) => e.event === 'persisted').length} uses by ${WORKERS} workers; ${phases.join(', ')}`);

    expect(exits).toEqual(children.map((c) => ({ owner: c.owner, code: 0 })));
    const line = (e: Event) => `${e.owner} ${e.event} ${e.session}${e.user ? ` as ${e.user}` : ''}${e.error ? `: ${e.error}` : ''}`;
    expect(all.filter((e) => ['failed', 'wrong-user', 'retired'].includes(e.event)).map(line)).toEqual([]);
    expect(holdOverlaps(all)).toEqual([]); // never two holders of one session at once
    for (const name of names) {
      const user = userOf(name);
      // One login at the start, one refresh after the app forgot it: never two workers logging it in.
      expect({ name, logins: app.logins(user) }).toEqual({ name, logins: 2 });
      const refreshes = all.filter((e) => e.event === 'refreshed' && e.session === name);
      const loggedOut = all.filter((e) => e.event === 'logged-out' && e.session === name);
      expect({ name, refreshes: refreshes.length, loggedOut: loggedOut.length }).toEqual({ name, refreshes: 1, loggedOut: 1 });
      expect(loggedOut[0]!.at).toBeGreaterThan(forgotAt);
      // The refresher held the lease: its own `acquired` opens the hold the refresh lies in, its own `released` closes it.
      const holds = all.filter((e) => e.session === name && (e.event === 'acquired' || e.event === 'released'));
      const opened = holds.filter((e) => e.at < refreshes[0]!.at).at(-1);
      const closed = holds.find((e) => e.at > refreshes[0]!.at);
      expect({ opened: opened?.event, by: opened?.owner, closed: closed?.event, closedBy: closed?.owner }).toEqual({
        opened: 'acquired',
        by: refreshes[0]!.owner,
        closed: 'released',
        closedBy: refreshes[0]!.owner,
      });
      // At the end: logged in as its own user, not retired, the refresh in its pool stats.
      const record = await manager.get(name);
      expect(isRetired(record)).toBe(false);
      expect(poolStats(record.metadata)).toMatchObject({ refreshes: 1, refreshesSinceSuccess: 0 });
      expect(Date.parse(poolStats(record.metadata).lastRefreshAt!)).toBeGreaterThan(0);
      expect(await whoIs(record, app.url)).toBe(user);
    }
  });
});

describe('refreshing a leased session', () => {
  it('by a worker whose lease expired and was taken: writes nothing and fails with LOCKED', { timeout: 60_000 }, async () => {
    const { app, manager, table } = await fleetStore();
    const name = 'refresh-late';
    await logIn(manager, app, [name]);
    app.forgetAll();
    const stale = (await manager.acquire({ leaseMs: 60_000, owner: 'slow-worker' }))!;
    const before = await manager.get(name);

    // While the slow worker logs in, its lease lapses (a stalled machine: made so here by hand, since
    // the refresh keeps renewing it) and another worker takes the session.
    let taker: PoolLease | undefined;
    const slow = { ...recipeFor(name), login: async (...[page, about]: Parameters<ReturnType<typeof recipeFor>['login']>) => {
      await sql(`UPDATE "${table}" SET lease_expires_at = now() - interval '1 second' WHERE name = $1`, [name]);
      taker = await manager.acquire({ leaseMs: 60_000, owner: 'taker' });
      expect(taker?.name).toBe(name);
      await recipeFor(name).login(page, about);
    } };
    await expect(manager.refreshLease(stale, slow, { browser, baseURL: app.url })).rejects.toMatchObject({ code: 'LOCKED' });
    expect(app.logins(userOf(name))).toBe(2); // its login ran...
    const after = await manager.get(name);
    expect(after).toEqual(before); // ...but nothing of it was written: same revision, same (dead) state
    expect((await manager.leases()).map((l) => l.owner)).toEqual(['taker']);

    // Asked again, the late worker is refused before it logs in; the taker's refresh is the one that counts.
    await expect(manager.refreshLease(stale, recipeFor(name), { browser, baseURL: app.url })).rejects.toMatchObject({ code: 'LOCKED' });
    expect(app.logins(userOf(name))).toBe(2);
    const fresh = await manager.refreshLease(taker!, recipeFor(name), { browser, baseURL: app.url });
    expect(fresh.refreshed).toBe(true);
    const released = await (fresh as { lease: PoolLease }).lease.release({ outcome: 'success' });
    expect(released.revision).toBe(before.revision + 2);
    expect(await whoIs(released, app.url)).toBe(userOf(name));
  });

  it('keeps the lease through a login slower than the lease: nobody else can take the session meanwhile', { timeout: 60_000 }, async () => {
    const { app, manager } = await fleetStore();
    const name = 'refresh-slow';
    await logIn(manager, app, [name]);
    app.forgetAll();
    const lease = (await manager.acquire({ leaseMs: 3_000, owner: 'w1' }))!;
    const others: (PoolLease | undefined)[] = [];
    const slow = { ...recipeFor(name), login: async (...[page, about]: Parameters<ReturnType<typeof recipeFor>['login']>) => {
      // Twice the lease, asking for the session all along as another worker would.
      const until = Date.now() + 6_000;
      while (Date.now() < until) {
        others.push(await manager.acquire({ leaseMs: 60_000, owner: 'w2' }));
        await new Promise((resolve) => setTimeout(resolve, 200));
      }
      await recipeFor(name).login(page, about);
    } };
    const result = await manager.refreshLease(lease, slow, { browser, baseURL: app.url });
    expect(result.refreshed).toBe(true);
    expect(others.length).toBeGreaterThan(5);
    expect(others.filter((other) => other !== undefined).map((other) => other!.owner)).toEqual([]);
    await (result as { lease: PoolLease }).lease.release({ outcome: 'success' });
  });

  it('retires a session once it needed maxRefreshes refreshes without a successful use in between', { timeout: 60_000 }, async () => {
    const { app, manager } = await fleetStore();
    const name = 'refresh-flaky';
    await logIn(manager, app, [name]);
    const refresh = (lease: PoolLease) => manager.refreshLease(lease, recipeFor(name), { browser, baseURL: app.url, maxRefreshes: 2 });
    const leaseOf = (result: Awaited<ReturnType<typeof refresh>>): PoolLease => {
      if (!result.refreshed) throw new Error('retired too early');
      return result.lease;
    };

    // A refresh followed by a successful use: the login stuck, the count since success starts over.
    let lease = leaseOf(await refresh((await manager.acquire({ leaseMs: 60_000, owner: 'w1' }))!));
    expect(poolStats((await lease.release({ outcome: 'success' })).metadata)).toMatchObject({ refreshes: 1, refreshesSinceSuccess: 0 });

    // Then logins that do not stick: two refreshes are allowed, the third retires it instead of logging in.
    lease = leaseOf(await refresh((await manager.acquire({ leaseMs: 60_000, owner: 'w2' }))!));
    lease = leaseOf(await refresh(lease));
    expect(poolStats(lease.session.metadata)).toMatchObject({ refreshes: 3, refreshesSinceSuccess: 2 });
    const logins = app.logins(userOf(name));
    const third = await refresh(lease);
    expect(third).toMatchObject({ refreshed: false, retired: true });
    expect(app.logins(userOf(name))).toBe(logins);
    const stored = await manager.get(name);
    expect(isRetired(stored)).toBe(true);
    expect(poolStats(stored.metadata)).toMatchObject({ retired: true, retiredReason: 'blocked', refreshes: 3 });
    expect(await manager.acquire({ leaseMs: 60_000, owner: 'w3' })).toBeUndefined(); // released, and never handed out again
    expect(await manager.leases()).toEqual([]);
  });

  it('uses the recipe file recorded with the session when none is given', { timeout: 60_000 }, async () => {
    const { app, manager } = await fleetStore();
    const name = 'refresh-recorded';
    await manager.ensure(name, RECIPE, { browser, baseURL: app.url }); // LOGIN_APP_USER unset: alice
    app.forgetAll();
    const lease = (await manager.acquire({ leaseMs: 60_000, owner: 'w1' }))!;
    const result = await manager.refreshLease(lease, undefined, { browser });
    expect(result.refreshed).toBe(true);
    const fresh = (result as { lease: PoolLease }).lease;
    expect(app.logins('alice')).toBe(2);
    expect(await whoIs(fresh.session, app.url)).toBe('alice');
    expect(fresh.session.metadata['recipe']).toMatchObject({ path: RECIPE, baseURL: `${app.url}/` });
    await fresh.release({ outcome: 'success' });
  });
});
