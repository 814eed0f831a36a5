/**
 * `PostgresSessionStore`: sessions in one PostgreSQL table, shared by a fleet of crawlers on many
 * machines (`raptor-sessions/postgres`, DESIGN.md "Store interface").
 *
 * One `pg.Pool` per store. Revisions are checked in SQL (`UPDATE ... WHERE revision = $n`,
 * `INSERT ... ON CONFLICT DO NOTHING`): zero rows means another writer got there first. Leases are
 * columns of the session's row, taken with `FOR UPDATE SKIP LOCKED` and timed by the server's
 * clock, the only clock every machine shares. Every write is announced on `<table>_changes` after
 * it committed, by a batched NOTIFY statement of its own (why not in the write: `sql.ts`);
 * `watch()` LISTENs on a connection of its own. `pg` is loaded on first use.
 */
import { randomBytes } from 'node:crypto';
import type { ClientConfig, Pool, QueryResult, QueryResultRow } from 'pg';
import { RaptorError, isRaptorError } from '../../core/errors.js';
import { silentLogger, type Logger } from '../../env/log.js';
import { assertValidName, fileNameFor } from '../../core/names.js';
import {
  NEWER_VERSION,
  SCHEMA_VERSION,
  parseRecordValue,
  parseSummaryValue,
  toSummary,
  type SessionRecord,
  type SessionSummary,
} from '../../core/record.js';
import { applyRelease, createPoolLease, leaseLost, sameSession } from '../pool.js';
import { loadPg, parseStoreUrl, storeError, type Pg } from './client.js';
import { dropSchema, ensureSchema, tableNames, type TableNames } from './schema.js';
import { createNotifier, startListener, type Listener, type Notifier } from './watch.js';
import { nextRevision } from '../revision.js';
import { updateUnderRowLock } from './row-lock.js';
import { parseRow, rowColumns, type Row } from './rows.js';
import { createPostgresSql, type Sql, type Statement } from './sql.js';
import {
  matchesFilter,
  type AcquireOptions,
  type ConnectionFeed,
  type FeedConnectionChange,
  type HeldLease,
  type Lease,
  type LeaseListing,
  type LeaseOptions,
  type NativeAcquire,
  type NativeUpdate,
  type PoolLease,
  type PutOptions,
  type ScanEntry,
  type SessionFilter,
  type SessionStore,
  type StoreEvent,
  type StoreMaintenance,
  type SweepOptions,
  type SweepResult,
  type UpdateFn,
} from '../types.js';

export interface PostgresStoreOptions {
  /** `postgres://user:password@host:5432/database`; an optional `?table=` names the table. */
  url: string;
  /** The sessions table; `<table>_quarantine` and `<table>_schema` sit next to it. @default the URL's `table`, else `'raptor_sessions'` */
  table?: string;
  /** Connections in the pool. @default 10 */
  poolSize?: number;
  /** Give up connecting after this long, with `STORE_UNAVAILABLE`. @default 5000 */
  connectTimeoutMs?: number;
  /** Where the change feed reports lost connections. @default silent */
  logger?: Logger;
  /**
   * How long the function of `update()` may run while it holds the session's row lock; past it the
   * update is rolled back with `TIMEOUT`, so one slow or stuck caller cannot stall the fleet.
   * @default 10000
   */
  updateTimeoutMs?: number;
}

/** Connects, creates or migrates the tables, and returns the store. `STORE_UNAVAILABLE` when the server cannot be used. */
export async function openPostgresStore(options: PostgresStoreOptions): Promise<PostgresSessionStore> {
  const url = parseStoreUrl(options.url, options.table);
  const pg = await loadPg();
  const config: ClientConfig = { connectionString: url.connectionString, connectionTimeoutMillis: options.connectTimeoutMs ?? 5_000, application_name: url.applicationName };
  const pool = new pg.Pool({ ...config, max: options.poolSize ?? 10, idleTimeoutMillis: 10_000, allowExitOnIdle: true });
  const logger = options.logger ?? silentLogger;
  // An idle pooled connection that dies (server restart) is dropped by the pool, which then
  // emits 'error'; the next query opens a new connection. Without a listener Node would crash.
  pool.on('error', (error) => logger.warn({ err: error.message }, 'an idle PostgreSQL connection was closed'));
  // pg also emits 'error' on a client in use whose backend dies, and pg-pool listens only while a
  // client is idle. A backend killed as it connects even reports in the same packet as its
  // ReadyForQuery, before the caller of `connect()` can listen: without a listener for the
  // client's whole life that crashed the process. The statement that was running fails instead.
  pool.on('connect', (client) => client.on('error', (error) => logger.debug({ err: error.message }, 'a PostgreSQL connection failed')));
  const names = tableNames(url.table);
  try {
    await ensureSchema(pool, names, url.location);
  } catch (error) {
    await pool.end().catch(() => undefined); // report why opening failed, not how closing went
    throw storeError(url.location, error);
  }
  return new PostgresSessionStore({ pg, pool, config, names, location: url.location, logger, updateTimeoutMs: options.updateTimeoutMs ?? 10_000 });
}

