/**
 * `npx tsx bench/ui-live.ts`: the dashboard's live view. One kept-alive headless browser shows
 * a page that animates; the bench reads its frame stream as the page would and measures
 *
 *   frames per second of one watched tile
 *   CPU of the `raptor ui` process and of the browser (every process of it), watched vs none
 *
 * Phases alternate (none, watched, none, …) so drift in machine load hits both alike; medians
 * of BENCH_RUNS phases of BENCH_PHASE_MS each. Needs dist/ built (`npx tsc -p tsconfig.json`).
 */
import { spawn } from 'node:child_process';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { createServer } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { findBrowser } from '../src/browser/find.js';
import { readKeepAlive, stopKeepAlive } from '../src/browser/keep-alive.js';
import { profileDirFor } from '../src/env/paths.js';
import { median } from './stats.js';

const RUNS = Number(process.env['BENCH_RUNS'] ?? 5);
const PHASE_MS = Number(process.env['BENCH_PHASE_MS'] ?? 3000);
const CLOCK_TICKS = 100; // USER_HZ on Linux
const BIN = join(import.meta.dirname, '..', 'bin', 'raptor.js');
const log = (text: string): void => console.error(`bench: ${text}`);

const ANIMATED = `<!doctype html><title>animated</title><style>body{margin:0}#box{width:200px;height:200px;background:#2d5bd7;position:absolute}</style>
<div id="box"></div><script>let t=0;(function step(){t++;const b=document.getElementById('box');b.style.left=(t*4%600)+'px';b.style.top=(Math.sin(t/20)*150+200)+'px';b.style.background='hsl('+(t%360)+',70%,50%)';requestAnimationFrame(step)})()</script>`;

const home = await mkdtemp(join(tmpdir(), 'raptor-bench-ui-live-'));
const { executablePath } = await findBrowser();
const env = { ...process.env, RAPTOR_HOME: home, RAPTOR_BROWSER: executablePath };
const site = createServer((_req, res) => res.writeHead(200, { 'content-type': 'text/html' }).end(ANIMATED));
await new Promise<void>((resolve) => site.listen(0, '127.0.0.1', resolve));
const siteUrl = `http://127.0.0.1:${(site.address() as { port: number }).port}/`;
const ui = spawn(process.execPath, [BIN, 'ui', '--json', '--no-open'], { env, stdio: ['ignore', 'pipe', 'pipe'] });
ui.stderr.resume();
const NAME = 'bench-live';

