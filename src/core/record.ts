/**
 * The session file, format v1 (DESIGN.md): its zod schema, parsing, serializing and migrations.
 *
 * Validation happens here, once, at the boundary: every file read and every value written.
 * Inside raptor a `SessionRecord` can be trusted.
 */
import { z } from 'zod';
import { describeJsonError } from './json-error.js';
import { RaptorError, type Issue } from './errors.js';
import { MAX_NAME_LENGTH, fileNameFor } from './names.js';
import { sanitizeJson, type Json } from './sanitize.js';
import { IdentitySchema } from './identity.js';

export const SCHEMA_VERSION = 1;
export const MAX_FILE_BYTES = 64 * 1024 * 1024;
export const MAX_METADATA_BYTES = 1024 * 1024;
export const MAX_METADATA_DEPTH = 32;
export const BROWSER_TYPES = ['chromium', 'firefox', 'webkit'] as const;
export type BrowserType = (typeof BROWSER_TYPES)[number];

// Playwright's storage state. Loose objects: Playwright adds keys over time (`partitionKey`,
// `_crHasCrossSiteAncestor`, `origins[].indexedDB`, ...) and they must round-trip unchanged.
const CookieSchema = z.looseObject({
  name: z.string(),
  value: z.string(),
  domain: z.string(),
  path: z.string(),
  expires: z.number(),
  httpOnly: z.boolean(),
  secure: z.boolean(),
  sameSite: z.enum(['Strict', 'Lax', 'None']),
});

const OriginSchema = z.looseObject({
  origin: z.string(),
  localStorage: z.array(z.looseObject({ name: z.string(), value: z.string() })),
});

export const StorageStateSchema = z.looseObject({
  cookies: z.array(CookieSchema),
  origins: z.array(OriginSchema),
});

export type StorageState = z.infer<typeof StorageStateSchema>;
export type Cookie = z.infer<typeof CookieSchema>;

/** origin -> key -> value, captured from open tabs (Playwright does not keep sessionStorage). */
const SessionStorageSchema = z.record(z.string(), z.record(z.string(), z.string()));
export type SessionStorageMap = z.infer<typeof SessionStorageSchema>;

const Timestamp = z.iso.datetime({ offset: true });

const CdpUrlSchema = z.string().refine(isCdpUrl, {
  message: 'must be an http(s):// or ws(s):// URL such as `http://127.0.0.1:9222`',
});

const JsonSchema: z.ZodType<Json> = z.json() as z.ZodType<Json>;

/** Everything but the browser state: what `list()` needs, cheap to read. */
export const SummaryFieldsSchema = z.looseObject({
  schemaVersion: z.literal(SCHEMA_VERSION),
  name: z
    .string()
    .min(1)
    .refine((n) => [...n].length <= MAX_NAME_LENGTH, { message: `is longer than ${MAX_NAME_LENGTH} characters` }),
  browserType: z.enum(BROWSER_TYPES),
  cdpUrl: CdpUrlSchema.optional(),
  browserId: z.string().min(1).max(200).optional(),
  createdAt: Timestamp,
  updatedAt: Timestamp,
  lastAccessedAt: Timestamp,
  expiresAt: Timestamp.nullable(),
  tags: z.array(z.string().min(1).max(100)).max(100),
  metadata: z.record(z.string(), JsonSchema),
  revision: z.number().int().nonnegative(),
});

/**
 * Encryption at rest (see `src/crypto/encryption.ts`): the browser state, sealed with AES-256-GCM.
 * In the file it stands in place of the state, as `"storageState": { "encrypted": … }`.
 */
export const EnvelopeSchema = z.object({
  v: z.literal(1),
  alg: z.literal('aes-256-gcm'),
  /** Which key sealed it: the first 16 hex digits of sha256(key). */
  kid: z.string().regex(/^[0-9a-f]{16}$/),
  iv: z.base64(),
  tag: z.base64(),
  data: z.base64(),
});
export type Envelope = z.infer<typeof EnvelopeSchema>;