interface LeaseRow extends Row {
  lease_expires_at: Date;
}

const PAGE = 1_000;
const MAX_ATTEMPTS = 50;

/** The contract, and every optional capability: maintenance, the SKIP LOCKED acquire, the row-locked update, the feed's connection. */
export class PostgresSessionStore implements SessionStore, StoreMaintenance, NativeAcquire, NativeUpdate, ConnectionFeed, LeaseListing {
  readonly location: string;
  readonly table: string;
  private readonly pg: Pg;
  private readonly pool: Pool;
  private readonly config: ClientConfig;
  private readonly names: TableNames;
  private readonly logger: Logger;
  private readonly sql: Sql;
  private readonly listeners = new Set<(event: StoreEvent) => void>();
  private readonly connectionListeners = new Set<(change: FeedConnectionChange) => void>();
  private readonly updateTimeoutMs: number;
  private listener: Listener | undefined;
  private readonly notifier: Notifier;
  private closed = false;

  /** Use `openPostgresStore()`, which also sets up the tables. */
  constructor(init: { pg: Pg; pool: Pool; config: ClientConfig; names: TableNames; location: string; logger: Logger; updateTimeoutMs?: number }) {
    this.updateTimeoutMs = init.updateTimeoutMs ?? 10_000;
    this.pg = init.pg;
    this.pool = init.pool;
    this.config = init.config;
    this.names = init.names;
    this.location = init.location;
    this.logger = init.logger;
    this.table = init.names.sessions;
    this.sql = createPostgresSql(init.names);
    this.notifier = createNotifier(async (payloads) => void (await this.query(this.sql.notify, [this.names.channel, payloads])), this.logger);
  }

  async get(name: string): Promise<SessionRecord | undefined> {
    assertValidName(name);
    const row = (await this.query<Row>(this.sql.get, [name])).rows[0];
    return row && parseRow(row, this.location);
  }

  async put(record: SessionRecord, opts: PutOptions = {}): Promise<SessionRecord> {
    assertValidName(record.name);
    const checked = parseRecordValue(record);
    for (let attempt = 0; attempt < MAX_ATTEMPTS; attempt++) {
      const current = opts.expectedRevision ?? (await this.storedRevision(record.name));
      const stored = nextRevision(checked, current, {});
      const written = current === 0
        ? await this.query(this.sql.insert, rowColumns(stored))
        : await this.query(this.sql.update, [...rowColumns(stored), current]);
      if (written.rowCount === 1) {
        this.notifier.push({ type: 'put', name: stored.name, revision: stored.revision });
        return stored;
      }
      // Zero rows: another writer got there first. With an expected revision that is the answer.
      if (opts.expectedRevision !== undefined) nextRevision(checked, await this.storedRevision(record.name), opts);
    }
    throw new RaptorError('REVISION_CONFLICT', `Session \`${record.name}\` kept changing under ${MAX_ATTEMPTS} attempts to write it. Retry later.`);
  }

  /** Read-modify-write under the session's row lock: concurrent updates queue, none conflicts (row-lock.ts). */
  async update(name: string, change: UpdateFn): Promise<SessionRecord> {
    assertValidName(name);
    const stored = await updateUnderRowLock(
      {
        pool: this.pool,
        location: this.location,
        select: this.sql.lockRow,
        write: this.sql.update,
        parseRow: (row) => parseRow(row, this.location),
        columns: rowColumns,
        timeoutMs: this.updateTimeoutMs,
      },
      name,
      change,
    );
    this.notifier.push({ type: 'put', name: stored.name, revision: stored.revision });
    return stored;
  }

  async delete(name: string): Promise<boolean> {
    assertValidName(name);
    const deleted = (await this.query(this.sql.delete, [name])).rowCount === 1;
    if (deleted) this.notifier.push({ type: 'delete', name });
    return deleted;
  }

