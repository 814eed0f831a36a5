/**
 * `SessionManager`: the library's front door (DESIGN.md "SessionManager (library)").
 * It ties a store to the browser layer: save from a live browser or a state, restore by
 * reattach or relaunch, validate, list, clean up. The CLI is a thin shell over it.
 */
import { captureChecked, captureSource, type CapturedSource, type SaveSource } from './browser/capture-source.js';
import { PROBE_CONCURRENCY, liveBrowserOf, requireSessionBrowser, type BrowserCheck } from './browser/identity.js';
import { mapLimit } from './core/map-limit.js';
import { stopAndRemoveProfile } from './browser/keep-alive.js';
import { cleanupStore, type CleanupOptions, type CleanupResult } from './maintenance/cleanup.js';
import { loadSettings, type Settings } from './env/config.js';
import { resolvePaths, type Paths } from './env/paths.js';
import { parseDuration } from './core/duration.js';
import { checkMetadata, checkTags } from './core/input-limits.js';
import { RaptorError, isRaptorError, type Issue } from './core/errors.js';
import { silentLogger, type Logger } from './env/log.js';
import { assertValidName } from './core/names.js';
import { newRecord, toSummary, type BrowserType, type SessionRecord, type SessionSummary } from './core/record.js';
import { restoreRecord, type RestoredSession, type RestoreOptions } from './browser/restore.js';
import { profileDirFor } from './env/paths.js';
import { createFileStore } from './store/file.js';
import { withEncryption } from './store/encrypting.js';
import { loadKeyPolicy, type KeyPolicy } from './crypto/key-policy.js';
import { rekeySessions, type RekeyResult } from './maintenance/rekey.js';
import { chooseStore, openStore } from './store/open-store.js';
import type { AcquireOptions, PoolLease, SessionFilter, SessionStore, StoreEvent, UpdateFn } from './store/types.js';
import { EXPIRY_CODES, checkRecord, sessionExpired, type LiveBrowserStatus, type ValidationResult } from './core/validate.js';
import type { Json } from './core/sanitize.js';

export type { SaveSource };

export interface OpenOptions {
  /** Sessions directory for the default file store. @default RAPTOR_SESSIONS_DIR or ~/.raptor/sessions */
  dir?: string;
  /**
   * Use this store instead of the file store in `dir`: a store, or a URL or path for `openStore()`
   * (`postgres://…`, `memory:`, a directory). The manager closes it on `close()`.
   * @default RAPTOR_STORE, else the file store (`dir`, RAPTOR_SESSIONS_DIR, the `store` setting, ~/.raptor/sessions)
   */
  store?: SessionStore | string;
  /** Remove expired and quarantine invalid sessions on open. @default true */
  autoCleanup?: boolean;
  /** Sessions not updated for this long count as expired (`'7d'`, or ms). @default the `maxAge` setting, else none */
  maxAge?: string | number;
  /** pino logger; silent by default so embedding raptor prints nothing. */
  logger?: Logger;
  /** Environment to read `RAPTOR_*` from. @default process.env */
  env?: NodeJS.ProcessEnv;
}


export interface SaveOptions {
  tags?: string[];
  metadata?: Record<string, Json>;
  /** Expire this long after saving (`'12h'`, or ms). Omit to keep the current expiry (none for a new session). */
  ttl?: string | number;
  /** Expire at this time. `null` removes the expiry. */
  expiresAt?: string | Date | null;
  browserType?: BrowserType;
  /** Fail with `REVISION_CONFLICT` unless the stored revision is this one. */
  expectedRevision?: number;
}

export interface SessionInfo extends SessionSummary {
  cookies: number;
  origins: number;
  sessionStorageOrigins: number;
  /** Earliest expiry among persistent cookies (ISO), if any. */
  cookiesExpireAt: string | null;
  profileDir: string;
}

export interface Stats {
  count: number;
  bytes: number;
  expired: number;
  invalid: number;
  /** Sessions whose recorded browser answers right now. */
  live: number;
}

export interface ValidateOptions {
  /** Also check that the recorded browser answers. @default false */
  live?: boolean;
}

interface ManagerInit {
  store: SessionStore;
  rawStore: SessionStore;
  keyPolicy: KeyPolicy;
  paths: Paths;
  settings: Settings;
  logger: Logger;
  maxAgeMs: number | undefined;
  env: NodeJS.ProcessEnv;
}

