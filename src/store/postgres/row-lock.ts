/**
 * Read-modify-write of one session under its row lock, the PostgreSQL store's `update()` fast
 * path (the file store's per-session lock is its equivalent):
 *
 *   BEGIN; SELECT … FOR UPDATE; <the caller's function>; UPDATE …; COMMIT
 *
 * Concurrent updates of one session queue on the lock instead of racing on the revision, so none
 * fails from contention alone (with optimistic retries, 8 processes × 200 updates of one session
 * saw 19 `REVISION_CONFLICT`s). What holds the lock is bounded twice: the caller's function gets
 * `timeoutMs` (then ROLLBACK and `TIMEOUT`), and the server ends a transaction left idle a little
 * longer than that (`idle_in_transaction_session_timeout`), which frees the row even when the
 * holding process is frozen (SIGSTOP) or its event loop is blocked.
 *
 * A connection lost before COMMIT was sent wrote nothing, so the update is tried again on a new
 * connection (a few times, with backoff); one lost while committing may or may not have been
 * applied, and is reported as such, never retried (that could apply it twice).
 */
import type { Pool, PoolClient, QueryResultRow } from 'pg';
import { sleep, withTimeout } from '../../core/deadline.js';
import { RaptorError } from '../../core/errors.js';
import { SCHEMA_VERSION, parseRecordValue, type SessionRecord } from '../../core/record.js';
import { storeError } from './client.js';
import type { Statement } from './sql.js';
import { nextRevision } from '../revision.js';
import type { UpdateFn } from '../types.js';

export interface RowLockContext {
  pool: Pool;
  location: string;
  /** `SELECT name, head, state, revision, schema_version … FOR UPDATE` ($1 name). */
  select: Statement;
  /** The store's `update` statement ($1..$12 the columns, $13 the revision written over). */
  write: Statement;
  parseRow(row: LockedRow): SessionRecord;
  columns(record: SessionRecord): unknown[];
  /** The caller's function may run this long. */
  timeoutMs: number;
}

export interface LockedRow extends QueryResultRow {
  name: string;
  head: string;
  state: string;
  revision: number;
  schema_version: number;
}

/** How long a waiter queues for the row before `LOCKED`: far beyond any holder's bound, so only a foreign lock holder reaches it. */
const LOCK_WAIT_FACTOR = 6;
/** The server's backstop after the caller's own timeout. */
const SERVER_GRACE_MS = 5_000;
const RETRIES = 4;
/** SQLSTATE lock_not_available: `lock_timeout` ran out. */
const LOCK_NOT_AVAILABLE = '55P03';

export async function updateUnderRowLock(ctx: RowLockContext, name: string, change: UpdateFn): Promise<SessionRecord> {
  for (let attempt = 0; ; attempt++) {
    try {
      return await attemptOnce(ctx, name, change);
    } catch (error) {
      if (!(error instanceof ConnectionLost) || attempt >= RETRIES) throw error instanceof ConnectionLost ? error.reported : error;
      await sleep(100 * 2 ** attempt);
    }
  }
}

/** A connection that died before COMMIT: nothing was written, the attempt may be repeated. */
class ConnectionLost extends Error {
  constructor(readonly reported: unknown) {
    super('connection lost');
  }
}

