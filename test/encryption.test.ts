/**
 * Encryption at rest: with encryption on, no credential is readable in the session file, listing
 * works without the key, a missing or wrong key is a clear error (never garbage), and `raptor
 * rekey` moves every session to a new key that the old one no longer opens.
 */
import { readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { isRaptorError } from '../src/core/errors.js';
import { newKey } from '../src/crypto/encryption.js';
import { SessionManager } from '../src/manager.js';
import { runCli } from './helpers/cli.js';
import { createTempDir } from './helpers/temp-dir.js';

const SECRET = 'sid-5b0e7c1f9a2d';
const state = { cookies: [{ name: 'sid', value: SECRET, domain: 'app.test', path: '/', expires: -1, httpOnly: true, secure: true, sameSite: 'Lax' as const }], origins: [{ origin: 'https://app.test', localStorage: [{ name: 'token', value: `tok-${SECRET}` }] }] };

describe('encryption at rest', () => {
  let tmp: Awaited<ReturnType<typeof createTempDir>>;
  let env: NodeJS.ProcessEnv;
  const cli = (args: string[], extra: NodeJS.ProcessEnv = {}) => runCli(args, { env: { RAPTOR_HOME: tmp.path, ...extra } });
  const open = (extra: NodeJS.ProcessEnv = {}) => SessionManager.open({ env: { ...env, ...extra }, autoCleanup: false });

  beforeEach(async () => {
    tmp = await createTempDir('raptor-crypt-');
    env = { ...process.env, RAPTOR_HOME: tmp.path };
    delete env['RAPTOR_KEY'];
    const on = await cli(['config', 'set', 'encryption', 'on']);
    expect(on.code, on.stderr).toBe(0);
  });
  afterEach(async () => tmp.remove());

  it('creates a 0600 key file and keeps every credential out of the session file', async () => {
    expect((await stat(join(tmp.path, 'key'))).mode & 0o777).toBe(0o600);
    const manager = await open();
    await manager.save('acme', { storageState: state, sessionStorage: { 'https://app.test': { tab: SECRET } } }, { tags: ['admin'] });
    await manager.close();
    const text = await readFile(join(tmp.path, 'sessions', 'acme.json'), 'utf8');
    expect(text).not.toContain(SECRET);
    expect(JSON.parse(text)).toMatchObject({ name: 'acme', tags: ['admin'], storageState: { encrypted: { alg: 'aes-256-gcm' } } });
    const again = await open();
    const record = await again.get('acme');
    await again.close();
    expect(record.storageState).toEqual(state);
    expect(record.sessionStorage).toEqual({ 'https://app.test': { tab: SECRET } });
  });

  it('seals the identity with the state: a proxy password, HTTP credentials and header values never reach the file', async () => {
    const identity = {
      userAgent: 'RaptorTest/1.0',
      locale: 'de-DE',
      extraHTTPHeaders: { Authorization: `Bearer hdr-${SECRET}` },
      httpCredentials: { username: 'basic', password: `basic-${SECRET}` },
      proxy: { server: 'http://proxy.test:3128', username: 'p', password: `proxy-${SECRET}` },
    };
    const manager = await open();
    await manager.save('acme', { storageState: state }, { identity });
    // A later save that says nothing about the identity keeps it.
    await manager.save('acme', { storageState: state });
    await manager.close();
    const text = await readFile(join(tmp.path, 'sessions', 'acme.json'), 'utf8');
    expect(text).not.toContain(SECRET);
    expect(text).not.toContain('RaptorTest'); // the whole identity is sealed, not only its passwords
    const again = await open();
    expect((await again.get('acme')).identity).toEqual(identity);
    await again.close();
  });

  it('lists without the key, and says clearly that the key is missing or wrong', async () => {
    const manager = await open();
    await manager.save('acme', { storageState: state });
    await manager.close();
    const { rm } = await import('node:fs/promises');
    const keyText = await readFile(join(tmp.path, 'key'), 'utf8');
    await rm(join(tmp.path, 'key'));

    const list = await cli(['list', '--json']);
    expect(list.code, list.stderr).toBe(0);
    expect(list.json().sessions.map((s: { name: string }) => s.name)).toEqual(['acme']);

    const show = await cli(['show', 'acme']);
    expect(show.code).toBe(1);
    expect(show.stderr).toMatch(/encrypted with key [0-9a-f]{16}.*no key is set/);
    const wrong = await cli(['show', 'acme'], { RAPTOR_KEY: newKey().bytes.toString('base64') });
    expect(wrong.stderr).toMatch(/encrypted with key [0-9a-f]{16}, and the key at hand is/);
    expect(wrong.stdout + wrong.stderr).not.toContain(SECRET);
    const right = await cli(['show', 'acme', '--reveal'], { RAPTOR_KEY: keyText.trim() });
    expect(right.code, right.stderr).toBe(0);
    expect(right.stdout).toContain(SECRET);
  });

  it('reports a tampered state instead of returning garbage', async () => {
    const manager = await open();
    await manager.save('acme', { storageState: state });
    await manager.close();
    const path = join(tmp.path, 'sessions', 'acme.json');
    const file = JSON.parse(await readFile(path, 'utf8'));
    const data = Buffer.from(file.storageState.encrypted.data, 'base64');
    data[5]! ^= 1;
    file.storageState.encrypted.data = data.toString('base64');
    await (await import('node:fs/promises')).writeFile(path, JSON.stringify(file, null, 2));
    const again = await open();
    const error = await again.get('acme').catch((e) => e);
    await again.close();
    expect(isRaptorError(error, 'INVALID_SESSION')).toBe(true);
    expect(error.message).toMatch(/altered or damaged/);
  });

  it('rekey moves every session to a new key; the old key no longer opens them', async () => {
    const manager = await open();
    for (const name of ['a', 'b', 'c']) await manager.save(name, { storageState: state });
    await manager.close();
    const oldKey = (await readFile(join(tmp.path, 'key'), 'utf8')).trim();
    const rekey = await cli(['rekey', '--json']);
    expect(rekey.code, rekey.stderr).toBe(0);
    expect(rekey.json().sessions).toBe(3);
    const newKeyText = (await readFile(join(tmp.path, 'key'), 'utf8')).trim();
    expect(newKeyText).not.toBe(oldKey);
    for (const name of ['a', 'b', 'c']) {
      const text = await readFile(join(tmp.path, 'sessions', `${name}.json`), 'utf8');
      expect(JSON.parse(text).storageState.encrypted.kid).toBe(rekey.json().keyId);
    }
    expect((await cli(['show', 'a', '--reveal'])).stdout).toContain(SECRET);
    await (await import('node:fs/promises')).rm(join(tmp.path, 'key')); // only the old key left
    const withOld = await cli(['show', 'a'], { RAPTOR_KEY: oldKey });
    expect(withOld.code).toBe(1);
    expect(withOld.stderr).toMatch(/encrypted with key/);
  });
});