  async *list(filter: SessionFilter = {}): AsyncIterable<SessionSummary> {
    const now = Date.now();
    for await (const row of this.pages<Row & { bytes: number }>(this.sql.listPage, [filter.tag ?? null, filter.prefix ?? null])) {
      let summary: SessionSummary;
      try {
        summary = toSummary(parseSummaryValue(JSON.parse(row.head), fileNameFor(row.name)), row.bytes, now);
      } catch {
        continue; // an invalid row is not a session; scan() reports it and cleanup quarantines it
      }
      if (matchesFilter(summary, filter)) yield summary;
    }
  }

  async *scan(): AsyncIterable<ScanEntry> {
    const now = Date.now();
    for await (const row of this.pages<Row & { bytes: number }>(this.sql.scanPage, [])) {
      try {
        yield { ok: true, key: row.name, summary: toSummary(parseRow(row, this.location), row.bytes, now) };
      } catch (error) {
        if (!isRaptorError(error, 'INVALID_SESSION')) throw error;
        const newerVersion = error.issues.some((issue) => issue.code === NEWER_VERSION);
        yield { ok: false, key: row.name, name: row.name, reason: error.message, ...(newerVersion ? { newerVersion } : {}) };
      }
    }
  }

  async quarantine(name: string, reason: string): Promise<void> {
    const moved = (await this.query(this.sql.quarantine, [name, reason])).rowCount === 1;
    if (moved) this.notifier.push({ type: 'quarantine', name, reason: reason.slice(0, 1000) }); // NOTIFY payloads stop at 8000 bytes
  }

  async lease(name: string, opts: LeaseOptions): Promise<Lease | undefined> {
    assertValidName(name);
    const token = randomBytes(8).toString('hex');
    const row = (await this.query<{ lease_expires_at: Date }>(this.sql.lease, [name, opts.owner, token, opts.ttlMs])).rows[0];
    if (row) return this.leaseHandle(name, opts.owner, token, row.lease_expires_at, opts.ttlMs);
    if ((await this.query(this.sql.exists, [name])).rowCount === 0) {
      throw new RaptorError('NOT_FOUND', `No session \`${name}\` in ${this.location} to lease. Run \`raptor list\`.`);
    }
    return undefined;
  }

  async heldLeases(): Promise<HeldLease[]> {
    const { rows } = await this.query<{ name: string; lease_owner: string; lease_expires_at: Date }>(this.sql.heldLeases, []);
    return rows.map((row) => ({ name: row.name, owner: row.lease_owner, expiresAt: row.lease_expires_at.toISOString() }));
  }

  async acquire(opts: AcquireOptions): Promise<PoolLease | undefined> {
    for (let attempt = 0; attempt < MAX_ATTEMPTS; attempt++) {
      const token = randomBytes(8).toString('hex');
      const from = Math.random();
      const take = async (low: number, high: number) =>
        (await this.query<LeaseRow>(this.sql.acquire, [opts.owner, token, opts.leaseMs, opts.tag ?? null, low, high])).rows[0];
      const row = (await take(from, 1)) ?? (await take(0, from));
      if (!row) return undefined;
      let session: SessionRecord;
      try {
        session = parseRow(row, this.location);
      } catch (error) {
        // A row written behind raptor's back that is not a session: set it aside, as cleanup would, and try the next.
        if (!isRaptorError(error, 'INVALID_SESSION')) throw error;
        await this.quarantine(row.name, error.message);
        continue;
      }
      const lease = this.leaseHandle(row.name, opts.owner, token, row.lease_expires_at, opts.leaseMs);
      // What this holder last read or wrote: its next fenced write starts from there.
      let latest = session;
      const fenced = async (change: UpdateFn, end: boolean): Promise<SessionRecord> => (latest = await this.writeLeased(latest, token, opts.owner, change, end));
      return createPoolLease(lease, session, {
        release: (options) => fenced((current) => applyRelease(current, options), true),
        update: (change) => fenced(change, false),
        abandon: () => lease.release(),
      });
    }
    return undefined;
  }

  watch(onChange: (event: StoreEvent) => void): () => void {
    this.listeners.add(onChange);
    this.listener ??= startListener({
      pg: this.pg,
      config: this.config,
      channel: this.names.channel,
      logger: this.logger,
      onEvent: (event) => {
        for (const listener of this.listeners) listener(event);
      },
      onConnection: (change) => {
        for (const listener of this.connectionListeners) listener(change);
      },
    });
    return () => {
      this.listeners.delete(onChange);
      if (this.listeners.size > 0 || !this.listener) return;
      const listener = this.listener;
      this.listener = undefined;
      void listener.stop();
    };
  }

