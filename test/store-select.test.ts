/**
 * One string picks the store everywhere: `openStore()`, `SessionManager.open({ store })`,
 * RAPTOR_STORE and the `store` setting, with the most specific choice winning.
 */
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { isRaptorError } from '../src/core/errors.js';
import { SessionManager } from '../src/manager.js';
import { FileSessionStore } from '../src/store/file.js';
import { MemorySessionStore } from '../src/store/memory.js';
import { openStore } from '../src/store/open-store.js';
import { PostgresSessionStore } from '../src/store/postgres/store.js';
import { randomTable, sql, storeUrl } from './helpers/postgres.js';
import { createTempDir } from './helpers/temp-dir.js';

const tables: string[] = [];
const pgUrl = (): string => {
  const table = randomTable('sel');
  tables.push(table);
  return storeUrl(table);
};
afterAll(async () => {
  for (const t of tables) await sql(`DROP TABLE IF EXISTS "${t}", "${t}_quarantine", "${t}_schema"`);
});

async function home() {
  const dir = await createTempDir('raptor-select-');
  const env: NodeJS.ProcessEnv = { PATH: process.env['PATH'], RAPTOR_HOME: dir.path };
  return { dir, env };
}

describe('openStore', () => {
  it('maps postgres:// and postgresql:// URLs, memory: and directories to their stores', async () => {
    const tmp = await createTempDir();
    try {
      const memory = await openStore('memory:');
      expect(memory).toBeInstanceOf(MemorySessionStore);
      const file = await openStore(join(tmp.path, 'a'));
      expect(file).toBeInstanceOf(FileSessionStore);
      expect(file.location).toBe(join(tmp.path, 'a'));
      expect((await openStore(`file://${join(tmp.path, 'b')}`)).location).toBe(join(tmp.path, 'b'));
      for (const url of [pgUrl(), pgUrl().replace(/^postgres:/, 'postgresql:')]) {
        const store = await openStore(url);
        expect(store).toBeInstanceOf(PostgresSessionStore);
        expect(store.location).toContain('(table sel_');
        await store.close();
      }
    } finally {
      await tmp.remove();
    }
  });
});

describe('SessionManager.open picks the store', () => {
  it('from RAPTOR_STORE when no dir or store is given', async () => {
    const { dir, env } = await home();
    const url = pgUrl();
    const manager = await SessionManager.open({ env: { ...env, RAPTOR_STORE: url } });
    try {
      // The manager wraps every store (the key policy); where it writes is what a user checks.
      expect(manager.location).toMatch(/^postgres(ql)?:\/\//);
      await manager.save('from-env', { storageState: { cookies: [], origins: [] } });
      const other = await openStore(url);
      expect((await other.get('from-env'))?.name).toBe('from-env');
      await other.close();
    } finally {
      await manager.close();
      await dir.remove();
    }
  });

  it('from a `store` string or instance, which wins over dir and the environment', async () => {
    const { dir, env } = await home();
    const byUrl = await SessionManager.open({ store: pgUrl(), dir: join(dir.path, 'ignored'), env: { ...env, RAPTOR_STORE: 'memory:' } });
    expect(byUrl.location).toMatch(/^postgres(ql)?:\/\//);
    await byUrl.close();
    const instance = await openStore('memory:');
    const byInstance = await SessionManager.open({ store: instance, env });
    await byInstance.save('into-instance', { storageState: { cookies: [], origins: [] } });
    expect((await instance.get('into-instance'))?.name).toBe('into-instance');
    await byInstance.close();
    await dir.remove();
  });

  it('from `dir` and RAPTOR_SESSIONS_DIR over the `store` setting, and the setting over the default', async () => {
    const { dir, env } = await home();
    await writeFile(join(dir.path, 'config.json'), JSON.stringify({ store: 'memory:' }));
    const fromSetting = await SessionManager.open({ env });
    expect(fromSetting.location).toBe('memory');
    await fromSetting.close();
    const fromDir = await SessionManager.open({ env, dir: join(dir.path, 'd') });
    expect(fromDir.location).toBe(join(dir.path, 'd'));
    await fromDir.close();
    const fromEnvDir = await SessionManager.open({ env: { ...env, RAPTOR_SESSIONS_DIR: join(dir.path, 'e') } });
    expect(fromEnvDir.location).toBe(join(dir.path, 'e'));
    await fromEnvDir.close();
    const fromEnvStore = await SessionManager.open({ env: { ...env, RAPTOR_STORE: join(dir.path, 'f') } });
    expect(fromEnvStore.location).toBe(join(dir.path, 'f'));
    await fromEnvStore.close();
    await dir.remove();
  });

  it('fails with STORE_UNAVAILABLE, password redacted, when RAPTOR_STORE points at no server', async () => {
    const { dir, env } = await home();
    const error = await SessionManager.open({ env: { ...env, RAPTOR_STORE: 'postgres://bob:hunter2@127.0.0.1:1/test' } }).catch((e) => e);
    expect(isRaptorError(error, 'STORE_UNAVAILABLE')).toBe(true);
    expect(error.message).not.toContain('hunter2');
    await dir.remove();
  });
});
