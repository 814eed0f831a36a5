/**
 * Every statement of the PostgreSQL store, built once per table.
 *
 * The change feed is notified by a statement of its own, after the writes committed (batched, see
 * `createNotifier`): a transaction that NOTIFYs holds a database-wide lock through its commit,
 * including the WAL flush, so NOTIFY inside the writes would make every write in the database
 * wait for every other write's fsync (one slow disk flush stalls the whole fleet). The `notify`
 * statement commits without waiting for the flush: a notification is a hint, and one lost in a
 * server crash costs nothing that a reconnecting listener does not already lose.
 *
 * Write parameters: $1 name, $2 revision, $3 schema_version, $4 tags, $5 expires_at,
 * $6 updated_at, $7 bytes, $8 head, $9 state, $10 usage_count, $11 error_score, $12 retired,
 * then per statement $13 the revision written over, $14 the lease token.
 */
import { ident } from './client.js';
import type { TableNames } from './schema.js';
import { SCHEMA_VERSION } from '../../core/record.js';

export type Sql = ReturnType<typeof createPostgresSql>;

const ms = (param: string): string => `${param}::double precision * interval '1 millisecond'`;
const SET_RECORD = `revision = $2, schema_version = $3, tags = $4, expires_at = $5, updated_at = $6, bytes = $7,
  head = $8, state = $9, usage_count = $10, error_score = $11, retired = $12`;
const FREE = '(lease_expires_at IS NULL OR lease_expires_at <= now())';

/** A named statement: `pg` prepares it once per connection, so PostgreSQL plans it once, not per call. */
export interface Statement {
  name: string;
  text: string;
}

export function createPostgresSql(names: TableNames): Record<keyof ReturnType<typeof statements>, Statement> {
  const texts = statements(names);
  const named = {} as Record<keyof typeof texts, Statement>;
  for (const [key, text] of Object.entries(texts)) named[key as keyof typeof texts] = { name: `${names.sessions}:${key}`, text };
  return named;
}

function statements(names: TableNames) {
  const t = ident(names.sessions);
  const q = ident(names.quarantine);
  return {
    get: `SELECT name, head, state FROM ${t} WHERE name = $1`,
    getWithLease: `SELECT name, head, state, lease_token FROM ${t} WHERE name = $1`,
    exists: `SELECT 1 FROM ${t} WHERE name = $1`,
    revision: `SELECT revision, schema_version FROM ${t} WHERE name = $1`,
    /** update(): the row, locked until the transaction ends (see row-lock.ts). */
    lockRow: `SELECT name, head, state, revision, schema_version FROM ${t} WHERE name = $1 FOR UPDATE`,

    insert: `INSERT INTO ${t} (name, revision, schema_version, tags, expires_at, updated_at, bytes, head, state, usage_count, error_score, retired)
      VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)
      ON CONFLICT (name) DO NOTHING`,
    update: `UPDATE ${t} SET ${SET_RECORD} WHERE name = $1 AND revision = $13 AND schema_version <= ${SCHEMA_VERSION}`,
    /** A pool release: the record written back and the lease ended, only while the token holds it. */
    release: `UPDATE ${t} SET ${SET_RECORD}, lease_owner = NULL, lease_token = NULL, lease_expires_at = NULL
      WHERE name = $1 AND revision = $13 AND lease_token = $14 AND schema_version <= ${SCHEMA_VERSION}`,
    /** A write by a lease holder that keeps its lease (a refresh): only while the token holds it. */
    leasedUpdate: `UPDATE ${t} SET ${SET_RECORD}
      WHERE name = $1 AND revision = $13 AND lease_token = $14 AND schema_version <= ${SCHEMA_VERSION}`,
    delete: `DELETE FROM ${t} WHERE name = $1`,
    quarantine: `WITH d AS (DELETE FROM ${t} WHERE name = $1 RETURNING name, head, state)
      INSERT INTO ${q} (name, reason, head, state) SELECT name, $2, head, state FROM d`,
    /** $1 channel, $2 payloads. Committed without waiting for the WAL flush (see above). */
    notify: `SELECT set_config('synchronous_commit', 'off', true), pg_notify($1, payload) FROM unnest($2::text[]) AS payload`,

    /** $1 after (keyset), $2 limit, $3 tag, $4 prefix. No browser state: cheap. */
    listPage: `SELECT name, head, bytes FROM ${t}
      WHERE name > $1 AND ($3::text IS NULL OR tags @> ARRAY[$3::text]) AND ($4::text IS NULL OR starts_with(name, $4::text))
      ORDER BY name LIMIT $2`,
    scanPage: `SELECT name, head, state, bytes FROM ${t} WHERE name > $1 ORDER BY name LIMIT $2`,

    /** $1 name, $2 owner, $3 token, $4 ms. */
    lease: `UPDATE ${t} SET lease_owner = $2, lease_token = $3, lease_expires_at = now() + ${ms('$4')}
      WHERE name = $1 AND ${FREE} RETURNING lease_expires_at`,
    /**
     * $1 owner, $2 token, $3 ms, $4 tag, $5..$6 the `pick` range to look in. The first free
     * session in `pick` order (a random order fixed at insert): run with [r, 1), then [0, r) for a
     * random r, this hands out a random free session, as Crawlee's pool does. Rows another
     * transaction is taking right now are skipped, not waited for; a row freed or taken after this
     * statement's snapshot is re-checked against the WHERE clause when it is locked.
     */
    acquire: `UPDATE ${t} SET lease_owner = $1, lease_token = $2, lease_expires_at = now() + ${ms('$3')}, last_leased_at = now()
      WHERE name = (
        SELECT name FROM ${t}
        WHERE NOT retired AND schema_version <= ${SCHEMA_VERSION} AND ${FREE}
          AND (expires_at IS NULL OR expires_at > now())
          AND ($4::text IS NULL OR tags @> ARRAY[$4::text])
          AND pick >= $5 AND pick < $6
        ORDER BY pick
        LIMIT 1
        FOR UPDATE SKIP LOCKED)
      RETURNING name, head, state, lease_expires_at`,
    /** $1 name, $2 token, $3 ms. */
    renew: `UPDATE ${t} SET lease_expires_at = now() + ${ms('$3')} WHERE name = $1 AND lease_token = $2 RETURNING lease_expires_at`,
    /** The leases held now: never the token. */
    heldLeases: `SELECT name, lease_owner, lease_expires_at FROM ${t} WHERE lease_owner IS NOT NULL AND lease_expires_at > now() ORDER BY name`,
    unlease: `UPDATE ${t} SET lease_owner = NULL, lease_token = NULL, lease_expires_at = NULL WHERE name = $1 AND lease_token = $2`,

    /** $1 retention ms. */
    countOldQuarantine: `SELECT count(*)::int AS n FROM ${q} WHERE quarantined_at < now() - ${ms('$1')}`,
    purgeOldQuarantine: `WITH d AS (DELETE FROM ${q} WHERE quarantined_at < now() - ${ms('$1')} RETURNING 1) SELECT count(*)::int AS n FROM d`,
  };
}
