import { join } from 'node:path';
import { createFileStore } from '../src/store/file.js';
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
});
