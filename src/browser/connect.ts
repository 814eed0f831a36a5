/**
 * Reaching a running Chromium over CDP: a cheap liveness probe, then `connectOverCDP`.
 *
 * The probe asks `/json/version` with a short timeout and reads the browser's id (the GUID in
 * `webSocketDebuggerUrl`). Whether that is the session's own browser is decided in one place,
 * `identity.ts`; paths that reach a recorded CDP URL go through it, not through this probe.
 */
import type { Browser } from 'playwright-core';
import { RaptorError } from '../core/errors.js';
import { redactUrl } from '../env/log.js';

export type ProbeResult =
  | { alive: true; browserId: string; webSocketDebuggerUrl: string; product: string }
  | { alive: false; reason: string };

/** `http://host:port` for any CDP URL form (`ws://host:port/devtools/browser/<id>` too). */
export function httpBase(cdpUrl: string): string {
  const url = new URL(cdpUrl);
  const protocol = url.protocol === 'wss:' || url.protocol === 'https:' ? 'https:' : 'http:';
  return `${protocol}//${url.host}`;
}

export function browserIdOf(webSocketDebuggerUrl: string): string {
  return webSocketDebuggerUrl.slice(webSocketDebuggerUrl.lastIndexOf('/') + 1);
}

export async function probeCdp(cdpUrl: string, timeoutMs = 1500): Promise<ProbeResult> {
  let response: Response;
  try {
    response = await fetch(`${httpBase(cdpUrl)}/json/version`, { signal: AbortSignal.timeout(timeoutMs) });
  } catch (error) {
    const name = (error as Error).name;
    if (name === 'TimeoutError' || name === 'AbortError') return { alive: false, reason: `no answer within ${timeoutMs} ms` };
    const code = (error as { cause?: { code?: string } }).cause?.code;
    return { alive: false, reason: code === 'ECONNREFUSED' ? 'nothing listens on that port' : `unreachable (${code ?? (error as Error).message})` };
  }
  if (!response.ok) return { alive: false, reason: `answered HTTP ${response.status}, not a CDP endpoint` };
  let body: { webSocketDebuggerUrl?: unknown; Browser?: unknown };
  try {
    body = (await response.json()) as typeof body;
  } catch {
    return { alive: false, reason: 'answered something that is not CDP JSON' };
  }
  if (typeof body.webSocketDebuggerUrl !== 'string') return { alive: false, reason: 'answered without a webSocketDebuggerUrl' };
  return {
    alive: true,
    browserId: browserIdOf(body.webSocketDebuggerUrl),
    webSocketDebuggerUrl: body.webSocketDebuggerUrl,
    product: typeof body.Browser === 'string' ? body.Browser : 'unknown',
  };
}

/** Connects to the browser at `cdpUrl`; `BROWSER_UNREACHABLE` when it does not answer in time. */
export async function connectCdp(cdpUrl: string, timeoutMs = 5000): Promise<Browser> {
  const { chromium } = await import('playwright-core');
  try {
    return await chromium.connectOverCDP(cdpUrl, { timeout: timeoutMs });
  } catch (error) {
    throw new RaptorError(
      'BROWSER_UNREACHABLE',
      `Cannot connect to the browser at ${redactUrl(cdpUrl)} within ${timeoutMs} ms. Is it still running? \`raptor restore\` relaunches it from the saved state.`,
      { cause: error },
    );
  }
}
