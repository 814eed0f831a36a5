/**
 * `raptor keep`'s loop: rounds over the sessions to keep, a few at a time, each session on its
 * own schedule (`policy.ts`), until stopped. Every turn ends in a status in the session's
 * `metadata.keep` (`{ at, result, failures, nextAt, error? }`) for `raptor show` and the dashboard.
 *
 * - One headless browser serves every turn that has no live browser to visit in; it is launched
 *   on first need and closed when the keeper would idle for more than a minute, and at the end.
 * - Stopping (the `until` promise) lets the turns in flight finish for a few seconds, then closes
 *   the shared browser under them: a visit abandoned before its save saves nothing, an abandoned
 *   login saves nothing (the login path's rule), and every write is atomic, so nothing is torn.
 *   An abandoned turn writes no status: it did not fail, it was stopped.
 */
import type { Browser } from 'playwright-core';
import { launchBrowser } from '../browser/launch.js';
import { mapLimit } from '../core/map-limit.js';
import { RaptorError, isRaptorError } from '../core/errors.js';
import { redactUrlsIn } from '../core/redact-url.js';
import { firstLineOf } from '../core/error-text.js';
import { redactKnownSecrets } from '../env/secrets.js';
import type { SessionSummary } from '../core/record.js';
import type { Logger } from '../env/log.js';
import { recordedRecipe } from '../login/recipe.js';
import type { SessionManager } from '../manager.js';
import { backoffMs, nextRefresh } from './policy.js';
import { refreshSession, type KeepResult, type RefreshDeps, type VisitStep } from './refresh.js';

/** Where a session's keeper status is recorded, in its metadata. */
export const KEEP_KEY = 'keep';

/** How long turns in flight may finish after a stop before the shared browser is closed under them. */
export const STOP_GRACE_MS = 5_000;

/** The shared browser is closed when the next round is further away than this. */
export const BROWSER_IDLE_MS = 60_000;

export interface KeepOptions {
  manager: SessionManager;
  /** Sessions to keep; empty or omitted: every session with a recorded recipe (listed again each round). */
  names?: string[];
  /** The round interval, in ms. */
  everyMs: number;
  /** One round over every session, then return. @default false */
  once?: boolean;
  /** Sessions refreshed at the same time. @default 2 */
  concurrency?: number;
  logger: Logger;
  /** Each step, as it happens. */
  onEvent?(event: KeepEvent): void;
  /** Resolves when the keeper should stop (a signal). @default never */
  until?: Promise<unknown>;
  /** The shared headless browser. @default a headless Chromium (`launchBrowser`) */
  launch?: () => Promise<Browser>;
  /** See `RefreshDeps.beforeSave`. */
  beforeSave?: RefreshDeps['beforeSave'];
}

/** The status a turn leaves in `metadata.keep`. */
export interface KeepStatus {
  at: string;
  result: KeepResult;
  /** Failed turns in a row (0 after a success). */
  failures: number;
  nextAt: string;
  /** The first line of why it failed (never a secret). */
  error?: string;
}

export type KeepEvent =
  | ({ type: 'visited'; at: string } & VisitStep)
  | { type: 'refreshed' | 'logged-in'; name: string; at: string; revision: number; failures: 0; nextAt: string; via?: 'browser' | 'headless'; conflict?: boolean; reason?: string }
  | { type: 'failed'; name: string; at: string; code: string; error: string; failures: number; nextAt: string };

export interface KeepSummary {
  /** True when no session's last turn failed. */
  ok: boolean;
  /** Each session's last status in this run. */
  sessions: Array<{ name: string } & KeepStatus>;
}

interface Schedule {
  failures: number;
  nextAt: number;
}

