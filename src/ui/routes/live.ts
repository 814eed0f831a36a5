/**
 * `/api/live/…`: the live view. Tabs of every kept-alive browser, a screencast stream per
 * watched tab (SSE, base64 JPEG frames), take-over input, and "save" from the session's own
 * browser. Names and tab ids travel as query parameters. A stream holds its browser and its
 * screencast only while the page reads it: when the last reader leaves, the screencast stops
 * and the connection is dropped (`/api/live/status` shows the counts).
 */
import type { Context, Hono } from 'hono';
import { streamSSE } from 'hono/streaming';
import { RaptorError } from '../../core/errors.js';
import { mapLimit } from '../../core/map-limit.js';
import type { RemoteInput } from '../../browser/live-browser.js';
import type { DashboardContext } from '../context.js';
import { LiveBrowsers } from '../live-browsers.js';

const MAX_BODY_TEXT = 10_000;

export function liveRoutes(app: Hono, ctx: DashboardContext): void {
  const browsers = new LiveBrowsers(ctx.manager, ctx.index, ctx.logger);
  const streams = new Set<() => void>();
  ctx.onClose(async () => {
    for (const stop of streams) stop();
    await browsers.close();
  });

  app.get('/api/live/status', async (c) => c.json(await browsers.counts()));

  app.get('/api/live/tabs', async (c) => {
    // Every session with a recorded browser, not a page of the table: the 501st is kept alive too.
    const kept = ctx.index.all().filter((s) => s.cdpUrl !== undefined);
    const states = await ctx.probes.states(kept);
    const live = kept.filter((s) => states.get(s.name) === 'live');
    const result = await mapLimit(live, 4, async (s) => {
      try {
        const tabs = await browsers.use(s.name, (browser) => browser.tabs());
        return { session: s.name, revision: s.revision, tabs };
      } catch (error) {
        ctx.logger.debug({ err: error, session: s.name }, 'live view could not list tabs');
        return { session: s.name, revision: s.revision, tabs: [], error: 'This browser could not be reached.' };
      }
    });
    return c.json({ browsers: result });
  });

  app.get('/api/live/frames', (c) => {
    const { session, target } = tabOf(c);
    return streamSSE(c, async (sse) => {
      let wake: () => void = () => {};
      const closed = new Promise<void>((resolve) => (wake = resolve));
      streams.add(wake);
      sse.onAbort(wake);
      let held: Awaited<ReturnType<LiveBrowsers['hold']>> | undefined;
      let unwatch: (() => Promise<void>) | undefined;
      try {
        held = await browsers.hold(session);
        held.browser.onDisconnected(wake);
        let writing = false;
        let pending: { data: string; width: number; height: number; seq: number } | undefined;
        const flush = async (): Promise<void> => {
          // One write at a time; a slow reader gets the newest frame, never a queue.
          if (writing) return;
          writing = true;
          try {
            while (pending) {
              const frame = pending;
              pending = undefined;
              await sse.writeSSE({ event: 'frame', data: JSON.stringify(frame) });
            }
          } catch {
            wake();
          } finally {
            writing = false;
          }
        };
        unwatch = await held.browser.watch(target, (frame) => {
          pending = { data: frame.data, width: frame.metadata.deviceWidth, height: frame.metadata.deviceHeight, seq: frame.seq };
          void flush();
        });
        await sse.writeSSE({ event: 'ready', data: '{}' });
        const keepalive = setInterval(() => void sse.write(': keepalive\n\n').catch(wake), 15_000);
        try {
          await closed;
        } finally {
          clearInterval(keepalive);
        }
      } catch (error) {
        const message = error instanceof RaptorError ? error.message : 'The live view of this tab failed.';
        ctx.logger.debug({ err: error, session }, 'live stream ended');
        await sse.writeSSE({ event: 'failed', data: JSON.stringify({ message }) }).catch(() => undefined); // the page may be gone already
      } finally {
        streams.delete(wake);
        await unwatch?.().catch(() => undefined); // the tab may be gone
        await held?.release().catch(() => undefined);
      }
    });
  });

  app.post('/api/live/input', async (c) => {
    const { session, target } = tabOf(c);
    const input = parseInput(await c.req.json().catch(() => undefined));
    await browsers.use(session, (browser) => browser.input(target, input));
    return c.json({ ok: true });
  });

  app.post('/api/live/save', async (c) => {
    const session = param(c, 'session');
    if (!ctx.index.get(session)) throw new RaptorError('NOT_FOUND', 'There is no such session (any more).');
    const stored = await ctx.manager.save(session, { recordedBrowser: true });
    return c.json({ session, revision: stored.revision, cookies: stored.storageState.cookies.length });
  });
}

