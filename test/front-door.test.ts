/**
 * The manager is the only way in: no code above it reaches around it to the store it wraps
 * (`manager.store`), which would skip its checks and its errors. Only `src/store`,
 * `src/maintenance` and `src/manager.ts` hold a store.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { describe, expect, it } from 'vitest';

const SRC = join(import.meta.dirname, '..', 'src');
const ALLOWED = [/^store\//, /^maintenance\//, /^manager\.ts$/];
const REACH_AROUND = /\bmanager\.store\b|\.store\.(get|put|delete|list|scan|quarantine|quarantineEntry|lease|watch|watchConnection|acquire|update|sweep|location)\b/;

function sources(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return sources(path);
    return entry.name.endsWith('.ts') ? [path] : [];
  });
}

describe('the manager as the only front door', () => {
  it('no source outside src/store, src/maintenance and src/manager.ts reaches the store around the manager', () => {
    const offenders: string[] = [];
    for (const path of sources(SRC)) {
      const file = relative(SRC, path);
      if (ALLOWED.some((allowed) => allowed.test(file))) continue;
      readFileSync(path, 'utf8')
        .split('\n')
        .forEach((line, i) => {
          if (REACH_AROUND.test(line)) offenders.push(`src/${file}:${i + 1}: ${line.trim()}`);
        });
    }
    expect(offenders).toEqual([]);
  });
});
