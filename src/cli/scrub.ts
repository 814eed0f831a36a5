/**
 * The last word on everything the CLI writes (results, events, errors, stack traces): no URL
 * with its credentials (`core/redact-url.ts`), no credential a recipe read (`env/secrets.ts`).
 * Output the user asked to see in full (`show --reveal`, `export`) is written as it is.
 */
import { redactUrlsIn } from '../core/redact-url.js';
import { redactKnownSecrets } from '../env/secrets.js';

export function scrub(text: string): string {
  return redactKnownSecrets(redactUrlsIn(text));
}
