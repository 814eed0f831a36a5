/**
 * Hint files (heartbeat, tab list, lease, kept-alive record) read as "JSON or undefined": only
 * "missing" and "not JSON" are undefined, every other failure reaches the caller, and with
 * `noFollow` a link planted in place of the file is refused, never read through.
 */
import { mkdir, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { readJsonFile, readJsonFileSync, readJsonObject, readJsonObjectSync } from '../src/fs/json-file.js';
import { createTempDir } from './helpers/temp-dir.js';

let dir: { path: string; remove(): Promise<void> };
beforeEach(async () => {
  dir = await createTempDir();
});
afterEach(() => dir.remove());

describe('readJsonFile and readJsonFileSync', () => {
  it('give the value, or undefined for a missing or torn file', async () => {
    const good = join(dir.path, 'good.json');
    const torn = join(dir.path, 'torn.json');
    await writeFile(good, '{"a":[1,2]}');
    await writeFile(torn, '{"a":[1,');
    for (const read of [readJsonFile, readJsonFileSync]) {
      expect(await read(good)).toEqual({ a: [1, 2] });
      expect(await read(torn)).toBeUndefined();
      expect(await read(join(dir.path, 'missing.json'))).toBeUndefined();
    }
    expect(readJsonFileSync(good, { noFollow: true })).toEqual({ a: [1, 2] });
  });

  it('throw what is not "missing" (a directory in the way)', async () => {
    const path = join(dir.path, 'a-dir.json');
    await mkdir(path);
    await expect(readJsonFile(path)).rejects.toMatchObject({ code: 'EISDIR' });
    expect(() => readJsonFileSync(path)).toThrow();
  });

  it('with noFollow, refuse a link in place of the file', async () => {
    const target = join(dir.path, 'elsewhere.json');
    const link = join(dir.path, 'planted.json');
    await writeFile(target, '{"pid":1}');
    await symlink(target, link);
    expect(readJsonFileSync(link)).toEqual({ pid: 1 });
    expect(() => readJsonFileSync(link, { noFollow: true })).toThrow(expect.objectContaining({ code: 'FOREIGN_DIRECTORY' }));
  });

  it('narrow to objects on request', async () => {
    const list = join(dir.path, 'list.json');
    await writeFile(list, '["x"]');
    expect(await readJsonObject(list)).toBeUndefined();
    expect(readJsonObjectSync(list)).toBeUndefined();
    expect(readJsonFileSync(list)).toEqual(['x']);
  });
});
