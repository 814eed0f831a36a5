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
 *
 * This module loads light: the session manager (zod, pino, the stores) comes in by dynamic
 * import when a worker first needs a role (`worker-sessions.ts`), so the runner process, which
 * only lists the tests, does not pay for it.
 */
import { test as base, expect } from '@playwright/test';
import type { BrowserContext, BrowserContextOptions, FullConfig, Page, TestInfo } from '@playwright/test';
import type { Identity } from '../core/identity.js';
import { chromiumArgs, findBrowserSync } from '../browser/find.js';
import { toPlaywrightState } from '../browser/launch.js';
import { addSessionStorage } from '../browser/session-storage.js';
import type { EnsureSessionOptions, EnsuredSession } from './ensure-session.js';
import type { SessionsSetupOptions } from './global-setup.js';
import { roleOptions } from './roles.js';
import type { TestPlan, WorkerSessions } from './worker-sessions.js';

export { expect };
export { defineRole } from './roles.js';
export { sessionStatePath } from './state-path.js';
export { sessionContextOptions } from './session-context-options.js';
export type { EnsureSessionOptions, EnsuredSession, RoleOptions } from './ensure-session.js';
export type { SessionsSetupOptions } from './global-setup.js';

/** `ensureSession()` (see `ensure-session.ts`), loaded on first call. */
export async function ensureSession(name: string, options: EnsureSessionOptions): Promise<EnsuredSession> {
  return (await import('./ensure-session.js')).ensureSession(name, options);
}

/**
 * A `globalSetup` that makes every declared role (or `names`) usable before any worker starts:
 * one browser, every role checked or logged in at once, state files and "verified" stamps
 * written. `export default ensureSessions();` in the file `globalSetup` names, after importing
 * the roles. See `global-setup.ts`.
 */
export function ensureSessions(options?: SessionsSetupOptions): (config: FullConfig) => Promise<void>;
export function ensureSessions(names?: string[], options?: SessionsSetupOptions): (config: FullConfig) => Promise<void>;
export function ensureSessions(namesOrOptions?: string[] | SessionsSetupOptions, options: SessionsSetupOptions = {}): (config: FullConfig) => Promise<void> {
  const names = Array.isArray(namesOrOptions) ? namesOrOptions : undefined;
  const setup = namesOrOptions && !Array.isArray(namesOrOptions) ? namesOrOptions : options;
  return async (config) => (await import('./global-setup.js')).setUpSessions(config, names, setup);
}

/**
 * `use.launchOptions` that find a Chromium the way raptor does (`RAPTOR_BROWSER`, Playwright's
 * build, the system's) with the flags it needs as root or on a closed network.
 */
