/** Optimistic concurrency, the same for every store: check `expectedRevision`, then stamp the next revision. */
import { RaptorError } from '../core/errors.js';
import type { SessionRecord } from '../core/record.js';
import type { PutOptions } from './types.js';

/** The record as it will be stored over revision `current` (0 = absent), or `REVISION_CONFLICT`. */
export function nextRevision(record: SessionRecord, current: number, opts: PutOptions): SessionRecord {
  if (opts.expectedRevision !== undefined && opts.expectedRevision !== current) {
    throw new RaptorError(
      'REVISION_CONFLICT',
      `Session \`${record.name}\` is at revision ${current}, not ${opts.expectedRevision}: another writer changed it. Read it again and retry.`,
    );
  }
  return { ...record, revision: current + 1, updatedAt: new Date().toISOString() };
}
