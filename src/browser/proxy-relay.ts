/**
 * The proxy relay of a kept-alive browser: why it exists and how it lives.
 *
 * Chromium has no flag for proxy credentials. It meets the proxy's 407 challenge and asks its
 * embedder, and a detached headless Chromium has none: CDP's `Fetch.authRequired` answers only
 * while a client is attached, and dies with that connection. So when a session's proxy needs a
 * username and password, raptor starts this relay next to the browser: a loopback HTTP proxy
 * (`proxy-relay-server.ts`) that adds `Proxy-Authorization` to everything it forwards upstream;
 * Chromium's `--proxy-server` names the relay.
 *
 * - Credentials go to the relay on stdin, never on argv or in its environment (both readable in
 *   /proc), and never into a file or a log line.
 * - It is detached (own process group) like the browser and outlives the process that launched
 *   it. `raptor-proxy-relay.json` in the profile records pid, start ticks and port (no
 *   credentials), so `stopKeepAlive` and leftovers cleanup stop it, and only it: a pid is signalled
 *   only when its start ticks and its `--raptor-proxy-relay=<profile>` argument still match.
 * - It watches the browser's pid and exits when the browser is gone, so a kill -9 of the browser
 *   leaves no relay behind; and it exits when its launcher dies before naming a browser.
 * - Upstream: `http://` only. An `https://` or SOCKS proxy with credentials is refused with
 *   `INVALID_INPUT` (Chromium cannot authenticate to SOCKS at all; TLS to the proxy is not built).
 */
import { spawn } from 'node:child_process';
import { closeSync, constants, openSync, readFileSync, rmSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createInterface } from 'node:readline';
import { withTimeout } from '../core/deadline.js';
import { RaptorError, errnoCode, isRaptorError } from '../core/errors.js';
import type { Identity } from '../core/identity.js';
import { redactUrl } from '../core/redact-url.js';
import { writeFileAtomic } from '../fs/file-io.js';
import { isAlive } from '../fs/file-lock.js';
import { fsFault } from '../fs/fs-errors.js';
import { readJsonObjectSync } from '../fs/json-file.js';
import { processStartTicks } from './process-start.js';
import { killGroup, stopGroup } from './process-group.js';

export const PROXY_RELAY_FILE = 'raptor-proxy-relay.json';
/** The relay's stderr: start failures and "proxy authentication failed", never a credential. */
export const PROXY_RELAY_LOG = 'raptor-proxy-relay.log';
const PROFILE_ARG = '--raptor-proxy-relay=';

export interface ProxyRelayRecord {
  pid: number;
  /** When `pid` started (clock ticks since boot, Linux): a recycled pid has another. */
  pidStartTicks?: number;
  port: number;
  /** What Chromium's `--proxy-server` names: `http://127.0.0.1:<port>`. */
  server: string;
  startedAt: string;
}

export interface StartedRelay extends ProxyRelayRecord {
  /** The browser is up: the relay watches `pid` from now on and exits when it is gone. */
  serve(browserPid: number, browserStartTicks: number | undefined): Promise<void>;
  /** The launch failed: stop the relay and forget it. */
  abandon(): Promise<void>;
}

/** True when this proxy needs the relay: it asks for credentials, which Chromium cannot give. */
export function needsProxyRelay(proxy: Identity['proxy']): proxy is NonNullable<Identity['proxy']> & { username: string } {
  return proxy?.username !== undefined;
}

