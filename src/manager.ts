/**
 * `SessionManager`: the library's front door (DESIGN.md "SessionManager (library)").
 * It ties a store to the browser layer: save from a live browser or a state, restore by
 * reattach or relaunch, validate, list, clean up. The CLI is a thin shell over it.
 */
import { captureChecked, captureSource, type CapturedSource, type SaveSource } from './browser/capture-source.js';
import { liveBrowserOf, requireSessionBrowser, type BrowserCheck } from './browser/identity.js';
import { stopAndRemoveProfile } from './browser/keep-alive.js';
import { cleanupStore, type CleanupOptions, type CleanupResult } from './maintenance/cleanup.js';
import { loadSettings, type Settings } from './env/config.js';
import { resolvePaths, type Paths } from './env/paths.js';
import { parseDuration } from './core/duration.js';
import { checkMetadata, checkTags } from './core/input-limits.js';
import { parseIdentity, type Identity } from './core/identity.js';
import { RaptorError, isRaptorError } from './core/errors.js';
import { silentLogger, type Logger } from './env/log.js';
import { assertValidName } from './core/names.js';
import { newRecord, toSummary, type SessionRecord, type SessionSummary } from './core/record.js';
import { restoreRecord, type RestoreContext, type RestoredSession, type RestoreOptions } from './browser/restore.js';
import { profileDirFor } from './env/paths.js';
import { withEncryption } from './store/encrypting.js';
import { loadKeyPolicy, type KeyPolicy } from './crypto/key-policy.js';
import { rekeySessions, type RekeyResult } from './maintenance/rekey.js';
import { openChosenStore } from './store/open-store.js';
import type { AcquireOptions, FeedConnectionChange, HeldLease, Lease, LeaseOptions, PoolLease, ScanEntry, SessionFilter, SessionStore, StoreEvent, UpdateFn } from './store/types.js';
import { hasConnectionFeed, heldLeases, scanStore } from './store/capabilities.js';
import { acquire } from './store/pool.js';
import { updateSession } from './store/update.js';
import { updateHead } from './store/head-update.js';
import { exportRecords, importRecords, type ImportResult } from './maintenance/transfer.js';
import { validateStored } from './maintenance/validate-stored.js';
import { storeStats, type Stats } from './maintenance/stats.js';
import { sessionInfo, type SessionInfo } from './core/session-info.js';
import { savedRecord, withIdentity, type SaveFields } from './core/saved-record.js';
import { sessionExpired, type ValidationResult } from './core/validate.js';
import type { LoginOptions, LoginResult, Recipe } from './login/ensure.js';
import type { RefreshResult } from './login/refresh.js';
import type { Json } from './core/sanitize.js';
import type { RecipeRef } from './login/recipe.js';
import type { BrowserLaunchOptions } from './browser/launch.js';
import type { Browser, BrowserContextOptions } from 'playwright-core';

export type { RefreshResult, SaveSource, SessionInfo, Stats };

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


export interface SaveOptions extends SaveFields {
  /** Fail with `REVISION_CONFLICT` unless the stored revision is this one. */
  expectedRevision?: number;
}

export interface SessionRestoreOptions extends RestoreOptions {
  /** Give the session this identity (`core/identity.ts`) before restoring it: saved into the record, then applied. Omit to keep the current one; `null` removes it. */
  identity?: Identity | null;
}

export interface EnsureOptions extends Pick<LoginOptions, 'loginTimeout' | 'checkTimeout' | 'reuseCheckFor' | 'loggedOutRevision'> {
  /** Base URL of the recipe's relative URLs (a recipe file's is recorded with the session). */
  baseURL?: string;
  /** Options for the contexts that log in and check. */
  contextOptions?: BrowserContextOptions;
  /** Browser to log in and check in; one is launched (headless, and closed again) when needed. */
  browser?: Browser;
  launchOptions?: BrowserLaunchOptions;
}

export interface EnsureResult extends LoginResult {
  /** The recipe file used, as recorded with the session (none for a recipe given as an object). */
  recipe?: RecipeRef;
}

