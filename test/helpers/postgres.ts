/**
 * The real PostgreSQL the fleet-store tests run against: RAPTOR_TEST_PG_URL, else the server
 * every machine here runs (127.0.0.1:5432, database `test`). Tests use random table names so
 * runs never collide, and drop their tables afterwards.
 *
 * An unreachable server fails the tests with a message saying how to start it; it never skips
 * them: a green run must mean the PostgreSQL store was tested.
 */
import { randomBytes } from 'node:crypto';
import pg from 'pg';

export const TEST_PG_URL = process.env['RAPTOR_TEST_PG_URL'] || 'postgres://postgres@127.0.0.1:5432/test';

/** A fresh table name, e.g. `t_3f9a1c2b7d`. */
export function randomTable(prefix = 't'): string {
  return `${prefix}_${randomBytes(5).toString('hex')}`;
}

/** `TEST_PG_URL` with `?table=`. */
export function storeUrl(table: string): string {
  const url = new URL(TEST_PG_URL);
  url.searchParams.set('table', table);
  return url.toString();
}

/** Throws, with how to fix it, unless the test database answers. */
export async function assertPostgresReachable(): Promise<void> {
  const client = new pg.Client({ connectionString: TEST_PG_URL, connectionTimeoutMillis: 5_000 });
  try {
    await client.connect();
    await client.query('SELECT 1');
  } catch (error) {
    throw new Error(
      `PostgreSQL for the fleet-store tests is unreachable at ${TEST_PG_URL} (${(error as Error).message || String(error)}). ` +
        'Start it (`pg_ctlcluster --skip-systemctl-redirect 15 main start`, or run `.ci/run`), or set RAPTOR_TEST_PG_URL to a reachable server.',
      { cause: error },
    );
  } finally {
    await client.end().catch(() => undefined);
  }
}

/** Runs one statement on the test database outside any store (inspection, fault injection). */
export async function sql<R extends pg.QueryResultRow = pg.QueryResultRow>(text: string, values: unknown[] = []): Promise<R[]> {
  const client = new pg.Client({ connectionString: TEST_PG_URL });
  await client.connect();
  try {
    return (await client.query<R>(text, values)).rows;
  } finally {
    await client.end();
  }
}
