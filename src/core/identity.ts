/**
 * A session's browser identity: what a server may bind a login to besides cookies (fraud checks
 * compare the user agent, language, timezone and exit IP of every request with the login's).
 * Field names are Playwright's `BrowserContextOptions`, so an owned browser gets them as context
 * options as they are. A kept-alive browser, launched by raptor without Playwright, gets what
 * Chromium takes on its command line and in its environment at launch (`chromiumLaunchFor`); the
 * rest lives in a Playwright connection and is applied again on every attach (`attachOnly`).
 *
 * Secrets here: the proxy's and the HTTP credentials' passwords, and every extra header's value
 * (an `Authorization` header is a credential). They are masked wherever shown (`core/mask.ts`)
 * and sealed with the state when encryption is on.
 */
import { createHmac, randomBytes } from 'node:crypto';
import { z } from 'zod';
import { RaptorError } from './errors.js';

const Text = (max: number) => z.string().min(1).max(max);

export const ProxySchema = z.strictObject({
  /** `http://host:port`, `socks5://host:port`: where requests go. */
  server: Text(2048),
  /** Comma-separated hosts that skip the proxy (Chromium's `--proxy-bypass-list` syntax). */
  bypass: Text(4096).optional(),
  username: Text(1024).optional(),
  password: z.string().max(1024).optional(),
});

export const IdentitySchema = z.strictObject({
  userAgent: Text(1024).optional(),
  /** BCP 47 (`de-DE`): `navigator.language`, Accept-Language, number and date formats. */
  locale: Text(64).optional(),
  /** IANA (`Europe/Berlin`). */
  timezoneId: Text(64).optional(),
  viewport: z.strictObject({ width: z.int().min(1).max(16_384), height: z.int().min(1).max(16_384) }).optional(),
  deviceScaleFactor: z.number().positive().max(10).optional(),
  colorScheme: z.enum(['light', 'dark', 'no-preference']).optional(),
  geolocation: z.strictObject({ latitude: z.number().min(-90).max(90), longitude: z.number().min(-180).max(180), accuracy: z.number().nonnegative().optional() }).optional(),
  permissions: z.array(Text(64)).max(64).optional(),
  extraHTTPHeaders: z.record(Text(256), z.string().max(8192)).optional(),
  httpCredentials: z.strictObject({ username: z.string().max(1024), password: z.string().max(1024), origin: Text(2048).optional() }).optional(),
  proxy: ProxySchema.optional(),
});

export type Identity = z.infer<typeof IdentitySchema>;
export type IdentityField = keyof Identity;
export const IDENTITY_FIELDS = Object.keys(IdentitySchema.shape) as IdentityField[];

/** The fields a Playwright connection carries: they end with it, so every attach sets them again. */
export const ATTACH_ONLY_FIELDS = ['colorScheme', 'geolocation', 'permissions', 'extraHTTPHeaders', 'httpCredentials'] as const satisfies readonly IdentityField[];

/**
 * What Chromium takes at launch for a kept-alive browser: flags and environment. The proxy's
 * credentials are not among them (Chromium has no flag for them): a kept-alive browser goes
 * through raptor's local proxy relay, which adds them (`browser/proxy-relay.ts`), and
 * `proxyServer` then names the relay instead of the session's proxy. Loopback is proxied too,
 * as Playwright does (`<-loopback>`).
 */
export function chromiumLaunchFor(identity: Identity | undefined, overrides: { proxyServer?: string } = {}): { args: string[]; env: Record<string, string> } {
  const args: string[] = [];
  const env: Record<string, string> = {};
  if (!identity) return { args, env };
  if (identity.userAgent) args.push(`--user-agent=${identity.userAgent}`);
  if (identity.locale) {
    args.push(`--lang=${identity.locale}`, `--accept-lang=${acceptLanguage(identity.locale)}`);
    env['LANGUAGE'] = identity.locale.replace('-', '_');
  }
  if (identity.timezoneId) env['TZ'] = identity.timezoneId;
  if (identity.viewport) args.push(`--window-size=${identity.viewport.width},${identity.viewport.height}`);
  if (identity.deviceScaleFactor) args.push(`--force-device-scale-factor=${identity.deviceScaleFactor}`);
  if (identity.proxy) {
    args.push(`--proxy-server=${overrides.proxyServer ?? identity.proxy.server}`);
    args.push(`--proxy-bypass-list=${['<-loopback>', ...(identity.proxy.bypass ? [identity.proxy.bypass] : [])].join(',')}`);
  }
  return { args, env };
}

/** `de-DE` -> `de-DE,de`: what Chromium sends when its language is `de-DE`. */
export function acceptLanguage(locale: string): string {
  const base = locale.split('-')[0]!;
  return base !== locale ? `${locale},${base}` : locale;
}

/**
 * The part of `identity` a new connection to a kept-alive browser must set again. Not the proxy's
 * credentials: raptor's relay (`browser/proxy-relay.ts`) answers the proxy for as long as the browser lives.
 */
