/**
 * One process of the fleet bench: acquire + release (writing the state back) in a loop.
 *
 * It warms up (modules loaded, connections open, statements prepared, V8's optimizing compiler
 * done) and prints `{"ready":true}` after `WARM_CYCLES`, then keeps cycling until the parent
 * writes the measured window to stdin (`{"start":…,"end":…}`, Date.now() values). The parent
 * sends it only once every worker is ready: 8 processes loading at once on two cores take
 * seconds, and a fixed warm-up would count that loading against the store. At the end it prints
 * how many releases it finished in each window, and how many before and after them (so the bench
 * can check that the store counted every release).
 */
import { createInterface } from 'node:readline';
import { setTimeout as sleep } from 'node:timers/promises';
import { openStore } from '../src/store/open-store.js';
import { acquire } from '../src/store/pool.js';

const WARM_CYCLES = 300;

const { store: spec, tag, owner } = JSON.parse(process.argv[2]!) as { store: string; tag: string; owner: string };
/** The measured time, cut into `windows` equal parts so the bench can take a median. */
let clock: { start: number; end: number; windows: number } | undefined;
const lines = createInterface({ input: process.stdin });
lines.once('line', (line) => {
  clock = JSON.parse(line) as { start: number; end: number; windows: number };
  lines.close();
});
// The bench died before starting the clock: stop, rather than cycle against the database forever.
lines.once('close', () => {
  if (!clock) process.exit(1);
});

const store = await openStore(spec);
let done: number[] = [];
let warmup = 0;
let empty = 0;
let late = 0;
/** One acquire + release; false when the pool had nothing free. */
const cycle = async (): Promise<boolean> => {
  const lease = await acquire(store, { tag, leaseMs: 30_000, owner });
  if (!lease) return false;
  await lease.release({ outcome: 'success', storageState: lease.session.storageState });
  return true;
};
try {
  while (!clock || Date.now() < clock.start) {
    if (!(await cycle())) {
      await sleep(1);
      continue;
    }
    if (++warmup === WARM_CYCLES) console.log(JSON.stringify({ ready: true }));
  }
  const { start, end, windows } = clock;
  done = new Array<number>(windows).fill(0);
  while (Date.now() < end) {
    if (!(await cycle())) {
      empty++;
      continue;
    }
    const at = Date.now();
    if (at < end) done[Math.floor(((at - start) / (end - start)) * windows)]!++; // counted in the window it finished in
    else late++;
  }
} finally {
  await store.close();
}
console.log(JSON.stringify({ owner, done, warmup, late, empty }));
