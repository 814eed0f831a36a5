/**
 * Login-recipe rows of `npm run bench` (issue 14), written into docs/performance.md with `--write`:
 *
 *   raptor.ensure() reusing a saved session (the recipe's check asked the server)   vs the bare login it saves
 *   raptor.ensure() logging in again (the server forgot the session)               informative
 *   the bare login: a fresh context, the recipe's login, storageState()            baseline
 *   one `raptor keep` turn (visit, check, save with a revision check, status)      vs a bare visit: context, goto, storageState()
 *
 * One browser for all of them, in this process, against the login app (in this process too).
 * The recipe is the fixture's module, as `raptor login --recipe` loads it. `reuseCheckFor: 0`:
 * every reuse asks the server, as `raptor login` does.
 */
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium } from 'playwright-core';
import { chromiumArgs, findBrowser } from '../src/browser/find.js';
import { SessionManager } from '../src/manager.js';
import { loadRecipe } from '../src/login/recipe.js';
import { refreshSession } from '../src/keeper/refresh.js';
import { startLoginApp } from '../fixtures/login-app/server.js';
import { median, ms, table, type Row } from './stats.js';

const RUNS = Number(process.env['BENCH_RUNS'] ?? 9);
const home = await mkdtemp(join(tmpdir(), 'raptor-bench-login-'));
const app = await startLoginApp();
process.env['LOGIN_APP_PASSWORD'] = 'secret';
const { executablePath } = await findBrowser();
const browser = await chromium.launch({ executablePath, args: chromiumArgs() });
const manager = await SessionManager.open({ env: { ...process.env, RAPTOR_HOME: home }, autoCleanup: false });
const { recipe } = await loadRecipe('fixtures/login-app/recipe.ts');
const options = { baseURL: app.url, browser, reuseCheckFor: 0 };
const rows: Row[] = [];

const time = async (fn: () => Promise<unknown>): Promise<number> => {
  const started = performance.now();
  await fn();
  return performance.now() - started;
};

try {
  await manager.ensure('bench', recipe, options); // warm-up: the first login
  const bare: number[] = [];
  const reuse: number[] = [];
  const relogin: number[] = [];
  for (let i = 0; i < RUNS; i++) {
    bare.push(
      await time(async () => {
        const context = await browser.newContext({ baseURL: app.url });
        await recipe.login(await context.newPage(), { session: 'bench' });
        await context.storageState();
        await context.close();
      }),
    );
    reuse.push(await time(() => manager.ensure('bench', recipe, options)));
    app.forgetAll();
    relogin.push(await time(() => manager.ensure('bench', recipe, options)));
  }
  // `raptor keep`'s turn needs the recipe recorded with the session: the file, as `raptor login` records it.
  await manager.ensure('kept', 'fixtures/login-app/recipe.ts', options);
  const visit: number[] = [];
  const turn: number[] = [];
  for (let i = 0; i < RUNS; i++) {
    visit.push(
      await time(async () => {
        const record = await manager.get('kept');
        const context = await browser.newContext({ baseURL: app.url, storageState: record.storageState as never });
        await (await context.newPage()).goto('/me?check');
        await context.storageState();
        await context.close();
      }),
    );
    turn.push(await time(() => refreshSession({ manager, getBrowser: async () => browser }, 'kept')));
  }
  const [b, r, l] = [median(bare), median(reuse), median(relogin)];
  const [v, t] = [median(visit), median(turn)];
  rows.push({ measure: '`raptor.ensure()` reusing the saved session (check asked the server)', median: ms(r), baseline: `${ms(b)} bare login`, ratio: `${(r / b).toFixed(2)}×`, target: '< bare login', pass: r < b });
  rows.push({ measure: 'one `raptor keep` turn of a session (visit, check, save with a revision check)', median: ms(t), baseline: `${ms(v)} bare visit`, ratio: `${(t / v).toFixed(2)}×`, target: '< 2× bare visit', pass: t < 2 * v });
  rows.push({ measure: '`raptor.ensure()` logging in again (the server forgot the session: check, login, check, save)', median: ms(l), baseline: `${ms(b)} bare login`, ratio: `${(l / b).toFixed(2)}×`, target: '-', pass: true });
} finally {
  await manager.close();
  await browser.close();
  await app.close();
  await rm(home, { recursive: true, force: true });
}

const output = table(rows);
const header = `Measured ${new Date().toISOString().slice(0, 10)} on ${cpus().length} × ${cpus()[0]?.model.trim()}, Node ${process.version}, ${RUNS} runs each, interleaved (medians).`;
console.log(`${header}\n\n${output}`);
if (process.argv.includes('--write')) {
  const path = 'docs/performance.md';
  const doc = await readFile(path, 'utf8');
  await writeFile(path, doc.replace(/<!-- bench:login:start -->[\s\S]*<!-- bench:login:end -->/, `<!-- bench:login:start -->\n${header}\n\n${output}\n<!-- bench:login:end -->`));
  console.error(`bench: wrote ${path}`);
}
if (rows.some((row) => !row.pass)) process.exitCode = 1;
