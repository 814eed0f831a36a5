/**
 * The one masking function, deny-by-default. Every value of a storage state is a credential
 * (cookies, localStorage, sessionStorage, IndexedDB keys and values, OPFS file contents, passkey
 * keys and handles), so a masked copy keeps only what an allow-list names as structure: names,
 * domains, paths, origins, flags, timestamps. Anything else, including keys Playwright adds in a
 * later version and unknown top-level keys of a newer session file, is masked whole.
 *
 * Used by `raptor show` (`src/cli/mask.ts`) and by the logger (`src/env/log.ts`). A masked value keeps
 * only its length, never a prefix: the first characters of a token often identify it.
 */
import { redactUrl } from './redact-url.js';

export const MASK = '••••••';

/** `•••••• (40 chars)`: the length helps tell an empty value from a real one. */
export function maskValue(value: unknown): string {
  const length = typeof value === 'string' ? [...value].length : (JSON.stringify(value ?? null) ?? '').length;
  return `${MASK} (${length} ${length === 1 ? 'char' : 'chars'})`;
}

/**
 * What a position in a value is: `keep` a scalar that is structure, `json` the user's own
 * labels (metadata) shown as they are, `url` a URL shown without its credentials, `mask` a
 * secret, or a container whose parts are described in turn.
 */
type Shape =
  | { kind: 'keep' | 'json' | 'url' | 'mask' }
  | { kind: 'list'; item: Shape }
  | { kind: 'map'; value: Shape }
  | { kind: 'fields'; fields: Readonly<Record<string, Shape>> };

const KEEP: Shape = { kind: 'keep' };
const JSON_AS_IS: Shape = { kind: 'json' };
const URL: Shape = { kind: 'url' };
const SECRET: Shape = { kind: 'mask' };
const list = (item: Shape): Shape => ({ kind: 'list', item });
/** An object whose keys are structure (origins, storage item names) and whose values are `value`. */
const map = (value: Shape): Shape => ({ kind: 'map', value });
const fields = (named: Record<string, Shape>): Shape => ({ kind: 'fields', fields: named });

// Playwright's storage state as of 1.65 (`storageState({ indexedDB: true, opfs: true, credentials: true })`,
// protocol types `NetworkCookie`, `OriginStorage`, `IndexedDBDatabase`, `OPFSEntry`, `VirtualCredential`).
const COOKIE = fields({
  name: KEEP,
  domain: KEEP,
  path: KEEP,
  expires: KEEP,
  httpOnly: KEEP,
  secure: KEEP,
  sameSite: KEEP,
  partitionKey: KEEP, // the top-level site a partitioned cookie belongs to
  _crHasCrossSiteAncestor: KEEP,
});
const INDEXED_DB = fields({
  name: KEEP,
  version: KEEP,
  stores: list(
    fields({
      name: KEEP,
      autoIncrement: KEEP,
      keyPath: KEEP,
      keyPathArray: list(KEEP),
      // A record is all data: its key (often the token itself) as much as its value.
      records: list(fields({})),
      indexes: list(fields({ name: KEEP, keyPath: KEEP, keyPathArray: list(KEEP), multiEntry: KEEP, unique: KEEP })),
    }),
  ),
});
const ORIGIN = fields({
  origin: KEEP,
  localStorage: list(fields({ name: KEEP })),
  indexedDB: list(INDEXED_DB),
  opfs: list(fields({ path: KEEP, type: KEEP })), // `base64` is the file's contents
});
/** A passkey: which site it is for and how often it signed; its id, handle and keys are secrets. */
const CREDENTIAL = fields({ rpId: KEEP, signCount: KEEP });
const STORAGE_STATE = fields({ cookies: list(COOKIE), origins: list(ORIGIN), credentials: list(CREDENTIAL) });
/** A session's identity (core/identity.ts): what it looks like is structure; passwords and header values are secrets. */
const IDENTITY = fields({
  userAgent: KEEP,
  locale: KEEP,
  timezoneId: KEEP,
  viewport: fields({ width: KEEP, height: KEEP }),
  deviceScaleFactor: KEEP,
  colorScheme: KEEP,
  geolocation: fields({ latitude: KEEP, longitude: KEEP, accuracy: KEEP }),
  permissions: list(KEEP),
  extraHTTPHeaders: map(SECRET), // an Authorization header is a credential
  httpCredentials: fields({ username: KEEP, origin: KEEP }),
  proxy: fields({ server: URL, bypass: KEEP, username: KEEP }),
});
/** raptor's own `origin -> key -> value` of sessionStorage. */
const SESSION_STORAGE = map(map(SECRET));

