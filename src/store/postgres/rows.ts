/**
 * How a record is a row: the summary fields as `head` JSON, the browser state and identity (plain
 * or sealed) as `state` JSON, and the columns the store's queries filter and sort by. And back: a row is
 * validated like a file read, and must hold the session it is keyed by.
 */
import type { QueryResultRow } from 'pg';
import { RaptorError, isRaptorError } from '../../core/errors.js';
import { MAX_FILE_BYTES, parseRecordText, type SessionRecord } from '../../core/record.js';
import { RETIRED_TAG, poolStats } from '../pool.js';

export interface Row extends QueryResultRow {
  name: string;
  head: string;
  state: string;
}

/** `$1..$12` of the insert, update and release statements. `TOO_LARGE` past the file size limit. */
export function rowColumns(record: SessionRecord): unknown[] {
  // An encrypted state (`encrypted`, see store/encrypting.ts) is state too: it stays out of `head`.
  const { storageState, sessionStorage, identity, encrypted, ...rest } = record;
  const head = JSON.stringify(rest);
  const state = JSON.stringify({
    storageState,
    ...(sessionStorage === undefined ? {} : { sessionStorage }),
    ...(identity === undefined ? {} : { identity }),
    ...(encrypted === undefined ? {} : { encrypted }),
  });
  const bytes = Buffer.byteLength(head) + Buffer.byteLength(state);
  if (bytes > MAX_FILE_BYTES) {
    throw new RaptorError('TOO_LARGE', `Session \`${record.name}\` would be ${(bytes / 1048576).toFixed(1)} MiB; the limit is 64 MiB. Drop large IndexedDB stores or metadata before saving.`);
  }
  const pool = poolStats(record.metadata);
  return [
    record.name,
    record.revision,
    record.schemaVersion,
    record.tags,
    record.expiresAt,
    record.updatedAt,
    bytes,
    head,
    state,
    pool.usageCount,
    pool.errorScore,
    pool.retired === true || record.tags.includes(RETIRED_TAG), // isRetired(), without parsing the stats twice
  ];
}

/** The record of a row of the store at `location`, validated like a file read (`INVALID_SESSION` with every issue). */
export function parseRow(row: Row, location: string): SessionRecord {
  let record: SessionRecord;
  try {
    // head and state are two JSON objects; joined they are the record's JSON text.
    record = parseRecordText(`${row.head.slice(0, -1)},${row.state.slice(1)}`);
  } catch (error) {
    if (!isRaptorError(error, 'INVALID_SESSION')) throw error;
    const first = error.issues[0];
    throw new RaptorError(
      'INVALID_SESSION',
      `Session \`${row.name}\` in ${location} is not valid${first ? ` (${first.path || 'record'}: ${first.message})` : ''}. Run \`raptor validate\` for every problem.`,
      { issues: error.issues, cause: error },
    );
  }
  if (record.name !== row.name) {
    throw new RaptorError('INVALID_SESSION', `Row \`${row.name}\` in ${location} holds session \`${record.name}\`.`, {
      issues: [{ code: 'NAME_MISMATCH', message: `the row holds session \`${record.name}\``, path: 'name' }],
    });
  }
  return record;
}
