/**
 * A crawl that is logged out halfway logs in again and carries on.
 *
 * After each navigation, before the handler runs, a page is *logged out* when it answered one of
 * `statuses` (401, 403) on a URL of `urls`, or when the recipe's `check(page)` returns `false` on
 * the page as it loaded. A check that throws or does not answer within 5 s proves nothing either
 * way (it was written for the recipe's own `url`, and a crawled page may not have what it looks
 * for): the page counts as logged in and goes to the handler. Only an explicit `false` counts.
 *
 * A logged-out page goes back to pending (journal `requeue`, its attempt given back) and one
 * re-login runs for the whole crawl: new work waits, the recipe logs in through the one login
 * path (`manager.ensure`, under the session's cross-process login lock, never reusing the
 * revision the crawl saw logged out), and the fresh state is put into the crawl's running
 * context before work resumes. Pages that were sent before the re-login finished and come back
 * logged out are requeued and go again with the fresh login: they never start a second one.
 *
 * What it is not: a site that blocks the session. A page logged out right after a successful
 * re-login (no page has been logged in since) means the login does not hold; it counts as a
 * blocked answer (blocking.ts), so a site that keeps refusing retires the session as before.
 * A re-login that fails, or more than `maxRelogins` in one run, stops the crawl with
 * `SESSION_BLOCKED`; its progress is kept and a later run resumes where it stopped.
 */
import type { Browser, Page } from 'playwright-core';
import { RaptorError, isRaptorError } from '../core/errors.js';
import { redactUrl } from '../env/log.js';
import type { SessionRecord } from '../core/record.js';
import { checkAnswer, type Recipe } from '../login/ensure.js';
import { loadRecipe, parseRecipe, recordedRecipe } from '../login/recipe.js';
import type { SessionManager } from '../manager.js';

export interface ReloginOptions {
  /**
   * How the session logs in: a recipe object, or the path of a recipe module (relative to the
   * current directory; recorded with the session when it logs in).
   * @default the recipe recorded with the session (`raptor login --recipe`, `raptor.ensure(name, file)`)
   */
  recipe?: Recipe | string;
  /** What the recipe's relative URLs resolve against. @default the base URL recorded with the recipe, else the origin of the page found logged out */
  baseURL?: string;
  /** Answers that mean "logged out" (not "blocked") on the URLs of `urls`. @default [401, 403] */
  statuses?: number[];
  /** Where `statuses` and the recipe's `check` mean "logged out": a string matches URLs that start with it. @default every URL */
  urls?: (string | RegExp)[];
  /** Re-logins allowed in one run; one more stops the crawl with `SESSION_BLOCKED`. @default 3 */
  maxRelogins?: number;
  /** Run the recipe's `check(page)` on every crawled page (of `urls`) as it loaded. Turn off when the check only works on the recipe's own `url`. @default true */
  checkPages?: boolean;
}

/** How long the recipe's check may take on a crawled page before it counts as "cannot tell". */
const PAGE_CHECK_MS = 5000;

/** The steps of a re-login that belong to the crawl: its browser, and its saved state. */
export interface ReloginHost {
  session: string;
  manager: SessionManager;
  browser(): Browser;
  /** The revision of the session record the crawl runs on (or last saved). */
  revision(): number;
  /** Waits for a save of the crawl's (stale) state in progress, so that it cannot land after the login's. */
  beforeLogin(): Promise<void>;
  /** Puts the fresh login into the running context and saves it. */
  afterLogin(record: SessionRecord): Promise<void>;
}

/** What became of a logged-out page (already requeued): `requeued` to go again, `blocked` when the login did not hold. */
export type LoggedOutOutcome = 'requeued' | 'blocked';

/** A crawl's re-login as `Crawl.open` resolved it, before the crawl exists. */
export interface ReloginPlan {
  recipe: Recipe;
  /** What `ensure` gets: the file's path (so the login records it), or the object. */
  forEnsure: Recipe | string;
  baseURL: string | undefined;
  statuses: readonly number[];
  urls: readonly (string | RegExp)[] | undefined;
  max: number;
  checkPages: boolean;
}

/** Resolves the recipe before the crawl starts: a missing or broken recipe fails `Crawl.open`, not the page that needs it. */
export async function prepareRelogin(option: ReloginOptions | true, record: SessionRecord): Promise<ReloginPlan> {
  const options = option === true ? {} : option;
  let recipe: Recipe;
  let forEnsure: Recipe | string;
  let baseURL = options.baseURL;
  if (typeof options.recipe === 'object') {
    recipe = parseRecipe(options.recipe, `for \`${record.name}\``);
    forEnsure = recipe;
  } else {
    const recorded = options.recipe === undefined ? recordedRecipe(record) : undefined;
    const file = options.recipe ?? recorded?.path;
    if (file === undefined) {
      throw new RaptorError(
        'INVALID_INPUT',
        `The crawl of \`${record.name}\` may log in again, but no recipe was given and the session records none. Give \`relogin: { recipe: '<file>' }\`, or log the session in once with \`raptor login ${record.name} --recipe <file>\`, which records it.`,
      );
    }
    const loaded = await loadRecipe(file, { baseURL: baseURL ?? recorded?.baseURL });
    recipe = loaded.recipe;
    forEnsure = loaded.ref.path;
    baseURL ??= loaded.ref.baseURL;
  }
  const max = options.maxRelogins ?? 3;
  if (!Number.isInteger(max) || max < 0) throw new RaptorError('INVALID_INPUT', `relogin.maxRelogins must be a whole number ≥ 0, not ${String(max)}.`);
  return { recipe, forEnsure, baseURL, statuses: options.statuses ?? [401, 403], urls: options.urls, max, checkPages: options.checkPages ?? true };
}

