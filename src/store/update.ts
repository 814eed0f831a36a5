/**
 * Read-modify-write of one session, for every store: the store's native one when it has it
 * (PostgreSQL's row lock, which never fails from contention), else optimistic over `get` + `put`
 * with `expectedRevision`, retried when another writer got in between.
 */
import { RaptorError, isRaptorError } from '../core/errors.js';
import type { SessionRecord } from '../core/record.js';
import { hasNativeUpdate } from './capabilities.js';
import type { SessionStore, UpdateFn } from './types.js';

/** Optimistic retries before the conflict is the caller's. */
const MAX_ATTEMPTS = 20;

/** `change` may be async; what it throws reaches the caller and nothing is written. `NOT_FOUND` when the session is absent. */
export async function updateSession(store: SessionStore, name: string, change: UpdateFn): Promise<SessionRecord> {
  if (hasNativeUpdate(store)) return store.update(name, change);
  for (let attempt = 0; ; attempt++) {
    const current = await store.get(name);
    if (!current) throw new RaptorError('NOT_FOUND', `No session \`${name}\` in ${store.location}. Run \`raptor list\` to see saved sessions.`);
    try {
      return await store.put(await change(current), { expectedRevision: current.revision });
    } catch (error) {
      if (!isRaptorError(error, 'REVISION_CONFLICT') || attempt >= MAX_ATTEMPTS) throw error;
    }
  }
}