/** Keeps sessions logged in until `until` resolves (or, with `once`, for one round). */
export async function keepSessions(options: KeepOptions): Promise<KeepSummary> {
  const { manager, logger } = options;
  const concurrency = options.concurrency ?? 2;
  if (!Number.isInteger(concurrency) || concurrency < 1) throw new RaptorError('USAGE', `The concurrency must be a whole number of at least 1, got \`${concurrency}\`.`);
  const named = options.names ?? [];
  if (named.length > 0) await requireRecipes(manager, named); // a typo fails now, not every round
  const browser = sharedBrowser(options.launch ?? (() => launchBrowser('chromium', { headless: true, callerHandlesSignals: true })));
  const schedules = new Map<string, Schedule>();
  const last = new Map<string, KeepStatus>();
  let stopping = false;
  let warnedNone = false;
  let wake: (() => void) | undefined;
  const stopped = (options.until ?? new Promise<never>(() => undefined)).then(() => {
    stopping = true;
    wake?.();
  });
  const emit = (event: KeepEvent): void => options.onEvent?.(event);
  const deps: RefreshDeps = {
    manager,
    getBrowser: browser.get,
    onVisit: (step) => {
      logger.info({ session: step.name, url: step.url, via: step.via, loggedIn: step.loggedIn }, 'visited');
      emit({ type: 'visited', at: new Date().toISOString(), ...step });
    },
    ...(options.beforeSave ? { beforeSave: options.beforeSave } : {}),
  };

  const turn = async (summary: KeptSession): Promise<void> => {
    if (stopping) return;
    const { name } = summary;
    const schedule = schedules.get(name) ?? { failures: initialFailures(summary), nextAt: 0 };
    schedules.set(name, schedule);
    // The round interval counts from the visit, not from the end of the turn: the server's idle
    // clock started when it saw the session, and a slow save must not stretch the gap past it.
    const startedAt = Date.now();
    try {
      const outcome = await refreshSession(deps, name);
      const now = Date.now();
      schedule.failures = 0;
      schedule.nextAt = nextRefresh(outcome.record, options.everyMs, outcome.authCookies, startedAt);
      const status: KeepStatus = { at: new Date(now).toISOString(), result: outcome.result, failures: 0, nextAt: new Date(schedule.nextAt).toISOString() };
      await writeStatus(manager, logger, name, status);
      last.set(name, status);
      const { record: _record, authCookies: _cookies, ...shown } = outcome;
      logger.info({ session: name, ...shown, nextAt: status.nextAt }, outcome.result === 'logged-in' ? 'logged in again' : 'refreshed');
      emit({ type: outcome.result, name, at: status.at, failures: 0, nextAt: status.nextAt, ...shown });
    } catch (error) {
      if (stopping) {
        logger.info({ session: name }, 'abandoned on stop'); // not a failure: nothing was written
        return;
      }
      const now = Date.now();
      schedule.failures += 1;
      schedule.nextAt = now + backoffMs(options.everyMs, schedule.failures);
      const message = firstLine(error);
      const status: KeepStatus = { at: new Date(now).toISOString(), result: 'failed', failures: schedule.failures, nextAt: new Date(schedule.nextAt).toISOString(), error: message };
      await writeStatus(manager, logger, name, status);
      last.set(name, status);
      const code = isRaptorError(error) ? error.code : 'UNEXPECTED';
      logger.warn({ session: name, code, error: message, failures: schedule.failures, nextAt: status.nextAt }, 'failed');
      emit({ type: 'failed', name, at: status.at, code, error: message, failures: schedule.failures, nextAt: status.nextAt });
    }
  };

  try {
    for (;;) {
      let sessions: KeptSession[];
      try {
        sessions = named.length > 0 ? await headsOrNames(manager, named) : await sessionsWithRecipes(manager);
      } catch (error) {
        if (options.once) throw error;
        // A store that is down right now (a database restart) is tried again next round, not the end of the keeper.
        logger.warn({ error: firstLine(error) }, 'could not list the sessions to keep; trying again next round');
        sessions = [];
      }
      if (sessions.length === 0 && !warnedNone) logger.warn({}, 'no session has a recorded recipe: log one in with `raptor login <name> --recipe <file>`');
      warnedNone = sessions.length === 0; // said once, not every round
      const now = Date.now();
      const due = options.once ? sessions : sessions.filter((s) => (schedules.get(s.name)?.nextAt ?? 0) <= now);
      const round = mapLimit(due, concurrency, turn);
      await Promise.race([round, stopped.then(() => sleep(STOP_GRACE_MS))]);
      if (stopping) await browser.close(); // abandons what is still in flight (see above)
      await round;
      if (options.once || stopping) break;
      const known = sessions.map((s) => schedules.get(s.name)?.nextAt ?? Date.now());
      const wakeAt = known.length > 0 ? Math.min(...known) : Date.now() + options.everyMs;
      const idle = wakeAt - Date.now();
      if (idle > BROWSER_IDLE_MS) await browser.close();
      if (idle > 0) {
        await new Promise<void>((resolve) => {
          if (stopping) return resolve(); // the stop came while the browser was closing
          const timer = setTimeout(resolve, idle);
          wake = () => {
            clearTimeout(timer);
            resolve();
          };
        });
        wake = undefined;
      }
      if (stopping) break;
    }
  } finally {
    await browser.close();
  }
  const sessions = [...last.entries()].map(([name, status]) => ({ name, ...status })).sort((a, b) => a.name.localeCompare(b.name));
  return { ok: sessions.every((s) => s.result !== 'failed'), sessions };
}