export const SessionRecordSchema = SummaryFieldsSchema.extend({
  storageState: StorageStateSchema,
  sessionStorage: SessionStorageSchema.optional(),
  /**
   * The browser identity the login is bound to (`core/identity.ts`): applied on every restore.
   * Part of the state: after it in a file, sealed with it when encryption is on (a proxy password
   * is a credential). Optional, so files of earlier versions of format v1 read as they are.
   */
  identity: IdentitySchema.optional(),
  /** Set when the state is encrypted; `storageState` is then empty in memory until decrypted. */
  encrypted: EnvelopeSchema.optional(),
});

const EMPTY_STATE = { cookies: [], origins: [] };

/** On disk an encrypted state is `"storageState": { "encrypted": … }`; in memory it is the `encrypted` field. */
function liftEnvelope(raw: Record<string, Json>): Record<string, Json> {
  const state = raw['storageState'];
  if (state && typeof state === 'object' && !Array.isArray(state) && 'encrypted' in state && !('cookies' in state)) {
    return { ...raw, storageState: EMPTY_STATE, encrypted: state['encrypted']! };
  }
  return raw;
}

export type SessionRecord = z.infer<typeof SessionRecordSchema>;
export type SummaryFields = z.infer<typeof SummaryFieldsSchema>;

/** A session as `list()` sees it: no storage state. */
export interface SessionSummary {
  name: string;
  browserType: BrowserType;
  cdpUrl?: string;
  browserId?: string;
  createdAt: string;
  updatedAt: string;
  lastAccessedAt: string;
  expiresAt: string | null;
  tags: string[];
  metadata: Record<string, Json>;
  revision: number;
  /** Size of the stored session in bytes, when the store knows it. */
  bytes?: number;
  expired: boolean;
}

export function isCdpUrl(value: string): boolean {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    return false; // not a URL at all: reported by the caller as a schema issue
  }
  return ['http:', 'https:', 'ws:', 'wss:'].includes(url.protocol) && url.hostname !== '';
}

export function isExpired(expiresAt: string | null, now = Date.now()): boolean {
  return expiresAt !== null && Date.parse(expiresAt) <= now;
}

export function toSummary(fields: SummaryFields, bytes?: number, now = Date.now()): SessionSummary {
  const summary: SessionSummary = {
    name: fields.name,
    browserType: fields.browserType,
    createdAt: fields.createdAt,
    updatedAt: fields.updatedAt,
    lastAccessedAt: fields.lastAccessedAt,
    expiresAt: fields.expiresAt,
    tags: fields.tags,
    metadata: fields.metadata,
    revision: fields.revision,
    expired: isExpired(fields.expiresAt, now),
  };
  if (fields.cdpUrl !== undefined) summary.cdpUrl = fields.cdpUrl;
  if (fields.browserId !== undefined) summary.browserId = fields.browserId;
  if (bytes !== undefined) summary.bytes = bytes;
  return summary;
}

/**
 * Migrations keyed by the version they upgrade *from*. A file of version N goes through
 * `MIGRATIONS[N]`, `MIGRATIONS[N+1]`, ... until it reaches `SCHEMA_VERSION`.
 * v1 is the first format, so there is nothing to migrate yet.
 */
const MIGRATIONS: Record<number, (raw: Record<string, Json>) => Record<string, Json>> = {};

function migrate(raw: Record<string, Json>): Record<string, Json> {
  let current = raw;
  let version = current['schemaVersion'];
  while (typeof version === 'number' && version < SCHEMA_VERSION && MIGRATIONS[version]) {
    current = MIGRATIONS[version]!(current);
    version = current['schemaVersion'];
  }
  return current;
}

/** Issue code of a file written by a newer raptor: never quarantined, only skipped. */
export const NEWER_VERSION = 'NEWER_VERSION';

function zodIssues(error: z.ZodError, prefix = ''): Issue[] {
  return error.issues.map((issue) => ({
    code: 'SCHEMA',
    message: issue.message,
    path: [prefix, ...issue.path.map(String)].filter((p) => p !== '').join('.'),
  }));
}

