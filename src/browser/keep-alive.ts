/**
 * The detached keep-alive launcher: a Chromium that outlives the process that asked for it.
 *
 * It runs in its own process group with its own profile (`~/.raptor/profiles/<name>`) and a
 * CDP port chosen by Chromium (`--remote-debugging-port=0`, read back from the profile's
 * `DevToolsActivePort`). `raptor-browser.json` in the profile records pid, CDP URL and browser id,
 * so later processes can reattach, and `stop` / cleanup can prove a browser is raptor's own
 * before touching it: raptor never kills a browser it did not launch.
 */
import { spawn } from 'node:child_process';
import { rm } from 'node:fs/promises';
import { readFileSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { deadline, sleep } from '../core/deadline.js';
import { RaptorError, errnoCode, isRaptorError } from '../core/errors.js';
import { ownDirs, ownSubdir, removeOwnTree } from '../fs/territory.js';
import { writeFileAtomic } from '../fs/file-io.js';
import { readJsonObjectSync } from '../fs/json-file.js';
import { isAlive } from '../fs/file-lock.js';
import { probeCdp } from './connect.js';
import { chromiumArgs } from './find.js';
import { chromiumLaunchFor, launchFingerprint, type Identity } from '../core/identity.js';
import { bootTimeMs, processStartTicks } from './process-start.js';
import { killGroup, stopGroup } from './process-group.js';
import { needsProxyRelay, startProxyRelay, stopProxyRelay, type StartedRelay } from './proxy-relay.js';

export { processStartTicks } from './process-start.js';

export const KEEP_ALIVE_FILE = 'raptor-browser.json';

export interface KeptAliveBrowser {
  pid: number;
  cdpUrl: string;
  browserId: string;
  /** When the process `pid` started, in clock ticks since boot (Linux): a recycled pid has another. */
  pidStartTicks?: number;
  profileDir: string;
  executablePath: string;
  startedAt: string;
  /** The store whose session this browser serves (its `location`), so cleanup of one store never stops another's browsers. */
  store?: string;
  /** `launchFingerprint` of the identity it was launched with (none without launch fields): a restore compares it with the session's. */
  launchIdentity?: string;
}

export interface KeepAliveOptions {
  profileDir: string;
  executablePath: string;
  /** @default true */
  headless?: boolean;
  args?: string[];
  /** Pages to open at start. @default ['about:blank'] */
  urls?: string[];
  /** @default 20_000 */
  timeoutMs?: number;
  /** Recorded in `raptor-browser.json`: the store the session lives in. */
  store?: string;
  /** The session's identity: what Chromium takes at launch (flags, environment; `chromiumLaunchFor`). */
  identity?: Identity;
}

/** Starts a detached Chromium and waits until its CDP endpoint answers. */
export async function launchKeepAlive(options: KeepAliveOptions): Promise<KeptAliveBrowser> {
  const { profileDir } = options;
  // `profiles/` and `profiles/<name>` must be real directories: a link there would hand the browser (and its cookies) a foreign dir.
  ownDirs(dirname(dirname(profileDir)), [basename(dirname(profileDir)), basename(profileDir)]);
  const proxy = options.identity?.proxy;
  let relay: StartedRelay | undefined;
  if (needsProxyRelay(proxy)) {
    // Credentials Chromium cannot answer a 407 with: it goes through raptor's relay, which adds them.
    // A browser of this profile that still runs keeps its relay: replacing it would cut that browser off.
    if (await runningKeepAlive(profileDir)) {
      throw new RaptorError('BROWSER_FAILED', `A kept-alive browser already runs with the profile \`${profileDir}\`: run \`raptor stop\` first, or reattach to it.`);
    }
    relay = await startProxyRelay({ profileDir, proxy, ...(options.timeoutMs !== undefined ? { timeoutMs: options.timeoutMs } : {}) });
  }
  try {
    const kept = await launchChromium(options, relay);
    await relay?.serve(kept.pid, kept.pidStartTicks);
    return kept;
  } catch (error) {
    await relay?.abandon();
    throw error;
  }
}

async function launchChromium(options: KeepAliveOptions, relay: StartedRelay | undefined): Promise<KeptAliveBrowser> {
  const { profileDir, executablePath } = options;
  const timeoutMs = options.timeoutMs ?? 20_000;
  const identityLaunch = chromiumLaunchFor(options.identity, relay ? { proxyServer: relay.server } : {});
  const fingerprint = launchFingerprint(options.identity);
  const portFile = join(profileDir, 'DevToolsActivePort');
  await rm(portFile, { force: true }); // a previous browser's port must not be mistaken for this one's
  const args = [
    ...chromiumArgs(),
    ...(options.headless === false ? [] : ['--headless=new']),
    `--user-data-dir=${profileDir}`,
    '--remote-debugging-port=0',
    '--remote-debugging-address=127.0.0.1',
    ...identityLaunch.args,
    ...(options.args ?? []),
    ...(options.urls ?? ['about:blank']),
  ];
  const child = spawn(executablePath, args, { detached: true, stdio: 'ignore', env: { ...process.env, ...identityLaunch.env } });
  let exited: string | undefined;
  let spawnError: Error | undefined;
  child.once('exit', (code, signal) => (exited = signal ?? `code ${code}`));
  child.once('error', (error) => (spawnError = error));
  child.unref();

  const started = deadline(timeoutMs);
  for (;;) {
    if (spawnError) throw new RaptorError('BROWSER_FAILED', `Cannot start \`${executablePath}\`: ${spawnError.message}.`, { cause: spawnError });
    if (exited) {
      throw new RaptorError(
        'BROWSER_FAILED',
        `The browser exited at start (${exited}). Another Chromium may be using the profile \`${profileDir}\`: run \`raptor stop\` or close it.`,
      );
    }
    const port = readPort(portFile);
    if (port !== undefined) {
      const cdpUrl = `http://127.0.0.1:${port}`;
      const probe = await probeCdp(cdpUrl, 2000);
      if (probe.alive) {
        const pidStartTicks = processStartTicks(child.pid!);
        const info: KeptAliveBrowser = {
          pid: child.pid!,
          ...(pidStartTicks !== undefined ? { pidStartTicks } : {}),
          cdpUrl,
          browserId: probe.browserId,
          profileDir,
          executablePath,
          startedAt: new Date().toISOString(),
          ...(options.store ? { store: options.store } : {}),
          ...(fingerprint ? { launchIdentity: fingerprint } : {}),
        };
        // Temp file + rename: a `raptor-browser.json` planted as a link is replaced, never written through.
        await writeFileAtomic(profileDir, KEEP_ALIVE_FILE, `${JSON.stringify(info, null, 2)}\n`);
        return info;
      }
    }
    if (started.expired()) {
      killGroup(child.pid!, 'SIGKILL');
      throw new RaptorError('BROWSER_FAILED', `The browser did not open its CDP port within ${timeoutMs} ms; it was stopped.`);
    }
    await sleep(25);
  }
}

function readPort(portFile: string): number | undefined {
  try {
    const port = Number(readFileSync(portFile, 'utf8').split('\n')[0]);
    return Number.isInteger(port) && port > 0 ? port : undefined;
  } catch (error) {
    if (errnoCode(error) === 'ENOENT') return undefined;
    throw error;
  }
}

export async function readKeepAlive(profileDir: string): Promise<KeptAliveBrowser | undefined> {
  let kept: KeptAliveBrowser | undefined;
  try {
    kept = readJsonObjectSync(join(profileDir, KEEP_ALIVE_FILE), { noFollow: true }) as KeptAliveBrowser | undefined;
  } catch (error) {
    // A link or hard link is not a record raptor wrote: no browser of ours is known there.
    if (isRaptorError(error, 'FOREIGN_DIRECTORY')) return undefined;
    throw error;
  }
  // The profile is where the file lies, not what it claims: a record copied from another
  // session's profile must not make that session's browser look like this one's.
  return kept && { ...kept, profileDir };
}

/**
 * The kept-alive browser of `profileDir`, when the very process raptor started for it still runs
 * (see {@link isOwnBrowserRunning}); undefined when there is none, or only a stale record.
 */
export async function runningKeepAlive(profileDir: string): Promise<KeptAliveBrowser | undefined> {
  const kept = await readKeepAlive(profileDir);
  return kept && isOwnBrowserRunning(kept) ? kept : undefined;
}

/**
 * True when `info.pid` is alive *and* is the Chromium raptor started with that profile, so a
 * recycled pid is never mistaken for it: one of its arguments is exactly `--user-data-dir=<profile>`
 * (not a longer path that merely starts with it), and the process started when raptor launched
 * its browser (`pidStartTicks`, or for records of older versions no later than `startedAt`).
 */
export function isOwnBrowserRunning(info: KeptAliveBrowser): boolean {
  if (!isAlive(info.pid)) return false;
  try {
    const args = readFileSync(`/proc/${info.pid}/cmdline`, 'utf8').split('\0');
    if (!args.includes(`--user-data-dir=${info.profileDir}`)) return false;
    const ticks = processStartTicks(info.pid);
    if (ticks === undefined) return false;
    if (info.pidStartTicks !== undefined) return ticks === info.pidStartTicks;
    // btime has a 1 s resolution and the wall clock may have been stepped since: be generous.
    const started = bootTimeMs() + ticks * 10;
    return started <= Date.parse(info.startedAt) + START_SLACK_MS;
  } catch (error) {
    // No /proc (macOS, Windows): the pid alone must do, as long as its CDP endpoint is ours (checked by callers).
    if (errnoCode(error) === 'ENOENT' && process.platform !== 'linux') return true;
    return false;
  }
}

const START_SLACK_MS = 60_000;

/** Stops the kept-alive browser of `profileDir` and its proxy relay. Returns false when no browser of ours was running. */
export async function stopKeepAlive(profileDir: string, timeoutMs = 5000): Promise<boolean> {
  const info = await runningKeepAlive(profileDir);
  if (info) {
    await stopGroup(info.pid, timeoutMs);
  }
  await rm(join(profileDir, KEEP_ALIVE_FILE), { force: true });
  // After the browser: its proxy relay (which would exit within a second by itself, but a stop is a stop).
  await stopProxyRelay(profileDir, timeoutMs);
  return info !== undefined;
}

/**
 * Stops the kept-alive browser of `profileDir` (`<profiles>/<name>`) and removes the profile: it
 * holds the session's cookies too. Only real directories: a link at `profiles/` or at the profile
 * is `FOREIGN_DIRECTORY`, left untouched, and no browser recorded behind it is signalled.
 */
export async function stopAndRemoveProfile(profileDir: string): Promise<boolean> {
  const name = basename(profileDir);
  const profiles = ownSubdir(dirname(dirname(profileDir)), basename(dirname(profileDir)));
  if (!profiles || !ownSubdir(profiles, name)) return false;
  const stopped = await stopKeepAlive(profileDir);
  await removeOwnTree(profiles, name);
  return stopped;
}

