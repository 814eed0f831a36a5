/**
 * raptor only reattaches to the browser it recorded. A dead browser, a different Chromium that
 * took over the port, or an endpoint that hangs all lead to a relaunch, quickly.
 */
import { spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { probeCdp } from '../src/browser/connect.js';
import { chromiumArgs, findBrowser } from '../src/browser/find.js';
import { readKeepAlive } from '../src/browser/keep-alive.js';
import { isAlive } from '../src/fs/file-lock.js';
import { profileDirFor } from '../src/env/paths.js';
import { createRaptorEnv } from './helpers/env.js';
import { startHangingServer } from './helpers/hanging-server.js';
import { startBystander } from './helpers/bystander.js';
import { killHard } from '../fixtures/processes.js';
import { createTempDir } from './helpers/temp-dir.js';

describe('reattach safety', () => {
  let env: Awaited<ReturnType<typeof createRaptorEnv>>;
  const cleanups: (() => Promise<void>)[] = [];

  beforeAll(async () => {
    env = await createRaptorEnv();
  });
  afterAll(async () => {
    for (const cleanup of cleanups.reverse()) await cleanup();
    await env?.dispose();
  });

  it('does not reattach to a different Chromium that took over the recorded port', async () => {
    const launched = await env.manager.launch('victim');
    const port = new URL(launched.cdpUrl!).port;
    const recordedId = launched.browserId!;
    await launched.close();
    const kept = await readKeepAlive(profileDirFor(env.manager.paths.profilesDir, 'victim'));
    await killHard(kept!.pid, true);

    // A stranger's browser now listens on the very same port.
    const profile = await createTempDir('foreign-profile-');
    const { executablePath } = await findBrowser();
    const foreign = spawn(executablePath, [...chromiumArgs(), '--headless=new', `--user-data-dir=${profile.path}`, `--remote-debugging-port=${port}`, 'about:blank'], {
      detached: true,
      stdio: 'ignore',
    });
    cleanups.push(async () => {
      await killHard(foreign.pid!, true);
      await profile.remove();
    });
    let probe = await probeCdp(`http://127.0.0.1:${port}`);
    for (let i = 0; i < 100 && !probe.alive; i++) probe = (await delay(50), await probeCdp(`http://127.0.0.1:${port}`));
    expect(probe.alive && probe.browserId).not.toBe(recordedId);

    const restored = await env.manager.restore('victim');
    try {
      expect(restored.mode).toBe('relaunched');
      expect(restored.reattachFailure).toMatch(/different browser/);
    } finally {
      await restored.close();
    }
    expect(isAlive(foreign.pid!)).toBe(true); // the stranger's browser is untouched
  });

  it('relaunches within the probe timeout when the recorded endpoint accepts and never answers', async () => {
    const hanging = await startHangingServer();
    cleanups.push(() => hanging.close());
    await env.manager.save('hung', { storageState: { cookies: [], origins: [] } });
    await env.manager.update('hung', (r) => ({ ...r, cdpUrl: hanging.url, browserId: 'gone' }));
    const started = Date.now();
    const restored = await env.manager.restore('hung', { probeTimeoutMs: 500 });
    const took = Date.now() - started;
    await restored.close();
    expect(restored.mode).toBe('relaunched');
    expect(restored.reattachFailure).toMatch(/no answer within 500 ms/);
    expect(took).toBeLessThan(10_000);
  });

  it('never kills a browser raptor did not launch, even if a profile claims its pid', async () => {
    const profileDir = profileDirFor(env.manager.paths.profilesDir, 'impostor');
    const { mkdir, writeFile } = await import('node:fs/promises');
    await mkdir(profileDir, { recursive: true });
    const bystander = startBystander();
    try {
      // A keep-alive record naming the bystander's pid (alive, but not a raptor browser).
      await writeFile(join(profileDir, 'raptor-browser.json'), JSON.stringify({ pid: bystander.pid, cdpUrl: 'http://127.0.0.1:1', browserId: 'x', profileDir, executablePath: 'x', startedAt: new Date().toISOString() }));
      expect(await env.manager.stopBrowser('impostor')).toBe(false);
      expect(await bystander.fate(), 'the bystander named by the record').toBe('still running');
      expect(isAlive(bystander.pid)).toBe(true);
      expect(existsSync(profileDir)).toBe(false);
      expect(() => readFileSync(join(profileDir, 'raptor-browser.json'))).toThrow();
    } finally {
      await bystander.stop();
    }
  });
});