try {
  const launched = await run(['launch', NAME, siteUrl]);
  if (launched !== 0) throw new Error('raptor launch failed');
  const kept = await readKeepAlive(profileDirFor(join(home, 'profiles'), NAME));
  if (!kept) throw new Error('no kept-alive browser recorded');
  const url = await firstLine();
  const origin = new URL(url).origin;
  const opened = await fetch(url, { redirect: 'manual' });
  const cookie = opened.headers.getSetCookie()[0]!.split(';')[0]!;
  const headers = { cookie };
  const { browsers } = (await (await fetch(`${origin}/api/live/tabs`, { headers })).json()) as { browsers: Array<{ session: string; tabs: Array<{ targetId: string }> }> };
  const target = browsers.find((b) => b.session === NAME)!.tabs[0]!.targetId;

  const fps: number[] = [];
  const cpu = { uiNone: [] as number[], uiWatched: [] as number[], browserNone: [] as number[], browserWatched: [] as number[] };
  for (let i = 0; i < RUNS; i++) {
    log(`phase ${i + 1}/${RUNS}: none watched`);
    const none = await cpuDuring(ui.pid!, kept.pid, () => sleep(PHASE_MS));
    cpu.uiNone.push(none.ui);
    cpu.browserNone.push(none.browser);

    log(`phase ${i + 1}/${RUNS}: one tile watched`);
    const abort = new AbortController();
    const response = await fetch(`${origin}/api/live/frames?${new URLSearchParams({ session: NAME, target })}`, { headers, signal: abort.signal });
    const reader = response.body!.getReader();
    const decoder = new TextDecoder();
    let frames = 0;
    let counting = false;
    const reading = (async () => {
      for (;;) {
        const { value, done } = await reader.read().catch(() => ({ value: undefined, done: true }));
        if (done) return;
        if (counting) frames += decoder.decode(value, { stream: true }).split('event: frame').length - 1;
        else decoder.decode(value, { stream: true });
      }
    })();
    await sleep(500); // the screencast starts
    counting = true;
    const started = performance.now();
    const watched = await cpuDuring(ui.pid!, kept.pid, () => sleep(PHASE_MS));
    fps.push(frames / ((performance.now() - started) / 1000));
    abort.abort();
    await reading;
    cpu.uiWatched.push(watched.ui);
    cpu.browserWatched.push(watched.browser);
    await sleep(500); // the screencast stops
  }

  const pct = (v: number): string => `${v.toFixed(1)} %`;
  console.log(`# raptor ui live view (${RUNS} phases of ${PHASE_MS} ms, medians; CPU in % of one core)\n`);
  console.log('| measure | none watched | one tile watched |\n|---|---|---|');
  console.log(`| frames per second (animating page) | - | ${median(fps).toFixed(1)} |`);
  console.log(`| CPU, raptor ui process | ${pct(median(cpu.uiNone))} | ${pct(median(cpu.uiWatched))} |`);
  console.log(`| CPU, browser (all its processes) | ${pct(median(cpu.browserNone))} | ${pct(median(cpu.browserWatched))} |`);
} finally {
  ui.kill('SIGTERM');
  await new Promise((resolve) => ui.once('exit', resolve));
  await stopKeepAlive(profileDirFor(join(home, 'profiles'), NAME)).catch(() => undefined);
  site.close();
  await rm(home, { recursive: true, force: true });
}

function run(args: string[]): Promise<number | null> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [BIN, ...args], { env, stdio: 'ignore' });
    child.once('exit', resolve);
  });
}

async function firstLine(): Promise<string> {
  let out = '';
  for await (const chunk of ui.stdout) {
    out += String(chunk);
    if (out.includes('\n')) break;
  }
  ui.stdout.resume();
  return (JSON.parse(out.slice(0, out.indexOf('\n'))) as { url: string }).url;
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** CPU % of one core used by `uiPid` and by `browserPid` with all its descendants while `work` runs. */
async function cpuDuring(uiPid: number, browserPid: number, work: () => Promise<void>): Promise<{ ui: number; browser: number }> {
  const before = { ui: await ticks([uiPid]), browser: await ticks(await descendants(browserPid)) };
  const started = performance.now();
  await work();
  const seconds = (performance.now() - started) / 1000;
  const after = { ui: await ticks([uiPid]), browser: await ticks(await descendants(browserPid)) };
  return { ui: ((after.ui - before.ui) / CLOCK_TICKS / seconds) * 100, browser: ((after.browser - before.browser) / CLOCK_TICKS / seconds) * 100 };
}

async function stat(pid: number): Promise<{ ppid: number; ticks: number } | undefined> {
  const text = await readFile(`/proc/${pid}/stat`, 'utf8').catch(() => undefined);
  if (!text) return undefined;
  const fields = text.slice(text.lastIndexOf(')') + 2).split(' ');
  return { ppid: Number(fields[1]), ticks: Number(fields[11]) + Number(fields[12]) };
}

async function ticks(pids: number[]): Promise<number> {
  let total = 0;
  for (const pid of pids) total += (await stat(pid))?.ticks ?? 0;
  return total;
}

async function descendants(root: number): Promise<number[]> {
  const parents = new Map<number, number>();
  for (const entry of await readdir('/proc')) {
    const pid = Number(entry);
    if (!Number.isInteger(pid)) continue;
    const s = await stat(pid);
    if (s) parents.set(pid, s.ppid);
  }
  const found = [root];
  for (let grew = true; grew; ) {
    grew = false;
    for (const [pid, ppid] of parents) if (found.includes(ppid) && !found.includes(pid)) (found.push(pid), (grew = true));
  }
  return found;
}
