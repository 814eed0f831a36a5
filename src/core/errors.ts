/**
 * Every failure raptor reports is a `RaptorError` with a stable `code`.
 * Callers branch on `code`, never on message text; the message says what to do next.
 */

export const ERROR_CODES = [
  'NOT_FOUND',
  'INVALID_NAME',
  'INVALID_SESSION',
  'INVALID_INPUT',
  'EXPIRED',
  'REVISION_CONFLICT',
  'LOCKED',
  'TOO_LARGE',
  'BROWSER_UNREACHABLE',
  'BROWSER_NOT_FOUND',
  'BROWSER_FAILED',
  'LOGIN_FAILED',
  'JOURNAL_CORRUPT',
  'ENCRYPTION_KEY',
  'SESSION_BLOCKED',
  'STORE_UNAVAILABLE',
  'CONFIG_INVALID',
  'USAGE',
  /** A directory raptor would write, move or delete in is not its own (no marker, a link, a foreign file). */
  'FOREIGN_DIRECTORY',
  /** The disk (or quota, or file-size limit) is full: the user's fault domain, not a bug. */
  'DISK_FULL',
  /** The directory or file system raptor must write to is read-only or not writable by this user. */
  'READ_ONLY',
  /** The recorded CDP URL is answered by another browser than the one the session was saved from. */
  'BROWSER_REPLACED',
  /** This process lost ownership (of a crawl, a lease) to another and stopped before writing. */
  'OWNERSHIP_LOST',
  /** A caller's function ran past its bound while raptor held a lock for it; rolled back, nothing written. */
  'TIMEOUT',
] as const;

export type ErrorCode = (typeof ERROR_CODES)[number];

/** One problem found in a session file or value, located by a JSON path. */
export interface Issue {
  code: string;
  message: string;
  /** JSON path inside the session file, e.g. `storageState.cookies.0.expires`. */
  path: string;
}

export interface RaptorErrorOptions {
  cause?: unknown;
  /** Problems behind an `INVALID_SESSION` / `INVALID_INPUT` error. */
  issues?: Issue[];
}

export class RaptorError extends Error {
  override readonly name = 'RaptorError';
  readonly code: ErrorCode;
  readonly issues: Issue[];

  constructor(code: ErrorCode, message: string, options: RaptorErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.code = code;
    this.issues = options.issues ?? [];
  }
}

export function isRaptorError(error: unknown, code?: ErrorCode): error is RaptorError {
  return error instanceof RaptorError && (code === undefined || error.code === code);
}

/** Exit codes of the CLI (DESIGN.md): 0 ok, 1 failure, 2 usage, 3 not found, 4 invalid/expired, 5 browser unreachable. */
export function exitCodeFor(error: unknown): number {
  if (!(error instanceof RaptorError)) return 1;
  switch (error.code) {
    case 'USAGE':
    case 'INVALID_NAME':
    case 'INVALID_INPUT':
    case 'CONFIG_INVALID':
      return 2;
    case 'NOT_FOUND':
      return 3;
    case 'INVALID_SESSION':
    case 'EXPIRED':
    case 'TOO_LARGE':
      return 4;
    case 'BROWSER_UNREACHABLE':
    case 'BROWSER_REPLACED':
      return 5;
    default:
      return 1;
  }
}

/** `node:fs` error code, if any (ENOENT, EEXIST, ...). */
export function errnoCode(error: unknown): string | undefined {
  return typeof error === 'object' && error !== null && 'code' in error && typeof error.code === 'string'
    ? error.code
    : undefined;
}
