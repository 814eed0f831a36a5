/**
 * A kept-alive browser whose session's proxy wants a username and password: Chromium cannot
 * answer the 407 by itself, so raptor's local relay answers it. The story a user checks: pages load
 * through the proxy, also from a new connection after the launching process is gone; a wrong
 * password fails the load (no hang) and says so without the password; the password is nowhere
 * another process or a file could read it; and the relay never outlives its browser.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { cp, mkdir, readFile, writeFile } from 'node:fs/promises';
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { connect, createServer, type AddressInfo, type Socket } from 'node:net';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { chromium } from 'playwright-core';
import { launchKeepAlive, processStartTicks, stopKeepAlive, type KeptAliveBrowser } from '../src/browser/keep-alive.js';
import { PROXY_RELAY_FILE, PROXY_RELAY_LOG, isOwnRelayRunning, readProxyRelay, startProxyRelay, stopProxyRelay, type ProxyRelayRecord } from '../src/browser/proxy-relay.js';
import { isAlive } from '../src/fs/file-lock.js';
import { createRelayServer } from '../src/browser/proxy-relay-server.js';
import { loopbackPeerUid } from '../src/browser/loopback-peer.js';
import { isRaptorError } from '../src/core/errors.js';
import { sleep, deadline } from '../src/core/deadline.js';
import { chromiumLaunchFor, type Identity } from '../src/core/identity.js';
import { serve, type Served } from '../fixtures/http/serve.js';
import { startForwardProxy, PROXY_ID_HEADER, type ForwardProxy } from '../fixtures/proxy/forward-proxy.js';
import { createRaptorEnv, testBrowser } from './helpers/env.js';
import { createTempDir } from './helpers/temp-dir.js';
import { filesUnder } from './helpers/secret-scan.js';

const USER = 'alice';
const PASSWORD = `relay-pw-${randomBytes(8).toString('hex')}`;
/** What the relay sends upstream: a leak of it is a leak of the password. */
const AUTHORIZATION = Buffer.from(`${USER}:${PASSWORD}`).toString('base64');

let app: Served;
let proxy: ForwardProxy;
let home: Awaited<ReturnType<typeof createTempDir>>;
const profiles: string[] = [];
const strays: ChildProcess[] = [];
const webSockets = new Set<Socket>();

beforeAll(async () => {
  app = await serve(async (req, res) => {
    res.writeHead(200, { 'content-type': 'text/html' }).end(`<link rel="icon" href="data:,"><p id="via">${req.headers[PROXY_ID_HEADER] ?? 'direct'}</p>`);
  });
  // A WebSocket handshake (all a page needs for `open`): Chromium sends WebSockets through a proxy as a CONNECT tunnel.
  app.server.on('upgrade', (req, socket: Socket) => {
    webSockets.add(socket); // upgraded sockets are no longer the server's: its close would wait for them
    const accept = createHash('sha1').update(`${req.headers['sec-websocket-key']}258EAFA5-E914-47DA-95CA-C5AB0DC85B11`).digest('base64');
    socket.write(`HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: ${accept}\r\n\r\n`);
  });
  proxy = await startForwardProxy({ id: 'exit-relay', username: USER, password: PASSWORD });
  home = await createTempDir('raptor-relay-');
});

afterEach(async () => {
  for (const profileDir of profiles.splice(0)) await stopKeepAlive(profileDir);
  for (const child of strays.splice(0)) child.kill('SIGKILL');
});

afterAll(async () => {
  for (const socket of webSockets) socket.destroy();
  await Promise.all([app?.close(), proxy?.close()]);
  await home?.remove();
});

const withProxy = (password = PASSWORD): Identity => ({ proxy: { server: proxy.url, username: USER, password } });

function profile(name: string): string {
  const dir = join(home.path, 'profiles', `${name}-${randomBytes(3).toString('hex')}`);
  profiles.push(dir);
  return dir;
}

async function launch(name: string, identity = withProxy()): Promise<KeptAliveBrowser> {
  return launchKeepAlive({ profileDir: profile(name), executablePath: testBrowser(), identity });
}