export interface RefreshLeaseOptions extends Pick<EnsureOptions, 'baseURL' | 'contextOptions' | 'browser' | 'launchOptions' | 'loginTimeout'> {
  /** Retire the session instead once it was refreshed this often since its last successful use. @default 3 */
  maxRefreshes?: number;
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
  readonly paths: Paths;
  readonly settings: Settings;
  readonly logger: Logger;
  /** Result of the cleanup `open()` ran, if it did. */
  startupCleanup: CleanupResult | undefined;
  private readonly maxAgeMs: number | undefined;
  /**
   * The store, encryption included. Private: everything reaches sessions through the manager's
   * members, so no caller skips its checks or its errors.
   */
  readonly #store: SessionStore;
  /** The store under the encryption layer, for `rekey`, `head` and metadata-only writes. */
  private readonly rawStore: SessionStore;
  private readonly keyPolicy: KeyPolicy;
  private readonly env: NodeJS.ProcessEnv;

  private constructor(init: ManagerInit) {
    this.#store = init.store;
    this.rawStore = init.rawStore;
    this.keyPolicy = init.keyPolicy;
    this.paths = init.paths;
    this.settings = init.settings;
    this.logger = init.logger;
    this.maxAgeMs = init.maxAgeMs;
    this.env = init.env;
  }

