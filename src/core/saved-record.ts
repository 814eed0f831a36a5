/**
 * What a save writes: the captured state over the stored record (or a new one), with the
 * caller's tags, metadata, browser type and expiry. Pure: the manager captures and stores.
 */
import { parseDuration } from './duration.js';
import { RaptorError } from './errors.js';
import { newRecord, type BrowserType, type SessionRecord, type SessionStorageMap, type StorageState } from './record.js';
import type { Json } from './sanitize.js';
import type { Identity } from './identity.js';

/** The fields a save may change besides the state. */
export interface SaveFields {
  tags?: string[];
  metadata?: Record<string, Json>;
  /** Keys set over the stored metadata (the rest kept): a writer that owns one key, like a login recording its recipe. */
  mergeMetadata?: Record<string, Json>;
  /** Expire this long after saving (`'12h'`, or ms). Omit to keep the current expiry (none for a new session). */
  ttl?: string | number;
  /** Expire at this time. `null` removes the expiry. Wins over `ttl`. */
  expiresAt?: string | Date | null;
  browserType?: BrowserType;
  /** The browser identity the login is bound to (`core/identity.ts`). Omit to keep the current one; `null` removes it. */
  identity?: Identity | null;
}

export interface CapturedState {
  storageState: StorageState;
  sessionStorage: SessionStorageMap;
  /** The browser the state was captured from, when it was a live one over CDP. */
  cdp?: { cdpUrl: string; browserId: string } | undefined;
}

/** The record to store for session `name` (`existing`: what is stored now). `tags` and `metadata` are already checked. */
export function savedRecord(name: string, existing: SessionRecord | undefined, captured: CapturedState, fields: SaveFields, now = new Date()): SessionRecord {
  const base = existing ?? newRecord(name, captured.storageState, {}, now);
  const record: SessionRecord = withIdentity({
    ...base,
    browserType: fields.browserType ?? base.browserType,
    storageState: captured.storageState,
    lastAccessedAt: now.toISOString(),
    expiresAt: resolveExpiry(fields, existing?.expiresAt ?? null, now),
    tags: fields.tags ?? base.tags,
    metadata: fields.metadata ?? (fields.mergeMetadata ? { ...base.metadata, ...fields.mergeMetadata } : base.metadata),
  }, fields.identity);
  if (Object.keys(captured.sessionStorage).length > 0) record.sessionStorage = captured.sessionStorage;
  else delete record.sessionStorage;
  if (captured.cdp) {
    record.cdpUrl = captured.cdp.cdpUrl;
    record.browserId = captured.cdp.browserId;
  }
  return record;
}

/** `record` with `identity` as a save takes it: omitted keeps the current one, `null` removes it. */
export function withIdentity(record: SessionRecord, identity: Identity | null | undefined): SessionRecord {
  if (identity === undefined) return record;
  const { identity: _current, ...rest } = record;
  return identity === null ? rest : { ...rest, identity };
}

/** When a save makes a session expire: an explicit time, a time to live from `now`, or the expiry it had. */
export function resolveExpiry(options: Pick<SaveFields, 'ttl' | 'expiresAt'>, current: string | null, now: Date): string | null {
  if (options.expiresAt !== undefined) {
    if (options.expiresAt === null) return null;
    const at = new Date(options.expiresAt);
    if (Number.isNaN(at.getTime())) throw new RaptorError('INVALID_INPUT', `expiresAt \`${String(options.expiresAt)}\` is not a date.`);
    return at.toISOString();
  }
  if (options.ttl !== undefined) return new Date(now.getTime() + parseDuration(options.ttl, 'ttl')).toISOString();
  return current;
}