/** The upstream as the relay speaks to it: `http://host:port` only, else `INVALID_INPUT` naming no credential. */
export function relayUpstream(server: string): string {
  let url: URL;
  try {
    // Chromium reads `host:port` as an http proxy; so does the relay.
    url = new URL(server.includes('://') ? server : `http://${server}`);
  } catch {
    throw new RaptorError('INVALID_INPUT', `The session's proxy \`${redactUrl(server)}\` is not a URL. Give it as http://host:port.`);
  }
  if (url.protocol !== 'http:') {
    throw new RaptorError(
      'INVALID_INPUT',
      `A kept-alive browser can use a proxy with a username and password only over http:// (\`${redactUrl(server)}\` is ${url.protocol.replace(':', '')}): Chromium cannot authenticate to ${url.protocol.startsWith('socks') ? 'a SOCKS proxy' : 'this proxy'} by itself. Use the provider's http:// endpoint, or restore without keep-alive so that Playwright answers the proxy.`,
    );
  }
  if (url.username || url.password) {
    throw new RaptorError('INVALID_INPUT', `The session's proxy server \`${redactUrl(server)}\` carries credentials in its URL: give them as the proxy's username and password instead.`);
  }
  return `http://${url.host}`;
}

/**
 * Starts the relay for `profileDir` (stopping a previous one of that profile first) and waits
 * until it listens. The caller launches the browser at `server`, then calls `serve()` (or
 * `abandon()` when the launch failed).
 */
export async function startProxyRelay(options: { profileDir: string; proxy: NonNullable<Identity['proxy']> & { username: string }; timeoutMs?: number }): Promise<StartedRelay> {
  const { profileDir, proxy } = options;
  const upstream = relayUpstream(proxy.server);
  await stopProxyRelay(profileDir);
  const { command, args, cwd } = relayCommand(profileDir);
  const log = openLog(profileDir);
  let child;
  try {
    // The environment is PATH only: nothing of the caller's (a RAPTOR_KEY, a token) lives on in a detached process.
    child = spawn(command, args, { cwd, detached: true, stdio: ['pipe', 'pipe', log], env: { PATH: process.env['PATH'] ?? '' } });
  } finally {
    closeSync(log);
  }
  let exited: string | undefined;
  let spawnError: Error | undefined;
  child.once('exit', (code, signal) => (exited = signal ?? `code ${code}`));
  child.once('error', (error) => (spawnError = error));
  child.stdin!.on('error', () => undefined); // a relay that died at start: reported below, not as EPIPE
  child.stdin!.write(`${JSON.stringify({ server: upstream, username: proxy.username, password: proxy.password ?? '' })}\n`);

  const stopNow = () => killGroup(child.pid!, 'SIGKILL');
  const lines = createInterface({ input: child.stdout! });
  const portLine = new Promise<string | undefined>((resolve) => {
    lines.once('line', resolve);
    lines.once('close', () => resolve(undefined));
  });
  const line = await withTimeout(portLine, options.timeoutMs ?? 10_000, () => 'timeout' as const);
  lines.close();
  const port = line && line !== 'timeout' ? Number((JSON.parse(line) as { port?: unknown }).port) : NaN;
  if (!Number.isInteger(port) || port <= 0) {
    if (!exited) stopNow();
    const why = spawnError ? spawnError.message : line === 'timeout' ? 'it did not listen in time' : `it exited (${exited ?? 'no port'})`;
    throw new RaptorError('BROWSER_FAILED', `Cannot start the proxy relay of \`${profileDir}\`: ${why}. ${logTail(profileDir)}See \`${join(profileDir, PROXY_RELAY_LOG)}\`.`);
  }

  const pidStartTicks = processStartTicks(child.pid!);
  const record: ProxyRelayRecord = {
    pid: child.pid!,
    ...(pidStartTicks !== undefined ? { pidStartTicks } : {}),
    port,
    server: `http://127.0.0.1:${port}`,
    startedAt: new Date().toISOString(),
  };
  try {
    await writeFileAtomic(profileDir, PROXY_RELAY_FILE, `${JSON.stringify(record, null, 2)}\n`);
  } catch (error) {
    stopNow();
    throw error;
  }
  const detach = () => {
    child.stdout!.destroy();
    child.unref();
  };
  return {
    ...record,
    async serve(browserPid, browserStartTicks) {
      const watch = { pid: browserPid, ...(browserStartTicks !== undefined ? { startTicks: browserStartTicks } : {}) };
      // Awaited: a launcher that exits right after must not take the unsent line with it (the relay would see no browser and exit).
      await new Promise<void>((resolve) => {
        child.stdin!.once('error', () => resolve()); // a relay that died meanwhile: the browser fails closed (no proxy, no direct)
        child.stdin!.end(`${JSON.stringify({ watch })}\n`, () => resolve());
      });
      detach();
    },
    async abandon() {
      child.stdin!.end(); // stdin closed without a browser to watch: the relay exits by itself; the kill makes sure
      detach();
      await stopProxyRelay(profileDir);
    },
  };
}

