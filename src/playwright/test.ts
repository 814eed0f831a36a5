/**
 * `raptor-sessions/test`: Playwright Test, extended so that a test says which role it is and
 * gets a page that is already logged in. Roles log in once per role, across workers and runs,
 * until the login really expires (see `ensure-session.ts`).
 *
 * ```ts
 * // tests/roles.ts
 * import { defineRole } from 'raptor-sessions/test';
 * defineRole('admin', { login: async (page) => { ... }, check: async (page) => page.getByText('Sign out').isVisible(), url: '/' });
 *
 * // tests/admin.spec.ts
 * import { test, expect } from 'raptor-sessions/test';
 * import './roles';
 * test.use({ session: 'admin' });
 * test('sees the dashboard', async ({ page }) => { ... });
 * ```
 */
import { test as base, expect } from '@playwright/test';
import type { Browser, BrowserContext, BrowserContextOptions, Page, TestInfo } from '@playwright/test';
import { captureContext } from '../browser/capture.js';
import { chromiumArgs, findBrowserSync } from '../browser/find.js';
import { toPlaywrightState } from '../browser/launch.js';
import { addSessionStorage } from '../browser/session-storage.js';
import { RaptorError, isRaptorError } from '../core/errors.js';
import { SessionManager } from '../manager.js';
import type { SessionRecord } from '../core/record.js';
import { contextWithSession, ensureSession, staleReason, type RoleOptions } from './ensure-session.js';

export { expect };
export { ensureSession, sessionStatePath } from './ensure-session.js';
export type { EnsureSessionOptions, EnsuredSession, RoleOptions } from './ensure-session.js';

/**
 * `use.launchOptions` that find a Chromium the way raptor does (`RAPTOR_BROWSER`, Playwright's
 * build, the system's) with the flags it needs as root or on a closed network.
 */
export function raptorLaunchOptions(): { executablePath: string; args: string[] } {
  return { executablePath: findBrowserSync().executablePath, args: chromiumArgs() };
}

const roles = new Map<string, RoleOptions>();

/** Declares how role `name` logs in. Call it at module level in a file the specs (or the config) import. */
export function defineRole(name: string, options: RoleOptions): string {
  roles.set(name, options);
  return name;
}

export interface SessionsFixture {
  /** A new context logged in as `role` (one per call; closed after the test). */
  context(role: string): Promise<BrowserContext>;
  /** A new page in a new context logged in as `role`. */
  page(role: string): Promise<Page>;
}

export interface RaptorTestOptions {
  /** The role whose login the test's `page` and `context` carry. @default undefined (no session) */
  session: string | undefined;
}

export interface RaptorWorkerOptions {
  /** Sessions directory. @default RAPTOR_SESSIONS_DIR or ~/.raptor/sessions */
  sessionsDir: string | undefined;
}

interface WorkerSessions {
  /**
   * The role's usable record, logging in at most once per worker (and once overall, via the lock).
   * The time it takes is not charged to `testInfo`'s test (see {@link notCharged}).
   */
  get(role: string, contextOptions: BrowserContextOptions, testInfo: TestInfo): Promise<SessionRecord>;
  /** Replaces the cached record after a rotation. */
  update(role: string, record: SessionRecord): void;
  manager: SessionManager;
}

export const test = base.extend<RaptorTestOptions & { sessions: SessionsFixture }, RaptorWorkerOptions & { raptorSessions: WorkerSessions }>({
  session: [undefined, { option: true }],
  sessionsDir: [undefined, { option: true, scope: 'worker' }],

  raptorSessions: [
    async ({ browser, sessionsDir }, use) => {
      const manager = await SessionManager.open({ ...(sessionsDir ? { dir: sessionsDir } : {}), autoCleanup: false });
      const cache = new Map<string, Promise<SessionRecord>>();
      await use({
        manager,
        get(role, contextOptions, testInfo) {
          let pending = cache.get(role);
          if (!pending) {
            pending = resolveRole(role, browser, manager, contextOptions);
            cache.set(role, pending);
          }
          return notCharged(testInfo, loginBudget(role), pending);
        },
        update(role, record) {
          cache.set(role, Promise.resolve(record));
        },
      });
      await manager.close();
    },
    { scope: 'worker' },
  ],

  storageState: async ({ session, storageState, raptorSessions, baseURL }, use, testInfo) => {
    if (!session) return use(storageState);
    const record = await raptorSessions.get(session, baseURL ? { baseURL } : {}, testInfo);
    await use(toPlaywrightState(record.storageState));
  },

  context: async ({ context, session, raptorSessions, baseURL }, use, testInfo) => {
    if (!session) return use(context);
    const record = await raptorSessions.get(session, baseURL ? { baseURL } : {}, testInfo);
    await addSessionStorage(context, record.sessionStorage);
    await use(context);
    const role = roles.get(session);
    if (role?.rotate && testInfo.status === testInfo.expectedStatus && testInfo.status === 'passed') {
      const rotated = await rotate(session, role, record, context, raptorSessions.manager, baseURL ? { baseURL } : {});
      if (rotated) raptorSessions.update(session, rotated);
    }
  },

  sessions: async ({ browser, raptorSessions, baseURL }, use, testInfo) => {
    const opened: BrowserContext[] = [];
    const contextOptions = baseURL ? { baseURL } : {};
    const context = async (role: string): Promise<BrowserContext> => {
      const record = await raptorSessions.get(role, contextOptions, testInfo);
      const created = await contextWithSession(browser, record, contextOptions);
      opened.push(created);
      return created;
    };
    await use({ context, page: async (role) => (await context(role)).newPage() });
    await Promise.all(opened.map((c) => c.close()));
  },
});

