/**
 * Browser faults: the browser killed during `save` and during `restore`, a browser frozen mid-save,
 * and an endpoint that answers its probe but never the CDP handshake. Each ends in a clear error
 * or a relaunch within a bounded time, never a hang, and never a half-written session.
 */
import { createServer, type Server } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { killHard } from '../fixtures/processes.js';
import { startFixtureSite, type FixtureSite } from '../fixtures/site/server.js';
import { readKeepAlive } from '../src/browser/keep-alive.js';
import { isRaptorError } from '../src/core/errors.js';
import { profileDirFor } from '../src/env/paths.js';
import { createRaptorEnv } from './helpers/env.js';

/**
 * What the bounds below allow beyond raptor's own timeouts: a shared 2-core machine running
 * other suites can stall any process for a second or two. A hang would overshoot by far more.
 */
const SLACK_MS = 3_000;

describe('browser faults', () => {
  let site: FixtureSite;
  let env: Awaited<ReturnType<typeof createRaptorEnv>>;

  beforeAll(async () => {
    site = await startFixtureSite();
    env = await createRaptorEnv();
  });
  afterAll(async () => {
    await env?.dispose();
    await site?.close();
  });

  /** A kept-alive browser for `name` with some state in it; returns its pid and CDP URL. */
  async function liveBrowser(name: string): Promise<{ pid: number; cdpUrl: string }> {
    const launched = await env.manager.launch(name, { url: `${site.url}/` });
    await launched.page!.evaluate(() => localStorage.setItem('k', 'v'.repeat(50_000)));
    await launched.close();
    const kept = (await readKeepAlive(profileDirFor(env.manager.paths.profilesDir, name)))!;
    return { pid: kept.pid, cdpUrl: kept.cdpUrl };
  }

  it('a browser killed during save: an error or a finished save, within 5 s, never a torn session', async () => {
    const outcomes: string[] = [];
    for (let round = 0; round < 5; round++) {
      const { pid, cdpUrl } = await liveBrowser('killed-saving');
      const before = await env.manager.get('killed-saving');
      const started = Date.now();
      const saving = env.manager.save('killed-saving', { cdpUrl }).then(() => 'saved', (error) => error);
      await new Promise((r) => setTimeout(r, round * 15));
      await killHard(pid, true);
      const outcome = await saving;
      expect(Date.now() - started).toBeLessThan(5_000 + round * 15 + SLACK_MS); // the 5 s capture timeout at most
      if (outcome !== 'saved') expect(isRaptorError(outcome), String(outcome)).toBe(true);
      outcomes.push(outcome === 'saved' ? 'saved' : outcome.code);
      const after = await env.manager.get('killed-saving'); // whole and valid either way
      expect([before.revision, before.revision + 1]).toContain(after.revision);
    }
    expect(outcomes.some((o) => o !== 'saved')).toBe(true); // at least one kill really hit a save
  }, 120_000);

  it('a browser frozen during save: BROWSER_UNREACHABLE after the capture timeout, nothing saved', async () => {
    const { pid, cdpUrl } = await liveBrowser('frozen');
    const before = await env.manager.get('frozen');
    process.kill(-pid, 'SIGSTOP');
    try {
      const started = Date.now();
      const error = await env.manager.save('frozen', { cdpUrl }).catch((e) => e);
      expect(isRaptorError(error) && ['BROWSER_UNREACHABLE'].includes(error.code), String(error)).toBe(true);
      expect(Date.now() - started).toBeLessThan(5_000 + SLACK_MS); // the 5 s capture timeout
    } finally {
      process.kill(-pid, 'SIGCONT');
    }
    expect((await env.manager.get('frozen')).revision).toBe(before.revision);
    await killHard(pid, true);
  }, 60_000);

  it('a browser killed during restore: reattached, relaunched or a clear error, always in bounded time', async () => {
    for (let round = 0; round < 4; round++) {
      const { pid } = await liveBrowser('killed-restoring');
      const started = Date.now();
      const restoring = env.manager.restore('killed-restoring').then(
        async (restored) => {
          await restored.close();
          return restored.mode;
        },
        (error) => error,
      );
      await new Promise((r) => setTimeout(r, round * 10));
      await killHard(pid, true);
      const outcome = await restoring;
      expect(Date.now() - started).toBeLessThan(15_000); // ≤ 5 s to give up on the dead browser, plus a relaunch
      if (typeof outcome !== 'string') expect(isRaptorError(outcome), String(outcome)).toBe(true);
      await env.manager.get('killed-restoring'); // still a valid session
    }
  }, 120_000);

  it('an endpoint that answers its probe but never the CDP handshake: relaunch within 5 s', async () => {
    // Looks like Chromium on /json/version, but its WebSocket endpoint accepts and says nothing.
    const server: Server = createServer((req, res) => {
      const { port } = server.address() as { port: number };
      res.setHeader('content-type', 'application/json');
      res.end(JSON.stringify({ Browser: 'Chrome/1', webSocketDebuggerUrl: `ws://127.0.0.1:${port}/devtools/browser/fake-id` }));
    });
    server.on('upgrade', () => undefined); // never completes the handshake
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as { port: number };
    try {
      await env.manager.save('mute', { storageState: { cookies: [], origins: [] } });
      await env.manager.update('mute', (r) => ({ ...r, cdpUrl: `http://127.0.0.1:${port}`, browserId: 'fake-id' }));
      const started = Date.now();
      const restored = await env.manager.restore('mute');
      const tookMs = Date.now() - started;
      await restored.close();
      expect(restored.mode).toBe('relaunched');
      expect(restored.reattachFailure).toMatch(/could not be attached/);
      expect(tookMs).toBeLessThan(3_000 + 5_000 + SLACK_MS); // 3 s to give up on the handshake, then a relaunch
    } finally {
      server.closeAllConnections();
      server.close();
    }
  }, 60_000);
});
