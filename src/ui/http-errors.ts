/** How a route's failure reaches the page: `{ error: { code, message } }`, never a stack trace. */
import type { Context } from 'hono';
import { isRaptorError, type ErrorCode } from '../core/errors.js';
import { redactUrlsIn } from '../core/redact-url.js';
import type { Logger } from '../env/log.js';

const STATUS: Partial<Record<ErrorCode, 400 | 404 | 409 | 502 | 503>> = {
  NOT_FOUND: 404,
  INVALID_NAME: 400,
  INVALID_INPUT: 400,
  USAGE: 400,
  REVISION_CONFLICT: 409,
  LOCKED: 409,
  BROWSER_UNREACHABLE: 502,
  BROWSER_REPLACED: 502,
  STORE_UNAVAILABLE: 503,
};

export function errorResponse(c: Context, error: unknown, logger: Logger): Response {
  if (isRaptorError(error)) {
    return c.json({ error: { code: error.code, message: redactUrlsIn(error.message) } }, STATUS[error.code] ?? 500);
  }
  logger.error({ err: error, path: new URL(c.req.url).pathname }, 'dashboard request failed');
  return c.json({ error: { code: 'INTERNAL', message: 'The dashboard hit an unexpected error; the terminal running `raptor ui` has the details.' } }, 500);
}