/**
 * Checks a value; returns the issues (empty = a valid record). `plainJson` says the value came
 * straight from `JSON.parse` of text without prototype-sensitive keys, so the deep sanitize
 * pass (the slowest step when opening 10,000 files) can be skipped.
 */
function checkValue(raw: unknown, fileName?: string, plainJson = false): { record?: SessionRecord; issues: Issue[] } {
  const { value, issues } = plainJson ? { value: raw as Json, issues: [] } : sanitizeJson(raw);
  if (issues.length > 0) return { issues };
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    return { issues: [{ code: 'SCHEMA', message: 'a session file must hold a JSON object', path: '' }] };
  }
  const migrated = liftEnvelope(migrate(value));
  const version = migrated['schemaVersion'];
  if (typeof version === 'number' && version > SCHEMA_VERSION) {
    return {
      issues: [
        {
          code: NEWER_VERSION,
          message: `written by a newer raptor (format v${version}; this one reads v${SCHEMA_VERSION}). Upgrade raptor-sessions.`,
          path: 'schemaVersion',
        },
      ],
    };
  }
  const parsed = SessionRecordSchema.safeParse(migrated);
  if (!parsed.success) return { issues: zodIssues(parsed.error) };
  const record = parsed.data;
  const found: Issue[] = [];
  const metadataIssues = sanitizeJson(record.metadata, 'metadata', MAX_METADATA_DEPTH).issues;
  found.push(...metadataIssues);
  if (metadataIssues.length === 0 && Buffer.byteLength(JSON.stringify(record.metadata)) > MAX_METADATA_BYTES) {
    found.push({ code: 'TOO_LARGE', message: `metadata is larger than ${MAX_METADATA_BYTES} bytes`, path: 'metadata' });
  }
  if (fileName !== undefined) {
    let expected: string | undefined;
    try {
      expected = fileNameFor(record.name);
    } catch (error) {
      found.push({ code: 'SCHEMA', message: (error as Error).message, path: 'name' });
    }
    if (expected !== undefined && expected !== fileName) {
      found.push({
        code: 'NAME_MISMATCH',
        message: `the file holds session \`${record.name}\`, which belongs in \`${expected}\`, not \`${fileName}\``,
        path: 'name',
      });
    }
  }
  return found.length > 0 ? { issues: found } : { record, issues: [] };
}

function invalid(what: string, issues: Issue[]): RaptorError {
  const first = issues[0];
  const detail = first ? ` (${first.path || 'file'}: ${first.message}${issues.length > 1 ? `; ${issues.length - 1} more` : ''})` : '';
  return new RaptorError('INVALID_SESSION', `${what} is not a valid session${detail}. Run \`raptor validate\` for every problem.`, { issues });
}

/**
 * Parses the text of a session file. `fileName` (when given) must be the file the name maps to.
 * Throws `INVALID_SESSION` with every issue found.
 */
export function parseRecordText(text: string, fileName?: string): SessionRecord {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch {
    // Never V8's message: it quotes the text, and a session file's text is credentials.
    throw invalid(fileName ? `\`${fileName}\`` : 'The input', [{ code: 'INVALID_JSON', message: describeJsonError(text), path: '' }]);
  }
  const { record, issues } = guardDepth(() => checkValue(raw, fileName, !DANGEROUS_KEY_TEXT.test(text)));
  if (!record) throw invalid(fileName ? `\`${fileName}\`` : 'The input', issues);
  return record;
}

/**
 * Runs a validation that recurses through the value. JSON nested thousands of levels deep
 * (a hostile or corrupted file) overflows the stack; that is an invalid file, not a crash.
 */
function guardDepth(check: () => { record?: SessionRecord; issues: Issue[] }): { record?: SessionRecord; issues: Issue[] } {
  try {
    return check();
  } catch (error) {
    if (!(error instanceof RangeError)) throw error;
    return { issues: [{ code: 'TOO_DEEP', message: 'is nested too deeply to be a session', path: '' }] };
  }
}

