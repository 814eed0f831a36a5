/**
 * `/api/session…`: one session's page and its actions. The name always travels as a query
 * parameter or in the JSON body, never in the path: names are the user's text ('/', '%', '..',
 * unicode, markup) and a path segment would be decoded, normalized or split on the way.
 *
 * - `GET /api/session?name=` the masked details (`session-view.ts`: names and lengths, no value)
 * - `POST /api/session/validate {name}` `validate --live`
 * - `POST /api/session/stop-browser {name}` `raptor stop`
 * - `DELETE /api/session {name, confirm}` `raptor rm`; `confirm` must repeat the name
 * - `POST /api/session/download {name, confirm}` the Playwright storage state as a file, the one
 *   answer of the dashboard that holds credentials; `confirm` must repeat the name
 */
import type { Context, Hono } from 'hono';
import { RaptorError, isRaptorError } from '../../core/errors.js';
import { redactUrlsIn } from '../../core/redact-url.js';
import type { SessionSummary } from '../../core/record.js';
import { BrowserProbes } from '../browser-probes.js';
import type { DashboardContext } from '../context.js';
import { sessionView, summaryView } from '../session-view.js';

interface ActionBody {
  name: string;
  confirm?: string;
}

export function sessionDetailRoutes(app: Hono, ctx: DashboardContext): void {
  const probes = new BrowserProbes(ctx.manager);
  const browserOf = async (summary: SessionSummary) => (await probes.states([summary])).get(summary.name) ?? 'none';

  app.get('/api/session', async (c) => {
    const name = nameParam(new URL(c.req.url).searchParams.get('name'));
    const head = await ctx.manager.head(name); // NOT_FOUND before anything else; needs no key
    const summary = ctx.index.get(name) ?? head;
    const browser = await browserOf(head);
    try {
      const record = await ctx.manager.get(name);
      return c.json({ session: sessionView(record, summary, browser) });
    } catch (error) {
      // An encrypted session this process has no key for: its summary is still worth showing.
      if (!isRaptorError(error, 'ENCRYPTION_KEY')) throw error;
      return c.json({ session: summaryView(summary, browser, { code: error.code, message: redactUrlsIn(error.message) }) });
    }
  });

  app.post('/api/session/validate', async (c) => {
    const { name } = await actionBody(c);
    const result = await ctx.manager.validate(name, { live: true });
    if (result.issues.some((issue) => issue.code === 'NOT_FOUND')) throw notFound(name);
    return c.json({
      result: {
        valid: result.valid,
        expired: result.expired,
        issues: result.issues.map((i) => ({ code: i.code, path: i.path, message: redactUrlsIn(i.message) })),
        ...(result.browser ? { browser: { status: result.browser.status, message: redactUrlsIn(result.browser.message) } } : {}),
      },
    });
  });

  app.post('/api/session/stop-browser', async (c) => {
    const { name } = await actionBody(c);
    const current = await ctx.manager.head(name);
    const stopped = await ctx.manager.stopBrowser(name, { forget: true });
    ctx.logger.info({ session: name, stopped }, 'dashboard stopped a session browser');
    return c.json({ stopped, cleared: current.cdpUrl !== undefined });
  });

  app.delete('/api/session', async (c) => {
    const { name, confirm } = await actionBody(c);
    requireConfirm(name, confirm, 'delete it');
    const existed = await ctx.manager.delete(name);
    if (!existed) throw notFound(name);
    return c.json({ deleted: true });
  });

  app.post('/api/session/download', async (c) => {
    const { name, confirm } = await actionBody(c);
    requireConfirm(name, confirm, 'download its credentials');
    const record = await ctx.manager.get(name);
    ctx.logger.info({ session: name }, 'dashboard handed out a storage-state file');
    // What `raptor export --format playwright` writes, byte for byte.
    return c.body(JSON.stringify(record.storageState, null, 2), 200, {
      'content-type': 'application/json; charset=utf-8',
      'content-disposition': contentDisposition(`${name}.storage-state.json`),
      'cache-control': 'no-store',
    });
  });
}

function nameParam(value: string | null | undefined): string {
  if (typeof value !== 'string' || value.length === 0) throw new RaptorError('INVALID_INPUT', 'Name the session: `name` is missing.');
  return value;
}

async function actionBody(c: Context): Promise<ActionBody> {
  let body: unknown;
  try {
    body = await c.req.json();
  } catch {
    throw new RaptorError('INVALID_INPUT', 'Expected a JSON body such as `{"name": "acme-admin"}`.');
  }
  if (typeof body !== 'object' || body === null) throw new RaptorError('INVALID_INPUT', 'Expected a JSON object with `name`.');
  const { name, confirm } = body as Record<string, unknown>;
  if (confirm !== undefined && typeof confirm !== 'string') throw new RaptorError('INVALID_INPUT', '`confirm` must be the session name.');
  return { name: nameParam(typeof name === 'string' ? name : undefined), ...(confirm !== undefined ? { confirm } : {}) };
}

function requireConfirm(name: string, confirm: string | undefined, what: string): void {
  if (confirm !== name) throw new RaptorError('INVALID_INPUT', `Confirm with the session's exact name (\`confirm\`) to ${what}.`);
}

function notFound(name: string): RaptorError {
  return new RaptorError('NOT_FOUND', `No session \`${name}\`. Run \`raptor list\` to see saved sessions.`);
}

/** `attachment` with an ASCII file name (anything else as `_`) and the exact one in RFC 5987 form. */
function contentDisposition(fileName: string): string {
  const ascii = fileName.replace(/[^A-Za-z0-9._-]/g, '_').slice(0, 150);
  return `attachment; filename="${ascii}"; filename*=UTF-8''${encodeURIComponent(fileName)}`;
}
