/**
 * Hostile names: over 10,000 generated names (traversal, separators, unicode normalisation twins,
 * case twins, reserved device names, control characters, very long). Every accepted name maps to
 * a file inside the sessions directory, and no two names ever share a file, even on a
 * case-insensitive or normalising file system.
 */
import { readdir } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isRaptorError } from '../src/core/errors.js';
import { fileNameFor } from '../src/core/names.js';
import { newRecord } from '../src/core/record.js';
import { createFileStore } from '../src/store/file.js';
import { createTempDir } from './helpers/temp-dir.js';

/** A small deterministic PRNG, so a failure can be replayed. */
function prng(seed: number): () => number {
  return () => {
    seed = (seed * 1664525 + 1013904223) >>> 0;
    return seed / 2 ** 32;
  };
}

export function hostileNames(count: number, seed = 42): string[] {
  const random = prng(seed);
  const pick = <T>(items: readonly T[]): T => items[Math.floor(random() * items.length)]!;
  const pieces = ['..', '.', '/', '\\', '../', '..\\', '%2e%2e%2f', 'CON', 'nul', 'com1', 'LPT9', 'aux.txt', ' ', '-', '_', '~', ':', '*', '?', '"', '<', '>', '|',
    'café', 'cafe\u0301', 'ﬁ', 'ｆｕｌｌ', 'İ', 'ß', 'ẞ', 'Ω', 'Ω', '日本', '😀', '\u200b', '\u202e', 'a', 'A', 'Admin', 'admin', 'x--00000000', 'session'] as const;
  const controls = ['\u0000', '\n', '\r', '\t', '\u001b', '\u007f', '\u0085'];
  const names = new Set<string>();
  while (names.size < count) {
    const kind = random();
    let name = '';
    const length = 1 + Math.floor(random() * 6);
    for (let i = 0; i < length; i++) name += pick(pieces);
    if (kind < 0.05) name = name.replace(/./, pick(controls)); // must be rejected
    else if (kind < 0.1) name = name.padEnd(150 + Math.floor(random() * 100), pick(['a', 'é', '/', '😀'])); // around the 200 limit
    else if (kind < 0.2) name = random() < 0.5 ? name.toUpperCase() : name.toLowerCase(); // case twins
    else if (kind < 0.3) name = name.normalize(random() < 0.5 ? 'NFC' : 'NFD'); // normalisation twins
    names.add(name);
  }
  return [...names];
}

describe('hostile session names', () => {
  const names = hostileNames(12_000);
  let tmp: Awaited<ReturnType<typeof createTempDir>>;
  beforeAll(async () => {
    tmp = await createTempDir('raptor-fuzz-names-');
  });
  afterAll(async () => tmp?.remove());

  it('maps every accepted name into the directory and never two names to one file', () => {
    const dir = resolve(tmp.path, 'sessions');
    const owners = new Map<string, string>();
    let accepted = 0;
    let rejected = 0;
    for (const name of names) {
      let file: string;
      try {
        file = fileNameFor(name);
      } catch (error) {
        expect(isRaptorError(error, 'INVALID_NAME'), JSON.stringify(name)).toBe(true);
        rejected++;
        continue;
      }
      accepted++;
      expect(file, JSON.stringify(name)).toMatch(/^[a-z0-9][a-z0-9._-]*\.json$/);
      expect(Buffer.byteLength(file)).toBeLessThanOrEqual(255);
      expect(resolve(dir, file).startsWith(`${dir}/`)).toBe(true);
      // Case-insensitive and normalising file systems fold these; the file names must still differ.
      const folded = file.normalize('NFKC').toLowerCase();
      const owner = owners.get(folded);
      expect(owner === undefined || owner === name, `${JSON.stringify(name)} and ${JSON.stringify(owner)} share ${file}`).toBe(true);
      owners.set(folded, name);
    }
    expect(accepted + rejected).toBeGreaterThanOrEqual(10_000);
    expect(rejected).toBeGreaterThan(100); // control characters and over-long names were in the mix
  });

  it('stores hundreds of them for real: one file each, all inside, each read back by its own name', async () => {
    const dir = join(tmp.path, 'sessions');
    const store = createFileStore({ dir });
    const sample = names.filter((n) => {
      try {
        fileNameFor(n);
        return true;
      } catch {
        return false;
      }
    }).slice(0, Number(process.env['RAPTOR_FUZZ_STORED'] ?? 300));
    for (const name of sample) await store.put(newRecord(name, { cookies: [], origins: [] }));
    const files = (await readdir(tmp.path, { recursive: true })).filter((f) => f.endsWith('.json'));
    expect(files.every((f) => f.startsWith('sessions/') && !f.slice('sessions/'.length).includes('/'))).toBe(true);
    expect(files).toHaveLength(sample.length);
    for (const name of sample) expect((await store.get(name))?.name).toBe(name);
    await store.close();
  }, 120_000);
});
