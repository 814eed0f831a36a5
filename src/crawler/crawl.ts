/**
 * A crawl bound to a session, that survives its own crashes.
 *
 * `Crawl.open()` takes ownership of the crawl, restores the session (reattaching to the
 * kept-alive browser when it still lives, relaunching with the saved state otherwise) and the
 * crawl's progress from its journal: URLs that were in flight when the last owner died go back
 * to pending. `run(handler)` works through pending URLs with N pages in parallel. While it runs:
 * a heartbeat every `heartbeatMs`, a snapshot every `compactEveryMs`, the session's state saved
 * every `saveStateEveryMs`, and a relaunch with the saved state if the browser dies. With
 * `relogin`, a crawl that is logged out halfway logs in again with the session's recipe and
 * carries on (relogin.ts).
 *
 * Ownership is fenced (fence.ts): every write checks the owner's epoch first, so an owner that
 * was frozen past 3 heartbeats and taken over stops with `OWNERSHIP_LOST` when it wakes up,
 * before writing anything. A taker prepares the browser first (takeover.ts): it closes the tabs a
 * dead owner left, and restarts the kept-alive browser when the old owner is alive but frozen,
 * because a frozen CDP client stalls every new tab of the browser.
 */
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import type { Browser, BrowserContext, Page, Response } from 'playwright-core';
import { probeCdp } from '../browser/connect.js';
import { firstLineOf } from '../core/error-text.js';
import { RaptorError, isRaptorError } from '../core/errors.js';
import { SessionManager } from '../manager.js';
import { stemFor } from '../core/names.js';
import { ownDirs } from '../fs/territory.js';
import { isRetired } from '../store/pool.js';
import type { RestoredSession, RestoreOptions } from '../browser/restore.js';
import { applyState } from '../browser/apply-state.js';
import type { SessionRecord } from '../core/record.js';
import { BlockGuard, retiredError } from './blocking.js';
import { Relogin, prepareRelogin, type ReloginOptions, type ReloginPlan } from './relogin.js';
import { HealthMeter } from './health.js';
import { checkResult, normalizeUrl, type PageHandler } from './page-task.js';
import { EPOCH_FILE } from './fence.js';
import { CrawlJournal, type JournalOptions } from './journal.js';
import { CRAWL_FILES, HOME_DIRS, crawlDirFor } from '../env/paths.js';
import { readHeartbeat, takeOwnership, type Ownership } from './owner.js';
import { TabLedger } from './tabs.js';
import { prepareBrowser } from './takeover.js';
import type { CrawlState, Progress } from './state.js';

/** Relaunches tried after a browser death when each new browser dies too before it is usable. */
const RELAUNCH_ATTEMPTS = 3;

export interface CrawlOptions {
  /** The session the crawl runs as. */
  session: string;
  manager?: SessionManager;
  env?: NodeJS.ProcessEnv;
  /** `auto`: resume a crawl that was interrupted, else start. `resume`: there must be one. `restart`: forget progress. @default 'auto' */
  mode?: 'auto' | 'resume' | 'restart';
  /** URLs to start from (ignored when already known). */
  seeds?: string[];
  /** Pages worked on at once. @default 4 */
  concurrency?: number;
  /** Attempts per URL before it counts as failed. @default 3 */
  maxAttempts?: number;
  /** @default 1000 */
  heartbeatMs?: number;
  /** @default 30_000 */
  compactEveryMs?: number;
  /** How often cookies and storage are saved to the session, so a relaunch starts from the latest login state. @default 30_000 */
  saveStateEveryMs?: number;
  /** Answers that mean "this session is blocked". @default [401, 403, 429] */
  blockedStatuses?: number[];
  /** Blocked answers in a row after which the session is retired and the crawl stops. @default 5 */
  maxBlocked?: number;
  /** @default 30_000 */
  navigationTimeoutMs?: number;
  restoreOptions?: Omit<RestoreOptions, 'keepAlive'>;
  journal?: JournalOptions;
  /** Stop cleanly (snapshot, heartbeat `paused`) on SIGINT/SIGTERM. @default false */
  handleSignals?: boolean;
  /**
   * Log in again when the crawl is logged out halfway (relogin.ts); `true` uses the recipe recorded
   * with the session. Its `statuses` then mean "logged out", not "blocked". @default off: a logged-out crawl is not noticed, and 401/403 count as blocked
   */
  relogin?: ReloginOptions | true;
}