export class Relogin {
  /** Re-logins that succeeded in this run. */
  count = 0;
  /** +1 per re-login: a page sent in an older generation was sent with the old login. */
  private generation = 0;
  /** Whether a page was seen logged in since the last re-login. */
  private held = true;
  private running: Promise<void> | undefined;
  /** Sticky: once a re-login failed, every later logged-out page stops with the same error. */
  private failure: unknown;

  constructor(
    private readonly plan: ReloginPlan,
    private readonly host: ReloginHost,
  ) {}

  /** True while a re-login runs: new work waits for {@link idle}. */
  get busy(): boolean {
    return this.running !== undefined;
  }

  /** True once a re-login failed: the crawl takes no new work. */
  get failed(): boolean {
    return this.failure !== undefined;
  }

  /** Whether `error` is the failure of a re-login (whatever its code): the crawl's error, not the page's. */
  isFailure(error: unknown): boolean {
    return this.failure !== undefined && error === this.failure;
  }

  /** Throws the re-login's failure, if one failed: `run()` must not end as if the crawl were done. */
  throwIfFailed(): void {
    if (this.failure !== undefined) throw this.failure;
  }

  /** Resolves once no re-login runs (never rejects: the worker that started a failed one reports it). */
  async idle(): Promise<void> {
    await this.running?.catch(() => undefined);
  }

  /** Before a navigation: waits for a re-login in progress, throws when one failed, and returns the page's ticket. */
  async ticket(): Promise<number> {
    await this.running;
    if (this.failure !== undefined) throw this.failure;
    return this.generation;
  }

  /**
   * Whether the page as it loaded is logged out. Statuses the crawl counts as blocked
   * (`blockedStatuses`, e.g. 429) are left to blocking.ts: their page is not checked.
   */
  async isLoggedOut(url: string, status: number, page: Page, blockedStatuses: readonly number[]): Promise<boolean> {
    if (this.plan.urls && !this.plan.urls.some((u) => (typeof u === 'string' ? url.startsWith(u) : u.test(url)))) return false;
    if (this.plan.statuses.includes(status)) return true;
    if (blockedStatuses.includes(status) || !this.plan.checkPages || !this.plan.recipe.check) return false;
    return (await checkAnswer(this.plan.recipe.check, page, PAGE_CHECK_MS)) === false; // no answer: cannot tell (see above)
  }

  /** A page sent with `ticket` was logged in: the current login holds. */
  loggedIn(ticket: number): void {
    if (ticket === this.generation) this.held = true;
  }

  /** After a logged-out page sent with `ticket` (already requeued): logs in again, or waits for the re-login that covers it. */
  async loggedOut(ticket: number, url: string): Promise<LoggedOutOutcome> {
    if (this.failure !== undefined) throw this.failure;
    if (this.running) {
      await this.running; // it raced the re-login: goes again after it
      return 'requeued';
    }
    if (ticket < this.generation) return 'requeued'; // sent with the old login; a re-login came since
    if (this.generation > 0 && !this.held) return 'blocked';
    this.running = this.logInAgain(url).finally(() => (this.running = undefined));
    await this.running;
    return 'requeued';
  }

  private async logInAgain(url: string): Promise<void> {
    const { manager, session } = this.host;
    try {
      if (this.count >= this.plan.max) {
        throw new RaptorError(
          'SESSION_BLOCKED',
          `The crawl of \`${session}\` was logged out again after ${this.count} re-logins in this run (\`relogin.maxRelogins\` is ${this.plan.max}): the site keeps ending the session. The crawl stopped; its progress is kept. Find out why the site logs it out (a login shared with another client, a short session lifetime), or raise \`maxRelogins\`, then run it again: it resumes where it stopped.`,
        );
      }
      await this.host.beforeLogin();
      const loggedOutRevision = this.host.revision();
      const baseURL = this.plan.baseURL ?? new URL(url).origin;
      manager.logger.warn({ session, url: redactUrl(url), relogins: this.count, loggedOutRevision }, 'the crawl was logged out; logging in again');
      let record: SessionRecord;
      try {
        ({ record } = await manager.ensure(session, this.plan.forEnsure, { browser: this.host.browser(), loggedOutRevision, reuseCheckFor: 0, baseURL, contextOptions: { baseURL } }));
      } catch (error) {
        if (!isRaptorError(error, 'LOGIN_FAILED')) throw error;
        throw new RaptorError(
          'SESSION_BLOCKED',
          `The crawl of \`${session}\` was logged out, and logging in again failed: ${error.message} The crawl stopped; its progress is kept. Fix what the recipe needs (its credentials come from the environment), then run the crawl again: it resumes where it stopped.`,
          { cause: error },
        );
      }
      await this.host.afterLogin(record);
      this.count++;
      this.generation++;
      this.held = false;
      manager.logger.info({ session, relogins: this.count }, 'logged in again; the crawl resumes');
    } catch (error) {
      this.failure = error;
      manager.logger.warn({ session, err: (error as Error).message }, 'the crawl could not log in again; it stops');
      throw error;
    }
  }
}
