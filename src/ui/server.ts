/**
 * `raptor ui`'s web server: one Hono app behind `guard` (token, Host, Origin, CSRF, CSP), over
 * the SessionManager the CLI opened. `startDashboard` resolves once it listens and the session
 * index is loaded; `close()` ends every stream and connection and resolves when it has.
 */
import { serve, type ServerType } from '@hono/node-server';
import { Hono } from 'hono';
import { RaptorError, errnoCode } from '../core/errors.js';
import type { Logger } from '../env/log.js';
import type { SessionManager } from '../manager.js';
import { indexPage, loadAssets } from './assets.js';
import type { DashboardContext } from './context.js';
import { BrowserProbes } from './browser-probes.js';
import { EventHub } from './event-hub.js';
import { errorResponse } from './http-errors.js';
import { ROUTES } from './routes/index.js';
import { allowedHosts, guard, newSecrets } from './security.js';
import { SessionIndex } from './session-index.js';

export interface DashboardOptions {
  manager: SessionManager;
  logger: Logger;
  /** @default '127.0.0.1' */
  host?: string;
  /** `0` picks a free port. @default 0 */
  port?: number;
}

export interface Dashboard {
  /** `http://host:port`, without the token. */
  origin: string;
  /** The URL that opens the dashboard: carries the token, so it is shown to the user, never logged. */
  url: string;
  close(): Promise<void>;
}

export async function startDashboard(options: DashboardOptions): Promise<Dashboard> {
  const host = options.host ?? '127.0.0.1';
  const { manager, logger } = options;
  const secrets = newSecrets();
  const assets = loadAssets();
  const hub = new EventHub();
  const closers: Array<() => void | Promise<void>> = [];
  const index = new SessionIndex(manager);
  const ctx: DashboardContext = { manager, index, hub, probes: new BrowserProbes(manager), logger, onClose: (stop) => void closers.push(stop) };

  const app = new Hono();
  let hosts = new Set<string>();
  app.use('*', async (c, next) => guard({ secrets, hosts })(c, next));
  app.onError((error, c) => errorResponse(c, error, logger));
  app.get('/', (c) => c.html(indexPage(assets, secrets.csrf)));
  app.get('/api/events', (c) => hub.stream(c));
  const stopParts = async (): Promise<void> => {
    for (const stop of closers.reverse()) await Promise.resolve(stop()).catch((error: unknown) => logger.warn({ err: error }, 'a dashboard part did not stop cleanly'));
  };
  let server: ServerType;
  try {
    for (const register of ROUTES) register(app, ctx);
    await index.load(); // after the routes subscribed to the change feed: nothing saved meanwhile is missed
    server = await listen(app, host, options.port ?? 0);
  } catch (error) {
    await stopParts(); // watchers and pollers would keep the process alive after the error
    throw error;
  }
  app.get('*', (c) => {
    const asset = assets.get(new URL(c.req.url).pathname);
    if (asset === undefined) return c.json({ error: { code: 'NOT_FOUND', message: 'No such page.' } }, 404);
    return c.body(asset.body, 200, { 'content-type': asset.type });
  });

  const address = server.address();
  const port = typeof address === 'object' && address !== null ? address.port : (options.port ?? 0);
  hosts = allowedHosts(host, port);
  const origin = `http://${host.includes(':') ? `[${host}]` : host}:${port}`;
  logger.info({ origin, sessions: index.size }, 'dashboard listening');

  let closing: Promise<void> | undefined;
  return {
    origin,
    url: `${origin}/?token=${secrets.token}`,
    close: () =>
      (closing ??= (async () => {
        hub.closeAll();
        await stopParts();
        await new Promise<void>((resolve) => {
          server.close(() => resolve());
          // Streams that are still open (a page left open) must not hold the stop.
          (server as { closeAllConnections?: () => void }).closeAllConnections?.();
        });
      })()),
  };
}

function listen(app: Hono, hostname: string, port: number): Promise<ServerType> {
  return new Promise((resolve, reject) => {
    const server = serve({ fetch: app.fetch, hostname, port }, () => resolve(server));
    server.once('error', (error) => {
      const code = errnoCode(error);
      if (code === 'EADDRINUSE') reject(new RaptorError('USAGE', `Port ${port} on ${hostname} is in use. Pick another with --port, or --port 0 for any free one.`));
      else if (code === 'EADDRNOTAVAIL' || code === 'ENOTFOUND') reject(new RaptorError('USAGE', `Cannot listen on ${hostname}: no such address on this machine. Use --host 127.0.0.1.`));
      else if (code === 'EACCES') reject(new RaptorError('USAGE', `Not allowed to listen on port ${port}; pick one above 1023 with --port.`));
      else reject(error);
    });
  });
}
