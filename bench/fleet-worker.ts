/**
 * One process of the fleet bench: acquire + release (writing the state back) as fast as it can
 * from `start` to `end` (Date.now() values), then print how many it did. The usage counts of the
 * warm-up before `start` are reported too, so the bench can check the store counted every release.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { openStore } from '../src/store/open-store.js';

const { store: spec, tag, owner, start, end } = JSON.parse(process.argv[2]!) as { store: string; tag: string; owner: string; start: number; end: number };
const store = await openStore(spec);
let done = 0;
let warmup = 0;
let empty = 0;
try {
  // Warm up until the clock starts: connections open, statements prepared, V8 done compiling.
  while (Date.now() < start) {
    const lease = await store.acquire({ tag, leaseMs: 30_000, owner });
    if (!lease) {
      await sleep(1);
      continue;
    }
    await lease.release({ outcome: 'success', storageState: lease.session.storageState });
    warmup++;
  }
  while (Date.now() < end) {
    const lease = await store.acquire({ tag, leaseMs: 30_000, owner });
    if (!lease) {
      empty++;
      continue;
    }
    await lease.release({ outcome: 'success', storageState: lease.session.storageState });
    done++;
  }
} finally {
  await store.close();
}
console.log(JSON.stringify({ owner, done, warmup, empty }));