function relayOf(kept: KeptAliveBrowser): ProxyRelayRecord {
  const record = readProxyRelay(kept.profileDir);
  expect(record, 'the relay record').toBeDefined();
  return record!;
}

/** A new CDP connection opens the app; what the page shows (the proxy it came through), or how it failed. */
async function visit(cdpUrl: string): Promise<{ status?: number; text: string }> {
  const browser = await chromium.connectOverCDP(cdpUrl);
  try {
    const context = browser.contexts()[0] ?? (await browser.newContext());
    const page = await context.newPage();
    try {
      // Generous: a failed load must come back as a failure, never as a hang.
      const response = await page.goto(`http://127.0.0.1:${app.port}/`, { timeout: 20_000 });
      return { status: response?.status() ?? 0, text: await page.locator('body').innerText() };
    } catch (error) {
      return { text: (error as Error).message };
    } finally {
      await page.close();
    }
  } finally {
    await browser.close(); // over CDP: disconnects, the browser keeps running
  }
}

/** A page opens a WebSocket: whether it opened, and how many requests the proxy forwarded meanwhile. */
async function webSocketOpens(cdpUrl: string): Promise<{ result: string; forwarded: number }> {
  const browser = await chromium.connectOverCDP(cdpUrl);
  try {
    const page = await (browser.contexts()[0] ?? (await browser.newContext())).newPage();
    await page.goto(`http://127.0.0.1:${app.port}/`);
    const before = proxy.forwarded();
    const result = await page.evaluate(
      (url) =>
        new Promise<string>((resolve) => {
          const ws = new WebSocket(url);
          ws.onopen = () => resolve('open');
          ws.onerror = () => resolve('error');
        }),
      `ws://127.0.0.1:${app.port}/socket`,
    );
    return { result, forwarded: proxy.forwarded() - before };
  } finally {
    await browser.close();
  }
}

async function exitsWithin(pid: number, ms: number): Promise<boolean> {
  const limit = deadline(ms);
  while (isAlive(pid)) {
    if (limit.expired()) return false;
    await sleep(100);
  }
  return true;
}

/** Launches from a child process that exits right after: nothing of the launch may depend on it. */
async function launchFromAnotherProcess(profileDir: string, identity: Identity): Promise<{ kept: KeptAliveBrowser; launcherPid: number }> {
  const child = spawn(process.execPath, ['--import', 'tsx', 'test/helpers/keep-alive-launcher.ts'], { stdio: ['pipe', 'pipe', 'pipe'] });
  strays.push(child);
  let out = '';
  let err = '';
  child.stdout.on('data', (chunk) => (out += chunk));
  child.stderr.on('data', (chunk) => (err += chunk));
  child.stdin.end(JSON.stringify({ profileDir, executablePath: testBrowser(), identity }));
  const code = await new Promise<number | null>((resolve) => child.once('exit', resolve));
  expect(code, err).toBe(0);
  return { kept: JSON.parse(out) as KeptAliveBrowser, launcherPid: child.pid! };
}

