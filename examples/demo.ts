/**
 * The whole raptor story against the local fixture site, with timings:
 * launch a kept-alive browser, log in, save, kill the owning process (SIGKILL), restore by
 * reattach, kill the browser, restore by relaunch. Run with `npm run demo`.
 * Everything lives in a temp RAPTOR_HOME that is removed at the end.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { readKeepAlive } from '../src/browser/keep-alive.js';
import { SessionManager } from '../src/manager.js';
import { profileDirFor } from '../src/env/paths.js';
import { killHard, spawnTs } from '../fixtures/processes.js';
import { readStatus, type SiteStatus } from '../fixtures/site/drive.js';
import { startFixtureSite } from '../fixtures/site/server.js';

const home = await mkdtemp(join(tmpdir(), 'raptor-demo-'));
const env = { ...process.env, RAPTOR_HOME: home };
const site = await startFixtureSite();
const name = 'demo-user';
let manager: SessionManager | undefined;

const step = (text: string): void => console.log(`\n▸ ${text}`);
const show = (status: SiteStatus): string =>
  (['cookie', 'localStorage', 'sessionStorage', 'indexedDB'] as const).map((k) => `${k} ${status[k] ? '✔' : '✘'}`).join('  ');
const timed = async <T>(fn: () => Promise<T>): Promise<[T, number]> => {
  const started = performance.now();
  const value = await fn();
  return [value, Math.round(performance.now() - started)];
};

try {
  console.log(`raptor demo: fixture site at ${site.url}, sessions in ${home}/sessions`);

  step('A crawler process launches a kept-alive browser, logs in and saves the session');
  const owner = spawnTs('fixtures/owner-process.ts', [name, site.url], env);
  const [saved, launchMs] = await timed(() => owner.firstLine as Promise<{ cdpUrl: string; browserId: string }>);
  console.log(`  browser ${saved.browserId} at ${saved.cdpUrl}; logged in and saved in ${launchMs} ms (logins so far: ${site.loginCount()})`);

  step('The crawler process is killed with SIGKILL: no cleanup, no goodbye');
  await killHard(owner.child.pid!);
  console.log(`  process ${owner.child.pid} is gone; the browser is not`);

  manager = await SessionManager.open({ env });
  await import('playwright-core'); // load Playwright once up front, so the timings below are the restores themselves
  step('restore() reattaches over CDP to the browser that survived');
  const [reattached, reattachMs] = await timed(() => manager!.restore(name));
  const tab = reattached.context.pages().find((p) => p.url().startsWith(site.url));
  console.log(`  mode: ${reattached.mode} in ${reattachMs} ms; same browser: ${reattached.browserId === saved.browserId ? 'yes' : 'NO'}`);
  console.log(`  the tab the crawler left open: ${tab?.url()}`);
  console.log(`  ${show(await readStatus(tab!, site.url))}`);
  await reattached.close();

  step('Now the browser dies too (SIGKILL to its process group)');
  const kept = await readKeepAlive(profileDirFor(manager.paths.profilesDir, name));
  await killHard(kept!.pid, true);
  console.log(`  browser ${kept!.pid} is gone`);

  step('restore() finds nobody at the CDP URL and relaunches with the saved state');
  const [relaunched, relaunchMs] = await timed(() => manager!.restore(name));
  console.log(`  mode: ${relaunched.mode} in ${relaunchMs} ms (${relaunched.reattachFailure})`);
  const page = await relaunched.context.newPage();
  const status = await readStatus(page, site.url);
  console.log(`  ${show(status)}  user: ${status.user}`);
  await relaunched.close();

  console.log(`\nLogins performed: ${site.loginCount()} (one, at the start). Reattach ${reattachMs} ms, relaunch ${relaunchMs} ms.`);
  if (site.loginCount() !== 1 || reattached.mode !== 'reattached' || relaunched.mode !== 'relaunched' || !Object.values(status).every(Boolean)) {
    throw new Error('the demo did not go as described above');
  }
} finally {
  if (manager) {
    await manager.stopBrowser(name).catch(() => undefined); // best effort: the temp home goes next anyway
    await manager.close();
  }
  await site.close();
  await rm(home, { recursive: true, force: true });
}
