/**
 * What the PostgreSQL store needs around `pg`: loading it lazily (raptor without a fleet never
 * loads it), reading the store URL, and turning driver errors into `STORE_UNAVAILABLE` with the
 * password redacted and a way out.
 */
import { RaptorError, isRaptorError } from '../../core/errors.js';
import { redactUrl } from '../../env/log.js';

export type Pg = typeof import('pg');

const DEFAULT_TABLE = 'raptor_sessions';
/** Lower case, so quoted and unquoted SQL agree; short, so `<table>_quarantine` fits in 63 bytes. */
const TABLE_NAME = /^[a-z_][a-z0-9_]{0,39}$/;

let loading: Promise<Pg> | undefined;
const importPg = (): Promise<unknown> => import('pg');

/** `pg`, imported on first use. A missing package is `STORE_UNAVAILABLE` saying how to install it. */
export function loadPg(importer: () => Promise<unknown> = importPg): Promise<Pg> {
  const load = async (): Promise<Pg> => {
    try {
      const mod = (await importer()) as Pg & { default?: Pg };
      return mod.default ?? mod;
    } catch (error) {
      const code = (error as { code?: string }).code;
      if (code === 'ERR_MODULE_NOT_FOUND' || code === 'MODULE_NOT_FOUND') {
        throw new RaptorError(
          'STORE_UNAVAILABLE',
          'The PostgreSQL store needs the `pg` package, which is not installed. Run `npm i pg` next to raptor-sessions, or use the file store (unset RAPTOR_STORE / `--store`).',
          { cause: error },
        );
      }
      throw error;
    }
  };
  if (importer !== importPg) return load(); // injected by a test: never cached
  loading ??= load().catch((error: unknown) => {
    loading = undefined;
    throw error;
  });
  return loading;
}

export interface StoreUrl {
  /** The URL handed to `pg`, without raptor's own `table` parameter. */
  connectionString: string;
  table: string;
  /** For messages: credentials and query values redacted, table named. */
  location: string;
  /**
   * `application_name` of the pool's connections (the URL's, else `raptor`); the change feed's is
   * this + `-watch`. Taken out of the connection string, where it would override both.
   */
  applicationName: string;
}

export function isPostgresUrl(spec: string): boolean {
  return /^postgres(ql)?:\/\//i.test(spec);
}

/** `postgres://user:pw@host:5432/db?table=fleet` -> connection string, table, redacted location. */
export function parseStoreUrl(url: string, table?: string): StoreUrl {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch (error) {
    throw new RaptorError('INVALID_INPUT', `${redactUrl(url)} is not a PostgreSQL URL. Use \`postgres://user:password@host:5432/database\`.`, { cause: error });
  }
  if (!isPostgresUrl(url)) throw new RaptorError('INVALID_INPUT', `${redactUrl(url)} is not a PostgreSQL URL (it must start with \`postgres://\`).`);
  const chosen = table ?? parsed.searchParams.get('table') ?? DEFAULT_TABLE;
  if (!TABLE_NAME.test(chosen)) {
    throw new RaptorError('INVALID_INPUT', `Table name \`${chosen}\` is not allowed: use 1-40 characters of a-z, 0-9 and _, not starting with a digit.`);
  }
  parsed.searchParams.delete('table');
  const applicationName = parsed.searchParams.get('application_name') || 'raptor';
  parsed.searchParams.delete('application_name');
  const connectionString = parsed.toString();
  return { connectionString, table: chosen, location: `${redactUrl(connectionString)} (table ${chosen})`, applicationName };
}

/** `"name"`: a double-quoted SQL identifier. */
export function ident(name: string): string {
  return `"${name.replace(/"/g, '""')}"`;
}

/**
 * Any failure of the database or the connection, as `STORE_UNAVAILABLE`. RaptorErrors raised by
 * raptor's own checks pass through unchanged.
 */
export function storeError(location: string, error: unknown): unknown {
  if (isRaptorError(error)) return error;
  const message = describe(error);
  const code = (error as { code?: string }).code ?? '';
  const hint =
    code === '3D000'
      ? 'Create the database, or point RAPTOR_STORE / `--store` at one that exists.'
      : code.startsWith('28')
        ? 'Check the user and password in the URL.'
        : code === '42P01'
          ? 'Its tables are gone; the next `raptor` command recreates them.'
          : 'Check that the server runs and the URL (RAPTOR_STORE / `--store`) is right, or use the file store (`--store ~/.raptor/sessions`).';
  return new RaptorError('STORE_UNAVAILABLE', `PostgreSQL store ${location}: ${message}. ${hint}`, { cause: error });
}

function describe(error: unknown): string {
  if (error instanceof AggregateError && error.message === '') {
    // Node's happy-eyeballs connect (localhost -> ::1 and 127.0.0.1) fails with an empty-message AggregateError.
    return error.errors.map((e: unknown) => describe(e)).join('; ');
  }
  const err = error as { message?: string; code?: string };
  return (err.message || err.code || String(error)).replace(/\.$/, '');
}
