/**
 * The crawls view while a real crawler runs in another process against the fixture site: its
 * charts grow sample by sample, its numbers end where `raptor crawl status` ends, and a crawl
 * whose owner was killed shows as crashed with what a restart would do.
 */
import type { Page } from '@playwright/test';
import { killHard } from '../../fixtures/processes.js';
import { startFixtureSite, type FixtureSite } from '../../fixtures/site/server.js';
import { spawnCrawler, type CrawlerRun } from '../helpers/crawler-process.js';
import { test, expect, type Dashboard } from './dashboard.js';

let site: FixtureSite | undefined;
const runs: CrawlerRun[] = [];

test.afterEach(async () => {
  for (const run of runs.splice(0)) if (run.child.exitCode === null && run.child.signalCode === null) await killHard(run.child.pid!);
  await site?.close();
  site = undefined;
});

function crawler(dashboard: Dashboard, session: string, pageDelayMs: number): CrawlerRun {
  // One page at a time, each held `pageDelayMs`: slow enough for many 1-second samples.
  const run = spawnCrawler([site!.url, '--session', session, '--concurrency', '1', '--page-delay-ms', String(pageDelayMs)], { ...process.env, ...dashboard.env });
  runs.push(run);
  return run;
}

const points = (page: Page, session: string) =>
  page.locator(`.crawl-card[data-session="${session}"] .chart-progress`).getAttribute('data-points').then(Number);
const completed = (page: Page, session: string) =>
  page.locator(`.crawl-card[data-session="${session}"] .crawl-done`).getAttribute('data-completed').then(Number);

test('a running crawl\'s charts grow live and end at the numbers of `raptor crawl status`', async ({ page, dashboard }) => {
  test.setTimeout(120_000);
  site = await startFixtureSite({ pages: 30 });
  await dashboard.open(page, '#/crawls');
  await expect(page.locator('#crawl-empty')).toBeVisible();

  const run = crawler(dashboard, 'ui-crawl', 300);
  await run.started;
  const card = page.locator('.crawl-card[data-session="ui-crawl"]');
  await expect(card).toBeVisible({ timeout: 15_000 }); // appears by itself, no reload
  await expect(card).toHaveAttribute('data-status', 'running', { timeout: 10_000 });
  await expect(card.locator('.crawl-strategy')).toHaveText('wait');
  await expect(card.locator('.crawl-owner')).toContainText(`pid ${run.child.pid}`);
  await expect(card.locator('.chart-progress canvas')).toHaveCount(1); // a uPlot chart, not a placeholder

  // Samples taken while it runs: the point count and the done count both rise, more than once.
  const first = { points: await points(page, 'ui-crawl'), done: await completed(page, 'ui-crawl') };
  await expect.poll(() => points(page, 'ui-crawl'), { timeout: 15_000 }).toBeGreaterThan(first.points + 2);
  await expect.poll(() => completed(page, 'ui-crawl'), { timeout: 15_000 }).toBeGreaterThan(first.done);
  const second = { points: await points(page, 'ui-crawl'), done: await completed(page, 'ui-crawl') };
  expect(run.child.exitCode, 'still crawling while the chart grew').toBeNull();
  await expect.poll(() => completed(page, 'ui-crawl'), { timeout: 20_000 }).toBeGreaterThan(second.done);
  await expect.poll(() => points(page, 'ui-crawl'), { timeout: 10_000 }).toBeGreaterThan(second.points);

  expect(await run.exited).toBe(0);
  await expect(card).toHaveAttribute('data-status', 'completed', { timeout: 15_000 });
  const status = await dashboard.raptor(['crawl', 'status', 'ui-crawl', '--json']);
  expect(status.code, status.stderr).toBe(0);
  const report = JSON.parse(status.stdout).crawls[0];
  expect(report.status).toBe('completed');
  expect(report.progress.completed).toBe(30);
  const done = card.locator('.crawl-done');
  await expect(done).toHaveAttribute('data-completed', String(report.progress.completed));
  await expect(done).toHaveAttribute('data-failed', String(report.progress.failed));
  await expect(done).toHaveAttribute('data-total', String(report.progress.total));
  await expect(card.locator('.crawl-strategy')).toHaveText(report.recommendation.strategy);
  await expect(card.locator('.crawl-reason')).toHaveText(report.recommendation.reason);
  expect(dashboard.stderr()).not.toMatch(/crawl sample(r)? failed/);
});

test('a crawl whose owner was killed shows as crashed, with the recommendation to resume', async ({ page, dashboard }) => {
  test.setTimeout(90_000);
  site = await startFixtureSite({ pages: 200 });
  const run = crawler(dashboard, 'ui-crash', 400);
  await run.started;
  await dashboard.open(page, '#/crawls');
  const card = page.locator('.crawl-card[data-session="ui-crash"]');
  await expect(card).toHaveAttribute('data-status', 'running', { timeout: 15_000 });
  await expect.poll(() => completed(page, 'ui-crash'), { timeout: 20_000 }).toBeGreaterThan(0);

  await killHard(run.child.pid!);
  await run.exited;
  await expect(card).toHaveAttribute('data-status', 'crashed', { timeout: 10_000 });
  await expect(card.locator('.crawl-strategy')).toHaveText('resume');
  await expect(card.locator('.crawl-reason')).toContainText('crashed:');
  await expect(card.locator('.crawl-owner')).toContainText('(gone)');

  const status = await dashboard.raptor(['crawl', 'status', 'ui-crash', '--json']);
  expect(status.code, status.stderr).toBe(0);
  const report = JSON.parse(status.stdout).crawls[0];
  expect(report.status).toBe('crashed');
  await expect(card.locator('.crawl-reason')).toHaveText(report.recommendation.reason);
  await expect(card.locator('.crawl-done')).toHaveAttribute('data-completed', String(report.progress.completed));
});