export class Crawl {
  /** `reattached` when the kept-alive browser survived, `relaunched` otherwise. */
  mode: 'reattached' | 'relaunched';
  /** True when progress from an earlier run was picked up. */
  readonly resumed: boolean;
  /** URLs that were in flight when the previous owner died; they are pending again. */
  readonly recovered: string[];
  readonly dir: string;
  private restored: RestoredSession;
  private readonly health = new HealthMeter();
  private readonly timers: NodeJS.Timeout[] = [];
  private stopping = false;
  private readonly blocking: BlockGuard;
  /** Set once another process took the crawl over: nothing is written after it. */
  private lost: RaptorError | undefined;
  private readonly tabs: TabLedger;
  private recovering: Promise<void> | undefined;
  private saving: Promise<unknown> | undefined;
  /** Workers waiting for work to appear (or for in-flight pages to finish). */
  private waiters: (() => void)[] = [];
  private closed = false;
  private readonly signalHandler = (): void => this.stop();
  private readonly relogin: Relogin | undefined;
  /** The revision of the session record the crawl runs on: what a re-login must not reuse. */
  private revision: number;

  private constructor(
    private readonly manager: SessionManager,
    private readonly ownsManager: boolean,
    private readonly options: CrawlOptions,
    private readonly journal: CrawlJournal,
    private readonly owner: Ownership,
    restored: RestoredSession,
    resumed: boolean,
    recovered: string[],
    relogin: ReloginPlan | undefined,
  ) {
    this.restored = restored;
    this.revision = restored.session.revision;
    this.mode = restored.mode;
    this.resumed = resumed;
    this.recovered = recovered;
    this.dir = journal.dir;
    this.tabs = new TabLedger(journal.dir, () => owner.fence.check());
    this.blocking = new BlockGuard(options.maxBlocked ?? 5, options.blockedStatuses ?? [401, 403, 429]);
    this.relogin =
      relogin &&
      new Relogin(relogin, {
        session: options.session,
        manager,
        browser: () => this.browser,
        revision: () => this.revision,
        beforeLogin: async () => {
          this.owner.fence.check(); // an owner that lost the crawl must not log the session in
          await this.saving?.catch(() => undefined);
        },
        afterLogin: (record) => this.takeLogin(record),
      });
  }

  static async open(options: CrawlOptions): Promise<Crawl> {
    const manager = options.manager ?? (await SessionManager.open({ ...(options.env ? { env: options.env } : {}) }));
    const dir = crawlDirFor(manager.paths.home, options.session);
    const heartbeatMs = options.heartbeatMs ?? 1000;
    let owner: Ownership | undefined;
    let journal: CrawlJournal | undefined;
    try {
      const record = await manager.get(options.session); // NOT_FOUND before anything is created
      if (isRetired(record)) throw retiredError(record.name, record.metadata['retired']);
      const relogin = options.relogin ? await prepareRelogin(options.relogin, record) : undefined; // a bad recipe fails before anything is written
      ownDirs(manager.paths.home, [HOME_DIRS.crawls, stemFor(options.session)]); // territory: a link at crawls/ or crawls/<stem> is FOREIGN_DIRECTORY
      owner = await takeOwnership(dir, options.session, heartbeatMs);
      const mode = options.mode ?? 'auto';
      if (mode === 'restart') await forgetProgress(dir);
      const previous = await readHeartbeat(dir);
      const opened = await CrawlJournal.open(dir, options.journal, owner.fence);
      journal = opened.journal;
      const known = journal.state.urls.size > 0;
      if (mode === 'resume' && !known) {
        throw new RaptorError('NOT_FOUND', `There is no crawl of \`${options.session}\` to resume. Use \`mode: 'auto'\` to start one.`);
      }
      const recovered = journal.state.recoverInFlight();
      for (const url of options.seeds ?? []) journal.append({ t: 'add', url: normalizeUrl(url) });
      await prepareBrowser(manager, record, dir, owner.previous);
      owner.fence.check(); // restore writes the session's browser; an owner that lost the crawl must not
      const restored = await manager.restore(options.session, { ...options.restoreOptions, keepAlive: true });
      const crawl = new Crawl(manager, !options.manager, options, journal, owner, restored, known && previous?.status !== 'completed', recovered, relogin);
      crawl.start();
      return crawl;
    } catch (error) {
      if (owner?.fence.isLost) journal?.abandon();
      else await journal?.close().catch(() => undefined); // keep the open error; the journal is whole either way
      await owner?.release();
      if (!options.manager) await manager.close();
      throw error;
    }
  }