export class SessionManager {
  readonly store: SessionStore;
  readonly paths: Paths;
  readonly settings: Settings;
  readonly logger: Logger;
  /** Result of the cleanup `open()` ran, if it did. */
  startupCleanup: CleanupResult | undefined;
  private readonly maxAgeMs: number | undefined;
  /** The store under the encryption layer, for `rekey`. */
  private readonly rawStore: SessionStore;
  private readonly keyPolicy: KeyPolicy;
  private readonly env: NodeJS.ProcessEnv;

  private constructor(init: ManagerInit) {
    this.store = init.store;
    this.rawStore = init.rawStore;
    this.keyPolicy = init.keyPolicy;
    this.paths = init.paths;
    this.settings = init.settings;
    this.logger = init.logger;
    this.maxAgeMs = init.maxAgeMs;
    this.env = init.env;
  }

  static async open(options: OpenOptions = {}): Promise<SessionManager> {
    const env = options.env ?? process.env;
    const paths = resolvePaths({ ...(options.dir ? { dir: options.dir } : {}), env });
    const settings = await loadSettings(paths, env);
    const logger = options.logger ?? silentLogger;
    const maxAge = options.maxAge ?? settings.maxAge;
    const maxAgeMs = maxAge === undefined ? undefined : parseDuration(maxAge, 'maxAge');
    // Reading the keys never fails: a missing or damaged key is reported by the first read or
    // write that needs it, so commands that need only metadata work without it.
    const policy = await loadKeyPolicy(paths.home, env);
    const chosen = chooseStore({ store: options.store, dir: options.dir, env, setting: settings.store });
    const opened = typeof chosen === 'object' ? chosen : chosen ? await openStore(chosen, { logger }) : createFileStore({ dir: paths.sessionsDir });
    // Encryption at rest wraps whatever store was chosen, also with encryption off and no key: a
    // session sealed earlier must then be refused, never shown, exported or overwritten as empty.
    const store = withEncryption(opened, { policy, encryptWrites: settings.encryption === 'on' });
    const manager = new SessionManager({ store, rawStore: opened, keyPolicy: policy, paths, settings, logger, maxAgeMs, env });
    try {
      if (options.autoCleanup !== false) manager.startupCleanup = await manager.cleanup();
    } catch (error) {
      await store.close().catch(() => undefined); // opening failed: report why, and leave no connection behind
      throw error;
    }
    return manager;
  }

  /** Saves what a browser knows (or a given state) as session `name`. */
  async save(name: string, source: SaveSource, options: SaveOptions = {}): Promise<SessionRecord> {
    assertValidName(name);
    // Every option is checked before a browser or a file is touched: a bad one changes nothing.
    const tags = options.tags === undefined ? undefined : checkTags(options.tags);
    const metadata = options.metadata === undefined ? undefined : checkMetadata(options.metadata);
    if (options.ttl !== undefined) parseDuration(options.ttl, 'ttl');
    const { captured, cdp } = await this.capture(name, source);
    const existing = await this.getOrQuarantine(name);
    const now = new Date();
    const expiresAt = resolveExpiry(options, existing?.expiresAt ?? null, now);
    const base = existing ?? newRecord(name, captured.storageState, {}, now);
    const record: SessionRecord = {
      ...base,
      browserType: options.browserType ?? base.browserType,
      storageState: captured.storageState,
      lastAccessedAt: now.toISOString(),
      expiresAt,
      tags: tags ?? base.tags,
      metadata: metadata ?? base.metadata,
    };
    if (Object.keys(captured.sessionStorage).length > 0) record.sessionStorage = captured.sessionStorage;
    else delete record.sessionStorage;
    if (cdp) {
      record.cdpUrl = cdp.cdpUrl;
      record.browserId = cdp.browserId;
    }
    const stored = await this.store.put(record, options.expectedRevision === undefined ? {} : { expectedRevision: options.expectedRevision });
    this.logger.info({ session: name, revision: stored.revision, cookies: stored.storageState.cookies.length }, 'saved session');
    return stored;
  }

  private async capture(name: string, source: SaveSource): Promise<CapturedSource> {
    if (!('recordedBrowser' in source)) return captureSource(source, this.settings.probeTimeoutMs);
    const record = await this.require(name);
    if (!record.cdpUrl) {
      throw new RaptorError('INVALID_INPUT', `Session \`${name}\` records no browser to save from. Save from a CDP URL, a context or a state instead, or start one with \`raptor launch ${name}\`.`);
    }
    const check = requireSessionBrowser((await this.checkSessionBrowser(record))!, name, record.cdpUrl);
    return captureChecked(record.cdpUrl, check);
  }

