/**
 * pino logger to stderr with redaction. Cookie and storage values are credentials: log
 * lines never carry them, and tokens in CDP URLs (`?token=…`, `user:pass@`) are masked.
 */
import { pino, type Logger } from 'pino';

export type { Logger };

const REDACT_PATHS = [
  'storageState',
  '*.storageState',
  'sessionStorage',
  '*.sessionStorage',
  'cookies',
  '*.cookies',
  'value',
  '*.value',
  'headers.cookie',
  'headers.authorization',
];

/** Masks credentials inside a URL: userinfo and every query value. */
export function redactUrl(url: string): string {
  try {
    const parsed = new URL(url);
    if (parsed.username) parsed.username = '***';
    if (parsed.password) parsed.password = '***';
    for (const key of [...parsed.searchParams.keys()]) parsed.searchParams.set(key, '***');
    return parsed.toString().replace(/%2A%2A%2A/g, '***');
  } catch {
    return '<unparseable url>'; // never echo a string we could not inspect
  }
}

export interface LoggerOptions {
  level?: string;
  /** Where to write; stderr by default so stdout stays clean for `--json`. */
  destination?: NodeJS.WritableStream;
}

export function createLogger(options: LoggerOptions = {}): Logger {
  return pino(
    {
      level: options.level ?? 'warn',
      base: undefined,
      redact: { paths: REDACT_PATHS, censor: '[redacted]' },
      serializers: { cdpUrl: (url: unknown) => (typeof url === 'string' ? redactUrl(url) : url) },
    },
    (options.destination ?? process.stderr) as pino.DestinationStream,
  );
}

/** A logger that drops everything: the library default, so embedding raptor is quiet. */
export const silentLogger: Logger = pino({ level: 'silent' });
