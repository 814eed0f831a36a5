/**
 * One worker of the fleet refresh test, run as its own process: acquire a session of the pool,
 * open `/me` with the leased state; when the app says `anonymous` (it forgot every login), log the
 * session in again under the lease (`manager.refreshLease`) and carry on with the fresh state;
 * then release it as a success with the state the context ends with. Until the stop file appears.
 *
 * Its log (one JSON line per event, `process.hrtime` stamps, as `worker.ts`) is the witness:
 * `acquired` is written after acquire() returned and `released` before release() is called, so a
 * logged hold lies inside the real one, and a `refreshed` line between them was this holder's.
 */
import { appendFileSync, existsSync, openSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Browser, BrowserContext } from 'playwright-core';
import { captureContext } from '../../src/browser/capture.js';
import { contextOptionsFor } from '../../src/browser/context-options.js';
import { launchBrowser } from '../../src/browser/launch.js';
import { SessionManager } from '../../src/manager.js';
import type { PoolLease } from '../../src/store/types.js';
import { recipeFor, userOf } from './user-recipe.js';

export interface RefreshWorkerConfig {
  store: string;
  home: string;
  owner: string;
  log: string;
  baseURL: string;
  leaseMs: number;
  /** A file the test writes once the pool is logged in (the workers start meanwhile). */
  go: string;
  /** A file the test writes when the workers should stop. */
  stop: string;
}

const config = JSON.parse(process.argv[2]!) as RefreshWorkerConfig;
const fd = openSync(config.log, 'a');
const log = (event: Record<string, unknown>): void => appendFileSync(fd, `${JSON.stringify({ owner: config.owner, at: process.hrtime.bigint().toString(), ...event })}\n`);

const manager = await SessionManager.open({ store: config.store, autoCleanup: false, env: { ...process.env, RAPTOR_HOME: config.home } });
const browser = await launchBrowser('chromium');

/** Who `/me` says the leased state is logged in as, in a context of that state (left open for the release). */
async function visit(browser: Browser, lease: PoolLease): Promise<{ user: string; context: BrowserContext }> {
  const context = await browser.newContext({ ...contextOptionsFor(lease.session), baseURL: config.baseURL });
  const page = await context.newPage();
  await page.goto('/me');
  return { user: await page.locator('#user').innerText(), context };
}

log({ event: 'ready' });
while (!existsSync(config.go)) await sleep(20);
try {
  while (!existsSync(config.stop)) {
    let lease = await manager.acquire({ leaseMs: config.leaseMs, owner: config.owner });
    if (!lease) {
      await sleep(10 + Math.random() * 20);
      continue;
    }
    log({ event: 'acquired', session: lease.name });
    let { user, context } = await visit(browser, lease);
    try {
      if (user === 'anonymous') {
        log({ event: 'logged-out', session: lease.name, revision: lease.session.revision });
        const result = await manager.refreshLease(lease, recipeFor(lease.name), { browser, baseURL: config.baseURL });
        if (!result.refreshed) {
          log({ event: 'retired', session: lease.name }); // the refresh released it (the test fails on this line anyway)
          log({ event: 'released', session: lease.name });
          continue;
        }
        lease = result.lease;
        log({ event: 'refreshed', session: lease.name, revision: lease.session.revision });
        await context.close();
        ({ user, context } = await visit(browser, lease));
      }
      const outcome = user === userOf(lease.name) ? 'success' : 'error';
      if (outcome === 'error') log({ event: 'wrong-user', session: lease.name, user });
      const state = await captureContext(context);
      log({ event: 'released', session: lease.name });
      const stored = await lease.release({ outcome, storageState: state.storageState, sessionStorage: state.sessionStorage });
      log({ event: 'persisted', session: lease.name, revision: stored.revision });
    } catch (error) {
      log({ event: 'failed', session: lease.name, error: (error as Error).message });
      log({ event: 'released', session: lease.name });
      await lease.abandon().catch(() => undefined);
    } finally {
      await context.close().catch(() => undefined);
    }
  }
} finally {
  await browser.close().catch(() => undefined);
  await manager.close();
}