  /**
   * Whether the browser session `session` records answers and is that very browser (the one
   * rule of `browser/identity.ts`, with the session's kept-alive profile as proof for records
   * without an id). Undefined when the session records no browser.
   */
  async checkSessionBrowser(session: Pick<SessionSummary, 'name' | 'cdpUrl' | 'browserId'>, timeoutMs = this.settings.probeTimeoutMs): Promise<BrowserCheck | undefined> {
    return liveBrowserOf(session, profileDirFor(this.paths.profilesDir, session.name), timeoutMs);
  }

  /** Brings session `name` back: reattach while its browser lives, else relaunch with the saved state. */
  async restore(name: string, options: RestoreOptions = {}): Promise<RestoredSession> {
    const record = await this.require(name);
    if (sessionExpired(record, this.maxAgeMs)) {
      throw new RaptorError('EXPIRED', `Session \`${name}\` expired${record.expiresAt ? ` at ${record.expiresAt}` : ''}. Log in again and \`raptor save\` it, or remove it with \`raptor rm ${name}\`.`);
    }
    const restored = await restoreRecord(
      record,
      { profilesDir: this.paths.profilesDir, store: this.store.location, logger: this.logger, ...(this.settings.browser ? { configuredBrowser: this.settings.browser } : {}) },
      { probeTimeoutMs: this.settings.probeTimeoutMs, ...options, launchOptions: { headless: this.settings.headless, ...options.launchOptions } },
    );
    try {
      restored.session = await this.update(name, (current) => {
        const next = { ...current, lastAccessedAt: new Date().toISOString() };
        if (restored.cdpUrl && restored.browserId) {
          next.cdpUrl = restored.cdpUrl;
          next.browserId = restored.browserId;
        }
        return next;
      });
    } catch (error) {
      await restored.close().catch(() => undefined); // the bookkeeping failed; do not leak the browser we opened
      throw error;
    }
    this.logger.info({ session: name, mode: restored.mode, reason: restored.reattachFailure }, 'restored session');
    return restored;
  }

  /**
   * A kept-alive browser for `name` that outlives this process: the session's own browser when
   * it still runs, else a fresh one (with the saved state when the session exists, empty when it
   * does not, in which case the session is created so `save` can capture it later).
   */
  async launch(name: string, options: Omit<RestoreOptions, 'keepAlive'> = {}): Promise<RestoredSession> {
    assertValidName(name);
    if (await this.getOrQuarantine(name)) return this.restore(name, { ...options, keepAlive: true });
    const empty = newRecord(name, { cookies: [], origins: [] });
    await this.store.put(empty, { expectedRevision: 0 });
    try {
      return await this.restore(name, { ...options, keepAlive: true });
    } catch (error) {
      await this.store.delete(name); // nothing was captured yet: leave no empty session behind
      throw error;
    }
  }

  async validate(name: string, options: ValidateOptions = {}): Promise<ValidationResult> {
    assertValidName(name);
    let record: SessionRecord | undefined;
    try {
      record = await this.store.get(name);
    } catch (error) {
      if (!isRaptorError(error, 'INVALID_SESSION')) throw error;
      const issues: Issue[] = error.issues.length > 0 ? error.issues : [{ code: 'INVALID', message: error.message, path: '' }];
      return { name, valid: false, expired: false, issues };
    }
    if (!record) return { name, valid: false, expired: false, issues: [{ code: 'NOT_FOUND', message: `no session \`${name}\` in ${this.store.location}`, path: '' }] };
    const issues = checkRecord(record, this.maxAgeMs === undefined ? {} : { maxAgeMs: this.maxAgeMs });
    const browser = options.live ? liveBrowser(await this.checkSessionBrowser(record)) : undefined;
    if (browser?.issue) issues.push(browser.issue);
    return {
      name,
      valid: issues.length === 0,
      expired: issues.some((i) => EXPIRY_CODES.has(i.code)),
      issues,
      ...(browser ? { browser: { status: browser.status, message: browser.message } } : {}),
    };
  }

  list(filter?: SessionFilter): AsyncIterable<SessionSummary> {
    return this.store.list(filter);
  }