/**
 * A new log per launch. Unlinked first, then created exclusively: a symbolic or hard link planted
 * at its name is removed as a name, never written (or truncated) through.
 */
function openLog(profileDir: string): number {
  const path = join(profileDir, PROXY_RELAY_LOG);
  rmSync(path, { force: true });
  try {
    return openSync(path, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW, 0o600);
  } catch (error) {
    throw fsFault(error, path) ?? error;
  }
}

/** `node proxy-relay-main.js`, or through tsx when raptor runs from its TypeScript sources (its own tests). */
function relayCommand(profileDir: string): { command: string; args: string[]; cwd: string } {
  const here = fileURLToPath(import.meta.url);
  const fromSources = here.endsWith('.ts');
  const main = join(dirname(here), `proxy-relay-main${fromSources ? '.ts' : '.js'}`);
  return {
    command: process.execPath,
    args: [...(fromSources ? ['--import', 'tsx'] : []), main, `${PROFILE_ARG}${profileDir}`],
    cwd: dirname(dirname(dirname(here))), // the package root: where `tsx` resolves from sources
  };
}

/** The last line of the relay's log, for an error message (the relay never writes a credential there). */
function logTail(profileDir: string): string {
  try {
    const last = readFileSync(join(profileDir, PROXY_RELAY_LOG), 'utf8').trim().split('\n').at(-1)?.slice(0, 300);
    return last ? `It said: ${last}. ` : '';
  } catch {
    return '';
  }
}

export function readProxyRelay(profileDir: string): ProxyRelayRecord | undefined {
  try {
    return readJsonObjectSync(join(profileDir, PROXY_RELAY_FILE), { noFollow: true }) as ProxyRelayRecord | undefined;
  } catch (error) {
    if (isRaptorError(error, 'FOREIGN_DIRECTORY')) return undefined; // a link is not a record raptor wrote
    throw error;
  }
}

/**
 * True when `record.pid` is the relay raptor started for `profileDir`: alive, started at the
 * recorded tick, and its argv names that very profile (the profile the record was found in).
 */
export function isOwnRelayRunning(record: ProxyRelayRecord, profileDir: string): boolean {
  if (!Number.isInteger(record.pid) || record.pid <= 0 || !isAlive(record.pid)) return false;
  try {
    const args = readFileSync(`/proc/${record.pid}/cmdline`, 'utf8').split('\0');
    if (!args.includes(`${PROFILE_ARG}${profileDir}`)) return false;
    return record.pidStartTicks !== undefined && processStartTicks(record.pid) === record.pidStartTicks;
  } catch (error) {
    // No /proc (macOS): the pid alone must do.
    return errnoCode(error) === 'ENOENT' && process.platform !== 'linux';
  }
}

/** Stops the relay of `profileDir` when it is raptor's own, and removes its record. False when none of ours ran. */
export async function stopProxyRelay(profileDir: string, timeoutMs = 5000): Promise<boolean> {
  const record = readProxyRelay(profileDir);
  if (!record) return false;
  const ours = isOwnRelayRunning(record, profileDir);
  if (ours) {
    await stopGroup(record.pid, timeoutMs);
  }
  await rm(join(profileDir, PROXY_RELAY_FILE), { force: true });
  return ours;
}

