/**
 * The one browser-identity rule (issue 9 §2): "a browser answers at this URL *and* it is the
 * browser this session recorded". Every path that reaches a recorded CDP URL (save, validate,
 * stats, list --live, crawl status, restore and what is built on it: crawl, launch) asks
 * `checkBrowser()` and attaches only through `attachChecked()`, so none of them can take a
 * stranger's Chromium that later took the port for the session's own browser.
 *
 * What makes a browser "the same":
 * - `/json/version` answers with a `webSocketDebuggerUrl` on the very host:port that was asked
 *   (a server that points elsewhere is not a browser at this address), and
 * - its id (the GUID in that URL) is the recorded one, and
 * - Chromium accepts a DevTools WebSocket at `/devtools/browser/<that id>` (it answers 404 for
 *   any other id, so an HTTP server that merely copies the id from a session file fails here).
 * Attaching then goes to that pinned WebSocket URL, not back through `/json/version`: if another
 * browser takes the port between the check and the attach, Chromium refuses the handshake
 * instead of raptor capturing the newcomer.
 *
 * A record without an id (written by an older raptor) proves nothing: what answers is
 * `unverified`, which no implicit path trusts. The session's own kept-alive browser still
 * proves itself through its profile's `raptor-browser.json`.
 *
 * Paths that ask about a *session's* browser ask `liveBrowserOf()`, which adds that proof;
 * `checkBrowser()` alone is for a URL the user named.
 */
