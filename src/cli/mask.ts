/**
 * Masking for `raptor show`: the CLI's door to the one deny-by-default masking function
 * (`src/core/mask.ts`) and the one URL redactor (`src/core/redact-url.ts`).
 */
import { maskRecord as maskAnyRecord } from '../core/mask.js';
import { redactUrl } from '../core/redact-url.js';
import type { SessionRecord } from '../core/record.js';

export { MASK, maskValue } from '../core/mask.js';

/** The URL with its credentials (`user:pass@`, query values) replaced by `***`; unchanged without any. */
export function maskUrl(url: string): string {
  return redactUrl(url);
}

/**
 * A deep copy of `record` with every value that is not structure masked. Values that were
 * objects (IndexedDB records, unknown keys) become mask strings, so the copy keeps the
 * `SessionRecord` shape only where raptor reads it (names, domains, origins, flags, times).
 */
export function maskRecord(record: SessionRecord): SessionRecord {
  return maskAnyRecord(record);
}
