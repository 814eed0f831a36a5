/**
 * Attack on the crawler's ownership promise: one crawl, one owner, whatever happens to it.
 *
 * - A second crawler of the same session is refused with `LOCKED`.
 * - The owner is frozen (SIGSTOP) at a seeded random moment, past 3 heartbeats; two takers race
 *   for the crawl: one gets it, the other `LOCKED`. The taker must finish pages while the owner is
 *   still frozen. Then the owner is resumed (SIGCONT): it must stop before its next write, say
 *   `OWNERSHIP_LOST` without a stack, and do no page of the taker's. Every URL is done, no URL is
 *   done twice except those in flight at the freeze (counted by the crawler's side effects and by
 *   the site's own request counter), and the journal replays to the taker's final table.
 * - Crawlers killed with SIGKILL leave no stray tabs in the kept-alive browser (CDP `/json/list`).
 * - 403 on every page: no more than `maxBlocked` requests are sent, the session is retired,
 *   `crawl status` says so instead of recommending a resume, and `Crawl.open` refuses it.
 * - A 12 s old heartbeat is shown as 12 s old, not "just now".
 *
 * Randomness is seeded (`RAPTOR_SEED`); every assertion message carries the seed.
 * Heavier runs (test:stress): RAPTOR_SPLIT_ROUNDS (default 1) freezes, RAPTOR_SPLIT_PAGES (default 60)
 * pages per frozen crawl, RAPTOR_OWNERSHIP_KILLS (default 2) kills.
 */
import { readFile, mkdir, writeFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { killHard } from '../../fixtures/processes.js';
import { startFixtureSite, type FixtureSite } from '../../fixtures/site/server.js';
import { readKeepAlive, stopKeepAlive } from '../../src/browser/keep-alive.js';
import { Crawl } from '../../src/crawler/crawl.js';
import { crawlDirFor } from '../../src/env/paths.js';
import { readJournal } from '../../src/crawler/journal.js';
import { isRaptorError } from '../../src/core/errors.js';
import { SessionManager } from '../../src/manager.js';
import { profileDirFor } from '../../src/env/paths.js';
import { runCli } from '../helpers/cli.js';
import { createTempDir } from '../helpers/temp-dir.js';
import { testSeed } from '../helpers/test-seed.js';
import { spawnCrawler, type CrawlerRun } from '../helpers/crawler-process.js';

const { seed: SEED, random, seeded } = testSeed('RAPTOR_SEED');
const ROUNDS = Number(process.env['RAPTOR_SPLIT_ROUNDS'] ?? 1);
const KILLS = Number(process.env['RAPTOR_OWNERSHIP_KILLS'] ?? 2);
const PAGES = Number(process.env['RAPTOR_SPLIT_PAGES'] ?? 60);
/** The kill test's site: enough pages for a few kills, small enough for a loaded CI machine. */
const KILL_PAGES = 40;
const CONCURRENCY = 4;
const HEARTBEAT_MS = 300;
/** A stack trace line as Node prints it: `    at fn (file:line:col)`. */
const STACK = /\n\s+at .+:\d+:\d+/;

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

type Run = CrawlerRun;
const runs: Run[] = [];

function startCrawler(site: string, env: NodeJS.ProcessEnv, session: string, effects: string, extra: string[] = []): Run {
  const args = [site, '--session', session, '--concurrency', String(CONCURRENCY), '--effects-log', effects];
  const run = spawnCrawler([...args, '--heartbeat-ms', String(HEARTBEAT_MS), '--progress-every', '5', ...extra], env);
  runs.push(run);
  return run;
}

/** Resolves with the exit code; a crawler still running after `ms` is killed and the test fails with its last words. */
async function exitCode(run: Run, ms: number): Promise<number | null> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<'late'>((resolve) => (timer = setTimeout(() => resolve('late'), ms)));
  const code = await Promise.race([run.exited, late]).finally(() => clearTimeout(timer));
  if (code !== 'late') return code;
  await killHard(run.child.pid!);
  throw new Error(seeded(`a crawler did not finish within ${ms / 1000} s. Last events:\n${run.events.slice(-5).map((e) => JSON.stringify(e)).join('\n')}\nstderr:\n${run.stderr().slice(-3000)}`));
}