describe('a kept-alive browser behind an authenticating proxy (the proxy relay)', () => {
  it('loads pages through the proxy, also from a new connection after the launching process is gone', async () => {
    const profileDir = profile('gone-launcher');
    const forwardedBefore = proxy.forwarded();
    const { kept, launcherPid } = await launchFromAnotherProcess(profileDir, withProxy());
    expect(isAlive(launcherPid)).toBe(false);
    const relay = relayOf(kept);
    expect(isOwnRelayRunning(relay, profileDir)).toBe(true);
    // Chromium talks to the relay, never to the upstream proxy itself.
    const args = readFileSync(`/proc/${kept.pid}/cmdline`, 'utf8').split('\0');
    expect(args).toContain(`--proxy-server=${relay.server}`);
    expect(args.join(' ')).not.toContain(proxy.url);

    expect(await visit(kept.cdpUrl)).toEqual({ status: 200, text: 'exit-relay' });
    expect(await visit(kept.cdpUrl)).toEqual({ status: 200, text: 'exit-relay' }); // and again, on yet another connection
    expect(proxy.forwarded()).toBeGreaterThan(forwardedBefore);
  });

  it('tunnels CONNECT through the proxy too (a WebSocket from the page)', async () => {
    const kept = await launch('tunnel');
    const ws = await webSocketOpens(kept.cdpUrl);
    expect(ws.result).toBe('open');
    expect(ws.forwarded).toBeGreaterThanOrEqual(1); // its tunnel went through the proxy
  });

  it('names the relay, not the upstream, in the one place that builds the flags', () => {
    const identity: Identity = { proxy: { server: 'http://proxy.example:3128', username: USER, password: PASSWORD, bypass: 'intranet.example' } };
    expect(chromiumLaunchFor(identity, { proxyServer: 'http://127.0.0.1:4567' }).args).toEqual(['--proxy-server=http://127.0.0.1:4567', '--proxy-bypass-list=<-loopback>,intranet.example']);
    expect(chromiumLaunchFor(identity).args[0]).toBe('--proxy-server=http://proxy.example:3128');
  });

  it('fails the load with a wrong password, at once, saying why without the password', async () => {
    const wrong = `wrong-pw-${randomBytes(8).toString('hex')}`;
    const refusedBefore = proxy.refused();
    const kept = await launch('wrong-password', withProxy(wrong));
    const seen = await visit(kept.cdpUrl);
    expect(seen.status).toBe(502);
    expect(seen.text).toMatch(/proxy authentication failed/);
    expect(proxy.refused()).toBeGreaterThan(refusedBefore);

    // A tunnel (https, WebSockets) fails the same way.
    const tunnelled = await rawConnect(relayOf(kept).port, `127.0.0.1:${app.port}`);
    expect(tunnelled).toMatch(/^HTTP\/1\.1 502 .*proxy authentication failed/s);

    const log = await readFile(join(kept.profileDir, PROXY_RELAY_LOG), 'utf8');
    expect(log).toMatch(/proxy authentication failed/);
    for (const text of [seen.text, tunnelled, log]) {
      expect(text).not.toContain(wrong);
      expect(text).not.toContain(Buffer.from(`${USER}:${wrong}`).toString('base64'));
    }
  });

  it('keeps the password out of every argv, environment and file another process could read', async () => {
    const { path: raptorHome } = home;
    const kept = await launch('secrets');
    expect(await visit(kept.cdpUrl)).toMatchObject({ text: 'exit-relay' }); // the relay really used it
    const relay = relayOf(kept);
    const readable = [
      { what: 'relay cmdline', text: readFileSync(`/proc/${relay.pid}/cmdline`, 'utf8') },
      { what: 'relay environ', text: readFileSync(`/proc/${relay.pid}/environ`, 'utf8') },
      { what: 'browser cmdline', text: readFileSync(`/proc/${kept.pid}/cmdline`, 'utf8') },
      { what: 'browser environ', text: readFileSync(`/proc/${kept.pid}/environ`, 'utf8') },
      ...(await filesUnder(raptorHome, () => false)),
    ];
    expect(readable.some((o) => o.what.endsWith(PROXY_RELAY_FILE))).toBe(true); // the scan did see the relay's files
    const leaks = readable.filter((o) => o.text.includes(PASSWORD) || o.text.includes(AUTHORIZATION)).map((o) => o.what);
    expect(leaks).toEqual([]);
  });

  it('refuses a SOCKS proxy with credentials clearly, before starting anything', async () => {
    const profileDir = profile('socks');
    const error = await launchKeepAlive({ profileDir, executablePath: testBrowser(), identity: { proxy: { server: 'socks5://127.0.0.1:1080', username: USER, password: PASSWORD } } }).catch((e: unknown) => e);
    expect(isRaptorError(error, 'INVALID_INPUT')).toBe(true);
    expect((error as Error).message).toMatch(/http:\/\/.*SOCKS/);
    expect((error as Error).message).not.toContain(PASSWORD);
    expect(existsSync(join(profileDir, PROXY_RELAY_FILE))).toBe(false);
    expect(existsSync(join(profileDir, 'raptor-browser.json'))).toBe(false);
  });
});

