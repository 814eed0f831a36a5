/**
 * `npm run bench`: raptor's speed targets (issue #2), measured against baselines in the same run.
 * Prints a markdown table; with `--write` also replaces the table in docs/performance.md.
 *
 *   reattach vs Playwright's launch()+newContext({storageState})   target ≥ 10× faster
 *   relaunch vs that same baseline                                 target ≤ 1.15×
 *   save (capture excluded) vs writeFile of the same JSON          target ≤ 3×
 *   list over 100 / 1,000 / 10,000 sessions                        target 10,000 ≤ 300 ms
 *   open() with nothing to clean over 10,000                       target ≤ 500 ms
 */
import { execFileSync } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium } from 'playwright-core';
import { logIn } from '../fixtures/site/drive.js';
import { startFixtureSite } from '../fixtures/site/server.js';
import { chromiumArgs, findBrowser } from '../src/browser/find.js';
import { readKeepAlive, stopKeepAlive } from '../src/browser/keep-alive.js';
import { toPlaywrightState } from '../src/browser/launch.js';
import { SessionManager } from '../src/manager.js';
import { serializeRecord } from '../src/core/record.js';
import { profileDirFor } from '../src/env/paths.js';
import { createFileStore } from '../src/store/file.js';
import { interleaved, median, ms, sample, table, type Row } from './stats.js';
import { writeSessionFiles } from './session-files.js';

const RUNS = Number(process.env['BENCH_RUNS'] ?? 9);
const home = await mkdtemp(join(tmpdir(), 'raptor-bench-'));
const env = { ...process.env, RAPTOR_HOME: home };
const site = await startFixtureSite();
const rows: Row[] = [];
const { executablePath } = await findBrowser();
const log = (text: string): void => console.error(`bench: ${text}`);

try {
  // A realistic session: logged in on the fixture site (cookie, localStorage, IndexedDB, sessionStorage).
  const manager = await SessionManager.open({ env });
  const launched = await manager.launch('bench');
  await logIn(launched.context.pages()[0] ?? (await launched.context.newPage()), site.url);
  const record = await manager.save('bench', { context: launched.context });
  await launched.close();
  const state = toPlaywrightState(record.storageState);

  // Baseline and raptor alternate within one loop, so drift in machine load hits both alike.
  const coldBaseline = async (): Promise<void> => {
    const browser = await chromium.launch({ executablePath, args: chromiumArgs() });
    await browser.newContext({ storageState: state });
    await browser.close();
  };
  const restoreAs = (mode: 'reattached' | 'relaunched') => async (): Promise<void> => {
    const restored = await manager.restore('bench');
    if (restored.mode !== mode) throw new Error(`expected ${mode}, got ${restored.mode}`);
    await restored.close();
  };

  log(`reattach vs cold baseline × ${RUNS}`);
  const [baseline1, reattach] = await interleaved(RUNS, coldBaseline, restoreAs('reattached'));
  rows.push({ measure: 'restore by reattach (browser alive)', median: ms(reattach), baseline: ms(baseline1), ratio: `${(baseline1 / reattach).toFixed(1)}× faster`, target: '≥ 10× faster', pass: baseline1 / reattach >= 10 });

  await stopKeepAlive(profileDirFor(manager.paths.profilesDir, 'bench'));
  log(`relaunch vs cold baseline × ${RUNS}`);
  const [baseline2, relaunch] = await interleaved(RUNS, coldBaseline, restoreAs('relaunched'));
  rows.push({ measure: 'restore by relaunch (browser dead)', median: ms(relaunch), baseline: ms(baseline2), ratio: `${(relaunch / baseline2).toFixed(2)}×`, target: '≤ 1.15×', pass: relaunch / baseline2 <= 1.15 });

  const saveDir = join(home, 'save-bench');
  const store = createFileStore({ dir: saveDir });
  const text = serializeRecord(record);
  const plainPath = join(home, 'plain.json');
  const saveRuns = RUNS * 20;
  log(`save × ${saveRuns}`);
  // The browser rows above leave megabytes of profile data for the kernel to write back, and a
  // save's fsyncs would wait for it: flush it first. Not interleaved: the baseline's rewrites
  // would add their metadata to every journal commit a save's fsync waits for.
  execFileSync('sync');
  const plain = median(await sample(saveRuns, () => writeFile(plainPath, text), 3));
  const put = median(await sample(saveRuns, () => store.put(record), 3));
  rows.push({ measure: `save (store.put: validate, lock, write, fsync, rename; ${(text.length / 1024).toFixed(1)} KiB)`, median: ms(put), baseline: ms(plain), ratio: `${(put / plain).toFixed(2)}×`, target: '≤ 3×', pass: put / plain <= 3 });
  await manager.close();

  for (const count of [100, 1_000, 10_000]) {
    const dir = join(home, `list-${count}`);
    log(`writing ${count} sessions`);
    await writeSessionFiles(dir, record, count);
    const listStore = createFileStore({ dir });
    const list = median(
      await sample(5, async () => {
        let n = 0;
        for await (const _ of listStore.list()) n++;
        if (n !== count) throw new Error(`listed ${n} of ${count}`);
      }),
    );
    rows.push({ measure: `list ${count.toLocaleString('en')} sessions`, median: ms(list), baseline: '-', ratio: '-', target: count === 10_000 ? '≤ 300 ms' : '-', pass: count !== 10_000 || list <= 300 });
    if (count === 10_000) {
      const open = median(
        await sample(5, async () => {
          const m = await SessionManager.open({ dir, env });
          const cleaned = m.startupCleanup!;
          if (cleaned.removed.length + cleaned.quarantined.length > 0) throw new Error('open() cleaned something');
          await m.close();
        }),
      );
      rows.push({ measure: 'open() with nothing to clean, 10,000 sessions', median: ms(open), baseline: '-', ratio: '-', target: '≤ 500 ms', pass: open <= 500 });
    }
  }
} finally {
  const kept = await readKeepAlive(join(home, 'profiles', 'bench'));
  if (kept) await stopKeepAlive(kept.profileDir);
  await site.close();
  await rm(home, { recursive: true, force: true });
}

const output = table(rows);
const header = `Measured ${new Date().toISOString().slice(0, 10)} on ${cpus().length} × ${cpus()[0]?.model.trim()}, Node ${process.version}, ${RUNS} runs per browser row (medians).`;
console.log(`${header}\n\n${output}`);
if (process.argv.includes('--write')) {
  const path = 'docs/performance.md';
  const doc = await readFile(path, 'utf8');
  const next = doc.replace(/<!-- bench:start -->[\s\S]*<!-- bench:end -->/, `<!-- bench:start -->\n${header}\n\n${output}\n<!-- bench:end -->`);
  await writeFile(path, next);
  log(`wrote ${path}`);
}
if (rows.some((r) => !r.pass)) process.exitCode = 1;
