import { join } from 'node:path';
import { readdir, utimes, writeFile } from 'node:fs/promises';
import { fileNameFor } from '../src/core/names.js';
import { QUARANTINE_DIR, createFileStore, type FileSessionStore } from '../src/store/file.js';
import type { SessionStore } from '../src/store/types.js';
import { createTempDir } from './helpers/temp-dir.js';
import { runStoreContract } from './store-contract.js';

const dirs = new Map<SessionStore, () => Promise<void>>();

runStoreContract('file', {
  async create() {
    const dir = await createTempDir();
    const store = createFileStore({ dir: join(dir.path, 'sessions') });
    dirs.set(store, dir.remove);
    return store;
  },
  async destroy(store) {
    await dirs.get(store)?.();
  },
  capabilities: { maintenance: true, nativeAcquire: false, nativeUpdate: false, connectionFeed: false, leaseListing: true },
  async damage(store, name) {
    await writeFile(join((store as FileSessionStore).dir, fileNameFor(name)), '{ "schemaVersion": 1, "name": torn');
  },
  async ageLeftovers(store) {
    const dir = (store as FileSessionStore).dir;
    const old = new Date(Date.now() - 120_000);
    for (const entry of await readdir(join(dir, QUARANTINE_DIR))) await utimes(join(dir, QUARANTINE_DIR, entry), old, old);
    const temp = join(dir, `.${fileNameFor('left-behind')}.4242.abcd.tmp`);
    await writeFile(temp, 'half a write');
    await utimes(temp, old, old);
    return 1;
  },
});
