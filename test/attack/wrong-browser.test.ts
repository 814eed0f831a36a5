/**
 * Attack, issue 9 class 2: a stranger's browser.
 *
 * The story: a person logs into their app in Chromium A, `raptor save real --cdp :PORT`. A dies.
 * Someone else's Chromium B (another login, another person's tabs) now listens on the very same
 * port, or a plain HTTP server does, or the kept-alive browser's pid now belongs to another
 * process. No raptor command may take B for A: none captures B's cookies over the good login,
 * none counts B as live, none attaches to it, none signals or closes it. A session that never
 * had a browser (a Playwright Test role) is still valid under `validate --live`.
 *
 * Real Chromium processes, the built CLI, real files in temp dirs. Only what this file starts
 * is killed (by pid / process group).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { mkdir, readFile, readdir, writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import { createServer as createNetServer } from 'node:net';
import { join } from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import { chromium } from 'playwright-core';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { chromiumArgs } from '../../src/browser/find.js';
import { readKeepAlive, stopKeepAlive } from '../../src/browser/keep-alive.js';
import { Crawl } from '../../src/crawler/crawl.js';
import { TABS_FILE } from '../../src/crawler/tabs.js';
import { prepareBrowser } from '../../src/crawler/takeover.js';
import { SessionManager } from '../../src/manager.js';
import { isAlive } from '../../src/fs/file-lock.js';
import { killHard } from '../../fixtures/processes.js';
import { ensureBuilt, runCli, startCli, type CliResult } from '../helpers/cli.js';
import { createTempDir } from '../helpers/temp-dir.js';
import { testBrowser } from '../helpers/env.js';

const CHROMIUM = testBrowser();
const GOOD = 'A-good-login-4f1c9e';
const STRANGER = 'B-stranger-login-77d2a0';
/** Generous: these prove "refuses" and "does not touch", not speed; 9 agents share 2 cores here. */
const TEST_TIMEOUT_MS = 240_000;

interface RunningChromium {
  pid: number;
  port: number;
  url: string;
  id: string;
  version: Record<string, unknown>;
  kill(): Promise<void>;
}

const killers: (() => Promise<void>)[] = [];
const homes: string[] = [];

async function freePort(): Promise<number> {
  const server = createNetServer();
  await new Promise<void>((done) => server.listen(0, '127.0.0.1', done));
  const port = (server.address() as { port: number }).port;
  await new Promise<void>((done) => server.close(() => done()));
  return port;
}