/** Waits until `predicate` holds, or fails after `ms` (generous: this proves "does not hang", not speed). */
async function waitFor(what: string, predicate: () => boolean | Promise<boolean>, ms: number): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await predicate())) {
    if (Date.now() > deadline) throw new Error(seeded(`${what}: not within ${ms / 1000} s`));
    await sleep(50);
  }
}

async function lines(path: string): Promise<string[]> {
  if (!existsSync(path)) return [];
  return (await readFile(path, 'utf8')).split('\n').filter(Boolean);
}

function counts(urls: string[]): Map<string, number> {
  const map = new Map<string, number>();
  for (const url of urls) map.set(url, (map.get(url) ?? 0) + 1);
  return map;
}

/** Page targets of the session's kept-alive browser, as CDP lists them. */
async function pageTabs(home: string, session: string): Promise<number> {
  const kept = await readKeepAlive(profileDirFor(join(home, 'profiles'), session));
  if (!kept) return 0;
  const list = (await (await fetch(`${kept.cdpUrl}/json/list`)).json()) as { type: string }[];
  return list.filter((target) => target.type === 'page').length;
}

describe('crawler ownership under attack', () => {
  let home: Awaited<ReturnType<typeof createTempDir>>;
  let env: NodeJS.ProcessEnv;
  const sessions: string[] = [];
  const sites: FixtureSite[] = [];

  beforeAll(async () => {
    home = await createTempDir('raptor-own-');
    env = { ...process.env, RAPTOR_HOME: home.path };
    delete env['RAPTOR_SESSIONS_DIR'];
    delete env['RAPTOR_LOG_LEVEL'];
  });
  // A test that failed leaves its crawlers running: stop them before the next test starts.
  afterEach(async () => {
    for (const run of runs) {
      if (run.child.exitCode !== null || run.child.signalCode !== null) continue;
      try {
        process.kill(run.child.pid!, 'SIGCONT');
      } catch {
        // already gone
      }
      await killHard(run.child.pid!);
    }
  });
  afterAll(async () => {
    for (const run of runs) {
      if (run.child.exitCode !== null || run.child.signalCode !== null) continue;
      try {
        process.kill(run.child.pid!, 'SIGCONT'); // a frozen child cannot die of SIGKILL until... it can, but be kind to the reaper
      } catch {
        // already gone
      }
      await killHard(run.child.pid!);
    }
    for (const session of sessions) await stopKeepAlive(profileDirFor(join(home.path, 'profiles'), session));
    for (const site of sites) await site.close();
    await home?.remove();
  });

  for (let round = 0; round < ROUNDS; round++) {
    it(`split brain, round ${round + 1}: a frozen owner is taken over, the taker crawls at once, the resumed owner stops with OWNERSHIP_LOST, no URL done twice`, async () => {
      const site = await startFixtureSite({ pages: PAGES });
      sites.push(site);
      const session = `split-${round}`;
      sessions.push(session);
      const effects = (who: string): string => join(home.path, `${session}-${who}.log`);
      // Compaction every 200 ms: a freeze at a random moment often lands in one.
      const fast = ['--compact-every-ms', '200', '--page-delay-ms', '20'];

      const t0 = performance.now();
      const at = (): number => Math.round(performance.now() - t0);
      const phases: string[] = [];
      const owner = startCrawler(site.url, env, session, effects('owner'), fast);
      await owner.started;
      phases.push(`owner started ${at()}`);

      // A second crawler while the owner lives: LOCKED, said plainly.
      const second = startCrawler(site.url, env, session, effects('second'), fast);
      expect(await exitCode(second, 60_000), seeded(second.stderr())).toBe(1);
      expect(second.events.at(-1), seeded('second crawler')).toMatchObject({ event: 'stopped', code: 'LOCKED' });
      expect(second.stderr(), seeded('second crawler stderr')).not.toMatch(STACK);
      phases.push(`second refused ${at()}`);

      // Freeze the owner at a random moment of its crawl, past 3 heartbeats.
      await sleep(200 + random() * 1500);
      process.kill(owner.child.pid!, 'SIGSTOP');
      const doneBeforeFreeze = (await lines(effects('owner'))).length;
      await sleep(3 * HEARTBEAT_MS + 700);

      // Two takers race: exactly one gets the crawl.
      const takers = [startCrawler(site.url, env, session, effects('taker-a'), fast), startCrawler(site.url, env, session, effects('taker-b'), fast)];
      const outcome = await Promise.race([
        Promise.any(takers.map((t) => t.started.then(() => t))),
        sleep(90_000).then(() => undefined),
      ]);
      expect(outcome, seeded('a taker starts while the owner is frozen')).toBeDefined();
      const taker = outcome!;
      const loser = takers.find((t) => t !== taker)!;
      expect(await exitCode(loser, 60_000), seeded(`the losing taker: ${loser.stderr()}`)).toBe(1);
      expect(loser.events.at(-1), seeded('the losing taker')).toMatchObject({ event: 'stopped', code: 'LOCKED' });
      const takerEffects = effects(taker === takers[0] ? 'taker-a' : 'taker-b');

      // The taker makes progress while the owner is still frozen.
      phases.push(`taker started ${at()}`);
      const takerStarted = performance.now();
      await waitFor('the taker finishes 10 pages while the owner is frozen', async () => (await lines(takerEffects)).length >= 10 || taker.child.exitCode !== null, 45_000);
      expect((await lines(takerEffects)).length, seeded(`taker progress; stderr: ${taker.stderr().slice(-2000)}`)).toBeGreaterThanOrEqual(10);
      const tenPagesMs = Math.round(performance.now() - takerStarted);
      const ownerDoneWhileFrozen = (await lines(effects('owner'))).length;
      expect(ownerDoneWhileFrozen, seeded('a frozen owner does nothing')).toBe(doneBeforeFreeze);

      // Resume the owner: it must notice, stop before its next write, and say so.
      process.kill(owner.child.pid!, 'SIGCONT');
      const ownerCode = await exitCode(owner, 60_000);
      expect(owner.stderr(), seeded('the resumed owner prints no stack')).not.toMatch(STACK);
      expect(owner.events.at(-1), seeded(`the resumed owner stops; stderr: ${owner.stderr().slice(-2000)}`)).toMatchObject({ event: 'stopped', code: 'OWNERSHIP_LOST' });
      expect(ownerCode, seeded('the resumed owner exit code')).toBe(1);
      expect(owner.stderr()).toMatch(/another process took over|lost ownership/i);
      // It may finish the pages it had in flight at the freeze, not one more.
      const ownerAfterResume = (await lines(effects('owner'))).length - doneBeforeFreeze;
      expect(ownerAfterResume, seeded('pages the resumed owner finished')).toBeLessThanOrEqual(CONCURRENCY);

      phases.push(`owner stopped ${at()}`);
      expect(await exitCode(taker, 120_000), seeded(taker.stderr().slice(-3000))).toBe(0);
      phases.push(`taker done ${at()}`);
      expect(taker.stderr(), seeded('taker stderr')).not.toMatch(STACK);
      const final = taker.events.at(-1);
      expect(final, seeded('the taker finishes the crawl')).toMatchObject({ event: 'done', progress: { total: PAGES, completed: PAGES, failed: 0, pending: 0, inFlight: 0 } });

      // Every URL done; done twice only if it was in flight when the owner froze.
      const all = [...(await lines(effects('owner'))), ...(await lines(takerEffects))];
      const done = counts(all);
      expect(done.size, seeded('URLs done')).toBe(PAGES);
      const twice = [...done.values()].filter((n) => n > 1).length;
      expect(twice, seeded(`URLs done more than once (of ${all.length} done)`)).toBeLessThanOrEqual(CONCURRENCY);
      expect(Math.max(...done.values()), seeded('most times one URL was done')).toBeLessThanOrEqual(2);
      // The site agrees: no URL requested again but those.
      const requested = site.pageRequests();
      expect(requested.size, seeded('URLs requested')).toBe(PAGES);
      const requestedAgain = [...requested.values()].filter((n) => n > 1).length;
      expect(requestedAgain, seeded('URLs the site served more than once')).toBeLessThanOrEqual(CONCURRENCY);

      // The journal on disk replays to the taker's table.
      const replayed = readJournal(crawlDirFor(home.path, session)).state;
      expect(replayed.progress(), seeded('replayed journal')).toEqual({ total: PAGES, completed: PAGES, failed: 0, pending: 0, inFlight: 0 });
      for (const [url, entry] of replayed.urls) expect(entry.result, seeded(`result of ${url}`)).toMatchObject({ title: expect.any(String) });
      console.log(
        `split brain round ${round + 1} (seed ${SEED}): owner froze after ${doneBeforeFreeze} pages; taker did 10 pages ${tenPagesMs} ms after starting; ` +
          `resumed owner finished ${ownerAfterResume}; ${twice} of ${PAGES} URLs done twice, ${requestedAgain} requested twice; taker recovered ${taker.events[0]?.recovered}; ms: ${phases.join(', ')}`,
      );
    }, 300_000);
  }

  it(`${KILLS} SIGKILLs leave no stray tabs in the kept-alive browser`, async () => {
    const site = await startFixtureSite({ pages: KILL_PAGES });
    sites.push(site);
    const session = 'kills';
    sessions.push(session);
    const effects = join(home.path, 'kills.log');
    let most = 0;
    for (let kill = 0; ; kill++) {
      const run = startCrawler(site.url, env, session, effects, ['--page-delay-ms', '40']);
      await run.started;
      // Once it crawls again, its own tabs (at most CONCURRENCY) and the browser's first one, no more.
      await waitFor('the restarted crawler finishes a page', async () => run.events.some((e) => e.event === 'progress') || run.child.exitCode !== null, 60_000);
      const tabs = await pageTabs(home.path, session);
      most = Math.max(most, tabs);
      expect(tabs, seeded(`page tabs after ${kill} kills`)).toBeLessThanOrEqual(CONCURRENCY + 1);
      if (kill >= KILLS) {
        expect(await exitCode(run, 120_000), seeded(run.stderr().slice(-3000))).toBe(0);
        break;
      }
      await sleep(200 + random() * 800);
      await killHard(run.child.pid!);
    }
    // A finished crawl closed its own tabs; what the killed ones opened was closed by their successors.
    expect(await pageTabs(home.path, session), seeded(`tabs left after the crawl (most seen: ${most})`)).toBeLessThanOrEqual(1);
    expect(counts(await lines(effects)).size).toBe(KILL_PAGES);
    console.log(`kills: ${KILLS} SIGKILLs, at most ${most} page tabs seen (seed ${SEED})`);
  }, 150_000 + KILLS * 20_000);

  it('403 on every page: at most maxBlocked requests, the session is retired, status says so, and the crawl refuses to resume', async () => {
    const site = await startFixtureSite({ pages: 50 });
    sites.push(site);
    site.blockPages(403);
    const session = 'blocked';
    sessions.push(session);
    const manager = await SessionManager.open({ env, autoCleanup: false });
    try {
      await manager.save(session, { storageState: { cookies: [], origins: [] } });
      const seeds = Array.from({ length: 30 }, (_, i) => `${site.url}/pages/${i + 1}`);
      const crawl = await Crawl.open({ session, manager, seeds, concurrency: CONCURRENCY, maxBlocked: 5, heartbeatMs: HEARTBEAT_MS });
      let error: unknown;
      try {
        await crawl.run(async () => undefined);
      } catch (e) {
        error = e;
      } finally {
        await crawl.close();
      }
      expect(isRaptorError(error, 'SESSION_BLOCKED'), String(error)).toBe(true);
      const sent = [...site.pageRequests().values()].reduce((a, b) => a + b, 0);
      expect(sent, 'requests sent to a site that blocks the session').toBeLessThanOrEqual(5);
      expect((await manager.get(session)).tags).toContain('retired');

      const status = await runCli(['crawl', 'status', session, '--json'], { env: { RAPTOR_HOME: home.path } });
      expect(status.code, status.stderr).toBe(0);
      const [report] = status.json().crawls;
      expect(report.recommendation.strategy).not.toBe('resume');
      expect(report.recommendation.reason).toMatch(/retired|blocked/);
      const human = await runCli(['crawl', 'status', session], { env: { RAPTOR_HOME: home.path } });
      expect(human.stdout).toMatch(/retired|blocked/);

      let refused: unknown;
      try {
        const again = await Crawl.open({ session, manager, concurrency: CONCURRENCY, heartbeatMs: HEARTBEAT_MS });
        await again.close();
      } catch (e) {
        refused = e;
      }
      expect(isRaptorError(refused, 'SESSION_BLOCKED'), `Crawl.open of a retired session: ${String(refused)}`).toBe(true);
      expect((refused as Error).message).toMatch(/log in/i);
      expect([...site.pageRequests().values()].reduce((a, b) => a + b, 0), 'requests after the refusal').toBe(sent);
    } finally {
      await manager.close();
    }
  }, 120_000);

  it('shows a 12 s old heartbeat as 12 s old, not "just now"', async () => {
    const manager = await SessionManager.open({ env, autoCleanup: false });
    await manager.save('aged', { storageState: { cookies: [], origins: [] } });
    await manager.close();
    const dir = crawlDirFor(home.path, 'aged');
    await mkdir(dir, { recursive: true });
    await writeFile(join(dir, 'journal-0.ndjson'), `${JSON.stringify({ t: 'add', url: 'https://a.test/1' })}\n`);
    // Written again right before each command: a CLI on a loaded machine takes seconds to start.
    const beat12sAgo = (): Promise<void> =>
      writeFile(join(dir, 'heartbeat.json'), JSON.stringify({ session: 'aged', store: 'x', pid: 2 ** 22 + 1, host: hostname(), status: 'running', at: new Date(Date.now() - 12_000).toISOString(), intervalMs: 1000, health: 1 }));
    await writeFile(join(dir, 'owner.lock'), JSON.stringify({ pid: 2 ** 22 + 1, host: hostname(), token: 'x' }));
    /** 12 s, or a little more when the machine is slow: in seconds, never "just now". */
    const TWELVE_SECONDS = /\b(1[2-9]|[2-9]\d|1[01]\d) s ago/;
    await beat12sAgo();
    const table = await runCli(['crawl', 'status'], { env: { RAPTOR_HOME: home.path } });
    expect(table.code, table.stderr).toBe(0);
    expect(table.stdout).toMatch(new RegExp(`aged\\s+crashed\\s+0/1\\s+${TWELVE_SECONDS.source}`));
    await beat12sAgo();
    const detail = await runCli(['crawl', 'status', 'aged'], { env: { RAPTOR_HOME: home.path } });
    expect(detail.stdout).toMatch(TWELVE_SECONDS);
    expect(detail.stdout).not.toMatch(/just now/);
  }, 120_000);
});
