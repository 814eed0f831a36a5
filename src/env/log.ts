/**
 * pino logger to stderr with redaction. Cookie and storage values are credentials: log lines
 * never carry them (fields holding browser state go through the one masking function,
 * `src/core/mask.ts`), and every URL in a line, message and error text included, loses its
 * credentials (`src/core/redact-url.ts`). Both apply at every level, trace to fatal.
 */
import { pino, type Logger } from 'pino';
import { maskLogFields } from '../core/mask.js';
import { redactUrl, redactUrlsIn } from '../core/redact-url.js';
import { redactKnownSecrets } from './secrets.js';

export type { Logger };
export { redactUrl };

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
      formatters: { log: (object) => maskLogFields(object) },
      // The last word on every line: a URL can hide in a message, an `err` text or a reason, and a
      // recipe's error can quote the credential it read (`env/secrets.ts`).
      hooks: { streamWrite: (line) => redactKnownSecrets(redactUrlsIn(line)) },
    },
    (options.destination ?? process.stderr) as pino.DestinationStream,
  );
}

/** A logger that drops everything: the library default, so embedding raptor is quiet. */
export const silentLogger: Logger = pino({ level: 'silent' });
