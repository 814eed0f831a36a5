/**
 * One seeded generator for every test that picks at random (moments to kill, secrets, garbage):
 * a failing run prints its seed, and the same seed replays it.
 */

/** mulberry32: tiny, fast, and good enough to pick moments and make distinctive values. */
export function seededRandom(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
