/**
 * One crawler of the fleet lease test, run as its own process: acquire a session of the pool,
 * bump the release counter in its localStorage, hold it a moment, release it; until the deadline.
 *
 * Its log is the independent witness: one JSON line per event, appended (O_APPEND) to a file of
 * its own, stamped with `process.hrtime` (CLOCK_MONOTONIC, one clock for every process of this
 * machine). `acquired` is written after acquire() returned and `released` before release() is
 * called, so the logged hold always lies inside the real one: logged holds that overlap mean
 * real holds overlapped.
 *
 * The victim (`victim: true`) takes one session and stops there, holding it until it is killed.
 */
import { appendFileSync, openSync, readFileSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { openStore } from '../../src/store/open-store.js';
import { acquire } from '../../src/store/pool.js';
import { seededRandom } from '../helpers/seeded-random.js';
import { ORIGIN, type WorkerConfig } from './shared.js';

const config = JSON.parse(process.argv[2]!) as WorkerConfig;
const random = seededRandom(config.seed);
const fd = openSync(config.log, 'a');
const log = (event: Record<string, unknown>): void => appendFileSync(fd, `${JSON.stringify({ owner: config.owner, at: process.hrtime.bigint().toString(), ...event })}\n`);

const store = await openStore(config.store);
log({ event: 'ready' });
let until = NaN;
while (Number.isNaN(until)) {
  try {
    until = Number(readFileSync(config.go, 'utf8'));
  } catch {
    await sleep(10); // not written yet
  }
}
try {
  while (Date.now() < until) {
    // The victim's lease starts after this moment: the test measures its expiry from here.
    if (config.victim) log({ event: 'acquiring', session: '' });
    const lease = await acquire(store, { tag: config.tag, leaseMs: config.leaseMs, owner: config.owner });
    if (!lease) {
      await sleep(2 + random() * 8);
      continue;
    }
    log({ event: 'acquired', session: lease.name });
    if (config.victim) {
      // Hold it as a long job would: renewing, so the lease is valid when the kill comes, however
      // late the harness gets to it on a busy machine.
      log({ event: 'holding-until-killed', session: lease.name });
      for (;;) {
        await sleep(300);
        log({ event: 'renewing', session: lease.name });
        await lease.renew().catch((error: Error) => log({ event: 'renew-failed', session: lease.name, error: error.message }));
      }
    }
    const origins = lease.session.storageState.origins;
    const counter = Number(origins.find((o) => o.origin === ORIGIN)?.localStorage.find((e) => e.name === 'releases')?.value ?? 'NaN');
    const storageState = {
      ...lease.session.storageState,
      origins: [{ origin: ORIGIN, localStorage: [{ name: 'releases', value: String(counter + 1) }] }],
    };
    await sleep(random() * 10); // the crawl
    if (random() < 0.1) await lease.renew();
    log({ event: 'released', session: lease.name, counter: counter + 1 });
    try {
      const stored = await lease.release({ outcome: 'success', storageState, metadata: { lastReleasedBy: config.owner } });
      log({ event: 'persisted', session: lease.name, revision: stored.revision });
    } catch (error) {
      log({ event: 'release-failed', session: lease.name, error: (error as Error).message });
    }
  }
} finally {
  await store.close();
}
