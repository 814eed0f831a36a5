/**
 * The PostgreSQL store's tables, created and migrated idempotently.
 *
 *   <table>             one row per session: summary columns for cheap queries, the record as
 *                       `head` (every field but the browser state) + `state` (storageState and
 *                       sessionStorage), lease columns, the pool accounting mirrored from
 *                       `metadata.pool`
 *   <table>_quarantine  rows moved aside with a reason, purged after the retention period
 *   <table>_schema      one row: the version of these tables
 *
 * Every process runs `ensureSchema` on open. The fast path is one SELECT; creating or migrating
 * happens in one transaction under an advisory lock, so sixteen workers starting at once never
 * race on `CREATE TABLE IF NOT EXISTS` (which is not safe under concurrency by itself).
 */
import type { Pool } from 'pg';
import { RaptorError } from '../../core/errors.js';
import { ident } from './client.js';

/** Version of the tables (not of the session record, which has its own `schemaVersion`). */
export const TABLES_VERSION = 1;

export interface TableNames {
  sessions: string;
  quarantine: string;
  schema: string;
  /** LISTEN/NOTIFY channel of the change feed. */
  channel: string;
}

export function tableNames(table: string): TableNames {
  return { sessions: table, quarantine: `${table}_quarantine`, schema: `${table}_schema`, channel: `${table}_changes` };
}

/** Statements that take the tables from version N (the index) to N + 1. Each is idempotent. */
function migrations(names: TableNames): string[][] {
  const t = ident(names.sessions);
  return [
    [
      // `name` sorts bytewise (COLLATE "C"): keyset paging by name needs a total order that
      // agrees with the primary key index whatever the database's locale.
      // Half-full pages and no index on any column a lease or a release changes: those updates
      // are HOT (heap-only), so a pool leased thousands of times a second does not bloat.
      `CREATE TABLE IF NOT EXISTS ${t} (
        name text COLLATE "C" PRIMARY KEY,
        revision integer NOT NULL,
        schema_version integer NOT NULL,
        tags text[] NOT NULL,
        expires_at timestamptz,
        updated_at timestamptz NOT NULL,
        bytes integer NOT NULL,
        head text NOT NULL,
        state text NOT NULL,
        usage_count integer NOT NULL DEFAULT 0,
        error_score double precision NOT NULL DEFAULT 0,
        retired boolean NOT NULL DEFAULT false,
        lease_owner text,
        lease_token text,
        lease_expires_at timestamptz,
        last_leased_at timestamptz,
        pick double precision NOT NULL DEFAULT random()
      ) WITH (fillfactor = 50)`,
      // acquire(): the first free session at or after a random point of this fixed random order.
      `CREATE INDEX IF NOT EXISTS ${ident(`${names.sessions}_pool`)} ON ${t} (pick) WHERE NOT retired`,
      `CREATE TABLE IF NOT EXISTS ${ident(names.quarantine)} (
        id bigserial PRIMARY KEY,
        name text NOT NULL,
        reason text NOT NULL,
        quarantined_at timestamptz NOT NULL DEFAULT now(),
        head text,
        state text
      )`,
    ],
  ];
}

/** Creates or migrates the tables unless they are current. */
export async function ensureSchema(pool: Pool, names: TableNames, location: string): Promise<void> {
  const version = await readVersion(pool, names);
  if (version === TABLES_VERSION) return;
  checkNotNewer(version, location);
  const client = await pool.connect();
  // A checked-out client has no 'error' listener of the pool's: a backend terminated during the
  // setup would otherwise crash the process instead of failing this open with STORE_UNAVAILABLE.
  const ignore = (): void => undefined; // the failing query reports the error
  client.on('error', ignore);
  let broken = false;
  try {
    await client.query('BEGIN');
    await client.query('SELECT pg_advisory_xact_lock(hashtext($1))', [`raptor:${names.sessions}`]);
    await client.query(`CREATE TABLE IF NOT EXISTS ${ident(names.schema)} (
      one boolean PRIMARY KEY DEFAULT true CHECK (one),
      version integer NOT NULL,
      migrated_at timestamptz NOT NULL DEFAULT now()
    )`);
    const locked = await client.query<{ version: number }>(`SELECT version FROM ${ident(names.schema)}`);
    const current = locked.rows[0]?.version ?? 0; // another process may have migrated while we waited
    checkNotNewer(current, location);
    const steps = migrations(names);
    for (let v = current; v < TABLES_VERSION; v++) for (const sql of steps[v]!) await client.query(sql);
    await client.query(
      `INSERT INTO ${ident(names.schema)} (one, version) VALUES (true, $1)
       ON CONFLICT (one) DO UPDATE SET version = EXCLUDED.version, migrated_at = now()`,
      [TABLES_VERSION],
    );
    await client.query('COMMIT');
  } catch (error) {
    await client.query('ROLLBACK').catch(() => void (broken = true)); // the original error is the one to report
    throw error;
  } finally {
    if (!broken) client.removeListener('error', ignore);
    client.release(broken ? new Error('connection lost during the schema setup') : undefined);
  }
}

/** Drops the tables (tests, and `raptor` users who want a store gone). */
export async function dropSchema(pool: Pool, names: TableNames): Promise<void> {
  await pool.query(`DROP TABLE IF EXISTS ${ident(names.sessions)}, ${ident(names.quarantine)}, ${ident(names.schema)}`);
}

async function readVersion(pool: Pool, names: TableNames): Promise<number | undefined> {
  try {
    const result = await pool.query<{ version: number }>(`SELECT version FROM ${ident(names.schema)}`);
    return result.rows[0]?.version;
  } catch (error) {
    if ((error as { code?: string }).code === '42P01') return undefined; // no tables yet
    throw error;
  }
}

function checkNotNewer(version: number | undefined, location: string): void {
  if (version !== undefined && version > TABLES_VERSION) {
    throw new RaptorError(
      'STORE_UNAVAILABLE',
      `PostgreSQL store ${location} was set up by a newer raptor (tables v${version}; this one knows v${TABLES_VERSION}). Upgrade raptor-sessions.`,
    );
  }
}