export function attachOnly(identity: Identity | undefined): Pick<Identity, (typeof ATTACH_ONLY_FIELDS)[number]> {
  if (!identity) return {};
  const out: ReturnType<typeof attachOnly> = {};
  for (const field of ATTACH_ONLY_FIELDS) if (identity[field] !== undefined) Object.assign(out, { [field]: identity[field] });
  return out;
}

/**
 * The fields a kept-alive Chromium takes at launch and keeps for its whole life: a browser
 * launched with other values must be relaunched to take new ones. (The viewport is set on every
 * attach instead, so a changed viewport needs no relaunch.)
 */
export const LAUNCH_FIELDS = ['userAgent', 'locale', 'timezoneId', 'deviceScaleFactor', 'proxy'] as const satisfies readonly IdentityField[];

/**
 * A fingerprint of the launch fields of `identity`, recorded with a kept-alive browser
 * (`raptor-browser.json`) so a later restore sees cheaply whether it still runs with the
 * session's identity. Undefined when there are none. Salted HMAC, not a bare hash: the proxy
 * password is one of the inputs, and a bare hash of a weak password could be looked up.
 */
export function launchFingerprint(identity: Identity | undefined, salt = randomBytes(8).toString('hex')): string | undefined {
  const fields = launchFieldsOf(identity);
  if (!fields) return undefined;
  return `${salt}:${createHmac('sha256', salt).update(JSON.stringify(fields)).digest('hex')}`;
}

/** Whether a browser launched with `fingerprint` (undefined: no launch fields) runs with the launch fields of `identity`. */
export function sameLaunchIdentity(fingerprint: string | undefined, identity: Identity | undefined): boolean {
  if (fingerprint === undefined) return launchFieldsOf(identity) === undefined;
  const salt = fingerprint.split(':')[0]!;
  return launchFingerprint(identity, salt) === fingerprint;
}

/** The launch fields in a fixed order (JSON of it is canonical), or undefined when none is set. */
function launchFieldsOf(identity: Identity | undefined): unknown[] | undefined {
  if (!identity || LAUNCH_FIELDS.every((field) => identity[field] === undefined)) return undefined;
  const proxy = identity.proxy;
  return LAUNCH_FIELDS.map((field) => (field === 'proxy' && proxy ? [proxy.server, proxy.bypass ?? null, proxy.username ?? null, proxy.password ?? null] : (identity[field] ?? null)));
}

/** Checks an identity given by a caller (library or file); `INVALID_INPUT` names the field. */
export function parseIdentity(value: unknown, where = 'identity'): Identity {
  const parsed = IdentitySchema.safeParse(value);
  if (parsed.success) return parsed.data;
  const issue = parsed.error.issues[0]!;
  const path = [where, ...issue.path.map(String)].join('.');
  throw new RaptorError('INVALID_INPUT', `${path}: ${issue.message}. Fields: ${IDENTITY_FIELDS.join(', ')}.`);
}

// --- CLI spellings -------------------------------------------------------------------------

/** `1280x720` -> `{ width: 1280, height: 720 }`. */
export function parseViewport(text: string): NonNullable<Identity['viewport']> {
  const match = /^(\d{1,5})[x×](\d{1,5})$/i.exec(text.trim());
  if (!match) throw new RaptorError('USAGE', `\`--viewport ${text}\` is not WIDTHxHEIGHT (e.g. 1280x720).`);
  return parseIdentity({ viewport: { width: Number(match[1]), height: Number(match[2]) } }, '--viewport').viewport!;
}

/** `'Name: value'` -> `['Name', 'value']`. */
export function parseHeader(text: string): [string, string] {
  const colon = text.indexOf(':');
  const name = colon > 0 ? text.slice(0, colon).trim() : '';
  if (!name || /\s/.test(name)) throw new RaptorError('USAGE', `\`--header\` takes 'Name: value' (e.g. --header 'X-Team: blue'); got something without a name.`);
  return [name, text.slice(colon + 1).trim()];
}

/** `http://user:pass@host:3128` -> `{ server: 'http://host:3128', username, password }`; the password never stays in `server`. */
export function parseProxyUrl(text: string, bypass?: string): NonNullable<Identity['proxy']> {
  let url: URL;
  try {
    url = new URL(text.includes('://') ? text : `http://${text}`);
  } catch {
    throw new RaptorError('USAGE', `\`--proxy\` takes a URL such as http://user:password@proxy.example:3128; this is not one.`);
  }
  if (!['http:', 'https:', 'socks4:', 'socks5:'].includes(url.protocol)) {
    throw new RaptorError('USAGE', `\`--proxy\` supports http, https, socks4 and socks5 proxies, not ${url.protocol.replace(':', '')}.`);
  }
  const proxy = {
    server: `${url.protocol}//${url.host}`,
    ...(url.username ? { username: decodeURIComponent(url.username) } : {}),
    ...(url.password ? { password: decodeURIComponent(url.password) } : {}),
    ...(bypass ? { bypass } : {}),
  };
  return parseIdentity({ proxy }, '--proxy').proxy!;
}