describe('the proxy relay lives and dies with its browser', () => {
  it('is stopped by stopKeepAlive', async () => {
    const kept = await launch('stop');
    const relay = relayOf(kept);
    expect(isAlive(relay.pid)).toBe(true);
    expect(await stopKeepAlive(kept.profileDir)).toBe(true);
    expect(isAlive(relay.pid)).toBe(false);
    expect(existsSync(join(kept.profileDir, PROXY_RELAY_FILE))).toBe(false);
  });

  it('is stopped when the browser fails to start', async () => {
    const profileDir = profile('no-browser');
    const error = await launchKeepAlive({ profileDir, executablePath: '/bin/false', identity: withProxy() }).catch((e: unknown) => e);
    expect(isRaptorError(error, 'BROWSER_FAILED')).toBe(true);
    expect(processesNaming(profileDir)).toEqual([]);
    expect(existsSync(join(profileDir, PROXY_RELAY_FILE))).toBe(false);
    // The relay did start (its log is there), so the check above could see it.
    expect(existsSync(join(profileDir, PROXY_RELAY_LOG))).toBe(true);
  });

  it('exits by itself within seconds when its browser is killed with SIGKILL', async () => {
    const kept = await launch('kill-9');
    const relay = relayOf(kept);
    process.kill(kept.pid, 'SIGKILL');
    expect(await exitsWithin(relay.pid, 10_000)).toBe(true);
  });

  it('is stopped by leftovers cleanup when its session is gone', async () => {
    const env = await createRaptorEnv({ autoCleanup: false });
    try {
      const profileDir = join(env.manager.paths.profilesDir, 'no-such-session');
      const kept = await launchKeepAlive({ profileDir, executablePath: testBrowser(), identity: withProxy(), store: env.manager.location });
      const relay = relayOf(kept);
      const result = await env.manager.cleanup();
      expect(result.orphanBrowsers).toBe(1);
      expect(isAlive(relay.pid)).toBe(false);
      expect(isAlive(kept.pid)).toBe(false);
    } finally {
      await env.dispose();
    }
  });

  it('is stopped by leftovers cleanup when its browser is already gone and the relay has not noticed', async () => {
    const env = await createRaptorEnv({ autoCleanup: false });
    // A relay that outlives its browser (here: one that serves a process which is not a browser),
    // next to a browser record whose browser is dead: a stale profile, which cleanup removes.
    const servedStranger = spawn(process.execPath, ['-e', 'setInterval(() => {}, 1000)'], { stdio: 'ignore' });
    strays.push(servedStranger);
    try {
      const profileDir = join(env.manager.paths.profilesDir, 'stale');
      await mkdir(profileDir, { recursive: true });
      const relay = await startProxyRelay({ profileDir, proxy: { server: proxy.url, username: USER, password: PASSWORD } });
      await relay.serve(servedStranger.pid!, processStartTicks(servedStranger.pid!));
      const dead = spawn(process.execPath, ['-e', '0'], { stdio: 'ignore' });
      await new Promise((resolve) => dead.once('exit', resolve));
      const record: KeptAliveBrowser = { pid: dead.pid!, cdpUrl: 'http://127.0.0.1:9', browserId: 'x', profileDir, executablePath: testBrowser(), startedAt: new Date().toISOString(), store: env.manager.location };
      await writeFile(join(profileDir, 'raptor-browser.json'), JSON.stringify(record));

      const result = await env.manager.cleanup();
      expect(result.staleProfiles).toBe(1);
      expect(await exitsWithin(relay.pid, 5000)).toBe(true);
      expect(existsSync(profileDir)).toBe(false);
    } finally {
      await env.dispose();
    }
  });

  it('stops only a relay proven to be raptor\'s for that profile', async () => {
    const kept = await launch('owner');
    const relay = relayOf(kept);
    // Another profile's record copied over: that relay must not be stopped through this profile.
    const other = profile('copied');
    await cp(kept.profileDir, other, { recursive: true, filter: (src) => src === kept.profileDir || src.endsWith(PROXY_RELAY_FILE) });
    expect(await stopProxyRelay(other)).toBe(false);
    expect(isAlive(relay.pid)).toBe(true);

    // A process of someone else's at the recorded pid (a recycled pid): same start ticks recorded, not a relay.
    const stranger = spawn(process.execPath, ['-e', 'setInterval(() => {}, 1000)'], { stdio: 'ignore' });
    strays.push(stranger);
    const planted = profile('planted');
    await cp(kept.profileDir, planted, { recursive: true, filter: (src) => src === kept.profileDir });
    await writeFile(join(planted, PROXY_RELAY_FILE), JSON.stringify({ ...relay, pid: stranger.pid, pidStartTicks: processStartTicks(stranger.pid!) }));
    expect(await stopProxyRelay(planted)).toBe(false);
    expect(isAlive(stranger.pid!)).toBe(true);

    // Its own profile, but a record whose start does not match the running process (the pid was recycled).
    const recordText = await readFile(join(kept.profileDir, PROXY_RELAY_FILE), 'utf8');
    await writeFile(join(kept.profileDir, PROXY_RELAY_FILE), JSON.stringify({ ...relay, pidStartTicks: relay.pidStartTicks! + 1 }));
    expect(await stopProxyRelay(kept.profileDir)).toBe(false);
    expect(isAlive(relay.pid)).toBe(true);
    await writeFile(join(kept.profileDir, PROXY_RELAY_FILE), recordText); // so that cleanup stops it
  });
});