/**
 * The most a role's resolution can take: waiting for another worker's login (the lock gives up
 * after `2 × loginTimeout + 30 s`), our own login (`loginTimeout`), and a minute for launching
 * contexts and running `check`. raptor's own deadlines end it well before, with its own message.
 */
function loginBudget(role: string): number {
  const loginTimeout = roles.get(role)?.loginTimeout ?? 60_000;
  return 3 * loginTimeout + 60_000;
}

/**
 * Logging in is not charged to the test that first needs the role (issue 10): while `pending`
 * runs, the test's timeout grows by `budgetMs`, so that a slow or hanging login ends with
 * raptor's `loginTimeout` message instead of "Test timeout ... while setting up". Once it is
 * done, the timeout is set to what it was plus the time the login took: the test keeps its whole
 * budget for itself. Playwright lets fixtures change the running test's timeout this way; a
 * worker fixture with its own `timeout` cannot, because which role a test needs is a test option.
 */
async function notCharged<T>(testInfo: TestInfo, budgetMs: number, pending: Promise<T>): Promise<T> {
  const timeout = testInfo.timeout;
  if (timeout === 0) return pending; // no timeout at all: nothing to protect
  const started = performance.now();
  testInfo.setTimeout(timeout + budgetMs);
  try {
    return await pending;
  } finally {
    testInfo.setTimeout(timeout + Math.ceil(performance.now() - started));
  }
}

async function resolveRole(role: string, browser: Browser, manager: SessionManager, contextOptions: BrowserContextOptions): Promise<SessionRecord> {
  const options = roles.get(role);
  if (options) return (await ensureSession(role, { ...options, browser, manager, contextOptions })).record;
  // No login declared: a session saved by other means (e.g. `raptor save`) is used as long as it is valid.
  const record = await manager.store.get(role);
  const problem = record ? staleReason(record, undefined, undefined, false) : 'it does not exist';
  if (!record || problem) {
    throw new RaptorError(
      'NOT_FOUND',
      `Session \`${role}\` cannot be used (${problem}) and no role declares how to log in. Add \`defineRole('${role}', { login })\` in a file your specs import.`,
    );
  }
  return record;
}

/**
 * Saves the state a passing test left behind, for apps that rotate refresh tokens on every
 * load, unless it looks logged out: the auth cookies must still be alive and `check` (when
 * given) must pass in a fresh context. A concurrent rotation by another worker wins; ours is dropped.
 */
async function rotate(name: string, role: RoleOptions, previous: SessionRecord, context: BrowserContext, manager: SessionManager, contextOptions: BrowserContextOptions): Promise<SessionRecord | undefined> {
  let captured;
  try {
    captured = await captureContext(context);
  } catch {
    return undefined; // the test closed its context: nothing to rotate
  }
  const candidate = { ...previous, storageState: captured.storageState, sessionStorage: captured.sessionStorage };
  if (staleReason(candidate, undefined, role.authCookies, role.check !== undefined)) return undefined;
  if (role.check) {
    const browser = context.browser();
    if (!browser) return undefined;
    const checkContext = await contextWithSession(browser, candidate, contextOptions);
    try {
      const page = await checkContext.newPage();
      const url = role.url ?? contextOptions.baseURL;
      if (url) await page.goto(url);
      if ((await role.check(page)) !== true) return undefined;
    } finally {
      await checkContext.close();
    }
  }
  try {
    return await manager.save(name, { storageState: captured.storageState, sessionStorage: captured.sessionStorage }, { expectedRevision: previous.revision });
  } catch (error) {
    if (isRaptorError(error, 'REVISION_CONFLICT')) return undefined;
    throw error;
  }
}