function param(c: Context, name: string): string {
  const value = new URL(c.req.url).searchParams.get(name);
  if (!value) throw new RaptorError('INVALID_INPUT', `The query parameter \`${name}\` is required.`);
  return value;
}

function tabOf(c: Context): { session: string; target: string } {
  const target = param(c, 'target');
  if (!/^[0-9A-Za-z_-]{1,128}$/.test(target)) throw new RaptorError('INVALID_INPUT', 'That is not a tab id.');
  return { session: param(c, 'session'), target };
}

const MOUSE_TYPES = ['mouseMoved', 'mousePressed', 'mouseReleased', 'mouseWheel'] as const;
const BUTTONS = ['none', 'left', 'middle', 'right'] as const;

/** The page's JSON → one `RemoteInput`, every field checked (the page is not trusted more than any client). */
export function parseInput(body: unknown): RemoteInput {
  const bad = (why: string): never => {
    throw new RaptorError('INVALID_INPUT', `Not a take-over input: ${why}.`);
  };
  if (typeof body !== 'object' || body === null) return bad('expected a JSON object');
  const b = body as Record<string, unknown>;
  const num = (v: unknown, name: string, fallback?: number): number => {
    if (v === undefined && fallback !== undefined) return fallback;
    return typeof v === 'number' && Number.isFinite(v) ? v : bad(`${name} must be a number`);
  };
  const str = (v: unknown, name: string, max: number): string => (typeof v === 'string' && v.length > 0 && v.length <= max ? v : bad(`${name} must be a short text`));
  switch (b.kind) {
    case 'mouse': {
      const e = (b.event ?? {}) as Record<string, unknown>;
      const type = MOUSE_TYPES.find((t) => t === e.type) ?? bad('unknown mouse event');
      const button = e.button === undefined ? undefined : (BUTTONS.find((t) => t === e.button) ?? bad('unknown button'));
      return {
        kind: 'mouse',
        event: {
          type,
          x: num(e.x, 'x'),
          y: num(e.y, 'y'),
          displayWidth: num(e.displayWidth, 'displayWidth'),
          displayHeight: num(e.displayHeight, 'displayHeight'),
          ...(button ? { button } : {}),
          clickCount: num(e.clickCount, 'clickCount', 1),
          deltaX: num(e.deltaX, 'deltaX', 0),
          deltaY: num(e.deltaY, 'deltaY', 0),
          modifiers: num(e.modifiers, 'modifiers', 0),
        },
      };
    }
    case 'key': {
      const e = (b.event ?? {}) as Record<string, unknown>;
      if (e.type !== 'keyDown' && e.type !== 'keyUp') return bad('unknown key event');
      return { kind: 'key', event: { type: e.type, key: str(e.key, 'key', 32), ...(typeof e.code === 'string' ? { code: e.code.slice(0, 32) } : {}), modifiers: num(e.modifiers, 'modifiers', 0) } };
    }
    case 'text':
      return { kind: 'text', text: str(b.text, 'text', MAX_BODY_TEXT) };
    case 'navigate': {
      const action = b.action;
      if (action === 'goto') return { kind: 'navigate', navigation: { action, url: str(b.url, 'url', 4096) } };
      if (action === 'back' || action === 'forward' || action === 'reload') return { kind: 'navigate', navigation: { action } };
      return bad('unknown navigation');
    }
    default:
      return bad('unknown kind');
  }
}
