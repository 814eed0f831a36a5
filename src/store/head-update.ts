/**
 * A change of a session's metadata only (`change` must not touch the state), written to the store
 * under the encryption layer: the sealed state is carried over byte for byte, so no key is needed
 * and none changes. `stop --forget` uses it on a session the key at hand may not open.
 */
import { isRaptorError } from '../core/errors.js';
import type { SessionRecord } from '../core/record.js';
import type { SessionStore } from './types.js';

const MAX_ATTEMPTS = 20;

/** Nothing happens when the session is absent or `change` changes nothing. */
export async function updateHead(rawStore: SessionStore, name: string, change: (current: SessionRecord) => SessionRecord): Promise<void> {
  for (let attempt = 0; ; attempt++) {
    const current = await rawStore.get(name);
    if (!current) return;
    const next = change(current);
    if (JSON.stringify(next) === JSON.stringify(current)) return; // nothing to write
    try {
      await rawStore.put({ ...next, storageState: current.storageState, ...(current.encrypted ? { encrypted: current.encrypted } : {}) }, { expectedRevision: current.revision });
      return;
    } catch (error) {
      if (!isRaptorError(error, 'REVISION_CONFLICT') || attempt >= MAX_ATTEMPTS) throw error;
    }
  }
}
