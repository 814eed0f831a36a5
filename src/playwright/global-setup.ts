/**
 * The `globalSetup` form of the ensureSession style (`ensureSessions()` in `raptor-sessions/test`):
 * before any worker starts, the runner process makes every role usable at once in one browser
 * (launched only when a role needs a check or a login), checking the saved session or logging in (`ensureSession`, with its lock, stamps and
 * state files). No setup project, so no extra workers and browsers; and since it stamps each
 * role verified, fixture-style tests (`test.use({ session })`) of the same run skip their checks.
 *
 * ```ts
 * // global-setup.ts                          // playwright.config.ts
 * import { ensureSessions } from 'raptor-sessions/test';   //   globalSetup: './global-setup.ts',
 * import './tests/roles';
 * export default ensureSessions();
 * ```
 */
import { chromium } from '@playwright/test';
import type { Browser, BrowserContextOptions, FullConfig, LaunchOptions } from '@playwright/test';
import { chromiumArgs, findBrowserSync } from '../browser/find.js';
import { RaptorError } from '../core/errors.js';
import { SessionManager } from '../manager.js';
import { ensureSessionWith } from './ensure-session.js';
import { definedRoles, roleOptions } from './roles.js';

export interface SessionsSetupOptions {
  /** @default the first project's `use.launchOptions`, else raptor's way of finding Chromium */
  launchOptions?: LaunchOptions;
  /** Options for the contexts that log in and check. @default `{ baseURL }` of the first project's `use` */
  contextOptions?: BrowserContextOptions;
  /** Sessions directory. @default RAPTOR_SESSIONS_DIR or ~/.raptor/sessions */
  sessionsDir?: string;
}

export async function setUpSessions(config: FullConfig, names: string[] | undefined, options: SessionsSetupOptions): Promise<void> {
  const wanted = names ?? definedRoles();
  if (wanted.length === 0) {
    throw new RaptorError('INVALID_INPUT', 'ensureSessions() found no role: import the file that calls `defineRole` in your global setup file, before `ensureSessions()`, or pass the names.');
  }
  const undeclared = wanted.filter((name) => !roleOptions(name));
  if (undeclared.length > 0) {
    throw new RaptorError('NOT_FOUND', `ensureSessions(): no \`defineRole\` for ${undeclared.map((n) => `\`${n}\``).join(', ')}. Import the file that declares them in your global setup file.`);
  }
  const use = config.projects[0]?.use ?? {};
  const launchOptions = options.launchOptions ?? use.launchOptions ?? { executablePath: findBrowserSync().executablePath, args: chromiumArgs() };
  const contextOptions = options.contextOptions ?? (use.baseURL ? { baseURL: use.baseURL } : {});
  const manager = await SessionManager.open({ ...(options.sessionsDir ? { dir: options.sessionsDir } : {}), autoCleanup: false });
  try {
    // One browser for every role, launched only if a check or a login needs it.
    let launching: Promise<Browser> | undefined;
    const getBrowser = (): Promise<Browser> => (launching ??= chromium.launch(launchOptions));
    try {
      const results = await Promise.allSettled(wanted.map((name) => ensureSessionWith(name, { ...roleOptions(name)!, manager, contextOptions }, getBrowser)));
      const failed = results.flatMap((r) => (r.status === 'rejected' ? [r.reason as Error] : []));
      if (failed.length === 1) throw failed[0];
      if (failed.length > 1) throw new RaptorError('LOGIN_FAILED', `ensureSessions(): ${failed.length} roles failed:\n- ${failed.map((e) => e.message).join('\n- ')}`, { cause: failed[0] });
    } finally {
      // Closed while the workers start, not before: its state is saved and the runner lives on
      // until the run ends, so nothing of it outlives the run. A close that fails changes nothing.
      void launching?.then((browser) => browser.close()).catch(() => undefined);
    }
  } finally {
    await manager.close();
  }
}
