/**
 * A fleet of crawler processes sharing one pool of sessions (issue 6). Each worker is a separate
 * process acquiring and releasing sessions as fast as it can; one is SIGKILLed while holding one.
 *
 * `npm test` runs a short fleet (8 workers, 6 s); `npm run test:stress` the full one
 * (RAPTOR_FLEET_WORKERS=16, RAPTOR_FLEET_SECONDS=20). Both check the same things:
 *   - the merged worker logs never show two holders of one session at a time;
 *   - every release was persisted: each session's release counter (in its localStorage) and its
 *     pool usageCount equal the number of releases the logs recorded;
 *   - the killed worker's session went back to the pool once its lease (3 s) expired, not before.
 * The other workers hold for milliseconds under 15 s leases, renewing now and then. Their pauses
 * and renewals come from one seed (`RAPTOR_SEED`, printed on failure).
 */
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { openStore } from '../src/store/open-store.js';
import { poolStats } from '../src/store/pool.js';
import type { PostgresSessionStore } from '../src/store/postgres/store.js';
import type { SessionStore } from '../src/store/types.js';
import { overlappingHolds, runFleet, seedPool } from './fleet/harness.js';
import { ORIGIN } from './fleet/shared.js';
import { randomTable, storeUrl } from './helpers/postgres.js';
import { createTempDir } from './helpers/temp-dir.js';
import { testSeed } from './helpers/test-seed.js';

const WORKERS = Number(process.env['RAPTOR_FLEET_WORKERS'] ?? 8);
const SECONDS = Number(process.env['RAPTOR_FLEET_SECONDS'] ?? 6);
const SESSIONS = 10;
const LEASE_MS = 3_000;
const { seed } = testSeed('RAPTOR_SEED');

const cleanups: (() => Promise<void>)[] = [];
afterAll(async () => {
  for (const cleanup of cleanups.reverse()) await cleanup();
});

const backends: [string, () => Promise<string>][] = [
  ['postgres', async () => storeUrl(randomTable('fleet'))],
  [
    'file',
    async () => {
      const dir = await createTempDir('raptor-fleet-store-');
      cleanups.push(dir.remove);
      return join(dir.path, 'sessions');
    },
  ],
];

describe.each(backends)('a fleet of %s-store workers', (backend, makeSpec) => {
  it(`${WORKERS} processes share ${SESSIONS} sessions for ${SECONDS} s: one holder at a time, every release kept, a killed worker's session reclaimed`, { timeout: (SECONDS + 120) * 1000 }, async () => {
    const spec = await makeSpec();
    const store: SessionStore = await openStore(spec);
    cleanups.push(async () => {
      if ('drop' in store) await (store as PostgresSessionStore).drop();
      await store.close();
    });
    const tag = 'fleet';
    const names = await seedPool(store, tag, SESSIONS);
    const logs = await createTempDir('raptor-fleet-logs-');
    cleanups.push(logs.remove);

    const run = await runFleet({ store: spec, tag, workers: WORKERS, seconds: SECONDS, leaseMs: LEASE_MS, dir: logs.path, seed });

    // Every worker but the victim finished cleanly.
    for (const exit of run.exits) {
      if (exit.owner === run.victim) expect(exit.signal).toBe('SIGKILL');
      else expect(exit, `worker ${exit.owner}`).toMatchObject({ code: 0, signal: null });
    }
    // Never two holders of one session at once.
    expect(overlappingHolds(run)).toEqual([]);
    expect(run.events.filter((e) => e.event === 'release-failed')).toEqual([]);

    // Every release persisted: counter and usageCount equal the releases the logs saw.
    const persisted = run.events.filter((e) => e.event === 'persisted');
    console.info(`${backend} store: ${persisted.length} releases by ${WORKERS} workers in ${SECONDS} s`);
    expect(persisted.length).toBeGreaterThan(SESSIONS * 5); // the fleet really worked: every session changed hands many times
    for (const name of names) {
      const releases = persisted.filter((e) => e.session === name).length;
      const record = (await store.get(name))!;
      const counter = record.storageState.origins.find((o) => o.origin === ORIGIN)?.localStorage.find((e) => e.name === 'releases')?.value;
      expect({ name, counter: Number(counter), usageCount: poolStats(record.metadata).usageCount }).toEqual({ name, counter: releases, usageCount: releases });
    }

    // The killed worker's session was reclaimed once its lease expired, not before. Its lease was
    // last set after the victim's last `acquiring` or `renewing` (a log line may come much later
    // than the call on a busy machine, never earlier).
    expect(run.events.filter((e) => e.event === 'renew-failed')).toEqual([]);
    const victimEvents = run.events.filter((e) => e.owner === run.victim);
    const victimAcquired = victimEvents.filter((e) => e.event === 'acquired').at(-1)!;
    const leaseLastSet = victimEvents.filter((e) => e.event === 'acquiring' || e.event === 'renewing').at(-1)!;
    const reclaimed = run.events
      .filter((e) => e.event === 'acquired' && e.session === run.victimSession && e.owner !== run.victim && e.at > victimAcquired.at)
      .sort((a, b) => (a.at < b.at ? -1 : 1))[0];
    expect(reclaimed, `nobody took ${run.victimSession} back after the kill`).toBeDefined();
    expect(reclaimed!.at).toBeGreaterThan(run.killedAt);
    expect(Number(reclaimed!.at - leaseLastSet.at) / 1e6).toBeGreaterThanOrEqual(LEASE_MS - 10); // 10 ms: wall vs monotonic clock
  });
});