export function raptorLaunchOptions(): { executablePath: string; args: string[] } {
  return { executablePath: findBrowserSync().executablePath, args: chromiumArgs() };
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

interface InternalTestFixtures {
  sessions: SessionsFixture;
  /** What this test's `storageState`, `context` and `page` fixtures tell each other. */
  _raptorPlan: TestPlan;
  /** Set up before the context whenever the test uses `page` (see the `page` fixture). */
  _raptorPageWanted: void;
  /** The identity of the test's session (its record's: the role's, once resolved), for the option fixtures below. */
  _raptorIdentity: Identity | undefined;
  /** The test's own options (`test.use`) give its context another identity than its session's. */
  _raptorIdentityOverridden: boolean;
}

export const test = base.extend<RaptorTestOptions & InternalTestFixtures, RaptorWorkerOptions & { raptorSessions: WorkerSessions }>({
  session: [undefined, { option: true }],
  sessionsDir: [undefined, { option: true, scope: 'worker' }],

  raptorSessions: [
    async ({ browser, sessionsDir }, use) => {
      // Opened on the first role a test of this worker needs: a worker whose tests use none never loads it.
      let opened: Promise<WorkerSessions> | undefined;
      const open = (): Promise<WorkerSessions> => (opened ??= import('./worker-sessions.js').then((m) => m.openWorkerSessions(browser, sessionsDir)));
      await use({
        get: async (...args) => (await open()).get(...args),
        verifyInPage: async (...args) => (await open()).verifyInPage(...args),
        verifyContext: async (...args) => (await open()).verifyContext(...args),
        rotate: async (...args) => (await open()).rotate(...args),
        close: async () => (opened ? (await opened).close() : undefined),
      });
      if (opened) await (await opened).close();
    },
    { scope: 'worker' },
  ],

  _raptorPlan: [async ({}, use) => use({ pageWanted: false, pending: false }), { box: true }],

  // Playwright sets fixtures up depth first, in the order a fixture names them: the `page`
  // fixture below names this one before the `page` it extends, so a test that uses `page` marks
  // the plan before its `context` is set up. (Not before `storageState`: Playwright's own auto
  // fixtures need the context options, so `storageState` comes first, whatever the test uses.)
  _raptorPageWanted: [
    async ({ _raptorPlan }, use) => {
      _raptorPlan.pageWanted = true;
      await use();
    },
    { box: true },
  ],

  storageState: async ({ session, storageState, raptorSessions, baseURL, _raptorPlan }, use, testInfo) => {
    if (!session) return use(storageState);
    // A check still to run is left to `context` (or `page`, when the test uses one: it runs there).
    const resolved = await notCharged(testInfo, loginBudget(session), raptorSessions.get(session, baseOptions(baseURL), true));
    _raptorPlan.record = resolved.record;
    _raptorPlan.pending = !resolved.verified;
    await use(toPlaywrightState(resolved.record.storageState));
  },

  // The session's identity on the test's context. These replace Playwright's option fixtures as
  // plain fixtures (not options), so the config's `use` (a device preset too) sets what they get
  // as the value beneath, and the identity wins over it; a spec's `test.use({ userAgent })` comes
  // after and wins over the identity, for a test that wants to see another browser.
  _raptorIdentity: [
    async ({ session, storageState, _raptorPlan }, use) => {
      void storageState; // set up first: it resolves the session and puts its record in the plan
      await use(session ? _raptorPlan.record?.identity : undefined);
    },
    { box: true },
  ],
  userAgent: async ({ userAgent, _raptorIdentity }, use) => use(_raptorIdentity?.userAgent ?? userAgent),
  locale: async ({ locale, _raptorIdentity }, use) => use(_raptorIdentity?.locale ?? locale),
  timezoneId: async ({ timezoneId, _raptorIdentity }, use) => use(_raptorIdentity?.timezoneId ?? timezoneId),
  viewport: async ({ viewport, _raptorIdentity }, use) => use(_raptorIdentity?.viewport ?? viewport),
  deviceScaleFactor: async ({ deviceScaleFactor, _raptorIdentity }, use) => use(_raptorIdentity?.deviceScaleFactor ?? deviceScaleFactor),
  colorScheme: async ({ colorScheme, _raptorIdentity }, use) => use(_raptorIdentity?.colorScheme ?? colorScheme),
  geolocation: async ({ geolocation, _raptorIdentity }, use) => use(_raptorIdentity?.geolocation ?? geolocation),
  permissions: async ({ permissions, _raptorIdentity }, use) => use(_raptorIdentity?.permissions ?? permissions),
  extraHTTPHeaders: async ({ extraHTTPHeaders, _raptorIdentity }, use) => use(_raptorIdentity?.extraHTTPHeaders ?? extraHTTPHeaders),
  httpCredentials: async ({ httpCredentials, _raptorIdentity }, use) => use(_raptorIdentity?.httpCredentials ?? httpCredentials),
  proxy: async ({ proxy, _raptorIdentity }, use) => use(_raptorIdentity?.proxy ?? proxy),
  _raptorIdentityOverridden: [
    async ({ _raptorIdentity, userAgent, locale, timezoneId, viewport, deviceScaleFactor, colorScheme, geolocation, permissions, extraHTTPHeaders, httpCredentials, proxy }, use) => {
      const final: Record<string, unknown> = { userAgent, locale, timezoneId, viewport, deviceScaleFactor, colorScheme, geolocation, permissions, extraHTTPHeaders, httpCredentials, proxy };
      await use(Object.entries(_raptorIdentity ?? {}).some(([field, value]) => JSON.stringify(final[field]) !== JSON.stringify(value)));
    },
    { box: true },
  ],

  context: async ({ context, session, raptorSessions, baseURL, _raptorPlan, _raptorIdentityOverridden }, use, testInfo) => {
    if (!session) return use(context);
    // A test that overrides its identity would fail the check in its own page and log the role in
    // again for nothing: its check runs in a context of the session's own identity instead.
    if (_raptorPlan.pending && (!_raptorPlan.pageWanted || _raptorIdentityOverridden)) {
      await notCharged(testInfo, loginBudget(session), raptorSessions.verifyContext(session, context, _raptorPlan, baseOptions(baseURL)));
    }
    _raptorPlan.sessionStorageScript = await addSessionStorage(context, _raptorPlan.record!.sessionStorage);
    await use(context);
    if (roleOptions(session)?.rotate && testInfo.status === testInfo.expectedStatus && testInfo.status === 'passed') {
      await raptorSessions.rotate(session, _raptorPlan.record!, context, baseOptions(baseURL));
    }
  },

  page: async ({ _raptorPageWanted, page, session, raptorSessions, baseURL, _raptorPlan }, use, testInfo) => {
    void _raptorPageWanted;
    if (session && _raptorPlan.pending) {
      await notCharged(testInfo, loginBudget(session), raptorSessions.verifyInPage(session, page, _raptorPlan, baseOptions(baseURL)));
    }
    await use(page);
  },

  sessions: async ({ browser, raptorSessions, baseURL }, use, testInfo) => {
    const { contextWithSession } = await import('./ensure-session.js');
    const opened: BrowserContext[] = [];
    const contextOptions = baseOptions(baseURL);
    const context = async (role: string): Promise<BrowserContext> => {
      const { record } = await notCharged(testInfo, loginBudget(role), raptorSessions.get(role, contextOptions, false));
      const created = await contextWithSession(browser, record, contextOptions);
      opened.push(created);
      return created;
    };
    await use({ context, page: async (role) => (await context(role)).newPage() });
    await Promise.all(opened.map((c) => c.close()));
  },
});

const baseOptions = (baseURL: string | undefined): BrowserContextOptions => (baseURL ? { baseURL } : {});

/**
 * The most a role's resolution can take: waiting for another worker's login (the lock gives up
 * after `2 × loginTimeout + 30 s`), our own login (`loginTimeout`), and a minute for launching
 * contexts and running `check`. raptor's own deadlines end it well before, with its own message.
 */
function loginBudget(role: string): number {
  const loginTimeout = roleOptions(role)?.loginTimeout ?? 60_000;
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
