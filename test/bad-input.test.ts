/**
 * Bad input gets a clear RaptorError with a stable code, quickly, and nothing is written
 * outside the sessions directory.
 */
import { mkdir, readdir, truncate, writeFile } from 'node:fs/promises';
import { join, relative } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { isRaptorError } from '../src/core/errors.js';
import { SessionManager } from '../src/manager.js';
import { createTempDir } from './helpers/temp-dir.js';
import { startHangingServer } from './helpers/hanging-server.js';
import { MARKER_FILE } from '../src/fs/territory.js';

const state = { cookies: [], origins: [] };

async function listTree(root: string): Promise<string[]> {
  const out: string[] = [];
  const walk = async (dir: string): Promise<void> => {
    for (const entry of await readdir(dir, { withFileTypes: true })) {
      const path = join(dir, entry.name);
      out.push(relative(root, path));
      if (entry.isDirectory()) await walk(path);
    }
  };
  await walk(root);
  return out.sort();
}

describe('bad input', () => {
  let tmp: Awaited<ReturnType<typeof createTempDir>>;
  let manager: SessionManager;

  beforeEach(async () => {
    tmp = await createTempDir();
    manager = await SessionManager.open({ env: { ...process.env, RAPTOR_HOME: join(tmp.path, 'home') } });
  });
  afterEach(async () => {
    await manager.close();
    await tmp.remove();
  });

  it('keeps names with separators, traversal and device names inside the sessions dir', async () => {
    const names = ['../x', 'a/b', 'CON', 'con.txt', '..', '.', '/etc/passwd', 'C:\\Windows\\x', 'a\\..\\..\\b'];
    for (const name of names) await manager.save(name, { storageState: state });
    const files = await listTree(tmp.path);
    expect(files.every((f) => f === 'home' || f.startsWith(join('home', 'sessions')))).toBe(true);
    const sessionFiles = files.filter((f) => f.startsWith(join('home', 'sessions', '')) && f.endsWith('.json'));
    expect(sessionFiles).toHaveLength(names.length);
    for (const name of names) expect((await manager.get(name)).name).toBe(name);
  });

  it.each([
    ['empty', ''],
    ['300 characters', 'x'.repeat(300)],
    ['a newline', 'a\nb'],
    ['a NUL byte', 'a\u0000b'],
    ['an escape sequence', '\u001b[31mred'],
  ])('rejects a name with %s as INVALID_NAME and writes nothing', async (_, name) => {
    const error = await manager.save(name, { storageState: state }).catch((e) => e);
    expect(isRaptorError(error, 'INVALID_NAME')).toBe(true);
    expect(error.message).toMatch(/name/i);
    expect(await readdir(join(tmp.path, 'home', 'sessions'))).toEqual([MARKER_FILE]); // only raptor's marker
  });

  it('reports a --dir that is a file as STORE_UNAVAILABLE with a way out', async () => {
    const file = join(tmp.path, 'not-a-dir');
    await writeFile(file, 'x');
    const error = await SessionManager.open({ dir: file, env: process.env }).catch((e) => e);
    expect(isRaptorError(error, 'STORE_UNAVAILABLE')).toBe(true);
    expect(error.message).toMatch(/not a directory/);
  });

  it('refuses a 100 MiB session file as INVALID_SESSION without reading it', async () => {
    const path = join(tmp.path, 'home', 'sessions', 'huge.json');
    await writeFile(path, '');
    await truncate(path, 100 * 1024 * 1024);
    const started = Date.now();
    const error = await manager.restore('huge').catch((e) => e);
    expect(isRaptorError(error, 'INVALID_SESSION')).toBe(true);
    expect(error.message).toMatch(/64 MiB/);
    expect(Date.now() - started).toBeLessThan(2000);
  });

  it('refuses a storage state that is not Playwright-shaped', async () => {
    const error = await manager.save('x', { storageState: { cookies: [{ name: 1 }], origins: [] } as never }).catch((e) => e);
    expect(isRaptorError(error, 'INVALID_SESSION')).toBe(true);
    expect(error.issues[0].path).toMatch(/^storageState\.cookies\.0/);
  });

  it('gives up on a CDP URL that accepts connections but never answers, within the probe timeout', async () => {
    const hanging = await startHangingServer();
    try {
      const quick = await SessionManager.open({ env: { ...process.env, RAPTOR_HOME: join(tmp.path, 'home') }, autoCleanup: false });
      const started = Date.now();
      const error = await quick.save('hang', { cdpUrl: hanging.url }).catch((e) => e);
      const took = Date.now() - started;
      await quick.close();
      expect(isRaptorError(error, 'BROWSER_UNREACHABLE')).toBe(true);
      expect(error.message).toMatch(/no answer within 1500 ms/);
      expect(took).toBeLessThan(4000);
    } finally {
      await hanging.close();
    }
  });

  it('rejects a CDP URL that is not a URL', async () => {
    const error = await manager.save('x', { cdpUrl: 'javascript:alert(1)' }).catch((e) => e);
    expect(isRaptorError(error, 'INVALID_INPUT')).toBe(true);
  });

  it('says NOT_FOUND with a hint for a session that does not exist', async () => {
    const error = await manager.restore('nope').catch((e) => e);
    expect(isRaptorError(error, 'NOT_FOUND')).toBe(true);
    expect(error.message).toMatch(/raptor list/);
  });

  it('refuses to restore an expired session with EXPIRED', async () => {
    await manager.save('old', { storageState: state }, { expiresAt: new Date(Date.now() - 1000) });
    const error = await manager.restore('old').catch((e) => e);
    expect(isRaptorError(error, 'EXPIRED')).toBe(true);
  });

  it('rejects metadata that is not plain JSON', async () => {
    const cyclic: Record<string, unknown> = {};
    cyclic['self'] = cyclic;
    const error = await manager.save('x', { storageState: state }, { metadata: cyclic as never }).catch((e) => e);
    expect(isRaptorError(error, 'INVALID_INPUT')).toBe(true); // the user's value, refused before anything is touched (issue 9 §6)
    expect(error.issues[0]).toMatchObject({ code: 'CYCLE', path: 'metadata.self' });
    await mkdir(join(tmp.path, 'home', 'sessions'), { recursive: true });
    expect(await readdir(join(tmp.path, 'home', 'sessions'))).toEqual([MARKER_FILE]); // only raptor's marker
  });
});