  watchConnection(onChange: (change: FeedConnectionChange) => void): () => void {
    this.connectionListeners.add(onChange);
    return () => void this.connectionListeners.delete(onChange);
  }

  /** Purges quarantined rows older than the retention period. Expired leases need no sweeping: they count as free. */
  async sweep(opts: SweepOptions): Promise<SweepResult> {
    const sql = opts.dryRun ? this.sql.countOldQuarantine : this.sql.purgeOldQuarantine;
    const purged = (await this.query<{ n: number }>(sql, [opts.quarantineRetentionMs])).rows[0]?.n ?? 0;
    return { tempFiles: 0, purgedQuarantine: purged };
  }

  /** Drops this store's tables: every session in it is gone. For tests and tear-down. */
  async drop(): Promise<void> {
    try {
      await dropSchema(this.pool, this.names);
    } catch (error) {
      throw storeError(this.location, error);
    }
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.notifier.flush(); // watchers elsewhere still hear about this store's last writes
    this.listeners.clear();
    this.connectionListeners.clear();
    const listener = this.listener;
    this.listener = undefined;
    await listener?.stop();
    await this.pool.end();
  }

  /**
   * Writes `change` of the session if `token` still holds its lease, ending the lease (a release)
   * or keeping it (a refresh); retried over concurrent plain writes, `change` applied on top of them.
   */
  private async writeLeased(session: SessionRecord, token: string, owner: string, change: UpdateFn, end: boolean): Promise<SessionRecord> {
    let current = session;
    for (let attempt = 0; attempt < MAX_ATTEMPTS; attempt++) {
      const stored = nextRevision(parseRecordValue(sameSession(session.name, await change(current))), current.revision, {});
      const written = await this.query(end ? this.sql.release : this.sql.leasedUpdate, [...rowColumns(stored), current.revision, token]);
      if (written.rowCount === 1) {
        this.notifier.push({ type: 'put', name: stored.name, revision: stored.revision });
        return stored;
      }
      const row = (await this.query<Row & { lease_token: string | null }>(this.sql.getWithLease, [session.name])).rows[0];
      if (!row || row.lease_token !== token) throw leaseLost(session.name, owner);
      current = parseRow(row, this.location); // someone saved the session meanwhile: count the release on top of that
    }
    const what = end ? 'release' : 'write';
    throw new RaptorError('REVISION_CONFLICT', `Session \`${session.name}\` kept changing under ${MAX_ATTEMPTS} attempts to ${what} it. Retry the ${what}.`);
  }

  private leaseHandle(name: string, owner: string, token: string, expiresAt: Date, defaultMs: number): Lease {
    let until = expiresAt.toISOString();
    return {
      name,
      owner,
      token,
      get expiresAt() {
        return until;
      },
      renew: async (ms = defaultMs) => {
        const row = (await this.query<{ lease_expires_at: Date }>(this.sql.renew, [name, token, ms])).rows[0];
        if (!row) throw leaseLost(name, owner);
        until = row.lease_expires_at.toISOString();
      },
      release: async () => {
        await this.query(this.sql.unlease, [name, token]); // a lease already taken over is left to its new holder
      },
    };
  }

  /** The stored revision (0 = absent). A row from a newer raptor is never overwritten. */
  private async storedRevision(name: string): Promise<number> {
    const row = (await this.query<{ revision: number; schema_version: number }>(this.sql.revision, [name])).rows[0];
    if (row && row.schema_version > SCHEMA_VERSION) {
      throw new RaptorError('INVALID_SESSION', `Session \`${name}\` was written by a newer raptor; upgrade raptor-sessions before changing it.`);
    }
    return row?.revision ?? 0;
  }

  /** Every row in name order, `PAGE` at a time (keyset paging: stable under concurrent writes). */
  private async *pages<R extends Row>(sql: Statement, params: unknown[]): AsyncIterable<R> {
    let after = '';
    for (;;) {
      const { rows } = await this.query<R>(sql, [after, PAGE, ...params]);
      yield* rows;
      if (rows.length < PAGE) return;
      after = rows.at(-1)!.name;
    }
  }

  private async query<R extends QueryResultRow = QueryResultRow>(statement: Statement, values: unknown[]): Promise<QueryResult<R>> {
    try {
      return await this.pool.query<R>({ ...statement, values });
    } catch (error) {
      throw storeError(this.location, error);
    }
  }
}
