import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { findBrowserSync } from '../../src/browser/find.js';
import { stopKeepAlive } from '../../src/browser/keep-alive.js';
import { SessionManager, type OpenOptions } from '../../src/manager.js';
import { createTempDir } from './temp-dir.js';

/**
 * A private raptor home in a temp dir (sessions, profiles, config) and a manager on it.
 * `dispose()` stops every kept-alive browser the test started and removes the dir.
 */
export async function createRaptorEnv(options: Omit<OpenOptions, 'env'> = {}) {
  const tmp = await createTempDir('raptor-home-');
  const env: NodeJS.ProcessEnv = { ...process.env, RAPTOR_HOME: tmp.path };
  delete env['RAPTOR_SESSIONS_DIR'];
  const open = (extra: Omit<OpenOptions, 'env'> = {}) => SessionManager.open({ ...options, ...extra, env });
  const manager = await open();
  return {
    home: tmp.path,
    sessionsDir: join(tmp.path, 'sessions'),
    env,
    manager,
    open,
    async dispose() {
      const profiles = await readdir(manager.paths.profilesDir).catch(() => [] as string[]);
      for (const profile of profiles) await stopKeepAlive(join(manager.paths.profilesDir, profile));
      await manager.close();
      await tmp.remove();
    },
  };
}

let browser: string | undefined;

/**
 * The Chromium the tests launch, found as raptor finds it (`RAPTOR_BROWSER`, Playwright's build,
 * the system's), so a machine whose Chromium lives elsewhere runs the suite too. Tests that
 * spawn the CLI pass it as `RAPTOR_BROWSER`, so that the CLI uses the very same one.
 */
export function testBrowser(): string {
  browser ??= findBrowserSync().executablePath;
  return browser;
}