  /** Where the sessions live, for messages: a directory, `memory`, a redacted database URL. */
  get location(): string {
    return this.#store.location;
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
    const opened = await openChosenStore({ store: options.store, dir: options.dir, env, setting: settings.store }, paths.sessionsDir, { logger });
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

  /**
   * A logged-in session `name`: the saved one while it is usable (not expired, auth cookies
   * alive, `check` passing), else a fresh `login` under a cross-process lock, so concurrent
   * callers log in once. `recipe` is a recipe object, the path of a recipe module (recorded with
   * the session), or omitted to use the one recorded. The same path as Playwright Test's roles.
   */
  async ensure(name: string, recipe?: Recipe | string, options: EnsureOptions = {}): Promise<EnsureResult> {
    assertValidName(name);
    const [{ ensureWith }, recipes, { withRecipe }] = await Promise.all([import('./login/ensure.js'), import('./login/recipe.js'), import('./login/recipe-run.js')]);
    const { browser: _b, launchOptions: _l, baseURL: _u, contextOptions: _c, ...rest } = options;
    return withRecipe(name, recipe, options, () => this.head(name).catch(() => undefined), async ({ recipe: loaded, ref, contextOptions, getBrowser }) => {
      const result = await ensureWith(this, name, { ...loaded, ...rest, contextOptions, ...(ref ? { metadata: recipes.recipeMetadata(ref) } : {}) }, getBrowser);
      this.logger.info({ session: name, loggedIn: result.loggedIn, ...(result.reason ? { reason: result.reason } : {}) }, result.loggedIn ? 'logged in' : 'reused the saved session');
      if (ref && !result.loggedIn && !recipes.sameRecipe(recipes.recordedRecipe(result.record), ref)) {
        await this.updateMetadata(name, recipes.recipeMetadata(ref)); // a session first saved by hand learns its recipe
      }
      return { ...result, ...(ref ? { recipe: ref } : {}) };
    });
  }

  /**
   * The fleet worker's answer to a leased session it found logged out: log it in again with
   * `recipe` (an object, a recipe file, or omitted for the one recorded with the session) and
   * write the fresh state under the lease, which stays held (`login/refresh.ts`). Only the lease
   * holder can: a lost lease is `LOCKED` with nothing written. Past `maxRefreshes` the session is
   * retired and released instead (`{ refreshed: false }`).
   */
  async refreshLease(lease: PoolLease, recipe?: Recipe | string, options: RefreshLeaseOptions = {}): Promise<RefreshResult> {
    const [{ refreshLeased }, recipes, { withRecipe }] = await Promise.all([import('./login/refresh.js'), import('./login/recipe.js'), import('./login/recipe-run.js')]);
    return withRecipe(lease.name, recipe, options, async () => lease.session, async ({ recipe: loaded, ref, contextOptions, getBrowser }) => {
      const result = await refreshLeased(lease, loaded, {
        contextOptions,
        ...(options.loginTimeout !== undefined ? { loginTimeout: options.loginTimeout } : {}),
        ...(options.maxRefreshes !== undefined ? { maxRefreshes: options.maxRefreshes } : {}),
        ...(ref ? { metadata: recipes.recipeMetadata(ref) } : {}),
      }, getBrowser);
      this.logger.info({ session: lease.name, owner: lease.owner, refreshed: result.refreshed }, result.refreshed ? 'refreshed the leased session' : 'retired the leased session: too many refreshes');
      return result;
    });
  }

  /**
   * Sets keys of session `name`'s metadata (the rest kept), without touching or needing to open
   * its state: a keeper's status, a recipe learnt. Nothing happens when the session is gone.
   */
  async updateMetadata(name: string, patch: Record<string, Json>): Promise<void> {
    assertValidName(name);
    const checked = checkMetadata(patch);
    await updateHead(this.rawStore, name, (current) => ({ ...current, metadata: checkMetadata({ ...current.metadata, ...checked }) }));
  }

  /** Saves what a browser knows (or a given state) as session `name`. */
  async save(name: string, source: SaveSource, options: SaveOptions = {}): Promise<SessionRecord> {
    assertValidName(name);
    // Every option is checked before a browser or a file is touched: a bad one changes nothing.
    const tags = options.tags === undefined ? undefined : checkTags(options.tags);
    const metadata = options.metadata === undefined ? undefined : checkMetadata(options.metadata);
    const mergeMetadata = options.mergeMetadata === undefined ? undefined : checkMetadata(options.mergeMetadata);
    if (options.ttl !== undefined) parseDuration(options.ttl, 'ttl');
    const identity = options.identity ? parseIdentity(options.identity) : options.identity;
    const { captured, cdp } = await this.capture(name, source);
    const existing = await this.getOrQuarantine(name);
    const fields = { ...options, ...(tags ? { tags } : {}), ...(metadata ? { metadata } : {}), ...(mergeMetadata ? { mergeMetadata } : {}), ...(identity !== undefined ? { identity } : {}) };
    const record = savedRecord(name, existing, { ...captured, cdp }, fields);
    const stored = await this.#store.put(record, options.expectedRevision === undefined ? {} : { expectedRevision: options.expectedRevision });
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
  async restore(name: string, options: SessionRestoreOptions = {}): Promise<RestoredSession> {
    const { identity, ...restoreOptions } = options;
    const given = identity ? parseIdentity(identity) : identity; // checked before anything is written
    let record = await this.require(name);
    if (sessionExpired(record, this.maxAgeMs)) {
      throw new RaptorError('EXPIRED', `Session \`${name}\` expired${record.expiresAt ? ` at ${record.expiresAt}` : ''}. Log in again and \`raptor save\` it, or remove it with \`raptor rm ${name}\`.`);
    }
    if (given !== undefined && JSON.stringify(given) !== JSON.stringify(record.identity ?? null)) record = await this.update(name, (current) => withIdentity(current, given));
    const restored = await restoreRecord(record, this.restoreContext(name), {
      probeTimeoutMs: this.settings.probeTimeoutMs,
      ...restoreOptions,
      launchOptions: { headless: this.settings.headless, ...restoreOptions.launchOptions },
    });
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

  private restoreContext(name: string): RestoreContext {
    return {
      profilesDir: this.paths.profilesDir,
      store: this.location,
      logger: this.logger,
      ...(this.settings.browser ? { configuredBrowser: this.settings.browser } : {}),
      // What a browser relaunched for a changed identity knew: into the session before it is stopped.
      keepState: (captured) => this.update(name, (current) => savedRecord(name, current, captured, {})),
    };
  }

  /**
   * A kept-alive browser for `name` that outlives this process: the session's own browser when
   * it still runs, else a fresh one (with the saved state when the session exists, empty when it
   * does not, in which case the session is created so `save` can capture it later).
   */
  async launch(name: string, options: Omit<SessionRestoreOptions, 'keepAlive'> = {}): Promise<RestoredSession> {
    assertValidName(name);
    if (await this.getOrQuarantine(name)) return this.restore(name, { ...options, keepAlive: true });
    const { identity, ...rest } = options;
    const empty = withIdentity(newRecord(name, { cookies: [], origins: [] }), identity ? parseIdentity(identity) : undefined);
    await this.#store.put(empty, { expectedRevision: 0 });
    try {
      return await this.restore(name, { ...rest, keepAlive: true });
    } catch (error) {
      await this.#store.delete(name); // nothing was captured yet: leave no empty session behind
      throw error;
    }
  }

  async validate(name: string, options: ValidateOptions = {}): Promise<ValidationResult> {
    assertValidName(name);
    return validateStored(this.#store, name, {
      ...(this.maxAgeMs !== undefined ? { maxAgeMs: this.maxAgeMs } : {}),
      ...(options.live ? { probe: (record: SessionRecord) => this.checkSessionBrowser(record) } : {}),
    });
  }

  list(filter?: SessionFilter): AsyncIterable<SessionSummary> {
    return this.#store.list(filter);
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
    return this.#store.get(name);
  }

  async info(name: string): Promise<SessionInfo> {
    const record = await this.require(name);
    return sessionInfo(record, { expired: sessionExpired(record, this.maxAgeMs), profileDir: profileDirFor(this.paths.profilesDir, name) });
  }

  /** Deletes the session, stops its kept-alive browser and removes its profile (it holds credentials too). */
  async delete(name: string): Promise<boolean> {
    assertValidName(name);
    const stopped = await this.stopBrowser(name);
    const existed = await this.#store.delete(name);
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
    if (options.forget) await updateHead(this.rawStore, name, ({ cdpUrl: _cdpUrl, browserId: _browserId, ...rest }) => rest);
    return stopped;
  }

  /**
   * The stored session without opening its state: name, tags, expiry, CDP URL. Needs no key, so
   * `stop` and `rm` work on a session the key at hand cannot open. `NOT_FOUND` when absent.
   */
  async head(name: string): Promise<SessionSummary> {
    assertValidName(name);
    const record = await this.rawStore.get(name);
    if (!record) throw new RaptorError('NOT_FOUND', `No session \`${name}\` in ${this.location}. Run \`raptor list\` to see saved sessions.`);
    return toSummary(record);
  }

  async cleanup(options: CleanupOptions = {}): Promise<CleanupResult> {
    return cleanupStore(
      {
        store: this.#store,
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
    return storeStats(this.#store, { ...(this.maxAgeMs !== undefined ? { maxAgeMs: this.maxAgeMs } : {}), probe: (summary) => this.checkSessionBrowser(summary) });
  }

  /** Exclusive use of session `name` (see `SessionStore.lease`): `undefined` while another holds it, `NOT_FOUND` when absent. */
  lease(name: string, options: LeaseOptions): Promise<Lease | undefined> {
    assertValidName(name);
    return this.#store.lease(name, options);
  }

  /**
   * The leases held right now (name, owner, expiry), in name order: never their tokens. `[]` for a
   * store that cannot list them.
   */
  leases(): Promise<HeldLease[]> {
    return heldLeases(this.#store);
  }

  /** A free session of a pool, leased to `owner` alone (see `acquire` in `store/pool.ts`). */
  acquire(options: AcquireOptions): Promise<PoolLease | undefined> {
    return acquire(this.#store, options);
  }

  watch(onChange: (event: StoreEvent) => void): () => void {
    return this.#store.watch(onChange);
  }

  /**
   * Hears when the change feed of `watch()` loses and regains its connection (a store with a
   * server: PostgreSQL). A store without one has no connection to lose: nothing is ever reported.
   */
  watchConnection(onChange: (change: FeedConnectionChange) => void): () => void {
    return hasConnectionFeed(this.#store) ? this.#store.watchConnection(onChange) : () => undefined;
  }

  /**
   * Every stored entry, valid or not (`validate --all`, `stats`): damaged files and rows are
   * reported with why, where `list()` skips them. Needs no key.
   */
  scan(): AsyncIterable<ScanEntry> {
    return scanStore(this.#store);
  }

  /** Every session, state opened (`export --all`): needs the key of every sealed one. */
  exportRecords(): AsyncIterable<SessionRecord> {
    return exportRecords(this.#store);
  }

  /** Writes exported records into this store (`import`); see `maintenance/transfer.ts` for `force`. */
  importRecords(records: Iterable<SessionRecord>, options: { force?: boolean } = {}): Promise<ImportResult> {
    return importRecords(this.#store, records, options);
  }

  async close(): Promise<void> {
    await this.#store.close();
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
    return updateSession(this.#store, name, change);
  }

  private async require(name: string): Promise<SessionRecord> {
    const record = await this.find(name);
    if (!record) throw new RaptorError('NOT_FOUND', `No session \`${name}\` in ${this.location}. Run \`raptor list\` to see saved sessions.`);
    return record;
  }

  /** The current record; an invalid one is quarantined (never overwritten) and treated as absent. */
  private async getOrQuarantine(name: string): Promise<SessionRecord | undefined> {
    try {
      return await this.#store.get(name);
    } catch (error) {
      if (!isRaptorError(error, 'INVALID_SESSION')) throw error;
      await this.#store.quarantine(name, `replaced by a new save: ${error.message}`);
      this.logger.warn({ session: name }, 'quarantined the invalid file this save replaces');
      return undefined;
    }
  }
}