import { request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { randomBytes } from 'node:crypto';
import type { Browser } from 'playwright-core';
import { RaptorError } from '../core/errors.js';
import { redactUrl } from '../env/log.js';
import { connectCdp, probeCdp } from './connect.js';
import { runningKeepAlive } from './keep-alive.js';

/** Where a session's browser was and which one it was. */
export interface RecordedBrowser {
  cdpUrl: string;
  /** The id the browser had when it was recorded; absent in files of older versions. */
  browserId?: string | undefined;
}

export type BrowserCheck =
  /** The recorded browser answers: attach to `endpoint`. */
  | { status: 'same'; browserId: string; endpoint: string }
  /** A browser answers, but nothing was recorded to compare its id with. */
  | { status: 'unverified'; browserId: string; endpoint: string; reason: string }
  /** Something else answers: another browser, or a server that only looks like one. */
  | { status: 'other'; reason: string }
  /** Nothing (that speaks CDP) answers. */
  | { status: 'gone'; reason: string };

export type AttachableCheck = Extract<BrowserCheck, { endpoint: string }>;

/**
 * How many sessions' browsers `stats` and `list --live` probe at once: enough to finish a few
 * hundred in seconds, few enough that probes do not time out queued behind each other.
 */
export const PROBE_CONCURRENCY = 8;

/** The DevTools WebSocket of browser `browserId` at the host of `cdpUrl` (credentials and query kept). */
export function pinnedEndpoint(cdpUrl: string, browserId: string): string {
  const url = new URL(cdpUrl);
  if ((url.protocol === 'ws:' || url.protocol === 'wss:') && url.pathname.startsWith('/devtools/browser/')) return cdpUrl;
  url.protocol = url.protocol === 'https:' || url.protocol === 'wss:' ? 'wss:' : 'ws:';
  url.pathname = `/devtools/browser/${encodeURIComponent(browserId)}`;
  return url.toString();
}

/** The browser id a `ws://…/devtools/browser/<id>` URL names, if it names one. */
function idInUrl(cdpUrl: string): string | undefined {
  const match = /^\/devtools\/browser\/([^/]+)$/.exec(new URL(cdpUrl).pathname);
  return match ? decodeURIComponent(match[1]!) : undefined;
}

export async function checkBrowser(recorded: RecordedBrowser, timeoutMs: number): Promise<BrowserCheck> {
  const at = redactUrl(recorded.cdpUrl);
  const probe = await probeCdp(recorded.cdpUrl, timeoutMs);
  if (!probe.alive) return { status: 'gone', reason: `nothing that speaks CDP answers at ${at} (${probe.reason})` };
  let ws: URL;
  try {
    ws = new URL(probe.webSocketDebuggerUrl);
  } catch {
    return { status: 'other', reason: `${at} answers with a debugger URL that is not a URL; it is not a browser` };
  }
  if (ws.host !== new URL(recorded.cdpUrl).host || !ws.pathname.startsWith('/devtools/browser/')) {
    // Playwright would follow it: a server on the port could send raptor to any browser anywhere.
    return { status: 'other', reason: `${at} points to a debugger at another address (${ws.host}); that is not a browser at ${at}` };
  }
  const expected = recorded.browserId ?? idInUrl(recorded.cdpUrl);
  if (expected !== undefined && probe.browserId !== expected) {
    return { status: 'other', reason: `a different browser answers at ${at} (id ${probe.browserId}, expected ${expected})` };
  }
  const endpoint = pinnedEndpoint(recorded.cdpUrl, probe.browserId);
  const handshake = await tryHandshake(endpoint, timeoutMs);
  if (handshake.refused) return { status: 'other', reason: `${at} claims to be browser ${probe.browserId} but refuses its DevTools connection (${handshake.refused}); it is not that browser` };
  // Hung or dying right now: nothing to attach to, but no evidence of a stranger either.
  if (handshake.failed) return { status: 'gone', reason: `${at} answered but could not be attached to (${handshake.failed})` };
  if (expected === undefined) {
    return { status: 'unverified', browserId: probe.browserId, endpoint, reason: `a browser answers at ${at}, but no browser id was recorded to prove it is this session's` };
  }
  return { status: 'same', browserId: probe.browserId, endpoint };
}

/**
 * Opens and at once closes a WebSocket upgrade to `endpoint`. `refused`: the server answered,
 * with anything but a protocol switch (Chromium answers 404 for another browser's id);
 * `failed`: no answer in time, or the connection broke. Neither: only that browser answers so.
 */
function tryHandshake(endpoint: string, timeoutMs: number): Promise<{ refused?: string; failed?: string }> {
  const url = new URL(endpoint);
  const secure = url.protocol === 'wss:';
  url.protocol = secure ? 'https:' : 'http:';
  const request = secure ? httpsRequest : httpRequest;
  return new Promise((resolve) => {
    const req = request(url, {
      headers: { Connection: 'Upgrade', Upgrade: 'websocket', 'Sec-WebSocket-Version': '13', 'Sec-WebSocket-Key': randomBytes(16).toString('base64') },
      timeout: timeoutMs,
    });
    req.once('upgrade', (_response, socket) => {
      socket.destroy();
      resolve({});
    });
    req.once('response', (response) => {
      response.resume();
      resolve({ refused: `HTTP ${response.statusCode}` });
    });
    req.once('timeout', () => {
      req.destroy();
      resolve({ failed: `no answer within ${timeoutMs} ms` });
    });
    req.once('error', (error) => resolve({ failed: (error as NodeJS.ErrnoException).code ?? 'connection failed' }));
    req.end();
  });
}

/**
 * "Is the browser this session recorded live, and ours?": {@link checkBrowser} against the id
 * the session's browser must have: the recorded one, else (a record of an older version) the one
 * its own kept-alive browser wrote into `profileDir`, if that browser runs at that URL.
 * Undefined when nothing is recorded. `same` is the only answer that means "live and ours".
 */
export async function liveBrowserOf(recorded: Partial<RecordedBrowser>, profileDir: string, timeoutMs: number): Promise<BrowserCheck | undefined> {
  const { cdpUrl } = recorded;
  if (!cdpUrl) return undefined;
  let browserId = recorded.browserId;
  if (browserId === undefined) {
    const kept = await runningKeepAlive(profileDir);
    if (kept?.cdpUrl === cdpUrl) browserId = kept.browserId;
  }
  return checkBrowser({ cdpUrl, browserId }, timeoutMs);
}

/**
 * The check as an error for a path that must have the session's own browser (`save` without
 * `--cdp`): anything but `same` is refused, and the message says how to go on.
 */
export function requireSessionBrowser(check: BrowserCheck, session: string, cdpUrl: string): AttachableCheck {
  if (check.status === 'same') return check;
  const at = redactUrl(cdpUrl);
  if (check.status === 'gone') {
    throw new RaptorError('BROWSER_UNREACHABLE', `The browser of \`${session}\` is gone: ${check.reason}. \`raptor restore ${session}\` relaunches it from the saved state.`);
  }
  throw new RaptorError(
    'BROWSER_REPLACED',
    `Not saving \`${session}\`: ${check.reason}, so it may be someone else's browser and the saved login was kept. To save from the browser at ${at} anyway, say so: \`raptor save ${session} --cdp ${at}\`; to get the saved login back in a browser, \`raptor restore ${session}\`.`,
  );
}

/** The check as an error for a URL the user named (`save --cdp URL`): any real browser there will do. */
export function requireNamedBrowser(check: BrowserCheck, cdpUrl: string): AttachableCheck {
  if (check.status === 'same' || check.status === 'unverified') return check;
  const at = redactUrl(cdpUrl);
  if (check.status === 'gone') {
    throw new RaptorError('BROWSER_UNREACHABLE', `No browser answers at ${at}: ${check.reason}. Start Chrome with \`--remote-debugging-port\` or use \`raptor launch\`.`);
  }
  throw new RaptorError('BROWSER_REPLACED', `Not saving from ${at}: ${check.reason}. Check the port, or start Chrome there with \`--remote-debugging-port\`.`);
}

/** Attaches to the browser a check found, over its pinned WebSocket: a newcomer on the port is refused by Chromium. */
export function attachChecked(check: AttachableCheck, timeoutMs?: number): Promise<Browser> {
  return connectCdp(check.endpoint, timeoutMs);
}
