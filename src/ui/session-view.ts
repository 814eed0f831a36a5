/**
 * One session as its dashboard page shows it, built from the record by an allow-list: every field
 * of the answer is named here and none is copied from the record wholesale. Values of the state
 * (cookies, localStorage, sessionStorage, IndexedDB, OPFS, passkeys) and of the identity's
 * secrets (passwords, header values) never leave the server, not even masked: the page gets
 * names, domains, paths, origins, flags, timestamps, counts and lengths only. A key Playwright
 * adds later is not shown until it is named here.
 */
import type { Identity } from '../core/identity.js';
import type { SessionRecord, SessionSummary } from '../core/record.js';
import { redactUrl } from '../core/redact-url.js';
import type { BrowserState } from './browser-probes.js';
import { statusOf, type SessionStatus } from './session-index.js';
import { loginView, type LoginView } from './login-view.js';

export interface CookieView {
  name: string;
  path: string;
  /** Seconds since the epoch, or `-1` for a session cookie. */
  expires: number;
  session: boolean;
  httpOnly: boolean;
  secure: boolean;
  sameSite: string;
  partitioned: boolean;
  valueLength: number;
}

export interface ItemView {
  name: string;
  valueLength: number;
}

export interface OriginView {
  origin: string;
  localStorage: ItemView[];
  sessionStorage: ItemView[];
  indexedDB: number;
  opfs: number;
}

export interface IdentityView {
  userAgent?: string;
  locale?: string;
  timezoneId?: string;
  viewport?: string;
  deviceScaleFactor?: number;
  colorScheme?: string;
  geolocation?: string;
  permissions?: string[];
  headers: ItemView[];
  httpCredentials?: { username: string; origin?: string; passwordLength: number };
  proxy?: { server: string; username?: string; bypass?: string; passwordLength?: number };
}

export interface StateKinds {
  cookies: number;
  localStorage: number;
  sessionStorage: number;
  indexedDB: number;
  opfs: number;
  passkeys: number;
}

export interface SessionView {
  name: string;
  browserType: string;
  status: SessionStatus;
  createdAt: string;
  updatedAt: string;
  lastAccessedAt: string;
  expiresAt: string | null;
  revision: number;
  bytes: number | null;
  tags: string[];
  metadataKeys: string[];
  /** `live`, `gone` (recorded, not answering) or `none` (no kept-alive browser recorded). */
  browser: BrowserState;
  encrypted: boolean;
  /** Set when the state could not be opened (no key): the page shows the summary and this. */
  stateUnavailable?: { code: string; message: string };
  kinds: StateKinds;
  cookies: Array<{ domain: string; cookies: CookieView[] }>;
  origins: OriginView[];
  passkeys: Array<{ rpId: string }>;
  identity: IdentityView | null;
  /** The recipe that logs it in and what `raptor keep` last did; `null` when none does. */
  login: LoginView | null;
}

const length = (value: unknown): number => (typeof value === 'string' ? [...value].length : 0);
const countOf = (value: unknown): number => (Array.isArray(value) ? value.length : 0);
const text = (value: unknown): string => (typeof value === 'string' ? value : '');