const RECORD = fields({
  schemaVersion: KEEP,
  name: KEEP,
  browserType: KEEP,
  cdpUrl: URL,
  browserId: KEEP,
  createdAt: KEEP,
  updatedAt: KEEP,
  lastAccessedAt: KEEP,
  expiresAt: KEEP,
  tags: list(KEEP),
  metadata: JSON_AS_IS, // the user's labels: `list` shows them too
  revision: KEEP,
  storageState: STORAGE_STATE,
  sessionStorage: SESSION_STORAGE,
  identity: IDENTITY,
  encrypted: fields({ v: KEEP, alg: KEEP, kid: KEEP }),
});

/** A deep copy of a session record (or anything claiming to be one) with every non-structure value masked. */
export function maskRecord<T>(record: T): T {
  return maskAs(RECORD, record) as T;
}

/** A copy of an identity with its passwords and header values masked. */
export function maskIdentity<T>(identity: T): T {
  return maskAs(IDENTITY, identity) as T;
}

/** A deep copy of a Playwright storage state with every non-structure value masked. */
export function maskStorageState<T>(state: T): T {
  return maskAs(STORAGE_STATE, state) as T;
}

/**
 * Log fields that hold browser state, by name, wherever they sit in a log object. Other fields
 * are the logger's own (session names, counts, reasons) and stay; URLs in them are redacted by
 * the logger's line filter.
 */
const LOG_FIELDS: Readonly<Record<string, Shape>> = {
  storageState: STORAGE_STATE,
  state: STORAGE_STATE,
  sessionStorage: SESSION_STORAGE,
  cookies: list(COOKIE),
  origins: list(ORIGIN),
  credentials: list(CREDENTIAL),
  localStorage: list(fields({ name: KEEP })),
  value: SECRET,
  headers: map(SECRET),
  cdpUrl: URL,
  identity: IDENTITY,
  proxy: fields({ server: URL, bypass: KEEP, username: KEEP }),
  httpCredentials: fields({ username: KEEP, origin: KEEP }),
  extraHTTPHeaders: map(SECRET),
};

/** A copy of a log object with the state-holding fields (at any depth up to 8) masked. */
export function maskLogFields(object: Record<string, unknown>, depth = 0): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(object)) {
    const shape = Object.hasOwn(LOG_FIELDS, key) ? LOG_FIELDS[key] : undefined;
    if (shape) out[key] = maskAs(shape, value);
    else if (isPlainObject(value) && depth < 8) out[key] = maskLogFields(value, depth + 1);
    else out[key] = value;
  }
  return out;
}

function maskAs(shape: Shape, value: unknown): unknown {
  if (value === undefined) return undefined;
  switch (shape.kind) {
    case 'json':
      return value;
    case 'keep':
      return isScalar(value) ? value : maskValue(value);
    case 'url':
      return typeof value === 'string' ? redactUrl(value) : maskValue(value);
    case 'mask':
      return maskValue(value);
    case 'list':
      return Array.isArray(value) ? value.map((item: unknown) => maskAs(shape.item, item)) : maskValue(value);
    case 'map':
      return isPlainObject(value) ? mapEntries(value, (_key, item) => maskAs(shape.value, item)) : maskValue(value);
    case 'fields':
      return isPlainObject(value)
        ? mapEntries(value, (key, item) => (Object.hasOwn(shape.fields, key) ? maskAs(shape.fields[key]!, item) : maskValue(item)))
        : maskValue(value);
  }
}

function mapEntries(value: Record<string, unknown>, fn: (key: string, item: unknown) => unknown): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [key, item] of Object.entries(value)) {
    // defineProperty: a `__proto__` key stays a plain own key of the copy
    Object.defineProperty(out, key, { value: fn(key, item), enumerable: true, writable: true, configurable: true });
  }
  return out;
}

function isScalar(value: unknown): boolean {
  return value === null || typeof value === 'string' || typeof value === 'number' || typeof value === 'boolean';
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
