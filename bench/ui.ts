/**
 * Dashboard rows of `npm run bench` (issue 13), written into docs/performance.md with `--write`:
 *
 *   first paint of the sessions page over 10,000 sessions (navigation → rows shown)   target < 1 s
 *   the same page over 10 sessions, in the same run                                  baseline
 *   `save` → its row in the open table (file store, change feed, server-sent event)  target < 500 ms
 *   `raptor ui` start over 10,000 sessions (index loaded, listening)                 informative
 *
 * The dashboard runs in this process (`startDashboard`, as `raptor ui` runs it); the page in a
 * real Chromium. The saves come from a second SessionManager on the same directory, so they
 * reach the dashboard the way another process's do: through the file watcher.
 */
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium, type Page } from 'playwright-core';
import { chromiumArgs, findBrowser } from '../src/browser/find.js';
import { newRecord } from '../src/core/record.js';
import { silentLogger } from '../src/env/log.js';
import { SessionManager } from '../src/manager.js';
import { startDashboard, type Dashboard } from '../src/ui/index.js';
import { median, ms, table, type Row } from './stats.js';
import { writeSessionFiles } from './session-files.js';

const RUNS = Number(process.env['BENCH_RUNS'] ?? 9);
const SAVES = RUNS * 3;
const home = await mkdtemp(join(tmpdir(), 'raptor-bench-ui-'));
const env = { ...process.env, RAPTOR_HOME: home };
const rows: Row[] = [];
const log = (text: string): void => console.error(`bench: ${text}`);
const { executablePath } = await findBrowser();
const browser = await chromium.launch({ executablePath, args: chromiumArgs() });
const state = {
  cookies: [{ name: 'sid', value: 'x'.repeat(64), domain: 'app.test', path: '/', expires: -1, httpOnly: true, secure: false, sameSite: 'Lax' as const }],
  origins: [{ origin: 'http://app.test', localStorage: [{ name: 'token', value: 'y'.repeat(200) }] }],
};

/** A dashboard over `count` sessions and a page logged into it; how long the dashboard took to start. */
async function dashboardOver(count: number): Promise<{ dashboard: Dashboard; manager: SessionManager; page: Page; startMs: number; dir: string }> {
  const dir = join(home, `sessions-${count}`);
  await writeSessionFiles(dir, newRecord('template', state, { tags: ['bench'], revision: 1 }), count);
  const manager = await SessionManager.open({ dir, env, autoCleanup: false });
  const started = performance.now();
  const dashboard = await startDashboard({ manager, logger: silentLogger });
  const startMs = performance.now() - started;
  const page = await (await browser.newContext()).newPage();
  await page.goto(dashboard.url); // the token becomes the cookie once
  await page.waitForSelector('#session-rows tr[data-name]');
  return { dashboard, manager, page, startMs, dir };
}

/** Navigation to the rows on screen, in a fresh page of the logged-in context. */
async function firstPaint(page: Page, origin: string): Promise<number> {
  const fresh = await page.context().newPage();
  const started = performance.now();
  await fresh.goto(`${origin}/`);
  await fresh.waitForSelector('#session-rows tr[data-name]', { state: 'visible' });
  const elapsed = performance.now() - started;
  await fresh.close();
  return elapsed;
}

try {
  log('10 sessions: the baseline page');
  const small = await dashboardOver(10);
  log('10,000 sessions');
  const big = await dashboardOver(10_000);
  const paints: [number[], number[]] = [[], []];
  for (let i = 0; i < RUNS; i++) {
    paints[0].push(await firstPaint(small.page, small.dashboard.origin));
    paints[1].push(await firstPaint(big.page, big.dashboard.origin));
  }
  const [paintSmall, paintBig] = [median(paints[0]), median(paints[1])];
  rows.push({ measure: 'sessions page, first paint over 10,000 sessions (navigation → rows shown)', median: ms(paintBig), baseline: `${ms(paintSmall)} over 10`, ratio: `${(paintBig / paintSmall).toFixed(2)}×`, target: '< 1 s', pass: paintBig < 1000 });
  rows.push({ measure: '`raptor ui` start over 10,000 sessions (index loaded, listening)', median: ms(big.startMs), baseline: `${ms(small.startMs)} over 10`, ratio: '-', target: '-', pass: true });

  log(`save → row × ${SAVES}`);
  const writer = await SessionManager.open({ dir: big.dir, env, autoCleanup: false });
  const saveToRow: number[] = [];
  for (let i = -1; i < SAVES; i++) {
    // `0-…` sorts before `session-…`: the new row lands on the page being shown. Run -1 warms up.
    const name = `0-new-${String(i + 1).padStart(4, '0')}`;
    await writer.save(name, { storageState: state });
    const started = performance.now(); // from `save` returning: what the person watching sees
    await big.page.waitForSelector(`#session-rows tr[data-name="${name}"]`, { timeout: 10_000 });
    if (i >= 0) saveToRow.push(performance.now() - started);
  }
  const row = median(saveToRow);
  rows.push({ measure: 'save → its row in the open table, 10,000 sessions (file store)', median: ms(row), baseline: '-', ratio: '-', target: '< 500 ms', pass: row < 500 });
  await writer.close();
  for (const { dashboard, manager } of [small, big]) {
    await dashboard.close();
    await manager.close();
  }
} finally {
  await browser.close();
  await rm(home, { recursive: true, force: true });
}

const output = table(rows);
const header = `Measured ${new Date().toISOString().slice(0, 10)} on ${cpus().length} × ${cpus()[0]?.model.trim()}, Node ${process.version}, Chromium ${browser.version()}, ${RUNS} paints and ${SAVES} saves (medians).`;
console.log(`${header}\n\n${output}`);
if (process.argv.includes('--write')) {
  const path = 'docs/performance.md';
  const doc = await readFile(path, 'utf8');
  await writeFile(path, doc.replace(/<!-- bench:ui:start -->[\s\S]*<!-- bench:ui:end -->/, `<!-- bench:ui:start -->\n${header}\n\n${output}\n<!-- bench:ui:end -->`));
  log(`wrote ${path}`);
}
if (rows.some((r) => !r.pass)) process.exitCode = 1;