/** JSON text that might contain a prototype-polluting key somewhere (escaped forms included). */
const DANGEROUS_KEY_TEXT = /__proto__|constructor|prototype|\\u/;

/** Validates and sanitizes a value that claims to be a session record. Throws `INVALID_SESSION`. */
export function parseRecordValue(raw: unknown, fileName?: string): SessionRecord {
  const { record, issues } = guardDepth(() => checkValue(raw, fileName));
  if (!record) throw invalid(fileName ? `\`${fileName}\`` : 'The session', issues);
  return record;
}

/** Parses just the summary fields (the head of a file written by `serializeRecord`). */
export function parseSummaryValue(raw: unknown, fileName: string): SummaryFields {
  let parsed: ReturnType<typeof SummaryFieldsSchema.safeParse>;
  try {
    parsed = SummaryFieldsSchema.safeParse(raw);
  } catch (error) {
    if (!(error instanceof RangeError)) throw error;
    throw invalid(`\`${fileName}\``, [{ code: 'TOO_DEEP', message: 'is nested too deeply to be a session', path: '' }]);
  }
  if (!parsed.success) throw invalid(`\`${fileName}\``, zodIssues(parsed.error));
  if (fileNameFor(parsed.data.name) !== fileName) {
    throw invalid(`\`${fileName}\``, [{ code: 'NAME_MISMATCH', message: 'name does not map to this file', path: 'name' }]);
  }
  return parsed.data;
}

/**
 * Key order of a written file: the cheap fields first, the browser state last, so that
 * `list()` can stop reading at `STATE_MARKER` (see `readSessionFile` with `headOnly` in `fs/file-io.ts`).
 */
const HEAD_KEYS = [
  'schemaVersion',
  'name',
  'browserType',
  'cdpUrl',
  'browserId',
  'createdAt',
  'updatedAt',
  'lastAccessedAt',
  'expiresAt',
  'tags',
  'metadata',
  'revision',
] as const;
const TAIL_KEYS = ['storageState', 'sessionStorage', 'identity', 'encrypted'] as const;

/** Where the browser state starts in a file written by `serializeRecord`: a top-level key at 2-space indent. */
export const STATE_MARKER = '\n  "storageState": ';

/** The exact bytes raptor writes for a record: 2-space JSON, head keys first, trailing newline. */
export function serializeRecord(record: SessionRecord): string {
  const ordered: Record<string, unknown> = {};
  for (const key of HEAD_KEYS) if (record[key] !== undefined) ordered[key] = record[key];
  const known = new Set<string>([...HEAD_KEYS, ...TAIL_KEYS]);
  for (const key of Object.keys(record)) if (!known.has(key)) ordered[key] = (record as Record<string, unknown>)[key];
  if (record.encrypted) ordered['storageState'] = { encrypted: record.encrypted };
  else for (const key of TAIL_KEYS) if (record[key] !== undefined) ordered[key] = record[key];
  const text = `${JSON.stringify(ordered, null, 2)}\n`;
  const bytes = Buffer.byteLength(text);
  if (bytes > MAX_FILE_BYTES) {
    throw new RaptorError(
      'TOO_LARGE',
      `Session \`${record.name}\` would be ${(bytes / 1048576).toFixed(1)} MiB; the limit is 64 MiB. Drop large IndexedDB stores or metadata before saving.`,
    );
  }
  return text;
}

/** A fresh record for `name`, revision 0 (the store makes it 1 on first write). */
export function newRecord(
  name: string,
  storageState: StorageState,
  fields: Partial<Omit<SessionRecord, 'name' | 'storageState'>> = {},
  now = new Date(),
): SessionRecord {
  const at = now.toISOString();
  return {
    schemaVersion: SCHEMA_VERSION,
    name,
    browserType: 'chromium',
    createdAt: at,
    updatedAt: at,
    lastAccessedAt: at,
    expiresAt: null,
    tags: [],
    metadata: {},
    revision: 0,
    ...fields,
    storageState,
  };
}
