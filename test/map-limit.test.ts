/** `mapLimit`: never more than `limit` calls at once, results in the order of the items. */
import { describe, expect, it } from 'vitest';
import { mapLimit } from '../src/core/map-limit.js';
import { sleep } from '../src/core/deadline.js';
import { seededRandom } from './helpers/seeded-random.js';

describe('mapLimit', () => {
  it('keeps at most `limit` calls in flight and the results in item order', async () => {
    const seed = Number(process.env['SEED'] ?? Date.now() % 100_000);
    const random = seededRandom(seed);
    const items = Array.from({ length: 50 }, (_, i) => i);
    let running = 0;
    let most = 0;
    const results = await mapLimit(items, 8, async (item) => {
      running++;
      most = Math.max(most, running);
      await sleep(Math.floor(random() * 10));
      running--;
      return item * 2;
    });
    expect(results, `seed ${seed}`).toEqual(items.map((i) => i * 2));
    expect(most, `seed ${seed}`).toBe(8);
  });

  it('starts nothing new after a failure and rejects with it', async () => {
    const started: number[] = [];
    await expect(
      mapLimit([0, 1, 2, 3, 4, 5], 2, async (item) => {
        started.push(item);
        await sleep(5);
        if (item === 1) throw new Error('probe 1 broke');
        return item;
      }),
    ).rejects.toThrow('probe 1 broke');
    expect(started).toEqual([0, 1, 2]);
  });

  it('handles no items and refuses a limit below 1', async () => {
    expect(await mapLimit([], 8, async () => 1)).toEqual([]);
    await expect(mapLimit([1], 0, async () => 1)).rejects.toThrow(RangeError);
  });
});