export function sessionView(record: SessionRecord, summary: SessionSummary, browser: BrowserState): SessionView {
  const state = record.storageState;
  const byDomain = new Map<string, CookieView[]>();
  for (const c of state.cookies) {
    const list = byDomain.get(c.domain) ?? [];
    list.push({
      name: c.name,
      path: c.path,
      expires: c.expires,
      session: c.expires === -1,
      httpOnly: c.httpOnly,
      secure: c.secure,
      sameSite: c.sameSite,
      partitioned: (c as { partitionKey?: unknown }).partitionKey !== undefined,
      valueLength: length(c.value),
    });
    byDomain.set(c.domain, list);
  }
  const origins = new Map<string, OriginView>();
  const originOf = (origin: string): OriginView => {
    let view = origins.get(origin);
    if (!view) origins.set(origin, (view = { origin, localStorage: [], sessionStorage: [], indexedDB: 0, opfs: 0 }));
    return view;
  };
  for (const o of state.origins) {
    const view = originOf(o.origin);
    view.localStorage.push(...o.localStorage.map((item) => ({ name: item.name, valueLength: length(item.value) })));
    view.indexedDB += countOf((o as { indexedDB?: unknown }).indexedDB);
    view.opfs += countOf((o as { opfs?: unknown }).opfs);
  }
  for (const [origin, items] of Object.entries(record.sessionStorage ?? {})) {
    originOf(origin).sessionStorage.push(...Object.entries(items).map(([name, value]) => ({ name, valueLength: length(value) })));
  }
  const credentials = (state as { credentials?: unknown }).credentials;
  const passkeys = Array.isArray(credentials) ? credentials.map((p: unknown) => ({ rpId: typeof p === 'object' && p !== null ? text((p as { rpId?: unknown }).rpId) : '' })) : [];
  const originList = [...origins.values()].sort((a, b) => a.origin.localeCompare(b.origin));
  return {
    name: record.name,
    browserType: record.browserType,
    status: statusOf(summary),
    createdAt: record.createdAt,
    updatedAt: record.updatedAt,
    lastAccessedAt: record.lastAccessedAt,
    expiresAt: record.expiresAt,
    revision: record.revision,
    bytes: summary.bytes ?? null,
    tags: [...record.tags],
    metadataKeys: Object.keys(record.metadata).sort(),
    browser,
    encrypted: record.encrypted !== undefined,
    kinds: {
      cookies: state.cookies.length,
      localStorage: originList.reduce((n, o) => n + o.localStorage.length, 0),
      sessionStorage: originList.reduce((n, o) => n + o.sessionStorage.length, 0),
      indexedDB: originList.reduce((n, o) => n + o.indexedDB, 0),
      opfs: originList.reduce((n, o) => n + o.opfs, 0),
      passkeys: passkeys.length,
    },
    cookies: [...byDomain.entries()].sort(([a], [b]) => a.localeCompare(b)).map(([domain, cookies]) => ({ domain, cookies })),
    origins: originList,
    passkeys,
    identity: identityView(record.identity),
    login: loginView(record.metadata),
  };
}

/** A session whose state this process cannot open (encrypted, no key): its summary only. */
export function summaryView(summary: SessionSummary, browser: BrowserState, unavailable: { code: string; message: string }): SessionView {
  return {
    name: summary.name,
    browserType: summary.browserType,
    status: statusOf(summary),
    createdAt: summary.createdAt,
    updatedAt: summary.updatedAt,
    lastAccessedAt: summary.lastAccessedAt,
    expiresAt: summary.expiresAt,
    revision: summary.revision,
    bytes: summary.bytes ?? null,
    tags: [...summary.tags],
    metadataKeys: Object.keys(summary.metadata).sort(),
    browser,
    encrypted: true,
    stateUnavailable: unavailable,
    kinds: { cookies: 0, localStorage: 0, sessionStorage: 0, indexedDB: 0, opfs: 0, passkeys: 0 },
    cookies: [],
    origins: [],
    passkeys: [],
    identity: null,
    login: loginView(summary.metadata),
  };
}

/** What `raptor show` prints of an identity, with passwords and header values as lengths only. */
function identityView(identity: Identity | undefined): IdentityView | null {
  if (!identity) return null;
  const { viewport, geolocation: geo, httpCredentials: basic, proxy } = identity;
  return {
    ...(identity.userAgent !== undefined ? { userAgent: identity.userAgent } : {}),
    ...(identity.locale !== undefined ? { locale: identity.locale } : {}),
    ...(identity.timezoneId !== undefined ? { timezoneId: identity.timezoneId } : {}),
    ...(viewport ? { viewport: `${viewport.width}x${viewport.height}` } : {}),
    ...(identity.deviceScaleFactor !== undefined ? { deviceScaleFactor: identity.deviceScaleFactor } : {}),
    ...(identity.colorScheme !== undefined ? { colorScheme: identity.colorScheme } : {}),
    ...(geo ? { geolocation: `${geo.latitude}, ${geo.longitude}` } : {}),
    ...(identity.permissions ? { permissions: [...identity.permissions] } : {}),
    headers: Object.entries(identity.extraHTTPHeaders ?? {}).map(([name, value]) => ({ name, valueLength: length(value) })),
    ...(basic ? { httpCredentials: { username: basic.username, ...(basic.origin !== undefined ? { origin: basic.origin } : {}), passwordLength: length(basic.password) } } : {}),
    ...(proxy
      ? {
          proxy: {
            server: redactUrl(proxy.server),
            ...(proxy.username !== undefined ? { username: proxy.username } : {}),
            ...(proxy.bypass !== undefined ? { bypass: proxy.bypass } : {}),
            ...(proxy.password !== undefined ? { passwordLength: length(proxy.password) } : {}),
          },
        }
      : {}),
  };
}
