/**
 * The test file's side of seeded randomness: where the seed comes from, and that a failure says it.
 */
import { beforeEach } from 'vitest';
import { seededRandom } from './seeded-random.js';

export interface TestSeed {
  seed: number;
  random: () => number;
  /** `what` with the seed and how to replay it, for assertion messages. */
  seeded(what: string): string;
}

/**
 * The seed of a test file: `process.env[variable]` when set (a replay), a fresh one otherwise.
 * Every failing test of the file prints it with the command line that replays it.
 * Call it at the top level of a test file.
 */
export function testSeed(variable = 'RAPTOR_SEED'): TestSeed {
  const given = process.env[variable];
  const seed = given === undefined ? Math.floor(Math.random() * 2 ** 31) : Number(given);
  if (!Number.isInteger(seed)) throw new Error(`${variable} must be an integer, not \`${given}\``);
  const replay = `seed ${seed}: rerun with ${variable}=${seed}`;
  beforeEach(({ onTestFailed }) => onTestFailed(() => console.error(`[${replay}]`)));
  return { seed, random: seededRandom(seed), seeded: (what) => `${what} (${replay})` };
}