  /** The stored record, or `NOT_FOUND`. */
  async get(name: string): Promise<SessionRecord> {
    return this.require(name);
  }

  /**
   * The stored record, or `undefined` when there is none. Every other failure is thrown as it is
   * (`INVALID_SESSION`, `ENCRYPTION_KEY`, `STORE_UNAVAILABLE`): "absent" is never a guess.
   */
  async find(name: string): Promise<SessionRecord | undefined> {
    assertValidName(name);
    return this.store.get(name);
  }

  async info(name: string): Promise<SessionInfo> {
    const record = await this.require(name);
    const persistent = record.storageState.cookies.filter((c) => c.expires !== -1).map((c) => c.expires);
    const { storageState, sessionStorage } = record;
    return {
      ...toSummary(record),
      expired: sessionExpired(record, this.maxAgeMs),
      cookies: storageState.cookies.length,
      origins: storageState.origins.length,
      sessionStorageOrigins: Object.keys(sessionStorage ?? {}).length,
      cookiesExpireAt: persistent.length > 0 ? new Date(Math.min(...persistent) * 1000).toISOString() : null,
      profileDir: profileDirFor(this.paths.profilesDir, name),
    };
  }

  /** Deletes the session, stops its kept-alive browser and removes its profile (it holds credentials too). */
  async delete(name: string): Promise<boolean> {
    assertValidName(name);
    const stopped = await this.stopBrowser(name);
    const existed = await this.store.delete(name);
    this.logger.info({ session: name, existed, stoppedBrowser: stopped }, 'deleted session');
    return existed;
  }

  /**
   * Stops the kept-alive browser raptor launched for `name` and removes its profile. With
   * `forget`, also clears the session's recorded CDP URL and browser id.
   */
  async stopBrowser(name: string, options: { forget?: boolean } = {}): Promise<boolean> {
    const profileDir = profileDirFor(this.paths.profilesDir, name);
    const stopped = await stopAndRemoveProfile(profileDir); // territory-checked: never follows a link out of profiles/
    if (options.forget) await this.updateHead(name, ({ cdpUrl: _cdpUrl, browserId: _browserId, ...rest }) => rest);
    return stopped;
  }

  /**
   * The stored session without opening its state: name, tags, expiry, CDP URL. Needs no key, so
   * `stop` and `rm` work on a session the key at hand cannot open. `NOT_FOUND` when absent.
   */
  async head(name: string): Promise<SessionSummary> {
    assertValidName(name);
    const record = await this.rawStore.get(name);
    if (!record) throw new RaptorError('NOT_FOUND', `No session \`${name}\` in ${this.store.location}. Run \`raptor list\` to see saved sessions.`);
    return toSummary(record);
  }

  /**
   * A change of metadata only (`change` must not touch the state), written past the encryption
   * layer: the sealed state is carried over byte for byte, so no key is needed and none changes.
   */
  private async updateHead(name: string, change: (current: SessionRecord) => SessionRecord): Promise<void> {
    for (let attempt = 0; ; attempt++) {
      const current = await this.rawStore.get(name);
      if (!current) return;
      const next = change(current);
      if (JSON.stringify(next) === JSON.stringify(current)) return; // nothing to write
      try {
        await this.rawStore.put({ ...next, storageState: current.storageState, ...(current.encrypted ? { encrypted: current.encrypted } : {}) }, { expectedRevision: current.revision });
        return;
      } catch (error) {
        if (!isRaptorError(error, 'REVISION_CONFLICT') || attempt >= 20) throw error;
      }
    }
  }

  async cleanup(options: CleanupOptions = {}): Promise<CleanupResult> {
    return cleanupStore(
      {
        store: this.store,
        logger: this.logger,
        ...(this.maxAgeMs !== undefined ? { maxAgeMs: this.maxAgeMs } : {}),
        quarantineRetentionMs: parseDuration(this.settings.quarantineRetention),
        onRemove: async (name) => void (await this.stopBrowser(name)),
        leftovers: { home: this.paths.home, profilesDir: this.paths.profilesDir, crawlRetentionMs: parseDuration(this.settings.crawlRetention) },
      },
      options,
    );
  }