async function attemptOnce(ctx: RowLockContext, name: string, change: UpdateFn): Promise<SessionRecord> {
  let client: PoolClient;
  try {
    client = await ctx.pool.connect();
  } catch (error) {
    throw new ConnectionLost(storeError(ctx.location, error));
  }
  // A checked-out client has no 'error' listener of the pool's: without this one, a backend
  // terminated while the caller's function runs would crash the process.
  let lost: Error | undefined;
  const onError = (error: Error): void => void (lost ??= error);
  client.on('error', onError);
  let committing = false;
  const lockWaitMs = ctx.timeoutMs * LOCK_WAIT_FACTOR + SERVER_GRACE_MS;
  const fail = (error: unknown): never => {
    if ((error as { code?: unknown }).code === LOCK_NOT_AVAILABLE) {
      throw new RaptorError('LOCKED', `Session \`${name}\` stayed locked by another connection for ${Math.round(lockWaitMs / 1000)} s (not a raptor writer: those are bounded). Find it in \`pg_stat_activity\`, or retry later.`, { cause: error });
    }
    if (!isConnectionError(error, lost)) throw storeError(ctx.location, error);
    const reported = storeError(ctx.location, error);
    if (!committing) throw new ConnectionLost(reported);
    throw new RaptorError(
      'STORE_UNAVAILABLE',
      `The connection to PostgreSQL store ${ctx.location} was lost while committing an update of \`${name}\`: it may or may not have been applied. Read the session again (\`raptor show ${name}\`) before repeating it.`,
      { cause: error },
    );
  };
  try {
    // Integers of raptor's own: safe to inline (SET takes no parameters).
    await client
      .query(`BEGIN; SET LOCAL lock_timeout = ${Math.ceil(lockWaitMs)}; SET LOCAL idle_in_transaction_session_timeout = ${Math.ceil(ctx.timeoutMs + SERVER_GRACE_MS)}`)
      .catch(fail);
    const row = (await client.query<LockedRow>({ ...ctx.select, values: [name] }).catch(fail)).rows[0];
    if (!row) throw new RaptorError('NOT_FOUND', `No session \`${name}\` in ${ctx.location}. Run \`raptor list\` to see saved sessions.`);
    if (row.schema_version > SCHEMA_VERSION) {
      throw new RaptorError('INVALID_SESSION', `Session \`${name}\` was written by a newer raptor; upgrade raptor-sessions before changing it.`);
    }
    const current = ctx.parseRow(row);
    const changed = await withTimeout(change(current), ctx.timeoutMs, () => {
      throw updateTimedOut(name, ctx.timeoutMs);
    });
    const next = parseRecordValue(changed);
    if (next.name !== name) {
      throw new RaptorError('INVALID_INPUT', `The update of \`${name}\` returned session \`${next.name}\`; an update cannot rename a session. Save it under the new name and delete the old one.`);
    }
    if (lost) fail(lost);
    const stored = nextRevision(next, row.revision, {});
    const written = await client.query({ ...ctx.write, values: [...ctx.columns(stored), row.revision] }).catch(fail);
    if (written.rowCount !== 1) throw new RaptorError('REVISION_CONFLICT', `Session \`${name}\` changed under its row lock; this is not expected. Retry the update.`);
    committing = true;
    await client.query('COMMIT').catch(fail);
    client.removeListener('error', onError);
    client.release();
    return stored;
  } catch (error) {
    if (lost || committing || error instanceof ConnectionLost) {
      client.release(lost ?? new Error('connection lost')); // a dead connection goes, and our listener stays on it for its last errors
    } else {
      // The caller's function threw or timed out, or a check refused the result: nothing is written.
      const rolledBack = await client.query('ROLLBACK').then(
        () => true,
        () => false,
      );
      if (rolledBack) client.removeListener('error', onError);
      client.release(rolledBack ? undefined : new Error('rollback failed'));
    }
    throw error;
  }
}

function updateTimedOut(name: string, timeoutMs: number): RaptorError {
  return new RaptorError(
    'TIMEOUT',
    `The update function of \`${name}\` did not return within ${timeoutMs} ms, so raptor rolled it back (nothing was written) to free the session for other writers. Make the function faster, or raise \`updateTimeoutMs\`.`,
  );
}

/**
 * Whether `error` means the connection is gone (nothing about the statement itself): the client
 * said so, it could not connect, or the server ended the session (SQLSTATE class 08 connection
 * exception, 57P0x shutdown / terminated by an administrator, 25P03 idle-in-transaction timeout).
 */
function isConnectionError(error: unknown, lost: Error | undefined): boolean {
  if (lost) return true;
  const code = (error as { code?: unknown }).code;
  if (typeof code !== 'string') return false;
  return code.startsWith('08') || code.startsWith('57P0') || code === '25P03' || code === 'ECONNRESET' || code === 'ECONNREFUSED' || code === 'EPIPE' || code === 'ETIMEDOUT';
}