  get context(): BrowserContext {
    return this.restored.context;
  }

  get browser(): Browser {
    return this.restored.browser;
  }

  get browserId(): string | undefined {
    return this.restored.browserId ?? this.restored.session.browserId;
  }

  get state(): CrawlState {
    return this.journal.state;
  }

  progress(): Progress {
    return this.journal.state.progress();
  }

  /** Adds URLs to crawl (known ones are ignored). Returns how many were new. */
  add(urls: string[], base?: string): number {
    let added = 0;
    for (const url of urls) {
      const normalized = normalizeUrl(url, base);
      if (normalized && this.journal.append({ t: 'add', url: normalized })) added++;
    }
    if (added > 0) this.wakeAll();
    return added;
  }

  /** Works through every pending URL; resolves when none is left, or after `stop()`. */
  async run(handler: PageHandler): Promise<Progress> {
    const concurrency = this.options.concurrency ?? 4;
    let failure: unknown;
    const worker = async (): Promise<void> => {
      let page: Page | undefined;
      try {
        while (!this.stopping && failure === undefined && !this.relogin?.failed) {
          // A site that blocks us sees at most `maxBlocked` requests (blocking.ts).
          if (!this.blocking.maySend()) {
            await new Promise<void>((resolve) => this.waiters.push(resolve));
            continue;
          }
          if (this.relogin?.busy) {
            await this.relogin.idle(); // new work waits for the re-login, like for a relaunch
            continue;
          }
          const url = this.journal.state.nextPending();
          if (url === undefined) {
            if (this.progress().inFlight === 0) break;
            await new Promise<void>((resolve) => this.waiters.push(resolve));
            continue;
          }
          const answered = this.blocking.sent();
          let restored = this.restored;
          try {
            this.journal.append({ t: 'start', url });
            if (this.recovering) await this.recovering;
            restored = this.restored;
            page ??= await this.tabs.open(this.context);
            page = await this.visit(url, page, handler, answered);
          } catch (error) {
            if (isRaptorError(error, 'OWNERSHIP_LOST')) this.lose(error);
            else if (!isRaptorError(error) && !restored.browser.isConnected()) {
              // The browser died while this worker was opening its tab: not the URL's fault, like in `visit`.
              page = undefined;
              await this.afterBrowserDied(url, restored).catch((e: unknown) => (failure ??= e));
            } else failure ??= error;
          } finally {
            answered();
            this.wakeAll();
          }
        }
      } finally {
        if (page) await this.tabs.close(page);
      }
    };
    await Promise.all(Array.from({ length: concurrency }, worker));
    if (this.lost) throw this.lost; // whatever else failed, this is why this process stopped
    if (failure !== undefined) throw failure;
    this.relogin?.throwIfFailed();
    return this.progress();
  }

  /** Asks `run()` to finish the pages in progress and return. */
  stop(): void {
    this.stopping = true;
    this.wakeAll();
  }

  /** Snapshot, final heartbeat, session state saved, ownership released. The kept-alive browser keeps running. */
  async close(): Promise<Progress> {
    if (this.closed) return this.progress();
    this.closed = true;
    this.stopping = true;
    for (const timer of this.timers) clearInterval(timer);
    process.off('SIGINT', this.signalHandler);
    process.off('SIGTERM', this.signalHandler);
    const progress = this.progress();
    try {
      await this.relogin?.idle();
      await this.saving?.catch(() => undefined); // its failure was logged when it happened
      if (this.owner.fence.isLost) {
        this.journal.abandon(); // the new owner has the crawl: write nothing, not even a last heartbeat
      } else {
        // A save that fails (a browser too slow to hand over its state) must not leave the journal unclosed: close it, then report.
        const saveFailed = await this.saveState().then(
          () => undefined,
          (error: unknown) => {
            if (isRaptorError(error, 'OWNERSHIP_LOST')) throw error;
            return { error };
          },
        );
        await this.journal.close();
        await this.beat(progress.pending + progress.inFlight === 0 ? 'completed' : 'paused');
        if (saveFailed) throw saveFailed.error;
      }
    } catch (error) {
      if (!isRaptorError(error, 'OWNERSHIP_LOST')) throw error;
      this.journal.abandon(); // lost while closing: the new owner carries on from what was written
    } finally {
      await this.owner.release();
      await this.restored.close().catch(() => undefined); // disconnect only; a dead browser has nothing to close
      if (this.ownsManager) await this.manager.close();
    }
    return progress;
  }