describe('the relay serves its own user only', () => {
  it('reads the uid at the other end of a loopback connection', async () => {
    const server = createServer();
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    try {
      const seen = new Promise<number | undefined>((resolve) => server.once('connection', (socket) => resolve(loopbackPeerUid(socket.remotePort!, socket.localPort!))));
      const client = connect((server.address() as AddressInfo).port, '127.0.0.1');
      try {
        expect(await seen).toBe(process.getuid!());
      } finally {
        client.destroy();
      }
      expect(loopbackPeerUid(1, 1)).toBeUndefined();
    } finally {
      server.close();
    }
  });

  it('ends a connection it may not serve without forwarding a byte', async () => {
    const relay = createRelayServer({ server: proxy.url, username: USER, password: PASSWORD }, { onAuthFailed: () => undefined, peerAllowed: () => false });
    await new Promise<void>((resolve) => relay.listen(0, '127.0.0.1', resolve));
    try {
      const forwardedBefore = proxy.forwarded();
      expect(await rawConnect((relay.address() as AddressInfo).port, `127.0.0.1:${app.port}`)).toBe('');
      expect(proxy.forwarded()).toBe(forwardedBefore);
    } finally {
      relay.close();
    }
  });
});

/** Live processes whose argv names `profileDir` (a relay says `--raptor-proxy-relay=<profile>`). */
function processesNaming(profileDir: string): number[] {
  const found: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry) || !isAlive(Number(entry))) continue;
    try {
      if (readFileSync(`/proc/${entry}/cmdline`, 'utf8').split('\0').some((arg) => arg.endsWith(`=${profileDir}`))) found.push(Number(entry));
    } catch {
      // gone meanwhile
    }
  }
  return found;
}

/** A raw CONNECT through the relay at `port`: the relay's answer as text. */
function rawConnect(port: number, target: string): Promise<string> {
  return new Promise((resolve) => {
    const socket = connect(port, '127.0.0.1', () => socket.write(`CONNECT ${target} HTTP/1.1\r\nHost: ${target}\r\n\r\n`));
    let answer = '';
    socket.on('data', (chunk) => (answer += chunk));
    socket.once('close', () => resolve(answer));
    socket.once('error', () => resolve(answer)); // a reset is a closed connection too
    socket.setTimeout(10_000, () => socket.destroy());
  });
}
