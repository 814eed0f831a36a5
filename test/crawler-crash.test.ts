/**
 * The crawler's promise, tested the hard way: SIGKILL the example crawler at random moments,
 * restart it each time, and check that every page was done, none lost, none done twice except
 * those in flight at a kill, the journal always readable, and every restart reattached to the
 * browser that survived. Then kill the browser instead, more than once: the crawler relaunches each
 * time and finishes logged in.
 *
 * The kill moments are seeded (`RAPTOR_SEED`); a failing test prints the seed that replays it.
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { killHard } from '../fixtures/processes.js';
import { startFixtureSite, type FixtureSite } from '../fixtures/site/server.js';
import { probeCdp } from '../src/browser/connect.js';
import { readKeepAlive, stopKeepAlive } from '../src/browser/keep-alive.js';
import { crawlDirFor } from '../src/env/paths.js';
import { readJournal } from '../src/crawler/journal.js';
import { readHeartbeat } from '../src/crawler/owner.js';
import { profileDirFor } from '../src/env/paths.js';
import { createTempDir } from './helpers/temp-dir.js';
import { spawnCrawler, type CrawlerRun } from './helpers/crawler-process.js';
import { testSeed } from './helpers/test-seed.js';

const PAGES = 300;
const CONCURRENCY = 4;
const KILLS = Number(process.env['RAPTOR_CRASH_KILLS'] ?? 10);
/** Browser kills during one crawl (`test:stress` raises it). */
const BROWSER_KILLS = Number(process.env['RAPTOR_BROWSER_KILLS'] ?? 2);
const { random, seeded } = testSeed('RAPTOR_SEED');

type Run = CrawlerRun;

/** Every crawler started, so that none outlives the test that started it. */
const runs: Run[] = [];

/** The crawler's exit code. One still running after `ms` is killed and reported with its last words. */
async function exitCode(run: Run, ms: number): Promise<number | null> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<'late'>((resolve) => (timer = setTimeout(() => resolve('late'), ms)));
  const code = await Promise.race([run.exited, late]).finally(() => clearTimeout(timer));
  if (code !== 'late') return code;
  await killHard(run.child.pid!);
  const last = run.events.slice(-5).map((e) => JSON.stringify(e)).join('\n');
  throw new Error(`the crawler did not finish within ${ms / 1000} s.\nIts last events:\n${last}\nIts stderr:\n${run.stderr().slice(-4000)}`);
}

/** Polls `done` every 100 ms until it holds, for at most 60 s (a crawler that never gets there then fails on its exit code). */
async function until(done: () => Promise<boolean>): Promise<void> {
  for (let waited = 0; waited < 60_000 && !(await done()); waited += 100) await new Promise((r) => setTimeout(r, 100));
}

function startCrawler(site: string, env: NodeJS.ProcessEnv, effects: string, session: string, pageDelayMs: number): Run {
  const run = spawnCrawler([site, '--session', session, '--concurrency', String(CONCURRENCY), '--page-delay-ms', String(pageDelayMs), '--effects-log', effects], env);
  runs.push(run);
  return run;
}