  private start(): void {
    const every = (ms: number, fn: () => Promise<unknown>): void => {
      const timer = setInterval(() => void fn().catch((error: unknown) => this.housekeepingFailed(error)), ms);
      timer.unref();
      this.timers.push(timer);
    };
    every(this.options.heartbeatMs ?? 1000, () => this.beat('running'));
    every(this.options.compactEveryMs ?? 30_000, () => this.journal.compact());
    // Not while logging in again: the context's stale state must not land over the fresh login.
    every(this.options.saveStateEveryMs ?? 30_000, () => (this.saving = this.relogin?.busy ? Promise.resolve() : this.saveState()));
    void this.beat('running').catch((error: unknown) => this.housekeepingFailed(error));
    if (this.options.handleSignals) {
      process.once('SIGINT', this.signalHandler);
      process.once('SIGTERM', this.signalHandler);
    }
  }

  private housekeepingFailed(error: unknown): void {
    if (isRaptorError(error, 'OWNERSHIP_LOST')) return this.lose(error);
    this.manager.logger.warn({ err: (error as Error).message }, 'crawl housekeeping failed; will retry');
  }

  /** Another process took the crawl over: stop at once; `run()` rejects with `error`. */
  private lose(error: RaptorError): void {
    if (this.lost) return;
    this.lost = error;
    for (const timer of this.timers) clearInterval(timer);
    this.stop();
  }

  /** Visits one URL in `page`; returns the page to use next (a new one after a browser relaunch). */
  private async visit(url: string, page: Page, handler: PageHandler, answered: () => void): Promise<Page | undefined> {
    const attempt = this.journal.state.urls.get(url)!.attempts;
    let response: Response | null;
    try {
      let ticket = 0;
      try {
        ticket = (await this.relogin?.ticket()) ?? 0; // waits for a re-login in progress
        response = await page.goto(url, { timeout: this.options.navigationTimeoutMs ?? 30_000 });
      } finally {
        answered(); // counted below, in the same synchronous step: blocked, or the streak is over
      }
      const status = response?.status() ?? 0;
      if (this.relogin && (await this.relogin.isLoggedOut(url, status, page, this.blocking.statuses))) {
        // Logged out is not blocked: not counted in the streak, unless right after a re-login (the login did not hold).
        this.journal.append({ t: 'requeue', url });
        if ((await this.relogin.loggedOut(ticket, url)) === 'blocked') {
          this.health.record(false);
          if (this.blocking.blocked() === 'retire') await this.blocking.retire(this.manager, this.options.session, 'a logged-out page right after a re-login', this.owner.fence);
        }
        return page;
      }
      const blocked = this.blocking.answer(status);
      if (blocked !== 'ok') {
        this.health.record(false);
        this.journal.append({ t: 'requeue', url });
        if (blocked === 'retire') await this.blocking.retire(this.manager, this.options.session, `HTTP ${status}`, this.owner.fence);
        return page;
      }
      this.relogin?.loggedIn(ticket); // a page answered logged in: the current login holds
      // Frozen during the navigation and taken over meanwhile? Then the page is the new owner's job.
      this.owner.fence.check();
      const result = await handler({ url, page, response, attempt, enqueue: (urls) => this.add(urls, page.url()) });
      this.journal.append({ t: 'done', url, ...(result === undefined ? {} : { result: checkResult(result, url) }) });
      this.health.record(true);
      return page;
    } catch (error) {
      if (isRaptorError(error, 'OWNERSHIP_LOST')) {
        this.lose(error);
        throw error;
      }
      if (isRaptorError(error, 'SESSION_BLOCKED') || this.relogin?.isFailure(error)) {
        // A failed re-login (or a block) stops the crawl: the page was not at fault and goes back to pending.
        if (this.journal.state.urls.get(url)?.state === 'in-flight') this.journal.append({ t: 'requeue', url });
        throw error;
      }
      this.owner.fence.check(); // whatever went wrong, an owner that lost the crawl journals none of it
      if (!this.restored.browser.isConnected()) {
        this.journal.append({ t: 'requeue', url }); // the browser died under this page: not the URL's fault
        await this.recoverBrowser();
        return undefined;
      }
      this.health.record(false);
      const message = (error as Error).message?.split('\n')[0] ?? String(error);
      this.journal.append(attempt >= (this.options.maxAttempts ?? 3) ? { t: 'fail', url, error: message } : { t: 'retry', url, error: message });
      await this.tabs.close(page); // a page that failed may be stuck or crashed: the next URL gets a fresh one
      return undefined;
    }
  }