/** Every named session must exist and have a recipe: `USAGE` with the way out otherwise. */
async function requireRecipes(manager: SessionManager, names: string[]): Promise<void> {
  for (const summary of await headsOf(manager, names)) {
    if (!recordedRecipe(summary)) {
      throw new RaptorError('USAGE', `Session \`${summary.name}\` has no recipe recorded, so it cannot be kept: log it in once with \`raptor login ${summary.name} --recipe <file>\` (docs/recipes.md).`);
    }
  }
}

/** A session to keep: its name, and its metadata when it could be read (for its recorded failures). */
type KeptSession = Pick<SessionSummary, 'name' | 'metadata'>;

/** The named sessions; one removed meanwhile stays in the round, where its turn fails with `NOT_FOUND` (and backs off). */
async function headsOrNames(manager: SessionManager, names: string[]): Promise<KeptSession[]> {
  const heads: KeptSession[] = [];
  for (const name of names) {
    try {
      heads.push(await manager.head(name));
    } catch (error) {
      if (!isRaptorError(error, 'NOT_FOUND')) throw error;
      heads.push({ name, metadata: {} });
    }
  }
  return heads;
}

async function headsOf(manager: SessionManager, names: string[]): Promise<SessionSummary[]> {
  const heads: SessionSummary[] = [];
  for (const name of names) heads.push(await manager.head(name));
  return heads;
}

async function sessionsWithRecipes(manager: SessionManager): Promise<SessionSummary[]> {
  const found: SessionSummary[] = [];
  for await (const summary of manager.list()) if (recordedRecipe(summary)) found.push(summary);
  return found.sort((a, b) => a.name.localeCompare(b.name));
}

/** A keeper restarted (or run by cron) goes on counting a session's failures from its recorded status. */
function initialFailures(summary: KeptSession): number {
  const status = summary.metadata[KEEP_KEY];
  const failures = status && typeof status === 'object' && !Array.isArray(status) ? status['failures'] : undefined;
  return typeof failures === 'number' && Number.isInteger(failures) && failures >= 0 ? failures : 0;
}

/** The status into `metadata.keep`. A failed write is logged: the turn's own result stands. */
async function writeStatus(manager: SessionManager, logger: Logger, name: string, status: KeepStatus): Promise<void> {
  try {
    await manager.updateMetadata(name, { [KEEP_KEY]: { ...status } });
  } catch (error) {
    logger.warn({ session: name, error: firstLine(error) }, 'could not record the keeper status');
  }
}

/** The first line of an error's message, URL credentials redacted: what a status and an event may show. */
function firstLine(error: unknown): string {
  const line = firstLineOf(error);
  return redactKnownSecrets(redactUrlsIn(error instanceof RaptorError ? line : `unexpected error: ${line}`));
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms).unref());
}

/** One headless browser, launched on first use, relaunched after it died, closed when idle. */
function sharedBrowser(launch: () => Promise<Browser>) {
  let current: Promise<Browser> | undefined;
  return {
    get: async (): Promise<Browser> => {
      if (current) {
        const browser = await current.catch(() => undefined);
        if (browser?.isConnected()) return browser;
      }
      current = launch();
      return current;
    },
    close: async (): Promise<void> => {
      const closing = current;
      current = undefined;
      const browser = await closing?.catch(() => undefined);
      await browser?.close().catch(() => undefined);
    },
  };
}
