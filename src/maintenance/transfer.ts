/**
 * Moving whole stores: `raptor export --all` writes every session as one record per line
 * (NDJSON), `raptor import` reads that (or a JSON array of records) into any store. This is how
 * sessions move between a file store and a PostgreSQL store.
 *
 * Records travel whole: name, tags, metadata (pool accounting included), expiry, creation and
 * access times, the recorded browser, unknown keys of a newer raptor. Only `revision` and
 * `updatedAt` are the target store's own: it stamps them when it writes.
 */
import { RaptorError, isRaptorError, type Issue } from '../core/errors.js';
import { describeJsonError } from '../core/json-error.js';
import { MAX_FILE_BYTES, parseRecordValue, type SessionRecord } from '../core/record.js';
import type { SessionStore } from '../store/types.js';

/** Every session of `store` (expired ones too), whole. Entries that are not valid sessions are skipped, as `list()` skips them. */
export async function* exportRecords(store: SessionStore): AsyncIterable<SessionRecord> {
  for await (const summary of store.list()) {
    const record = await store.get(summary.name);
    if (record) yield record; // deleted since it was listed: nothing to export
  }
}

/** One record per line, compact: what `raptor export --all` writes. */
export function recordLine(record: SessionRecord): string {
  return `${JSON.stringify(record)}\n`;
}

/**
 * The records of an export bundle: a JSON array of records, or NDJSON (one record per line).
 * Every record is validated before anything is imported. `INVALID_INPUT` names the bad entry.
 */
export function parseBundle(text: string, source: string): SessionRecord[] {
  const trimmed = text.trim();
  let values: unknown[];
  if (trimmed.startsWith('[')) {
    try {
      values = JSON.parse(trimmed) as unknown[];
    } catch {
      // Not V8's message, and not as the cause: it quotes the bundle, which holds credentials.
      throw new RaptorError('INVALID_INPUT', `\`${source}\` is not valid JSON (${describeJsonError(trimmed)}).`);
    }
  } else {
    values = trimmed.split('\n').flatMap((line, i) => {
      if (line.trim() === '') return [];
      if (line.length > MAX_FILE_BYTES || Buffer.byteLength(line) > MAX_FILE_BYTES) {
        throw new RaptorError('INVALID_INPUT', `\`${source}\` line ${i + 1} is ${(Buffer.byteLength(line) / 1048576).toFixed(1)} MiB, over the 64 MiB limit of a session. Nothing was imported.`);
      }
      try {
        return [JSON.parse(line) as unknown];
      } catch {
        throw new RaptorError('INVALID_INPUT', `\`${source}\` line ${i + 1} is not valid JSON (${describeJsonError(line).replace(/line 1 /, '')}). An export bundle has one record per line.`);
      }
    });
  }
  if (!Array.isArray(values)) throw new RaptorError('INVALID_INPUT', `\`${source}\` is not an export bundle (a JSON array or one record per line).`);
  return values.map((value, i) => {
    try {
      return parseRecordValue(value);
    } catch (error) {
      if (!isRaptorError(error)) throw error;
      const issues: Issue[] = error.issues.map((issue) => ({ ...issue, path: [String(i), issue.path].filter(Boolean).join('.') }));
      throw new RaptorError('INVALID_INPUT', `\`${source}\` record ${i + 1}: ${error.message}`, { issues, cause: error });
    }
  }).map((record, i) => {
    // NDJSON lines were measured above; records of a JSON array are measured here, before anything is written.
    if (trimmed.startsWith('[') && Buffer.byteLength(JSON.stringify(record)) > MAX_FILE_BYTES) {
      throw new RaptorError('INVALID_INPUT', `\`${source}\` record ${i + 1} is over the 64 MiB limit of a session. Nothing was imported.`);
    }
    return record;
  });
}

export interface ImportResult {
  imported: string[];
  /** Already in the target store and left alone (import without `force`). */
  skipped: string[];
}

/** Writes `records` into `store`. Without `force` an existing session is skipped, never replaced. */
export async function importRecords(store: SessionStore, records: Iterable<SessionRecord>, options: { force?: boolean } = {}): Promise<ImportResult> {
  const result: ImportResult = { imported: [], skipped: [] };
  for (const record of records) {
    try {
      await store.put(record, options.force ? {} : { expectedRevision: 0 });
      result.imported.push(record.name);
    } catch (error) {
      if (!isRaptorError(error, 'REVISION_CONFLICT') || options.force) throw error;
      result.skipped.push(record.name);
    }
  }
  return result;
}