  /** Requeues `url` (when still in flight) and relaunches, unless another worker already replaced `dead`. */
  private async afterBrowserDied(url: string, dead: RestoredSession): Promise<void> {
    if (this.journal.state.urls.get(url)?.state === 'in-flight') this.journal.append({ t: 'requeue', url });
    if (this.restored === dead) await this.recoverBrowser();
    else await this.recovering;
  }

  private recoverBrowser(): Promise<void> {
    this.recovering ??= (async () => {
      this.manager.logger.warn({ session: this.options.session }, 'the browser died; relaunching with the saved state');
      await this.restored.close().catch(() => undefined); // the old connection is already dead
      this.tabs.forgetAll();
      for (let attempt = 1; ; attempt++) {
        this.owner.fence.check();
        try {
          this.restored = await this.manager.restore(this.options.session, { ...this.options.restoreOptions, keepAlive: true });
          break;
        } catch (error) {
          // The new browser died too before it was usable (killed again, crashing at start): try again, a few times.
          if (attempt >= RELAUNCH_ATTEMPTS || !(isRaptorError(error, 'BROWSER_FAILED') || isRaptorError(error, 'BROWSER_UNREACHABLE'))) throw error;
          this.manager.logger.warn({ session: this.options.session, attempt, err: firstLineOf(error) }, 'the relaunched browser failed too; relaunching again');
        }
      }
      this.mode = this.restored.mode;
    })().finally(() => (this.recovering = undefined));
    return this.recovering;
  }

  private async saveState(): Promise<void> {
    if (!this.restored.browser.isConnected()) return;
    this.owner.fence.check(); // a frozen owner's cookies are older than the new owner's
    this.revision = (await this.manager.save(this.options.session, { context: this.context })).revision;
  }

  /** The fresh login into the running context, saved at once (relogin.ts). */
  private async takeLogin(record: SessionRecord): Promise<void> {
    this.owner.fence.check();
    await applyState(this.context, record.storageState);
    this.revision = record.revision;
    await this.saveState();
  }

  private async beat(status: 'running' | 'paused' | 'completed'): Promise<void> {
    const cdpUrl = this.restored.cdpUrl ?? this.restored.session.cdpUrl;
    if (cdpUrl && status === 'running') {
      const started = performance.now();
      const probe = await probeCdp(cdpUrl, 1000);
      this.health.recordProbe(probe.alive ? performance.now() - started : undefined);
    }
    await this.owner.beat({
      session: this.options.session,
      store: this.manager.location,
      status,
      progress: this.progress(),
      health: this.health.score(),
      mode: this.mode,
      relogins: this.relogin?.count ?? 0,
      ...(this.browserId ? { browserId: this.browserId } : {}),
    });
  }

  private wakeAll(): void {
    const waiters = this.waiters;
    this.waiters = [];
    for (const wake of waiters) wake();
  }
}

async function forgetProgress(dir: string): Promise<void> {
  const { readdir } = await import('node:fs/promises');
  for (const name of await readdir(dir)) {
    if (name === CRAWL_FILES.ownerLock || name === EPOCH_FILE) continue; // ours now; the epoch never goes back
    await rm(join(dir, name), { force: true });
  }
}
