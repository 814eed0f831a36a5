/**
 * The core story on a real Chromium: launch, log in, save, lose the owning process,
 * restore by reattach (same browser, same page, still logged in), lose the browser,
 * restore by relaunch (all four kinds of state back).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ALL_PRESENT, readStatus } from '../fixtures/site/drive.js';
import { startFixtureSite, type FixtureSite } from '../fixtures/site/server.js';
import { readKeepAlive } from '../src/browser/keep-alive.js';
import { profileDirFor } from '../src/env/paths.js';
import { createRaptorEnv } from './helpers/env.js';
import { killHard, spawnTs } from '../fixtures/processes.js';

describe('a session outlives the process and the browser that made it', () => {
  let site: FixtureSite;
  let env: Awaited<ReturnType<typeof createRaptorEnv>>;
  let owner: { cdpUrl: string; browserId: string; mode: string };
  const name = 'acme-admin';

  beforeAll(async () => {
    site = await startFixtureSite();
    env = await createRaptorEnv();
    const { child, firstLine } = spawnTs('fixtures/owner-process.ts', [name, site.url], env.env);
    try {
      owner = (await firstLine) as typeof owner;
    } finally {
      await killHard(child.pid!); // the owning process dies without any chance to clean up
    }
  });

  afterAll(async () => {
    await env?.dispose();
    await site?.close();
  });

  it('the owner launched a fresh kept-alive browser and saved its CDP URL and id', async () => {
    expect(owner.mode).toBe('relaunched');
    const record = await env.manager.get(name);
    expect(record.cdpUrl).toBe(owner.cdpUrl);
    expect(record.browserId).toBe(owner.browserId);
    expect(record.storageState.cookies.map((c) => c.name)).toContain('sid');
    expect(Object.values(record.sessionStorage ?? {}).some((items) => 'tab' in items)).toBe(true);
  });

  it('reattaches to the very same browser: same id, the open page still there and logged in', async () => {
    const restored = await env.manager.restore(name);
    try {
      expect(restored.mode).toBe('reattached');
      expect(restored.browserId).toBe(owner.browserId);
      const page = restored.context.pages().find((p) => p.url() === `${site.url}/status`);
      expect(page, 'the /status tab the owner left open').toBeDefined();
      expect(await readStatus(page!, site.url)).toMatchObject(ALL_PRESENT);
    } finally {
      await restored.close();
    }
    expect(site.loginCount()).toBe(1);
  });

  it('saves localStorage of a tab that was open before connecting (Playwright alone misses it)', async () => {
    const saved = await env.manager.save(name, { cdpUrl: owner.cdpUrl });
    const origin = saved.storageState.origins.find((o) => o.origin === site.url);
    expect(origin?.localStorage.map((i) => i.name)).toContain('token');
    expect(saved.sessionStorage?.[site.url]?.['tab']).toMatch(/^tab-/);
  });

  it('relaunches with cookies, localStorage, IndexedDB and sessionStorage when the browser is dead', async () => {
    const kept = await readKeepAlive(profileDirFor(env.manager.paths.profilesDir, name));
    await killHard(kept!.pid, true);
    const restored = await env.manager.restore(name);
    try {
      expect(restored.mode).toBe('relaunched');
      expect(restored.reattachFailure).toMatch(/gone/);
      const page = await restored.context.newPage();
      expect(await readStatus(page, site.url)).toMatchObject({ ...ALL_PRESENT, user: 'alice' });
    } finally {
      await restored.close();
    }
    expect(site.loginCount()).toBe(1);
  });
});