  async stats(): Promise<Stats> {
    const stats: Stats = { count: 0, bytes: 0, expired: 0, invalid: 0, live: 0 };
    const withBrowser: SessionSummary[] = [];
    for await (const entry of this.store.scan()) {
      if (!entry.ok) {
        stats.invalid++;
        continue;
      }
      stats.count++;
      stats.bytes += entry.summary.bytes ?? 0;
      if (sessionExpired(entry.summary, this.maxAgeMs)) stats.expired++;
      if (entry.summary.cdpUrl) withBrowser.push(entry.summary);
    }
    const checks = await mapLimit(withBrowser, PROBE_CONCURRENCY, (summary) => this.checkSessionBrowser(summary));
    stats.live = checks.filter((check) => check?.status === 'same').length;
    return stats;
  }

  /** A free session of a pool, leased to `owner` alone (see `SessionStore.acquire`). */
  acquire(options: AcquireOptions): Promise<PoolLease | undefined> {
    return this.store.acquire(options);
  }

  watch(onChange: (event: StoreEvent) => void): () => void {
    return this.store.watch(onChange);
  }

  async close(): Promise<void> {
    await this.store.close();
  }

  /** Re-encrypts every session with a fresh key, or with encryption off decrypts them all (see `rekey.ts`). */
  async rekey(): Promise<RekeyResult> {
    return await rekeySessions({ store: this.rawStore, policy: this.keyPolicy, home: this.paths.home, encryption: this.settings.encryption, env: this.env, logger: this.logger });
  }

  /**
   * Read-modify-write of session `name`. A store with a native one (PostgreSQL: the row lock)
   * never fails from contention; on the others it is optimistic: retried when another writer got
   * in between. `change` may be async; what it throws reaches the caller and nothing is written.
   */
  async update(name: string, change: UpdateFn): Promise<SessionRecord> {
    assertValidName(name);
    if (this.store.update) return this.store.update(name, change);
    for (let attempt = 0; ; attempt++) {
      const current = await this.require(name);
      try {
        return await this.store.put(await change(current), { expectedRevision: current.revision });
      } catch (error) {
        if (!isRaptorError(error, 'REVISION_CONFLICT') || attempt >= 20) throw error;
      }
    }
  }

  private async require(name: string): Promise<SessionRecord> {
    const record = await this.find(name);
    if (!record) throw new RaptorError('NOT_FOUND', `No session \`${name}\` in ${this.store.location}. Run \`raptor list\` to see saved sessions.`);
    return record;
  }

  /** The current record; an invalid one is quarantined (never overwritten) and treated as absent. */
  private async getOrQuarantine(name: string): Promise<SessionRecord | undefined> {
    try {
      return await this.store.get(name);
    } catch (error) {
      if (!isRaptorError(error, 'INVALID_SESSION')) throw error;
      await this.store.quarantine(name, `replaced by a new save: ${error.message}`);
      this.logger.warn({ session: name }, 'quarantined the invalid file this save replaces');
      return undefined;
    }
  }
}

/**
 * What `validate --live` says about a session's browser. A session that records none (a
 * Playwright Test role, a state import) is valid: restoring it relaunches. A browser that is
 * gone, replaced or cannot be proven the session's own is an issue.
 */
function liveBrowser(check: BrowserCheck | undefined): { status: LiveBrowserStatus; message: string; issue?: Issue } {
  if (!check) return { status: 'none', message: 'no live browser: none is recorded for this session; restore relaunches it from the saved state' };
  const issue = (code: string, message: string): Issue => ({ code, message, path: 'cdpUrl' });
  switch (check.status) {
    case 'same':
      return { status: 'live', message: 'the recorded browser answers' };
    case 'gone':
      return { status: 'gone', message: check.reason, issue: issue('BROWSER_UNREACHABLE', check.reason) };
    case 'other':
      return { status: 'replaced', message: check.reason, issue: issue('BROWSER_REPLACED', check.reason) };
    case 'unverified':
      return { status: 'unverified', message: check.reason, issue: issue('BROWSER_UNVERIFIED', `${check.reason}; \`raptor save <name> --cdp <url>\` records it`) };
  }
}

function resolveExpiry(options: SaveOptions, current: string | null, now: Date): string | null {
  if (options.expiresAt !== undefined) {
    if (options.expiresAt === null) return null;
    const at = new Date(options.expiresAt);
    if (Number.isNaN(at.getTime())) throw new RaptorError('INVALID_INPUT', `expiresAt \`${String(options.expiresAt)}\` is not a date.`);
    return at.toISOString();
  }
  if (options.ttl !== undefined) return new Date(now.getTime() + parseDuration(options.ttl, 'ttl')).toISOString();
  return current;
}
