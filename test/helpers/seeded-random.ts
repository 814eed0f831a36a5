/**
 * One seeded generator for every test that picks at random (moments to kill, secrets, garbage):
 * a failing run prints its seed, and the same seed replays it. No vitest here: child processes
 * of the tests import it too (`testSeed` in `test-seed.ts` is the test file's side).
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

/** The seed a child process is given: `--seed <n>` in its argv, or `RAPTOR_SEED` in its env. */
export function childSeed(argv: readonly string[] = process.argv, env: NodeJS.ProcessEnv = process.env): number {
  const at = argv.indexOf('--seed');
  const text = at >= 0 ? argv[at + 1] : env['RAPTOR_SEED'];
  const seed = Number(text);
  // A child without a seed would pick at random again, and the parent's seed would replay nothing.
  if (text === undefined || !Number.isInteger(seed)) throw new Error(`no seed given: pass --seed <n> or RAPTOR_SEED (got ${String(text)})`);
  return seed;
}