async function versionAt(url: string): Promise<Record<string, unknown> | undefined> {
  try {
    const response = await fetch(`${url}/json/version`, { signal: AbortSignal.timeout(1000) });
    return response.ok ? ((await response.json()) as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
}

/** A Chromium this test starts itself (not raptor), logged in as `cookie`. */
async function startChromium(port: number, cookie: string): Promise<RunningChromium> {
  const profile = await createTempDir('raptor-attack-chromium-');
  const child = spawn(CHROMIUM, [...chromiumArgs(), '--headless=new', `--user-data-dir=${profile.path}`, `--remote-debugging-port=${port}`, '--remote-debugging-address=127.0.0.1', 'about:blank'], {
    detached: true,
    stdio: 'ignore',
  });
  const kill = async (): Promise<void> => {
    await killHard(child.pid!, true);
    await profile.remove();
  };
  killers.push(kill);
  const url = `http://127.0.0.1:${port}`;
  let version: Record<string, unknown> | undefined;
  for (let i = 0; i < 600 && !version; i++) version = (await delay(50), await versionAt(url));
  if (!version) throw new Error(`Chromium did not open port ${port}`);
  const browser = await chromium.connectOverCDP(url);
  await browser.contexts()[0]!.addCookies([{ name: 'sid', value: cookie, domain: 'app.test', path: '/', expires: 4102444800 }]);
  await browser.close(); // disconnect only
  const ws = String(version['webSocketDebuggerUrl']);
  return { pid: child.pid!, port, url, id: ws.slice(ws.lastIndexOf('/') + 1), version, kill };
}

/** What the person running B still has: its cookie, its tabs. Read over CDP by the test, not by raptor. */
async function strangerState(b: RunningChromium): Promise<{ cookies: string[]; pages: number }> {
  const browser = await chromium.connectOverCDP(b.url);
  try {
    const context = browser.contexts()[0]!;
    return { cookies: (await context.cookies()).map((c) => `${c.name}=${c.value}`), pages: context.pages().length };
  } finally {
    await browser.close();
  }
}

/** A process that is not a browser; `args` land in its /proc cmdline. */
function startImpostor(args: string[]): ChildProcess {
  const child = spawn('/bin/sh', ['-c', 'sleep 120; :', 'sh', ...args], { detached: true, stdio: 'ignore' });
  killers.push(() => killHard(child.pid!, true));
  return child;
}

/** A plain HTTP server on a port, answering `/json/version` with `body`. */
async function startFake(port: number, body: () => string): Promise<Server> {
  const server = createServer((req, res) => {
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(req.url?.startsWith('/json/version') ? body() : '[]');
  });
  await new Promise<void>((done) => server.listen(port, '127.0.0.1', done));
  killers.push(() => new Promise<void>((done) => server.close(() => done())));
  return server;
}

async function newHome(): Promise<{ path: string; env: NodeJS.ProcessEnv; raptor: (...args: string[]) => Promise<CliResult>; file: (name: string) => string }> {
  const dir = await createTempDir('raptor-attack-wrong-browser-');
  homes.push(dir.path);
  const env = { RAPTOR_HOME: dir.path, RAPTOR_BROWSER: CHROMIUM };
  return { path: dir.path, env, raptor: (...args) => runCli(args, { env, timeoutMs: 60_000 }), file: (name) => join(dir.path, 'sessions', `${name}.json`) };
}

function errorOf(result: CliResult): { code: string; message: string } {
  return result.json<{ error: { code: string; message: string } }>().error;
}

function cookiesIn(file: string): string[] {
  const record = JSON.parse(readFileSync(file, 'utf8')) as { storageState: { cookies: { name: string; value: string }[] } };
  return record.storageState.cookies.map((c) => `${c.name}=${c.value}`);
}

beforeAll(() => ensureBuilt(), TEST_TIMEOUT_MS);

afterAll(async () => {
  for (const home of homes) {
    const profiles = join(home, 'profiles');
    for (const profile of await readdir(profiles).catch(() => [] as string[])) await stopKeepAlive(join(profiles, profile)).catch(() => undefined);
  }
  for (const kill of killers.reverse()) await kill().catch(() => undefined);
  const { rm } = await import('node:fs/promises');
  for (const home of homes) await rm(home, { recursive: true, force: true });
}, 60_000);

describe("a stranger's Chromium took the port of the saved browser", { timeout: TEST_TIMEOUT_MS }, () => {
  let home: Awaited<ReturnType<typeof newHome>>;
  let b: RunningChromium;
  let aId: string;
  let good: string;

  beforeAll(async () => {
    home = await newHome();
    const port = await freePort();
    const a = await startChromium(port, GOOD);
    aId = a.id;
    const saved = await home.raptor('save', 'real', '--cdp', a.url, '--json');
    expect(saved.code, saved.stderr).toBe(0);
    good = await readFile(home.file('real'), 'utf8');
    expect(cookiesIn(home.file('real'))).toEqual([`sid=${GOOD}`]);
    await a.kill();
    b = await startChromium(port, STRANGER); // same port, another browser, another login
    expect(b.id).not.toBe(aId);
  }, TEST_TIMEOUT_MS);

  beforeEach(async () => {
    await writeFile(home.file('real'), good); // every story starts from the good login recorded against A
  });

  it('`save` without --cdp refuses with BROWSER_REPLACED (exit 5) and leaves the good login byte-for-byte', async () => {
    const plain = await home.raptor('save', 'real');
    expect(plain.code, plain.stderr).toBe(5);
    expect(plain.stderr).toMatch(/--cdp/); // the way out is named
    expect(plain.stderr).not.toMatch(/^\s+at /m);
    const json = await home.raptor('save', 'real', '--json');
    expect(json.code).toBe(5);
    expect(errorOf(json).code).toBe('BROWSER_REPLACED');
    expect(await readFile(home.file('real'), 'utf8')).toBe(good);
    expect((await strangerState(b)).cookies).toEqual([`sid=${STRANGER}`]);
  });

  it('validate --live, list --live and stats do not take the stranger for the session\'s browser', async () => {
    const validate = await home.raptor('validate', 'real', '--live', '--json');
    expect(validate.code).toBe(4);
    expect(validate.json().results[0].issues.map((i: { code: string }) => i.code)).toContain('BROWSER_REPLACED');
    const list = await home.raptor('list', '--live', '--json');
    expect(list.json().sessions).toMatchObject([{ name: 'real', live: false }]);
    const stats = await home.raptor('stats', '--json');
    expect(stats.json().stats).toMatchObject({ count: 1, live: 0 });
    expect(await readFile(home.file('real'), 'utf8')).toBe(good);
  });

  it('`save --cdp <that port>` is the explicit way out: it saves the browser there and records its id', async () => {
    const explicit = await home.raptor('save', 'real', '--cdp', b.url, '--json');
    expect(explicit.code, explicit.stderr).toBe(0);
    const record = JSON.parse(await readFile(home.file('real'), 'utf8')) as { browserId: string };
    expect(record.browserId).toBe(b.id);
    expect(cookiesIn(home.file('real'))).toEqual([`sid=${STRANGER}`]);
  });

  it('restore relaunches with the good login, and stop never touches the stranger', async () => {
    const before = await strangerState(b);
    const restored = await home.raptor('restore', 'real', '--json');
    expect(restored.code, restored.stderr).toBe(0);
    const out = restored.json<{ mode: string; cdpUrl: string; browserId: string }>();
    expect(out.mode).toBe('relaunched');
    expect(out.browserId).not.toBe(b.id);
    const relaunched = await chromium.connectOverCDP(out.cdpUrl);
    expect((await relaunched.contexts()[0]!.cookies()).map((c) => `${c.name}=${c.value}`)).toEqual([`sid=${GOOD}`]);
    await relaunched.close();

    // The record now points at raptor's own browser; put the stranger's port back, as after a crash.
    await writeFile(home.file('real'), good);
    const stopped = await home.raptor('stop', 'real', '--json');
    expect(stopped.code, stopped.stderr).toBe(0);
    expect(isAlive(b.pid)).toBe(true);
    expect(await strangerState(b)).toEqual(before);
    expect(await versionAt(b.url)).toMatchObject({ webSocketDebuggerUrl: b.version['webSocketDebuggerUrl'] });
  });

  it('a crawl of the session relaunches with the good login and opens no tab in the stranger', async () => {
    const before = await strangerState(b);
    const manager = await SessionManager.open({ env: { ...process.env, ...home.env }, autoCleanup: false });
    try {
      const crawl = await Crawl.open({ session: 'real', manager, heartbeatMs: 200 });
      try {
        expect(crawl.mode).toBe('relaunched');
        expect(crawl.browserId).not.toBe(b.id);
        expect((await crawl.context.cookies()).map((c) => `${c.name}=${c.value}`)).toEqual([`sid=${GOOD}`]);
        await crawl.run(async () => undefined);
      } finally {
        await crawl.close();
      }
      await manager.stopBrowser('real');
    } finally {
      await manager.close();
    }
    expect(cookiesIn(home.file('real'))).toEqual([`sid=${GOOD}`]);
    expect(await strangerState(b)).toEqual(before);
  });

  it('open loads the good login in its own browser and saves it back, not the stranger\'s', async () => {
    const before = await strangerState(b);
    const open = await startCli(['open', 'real', '--headless', '--json'], { env: home.env });
    for (let i = 0; i < 600 && !/opened/.test(open.out.stderr); i++) await delay(50);
    await delay(1500); // let the window come up; stopping earlier must work too, it only captures less
    open.child.kill('SIGTERM');
    const exit = await open.exited;
    expect(exit.code, open.out.stderr).toBe(0);
    expect(cookiesIn(home.file('real'))).toEqual([`sid=${GOOD}`]);
    expect(await strangerState(b)).toEqual(before);
  });

  it('an older record without a browser id is not proof: save refuses, nothing counts the stranger as live', async () => {
    const old = JSON.parse(good) as Record<string, unknown>;
    delete old['browserId'];
    const oldText = `${JSON.stringify(old, null, 2)}\n`;
    await writeFile(home.file('real'), oldText);
    const save = await home.raptor('save', 'real', '--json');
    expect(save.code).toBe(5);
    expect(errorOf(save)).toMatchObject({ code: 'BROWSER_REPLACED', message: expect.stringMatching(/--cdp/) });
    expect(await readFile(home.file('real'), 'utf8')).toBe(oldText);
    expect((await home.raptor('list', '--live', '--json')).json().sessions).toMatchObject([{ name: 'real', live: false }]);
    expect((await home.raptor('stats', '--json')).json().stats).toMatchObject({ live: 0 });
    const validate = await home.raptor('validate', 'real', '--live', '--json');
    expect(validate.json().results[0].valid).toBe(false);
    const restored = await home.raptor('restore', 'real', '--json');
    expect(restored.code, restored.stderr).toBe(0);
    expect(restored.json().mode).toBe('relaunched');
    expect(isAlive(b.pid)).toBe(true);
  });
});

describe('something that is not the saved browser answers on its port', { timeout: TEST_TIMEOUT_MS }, () => {
  let b: RunningChromium;
  beforeAll(async () => {
    b = await startChromium(await freePort(), STRANGER);
  }, TEST_TIMEOUT_MS);

  const recordedId = 'a1b2c3d4-0000-4000-8000-00000000000a';
  const cases: { name: string; body: (port: number) => string }[] = [
    // A server that copies a real Chromium's /json/version, but with its own id.
    { name: 'same-browser-string', body: (port) => JSON.stringify({ ...b.version, webSocketDebuggerUrl: `ws://127.0.0.1:${port}/devtools/browser/ffffffff-0000-4000-8000-000000000000` }) },
    { name: 'junk', body: () => '<html>not a browser</html>' },
    // It points raptor at somebody else's browser (B) on another address.
    { name: 'copied-ws-url', body: () => JSON.stringify({ ...b.version, webSocketDebuggerUrl: String(b.version['webSocketDebuggerUrl']).replace('127.0.0.1', 'localhost') }) },
    // It knows the recorded id (it is in the session file) and claims it; no browser is behind it.
    { name: 'copied-id', body: (port) => JSON.stringify({ ...b.version, webSocketDebuggerUrl: `ws://127.0.0.1:${port}/devtools/browser/${recordedId}` }) },
  ];

  it('a fake with the same Browser string, junk, a copied debugger URL of another host, a copied id: no save captures it, nothing calls it live', async () => {
    const home = await newHome();
    const ports = new Map<string, number>();
    const manager = await SessionManager.open({ env: { ...process.env, ...home.env }, autoCleanup: false });
    try {
      for (const { name, body } of cases) {
        const port = await freePort();
        ports.set(name, port);
        await startFake(port, () => body(port));
        await manager.save(name, { storageState: { cookies: [{ name: 'sid', value: GOOD, domain: 'app.test', path: '/', expires: -1, httpOnly: false, secure: false, sameSite: 'Lax' }], origins: [] } });
        await manager.update(name, (r) => ({ ...r, cdpUrl: `http://127.0.0.1:${port}`, browserId: recordedId }));
      }
    } finally {
      await manager.close();
    }
    const good = new Map(await Promise.all(cases.map(async ({ name }) => [name, await readFile(home.file(name), 'utf8')] as const)));

    for (const { name } of cases) {
      const save = await home.raptor('save', name, '--json');
      expect(save.code, `${name}: ${save.stdout}`).toBe(5);
      expect(['BROWSER_REPLACED', 'BROWSER_UNREACHABLE']).toContain(errorOf(save).code);
      expect(await readFile(home.file(name), 'utf8')).toBe(good.get(name));
      // Named explicitly, it is still not a browser at that address.
      const explicit = await home.raptor('save', `${name}-explicit`, '--cdp', `http://127.0.0.1:${ports.get(name)}`, '--json');
      expect(explicit.code, `${name}: ${explicit.stdout}`).toBe(5);
      expect(existsSync(home.file(`${name}-explicit`))).toBe(false);
    }

    const validate = (await home.raptor('validate', '--all', '--live', '--json')).json<{ results: { name: string; valid: boolean }[] }>();
    expect(validate.results.map((r) => [r.name, r.valid])).toEqual(cases.map(({ name }) => [name, false]).sort());
    const list = (await home.raptor('list', '--live', '--json')).json<{ sessions: { name: string; live: boolean }[] }>();
    expect(list.sessions.map((s) => [s.name, s.live])).toEqual(cases.map(({ name }) => [name, false]).sort());
    expect((await home.raptor('stats', '--json')).json().stats).toMatchObject({ count: cases.length, live: 0 });
    expect((await strangerState(b)).cookies).toEqual([`sid=${STRANGER}`]);
  });
});

describe('a crawl taking over closes stray tabs only in the session\'s own browser', { timeout: TEST_TIMEOUT_MS }, () => {
  it('a server that copies the recorded id gets no /json/close', async () => {
    const home = await newHome();
    const port = await freePort();
    const recordedId = 'c0ffee00-0000-4000-8000-0000000000cc';
    const asked: string[] = [];
    const server = createServer((req, res) => {
      asked.push(req.url ?? '');
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(req.url?.startsWith('/json/version') ? JSON.stringify({ Browser: 'Chrome/140', webSocketDebuggerUrl: `ws://127.0.0.1:${port}/devtools/browser/${recordedId}` }) : '{}');
    });
    await new Promise<void>((done) => server.listen(port, '127.0.0.1', done));
    killers.push(() => new Promise<void>((done) => server.close(() => done())));
    const manager = await SessionManager.open({ env: { ...process.env, ...home.env }, autoCleanup: false });
    try {
      await manager.save('crawler', { storageState: { cookies: [], origins: [] } });
      const record = await manager.update('crawler', (r) => ({ ...r, cdpUrl: `http://127.0.0.1:${port}`, browserId: recordedId }));
      const dir = join(home.path, 'crawl');
      await mkdir(dir);
      await writeFile(join(dir, TABS_FILE), JSON.stringify(['A1B2C3', 'D4E5F6']));
      await prepareBrowser(manager, record, dir, undefined);
    } finally {
      await manager.close();
    }
    expect(asked.some((url) => url.startsWith('/json/version')), 'it was asked who it is').toBe(true);
    expect(asked.filter((url) => url.startsWith('/json/close'))).toEqual([]);
  });
});

describe("the kept-alive browser's pid or record now points at something else", { timeout: TEST_TIMEOUT_MS }, () => {
  it('stop and rm never signal a process whose command line only contains the profile path', async () => {
    const home = await newHome();
    await home.raptor('import', await stateFile(home.path), '--name', 'victim');
    const profileDir = join(home.path, 'profiles', 'victim');
    await mkdir(profileDir, { recursive: true });
    // Recycled pids: one that mentions the profile inside a longer argument, one that names it
    // exactly but started long after raptor recorded its browser.
    const longer = startImpostor([`--user-data-dir=${profileDir}-not-raptor`]);
    const exact = startImpostor([`--user-data-dir=${profileDir}`]);
    await delay(200);
    const hourAgo = new Date(Date.now() - 3_600_000).toISOString();
    const records = [
      { pid: longer.pid, startedAt: new Date().toISOString() },
      { pid: exact.pid, startedAt: hourAgo }, // a record of an older raptor: only the launch time to go by
      { pid: exact.pid, startedAt: new Date().toISOString(), pidStartTicks: 1 }, // the recorded process started at boot
    ];
    for (const record of records) {
      await writeFile(join(profileDir, 'raptor-browser.json'), JSON.stringify({ ...record, cdpUrl: 'http://127.0.0.1:9', browserId: 'gone', profileDir, executablePath: CHROMIUM }));
      const stop = await home.raptor('stop', 'victim', '--json');
      expect(stop.code, stop.stderr).toBe(0);
      expect(stop.json()).toMatchObject({ stopped: false });
      expect(isAlive(record.pid!)).toBe(true);
      await mkdir(profileDir, { recursive: true });
    }
    await writeFile(join(profileDir, 'raptor-browser.json'), JSON.stringify({ pid: longer.pid, cdpUrl: 'http://127.0.0.1:9', browserId: 'gone', profileDir, executablePath: CHROMIUM, startedAt: new Date().toISOString() }));
    expect((await home.raptor('rm', 'victim')).code).toBe(0);
    expect(isAlive(longer.pid!)).toBe(true);
    expect(isAlive(exact.pid!)).toBe(true);
  });

  it("a keep-alive record copied from another session's profile never stops that session's browser", async () => {
    const home = await newHome();
    const launched = await home.raptor('launch', 'other', '--json');
    expect(launched.code, launched.stderr).toBe(0);
    const otherKept = (await readKeepAlive(join(home.path, 'profiles', 'other')))!;
    await home.raptor('import', await stateFile(home.path), '--name', 'victim');
    const victimProfile = join(home.path, 'profiles', 'victim');
    await mkdir(victimProfile, { recursive: true });
    await writeFile(join(victimProfile, 'raptor-browser.json'), JSON.stringify(otherKept)); // names other's profile and pid
    const stop = await home.raptor('stop', 'victim', '--json');
    expect(stop.code, stop.stderr).toBe(0);
    expect(stop.json()).toMatchObject({ stopped: false });
    expect(isAlive(otherKept.pid)).toBe(true);
    expect(await versionAt(otherKept.cdpUrl)).toBeDefined();
    // An older record (no browser id) of raptor's own kept-alive browser is proven by its profile.
    const file = home.file('other');
    const record = JSON.parse(await readFile(file, 'utf8')) as Record<string, unknown>;
    expect(record['browserId']).toBe(otherKept.browserId);
    delete record['browserId'];
    await writeFile(file, JSON.stringify(record));
    const save = await home.raptor('save', 'other', '--json');
    expect(save.code, save.stdout).toBe(0);
    expect(JSON.parse(await readFile(file, 'utf8')).browserId).toBe(otherKept.browserId);
    expect((await home.raptor('list', '--live', '--json')).json().sessions.find((s: { name: string }) => s.name === 'other')).toMatchObject({ live: true });
    expect((await home.raptor('stop', 'other', '--json')).json()).toMatchObject({ stopped: true });
    expect(isAlive(otherKept.pid)).toBe(false);
  });
});

describe('validate --live of sessions that never had a browser (issue 10, item 7)', { timeout: TEST_TIMEOUT_MS }, () => {
  it('a Playwright Test role with only a state is valid, "no live browser" is information, exit 0', async () => {
    const home = await newHome();
    await home.raptor('import', await stateFile(home.path), '--name', 'admin');
    await home.raptor('import', await stateFile(home.path), '--name', 'viewer');
    const json = await home.raptor('validate', '--all', '--live', '--json');
    expect(json.code, json.stdout).toBe(0);
    for (const result of json.json().results) {
      expect(result).toMatchObject({ valid: true, issues: [], browser: { status: 'none', message: expect.stringMatching(/no live browser/) } });
    }
    const text = await home.raptor('validate', '--all', '--live');
    expect(text.code).toBe(0);
    expect(text.stdout).toMatch(/admin: valid.*no live browser/);
  });
});

async function stateFile(dir: string): Promise<string> {
  const file = join(dir, `state-${Math.random().toString(16).slice(2)}.json`);
  await writeFile(file, JSON.stringify({ cookies: [{ name: 'sid', value: GOOD, domain: 'app.test', path: '/', expires: -1, httpOnly: false, secure: false, sameSite: 'Lax' }], origins: [] }));
  return file;
}