describe('crawler crash recovery', () => {
  let site: FixtureSite;
  let home: Awaited<ReturnType<typeof createTempDir>>;
  let env: NodeJS.ProcessEnv;

  beforeAll(async () => {
    site = await startFixtureSite({ pages: PAGES });
    home = await createTempDir('raptor-crawl-');
    env = { ...process.env, RAPTOR_HOME: home.path };
  });
  afterAll(async () => {
    for (const run of runs) if (run.child.exitCode === null && run.child.signalCode === null) await killHard(run.child.pid!);
    for (const session of ['crash', 'browser-kill']) await stopKeepAlive(profileDirFor(join(home.path, 'profiles'), session));
    await site?.close();
    await home?.remove();
  });

  it(`survives ${KILLS} SIGKILLs at random moments and finishes every page exactly once (but in-flight ones)`, async () => {
    const effects = join(home.path, 'crash-effects.log');
    const profileDir = profileDirFor(join(home.path, 'profiles'), 'crash');
    const dir = crawlDirFor(home.path, 'crash');
    const browserIds = new Set<string>();
    let kills = 0;
    let reattachChecks = 0;
    for (;;) {
      // Is the kept-alive browser alive before this restart? Then the restart must reattach to it.
      const kept = await readKeepAlive(profileDir);
      const before = kept ? await probeCdp(kept.cdpUrl, 1000) : { alive: false as const };
      const run = startCrawler(site.url, env, effects, 'crash', 40);
      const start = await run.started;
      if (before.alive) {
        expect(start.mode, seeded(`restart ${kills}: browser was alive`)).toBe('reattached');
        expect(start.browserId).toBe(before.browserId);
        reattachChecks++;
      }
      browserIds.add(start.browserId);
      if (kills >= KILLS) {
        expect(await exitCode(run, 120_000), run.stderr().slice(-4000)).toBe(0);
        expect(run.events.at(-1)).toMatchObject({ event: 'done', progress: { total: PAGES, completed: PAGES, failed: 0, pending: 0 } });
        break;
      }
      await new Promise((r) => setTimeout(r, 300 + random() * 900));
      await killHard(run.child.pid!);
      kills++;
      // The journal a kill -9 left behind is always readable.
      expect(() => readJournal(dir)).not.toThrow();
    }
    expect(kills).toBe(KILLS);
    expect(reattachChecks).toBe(KILLS);
    expect(browserIds.size).toBe(1); // one browser survived every crash

    const done = (await readFile(effects, 'utf8')).trim().split('\n');
    const counts = new Map<string, number>();
    for (const url of done) counts.set(url, (counts.get(url) ?? 0) + 1);
    expect(counts.size).toBe(PAGES); // none lost
    const duplicates = done.length - counts.size;
    expect(duplicates).toBeLessThanOrEqual(KILLS * CONCURRENCY); // only pages in flight at a kill ran twice
    const final = readJournal(dir).state.progress();
    expect(final).toEqual({ total: PAGES, pending: 0, inFlight: 0, completed: PAGES, failed: 0 });
  }, 150_000 + KILLS * 15_000); // scales with the kill count of `test:stress`

  it(`relaunches with the saved state each time the browser (not the crawler) is killed, ${BROWSER_KILLS}× at random moments, and finishes logged in`, async () => {
    // A site of its own, smaller: relaunches need no 300 pages, and a shared CI machine runs it faster.
    const pages = 80 + 40 * (BROWSER_KILLS - 1);
    const small = await startFixtureSite({ pages });
    const profileDir = profileDirFor(join(home.path, 'profiles'), 'browser-kill');
    try {
      const effects = join(home.path, 'browser-kill-effects.log');
      // At `info` the crawler says on stderr when it sees the browser die and relaunches it.
      const run = startCrawler(small.url, { ...env, RAPTOR_LOG_LEVEL: 'info' }, effects, 'browser-kill', 20);
      const start = await run.started;
      const browserIds = [start.browserId as string];
      let kills = 0;
      let exited = false;
      void run.exited.then(() => (exited = true));
      /** Whether the last kill hit a browser the crawler was still relaunching with (not yet in its heartbeat). */
      let lastKillEarly = false;
      const crawlingOn = async (browserId: string): Promise<boolean> => (await readHeartbeat(crawlDirFor(home.path, 'browser-kill')))?.browserId === browserId;
      while (kills < BROWSER_KILLS && !exited) {
        // Early kills land while the crawler opens its tabs (a tab opening as the browser died once hung it:
        // open-tab.test.ts) or while it is still putting the saved state into the new browser.
        await new Promise((r) => setTimeout(r, 50 + random() * (kills === 0 ? 1500 : 2000)));
        const kept = await readKeepAlive(profileDir);
        expect(kept?.browserId, seeded(`kill ${kills + 1}`)).toBe(browserIds.at(-1));
        // Twice in a row during a relaunch would be a browser that cannot start (the crawler tries 3 times): let this one be used first.
        if (lastKillEarly) await until(async () => exited || (await crawlingOn(kept!.browserId)));
        if (exited) break;
        lastKillEarly = !(await crawlingOn(kept!.browserId));
        await killHard(kept!.pid, true);
        kills++;
        // The crawler relaunches: a new browser is recorded (or the crawl ends, when it was the last pages).
        await until(async () => {
          const next = await readKeepAlive(profileDir);
          if (next && next.browserId !== kept!.browserId) browserIds.push(next.browserId);
          return exited || browserIds.at(-1) !== kept!.browserId;
        });
      }
      expect(kills, seeded('browser kills')).toBeGreaterThanOrEqual(1);
      expect(await exitCode(run, 150_000), seeded(run.stderr().slice(-4000))).toBe(0);
      // One relaunch per kill: after a death seen while crawling, or again when the browser died while being relaunched.
      // (A kill while the crawl was already closing needs none.)
      const relaunches = run.stderr().match(/the browser died; relaunching|the relaunched browser failed too; relaunching again/g)?.length ?? 0;
      expect(relaunches, seeded('relaunches')).toBeGreaterThanOrEqual(1);
      expect(relaunches, seeded('relaunches')).toBeLessThanOrEqual(kills);
      expect(run.events.at(-1)).toMatchObject({ event: 'done', progress: { completed: pages, failed: 0 } });
      // Pages behind the login answer 401 when logged out; those never count as done. All did.
      const done = new Set((await readFile(effects, 'utf8')).trim().split('\n'));
      expect(done.size).toBe(pages);
      expect(new Set(browserIds).size).toBe(browserIds.length); // every relaunch is a new browser
    } finally {
      await small.close();
    }
  }, 180_000 + BROWSER_KILLS * 20_000);
});
