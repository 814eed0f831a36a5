/**
 * Crawler rows of `npm run bench` (issue #4), written into docs/performance.md with `--write`:
 *
 *   restart -> first new page fetched, when the kept-alive browser survived (reattach)
 *   restart -> first new page fetched, when it died too (relaunch with the saved state)
 *   journal overhead per completed URL (add + start + done, fsync in batches)   target < 0.2 ms
 *
 * A "restart" here is `Crawl.open()` + `run()` up to the first page handed to the handler, in a
 * process where Playwright is already loaded (Node's own start-up is not raptor's to speed up).
 */
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { logIn } from '../fixtures/site/drive.js';
import { startFixtureSite } from '../fixtures/site/server.js';
import { readKeepAlive, stopKeepAlive } from '../src/browser/keep-alive.js';
import { Crawl } from '../src/crawler/crawl.js';
import { CrawlJournal } from '../src/crawler/journal.js';
import { SessionManager } from '../src/manager.js';
import { profileDirFor } from '../src/env/paths.js';
import { median, ms, table, type Row } from './stats.js';

const RUNS = Number(process.env['BENCH_RUNS'] ?? 7);
const home = await mkdtemp(join(tmpdir(), 'raptor-bench-crawl-'));
const env = { ...process.env, RAPTOR_HOME: home };
const site = await startFixtureSite({ pages: 50 });
const rows: Row[] = [];
const log = (text: string): void => console.error(`bench: ${text}`);

try {
  const manager = await SessionManager.open({ env });
  const launched = await manager.launch('bench-crawl');
  await logIn(launched.context.pages()[0] ?? (await launched.context.newPage()), site.url);
  await manager.save('bench-crawl', { context: launched.context });
  await launched.close();
  await import('playwright-core');

  /** Opens the crawl and resolves at the first page handed to the handler. */
  const restartToFirstPage = async (): Promise<{ ms: number; mode: string }> => {
    const started = performance.now();
    const crawl = await Crawl.open({ session: 'bench-crawl', manager, mode: 'restart', seeds: [`${site.url}/pages/1`], concurrency: 1 });
    let firstPage = 0;
    await crawl.run(async () => {
      firstPage ||= performance.now() - started;
      crawl.stop();
    });
    await crawl.close();
    return { ms: firstPage, mode: crawl.mode };
  };

  log(`restart to first page, browser alive × ${RUNS}`);
  const reattach: number[] = [];
  await restartToFirstPage();
  for (let i = 0; i < RUNS; i++) {
    const run = await restartToFirstPage();
    if (run.mode !== 'reattached') throw new Error(`expected a reattach, got ${run.mode}`);
    reattach.push(run.ms);
  }
  log(`restart to first page, browser dead × ${RUNS}`);
  const relaunch: number[] = [];
  const profileDir = profileDirFor(manager.paths.profilesDir, 'bench-crawl');
  for (let i = 0; i < RUNS; i++) {
    await stopKeepAlive(profileDir);
    const run = await restartToFirstPage();
    if (run.mode !== 'relaunched') throw new Error(`expected a relaunch, got ${run.mode}`);
    relaunch.push(run.ms);
  }
  const r = median(reattach);
  const l = median(relaunch);
  rows.push({ measure: 'crawler restart → first new page (browser alive: reattach)', median: ms(r), baseline: ms(l), ratio: `${(l / r).toFixed(1)}× faster than relaunch`, target: '-', pass: true });
  rows.push({ measure: 'crawler restart → first new page (browser dead: relaunch)', median: ms(l), baseline: '-', ratio: '-', target: '-', pass: true });
  await manager.close();

  const urls = 20_000;
  log(`journal: ${urls} URLs × (add, start, done)`);
  const perUrl: number[] = [];
  for (let run = 0; run < 5; run++) {
    const dir = join(home, `journal-${run}`);
    const { journal } = await CrawlJournal.open(dir);
    const started = performance.now();
    for (let i = 0; i < urls; i++) {
      const url = `https://shop.example/products/${i}`;
      journal.append({ t: 'add', url });
      journal.append({ t: 'start', url });
      journal.append({ t: 'done', url, result: { title: `Product ${i}`, price: i * 3 } });
    }
    await journal.close();
    perUrl.push((performance.now() - started) / urls);
  }
  const overhead = median(perUrl);
  rows.push({ measure: `journal overhead per completed URL (${urls.toLocaleString('en')} URLs, fsync every 64 lines, compaction on close)`, median: ms(overhead), baseline: '-', ratio: '-', target: '< 0.2 ms', pass: overhead < 0.2 });
} finally {
  const kept = await readKeepAlive(join(home, 'profiles', 'bench-crawl'));
  if (kept) await stopKeepAlive(kept.profileDir);
  await site.close();
  await rm(home, { recursive: true, force: true });
}

const output = table(rows);
const header = `Measured ${new Date().toISOString().slice(0, 10)} on ${cpus().length} × ${cpus()[0]?.model.trim()}, Node ${process.version}, ${RUNS} restarts each (medians).`;
console.log(`${header}\n\n${output}`);
if (process.argv.includes('--write')) {
  const path = 'docs/performance.md';
  const doc = await readFile(path, 'utf8');
  await writeFile(path, doc.replace(/<!-- bench:crawler:start -->[\s\S]*<!-- bench:crawler:end -->/, `<!-- bench:crawler:start -->\n${header}\n\n${output}\n<!-- bench:crawler:end -->`));
  log(`wrote ${path}`);
}
if (rows.some((row) => !row.pass)) process.exitCode = 1;
