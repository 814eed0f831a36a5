/**
 * What stands between the dashboard and every other page and program on this machine. The
 * dashboard can stop browsers, delete sessions and type into logged-in tabs, so:
 *
 * - **A token** (random, 256 bits) opens it. It arrives once in the URL raptor prints, is
 *   exchanged for an HttpOnly, SameSite=Strict cookie, and the page redirects to a URL without it
 *   (no token in history, in a Referer, or in a screenshot of the address bar). Every request,
 *   the live view's streams included, needs the cookie.
 * - **Host** must name the address the dashboard listens on: a DNS-rebinding page (evil.test
 *   resolving to 127.0.0.1) sends `Host: evil.test` and is refused before anything is read.
 * - **Origin**, on every request that changes something, must be the dashboard's own, and such a
 *   request must carry the CSRF token, which only a page served by the dashboard knows (a header
 *   no cross-origin form or `fetch` without CORS can set).
 * - **A strict CSP**: scripts and styles only from the dashboard itself, no inline code, no
 *   framing, nothing sent anywhere else.
 *
 * Comparisons are constant-time; the token is never logged (requests are logged by path only).
 */
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import { hostname, networkInterfaces } from 'node:os';
import type { Context, MiddlewareHandler } from 'hono';

export const SESSION_COOKIE = 'raptor_ui';
export const CSRF_HEADER = 'x-raptor-csrf';

export const CONTENT_SECURITY_POLICY = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' data: blob:",
  "connect-src 'self'",
  "font-src 'self'",
  "base-uri 'none'",
  "form-action 'self'",
  "frame-ancestors 'none'",
].join('; ');

export interface DashboardSecrets {
  /** In the URL raptor prints; exchanged for the cookie. */
  token: string;
  /** The cookie's value: a second secret, so the cookie never equals what the terminal shows. */
  cookie: string;
  /** Given to the page in its HTML; required on every change. */
  csrf: string;
}

export function newSecrets(): DashboardSecrets {
  const secret = (): string => randomBytes(32).toString('base64url');
  return { token: secret(), cookie: secret(), csrf: secret() };
}

/** Constant-time equality of two strings (hashed first, so their lengths leak nothing either). */
export function sameSecret(given: string | undefined, expected: string): boolean {
  if (given === undefined) return false;
  const digest = (value: string): Buffer => createHash('sha256').update(value).digest();
  return timingSafeEqual(digest(given), digest(expected));
}

/**
 * The Host values a request may carry: the bound address, and the loopback names for it. Bound
 * to every interface (`0.0.0.0`, `::`), the machine's own addresses and host name too: a page on
 * another name is a rebinding attempt, or a name the user can replace with one of these.
 */
export function allowedHosts(host: string, port: number): Set<string> {
  const names = new Set<string>([bracketed(host)]);
  if (isLoopback(host) || isWildcard(host)) for (const name of ['127.0.0.1', 'localhost', '[::1]']) names.add(name);
  if (isWildcard(host)) {
    names.add(hostname().toLowerCase());
    for (const addresses of Object.values(networkInterfaces())) for (const a of addresses ?? []) names.add(bracketed(a.address));
  }
  return new Set([...names].map((name) => `${name}:${port}`));
}

function isWildcard(host: string): boolean {
  return host === '0.0.0.0' || host === '::';
}

function bracketed(address: string): string {
  return address.includes(':') ? `[${address}]` : address;
}

export function isLoopback(host: string): boolean {
  return host === 'localhost' || host === '::1' || /^127\.\d+\.\d+\.\d+$/.test(host);
}

export interface GuardOptions {
  secrets: DashboardSecrets;
  /** Host header values accepted (see `allowedHosts`). */
  hosts: Set<string>;
}

/**
 * The one middleware every request passes. Refusals are plain text with a status and say why;
 * they never echo what was sent.
 */
export function guard({ secrets, hosts }: GuardOptions): MiddlewareHandler {
  return async (c, next) => {
    setSecurityHeaders(c);
    const host = c.req.header('host')?.toLowerCase();
    if (host === undefined || !hosts.has(host)) return refuse(c, 421, 'HOST_REFUSED', 'This dashboard answers only on the address raptor printed.');

    const url = new URL(c.req.url);
    const token = url.searchParams.get('token');
    if (token !== null && c.req.method === 'GET' && url.pathname === '/') {
      if (!sameSecret(token, secrets.token)) return refuse(c, 401, 'TOKEN_REFUSED', 'This token does not open this dashboard. Use the URL `raptor ui` printed last.');
      // The token leaves the address bar at once: the cookie carries the visit from here on.
      c.header('set-cookie', `${SESSION_COOKIE}=${secrets.cookie}; HttpOnly; SameSite=Strict; Path=/`);
      return c.redirect('/', 303);
    }
    if (!sameSecret(cookieOf(c), secrets.cookie)) {
      return refuse(c, 401, 'TOKEN_REQUIRED', 'Open the dashboard with the URL `raptor ui` printed (it carries a token).');
    }
    if (!['GET', 'HEAD'].includes(c.req.method)) {
      const origin = c.req.header('origin');
      // Browsers send Origin on every POST/DELETE; a request without one is not from a page, but
      // then it must still know the CSRF token, which only the dashboard's own page holds.
      if (origin !== undefined && !hosts.has(hostOfOrigin(origin))) return refuse(c, 403, 'ORIGIN_REFUSED', 'Changes are accepted only from the dashboard page itself.');
      if (!sameSecret(c.req.header(CSRF_HEADER), secrets.csrf)) return refuse(c, 403, 'CSRF_REFUSED', 'This change lacks the dashboard\'s CSRF token; reload the page.');
    }
    await next();
  };
}

function setSecurityHeaders(c: Context): void {
  c.header('content-security-policy', CONTENT_SECURITY_POLICY);
  c.header('x-content-type-options', 'nosniff');
  c.header('x-frame-options', 'DENY');
  c.header('referrer-policy', 'no-referrer');
  c.header('cross-origin-opener-policy', 'same-origin');
  c.header('cross-origin-resource-policy', 'same-origin');
  c.header('cache-control', 'no-store');
}

function refuse(c: Context, status: 401 | 403 | 421, code: string, message: string): Response {
  return c.json({ error: { code, message } }, status);
}

function cookieOf(c: Context): string | undefined {
  const header = c.req.header('cookie');
  if (header === undefined) return undefined;
  for (const part of header.split(';')) {
    const [name, ...value] = part.trim().split('=');
    if (name === SESSION_COOKIE) return value.join('=');
  }
  return undefined;
}

function hostOfOrigin(origin: string): string {
  try {
    const url = new URL(origin);
    return url.protocol === 'http:' ? url.host.toLowerCase() : '';
  } catch {
    return '';
  }
}
