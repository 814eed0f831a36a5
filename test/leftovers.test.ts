/**
 * What crashes leave behind is cleaned on start: orphaned kept-alive browsers stopped, stale
 * profiles and old crawl journals removed. Nothing of another store, and no browser raptor did
 * not launch, is ever touched.
 */
import { mkdir, readdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { readKeepAlive } from '../src/browser/keep-alive.js';
import { isAlive } from '../src/fs/file-lock.js';
import { profileDirFor } from '../src/env/paths.js';
import { createFileStore } from '../src/store/file.js';
import { createRaptorEnv } from './helpers/env.js';
import { startBystander } from './helpers/bystander.js';

describe('cleanup of crash leftovers', () => {
  let env: Awaited<ReturnType<typeof createRaptorEnv>>;
  beforeEach(async () => {
    env = await createRaptorEnv();
  });
  const cleanups: (() => Promise<void>)[] = [];
  afterEach(async () => {
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
    await env.dispose();
  });

  it('stops the kept-alive browser of a session that was deleted behind raptor’s back', async () => {
    const launched = await env.manager.launch('orphan');
    await launched.close();
    const profileDir = profileDirFor(env.manager.paths.profilesDir, 'orphan');
    const kept = (await readKeepAlive(profileDir))!;
    expect(isAlive(kept.pid)).toBe(true);
    await createFileStore({ dir: env.manager.paths.sessionsDir }).delete('orphan'); // the session file goes behind the manager's back, the browser stays: an orphan

    const dry = await env.open({ autoCleanup: false });
    expect((await dry.cleanup({ dryRun: true })).orphanBrowsers).toBe(1);
    expect(isAlive(kept.pid)).toBe(true);
    await dry.close();

    const next = await env.open();
    expect(next.startupCleanup).toMatchObject({ orphanBrowsers: 1 });
    await next.close();
    for (let i = 0; i < 100 && isAlive(kept.pid); i++) await new Promise((r) => setTimeout(r, 50));
    expect(isAlive(kept.pid)).toBe(false);
    expect(await readdir(env.manager.paths.profilesDir)).not.toContain('orphan');
  });

  it('leaves alone profiles of another store and browsers it cannot prove are its own', async () => {
    const bystander = startBystander();
    cleanups.push(bystander.stop);
    const foreign = join(env.manager.paths.profilesDir, 'fleet-session');
    await mkdir(foreign, { recursive: true });
    const info = { pid: bystander.pid, cdpUrl: 'http://127.0.0.1:1', browserId: 'x', profileDir: foreign, executablePath: 'x', startedAt: new Date().toISOString() };
    await writeFile(join(foreign, 'raptor-browser.json'), JSON.stringify({ ...info, store: 'postgres://db/raptor' }));
    const impostor = join(env.manager.paths.profilesDir, 'impostor');
    await mkdir(impostor, { recursive: true });
    await writeFile(join(impostor, 'raptor-browser.json'), JSON.stringify({ ...info, profileDir: impostor, store: env.manager.location }));

    const next = await env.open();
    expect(next.startupCleanup).toMatchObject({ orphanBrowsers: 0, staleProfiles: 1 });
    await next.close();
    expect(await bystander.fate(), 'the process both records name').toBe('still running');
    expect(isAlive(bystander.pid)).toBe(true);
    expect(await readdir(env.manager.paths.profilesDir)).toEqual(['fleet-session']);
  });

  it('removes journals of completed crawls after crawlRetention, keeps unfinished ones', async () => {
    await env.manager.save('crawler', { storageState: { cookies: [], origins: [] } });
    const crawls = join(env.home, 'crawls');
    const old = new Date(Date.now() - 8 * 86_400_000).toISOString();
    const heartbeat = (status: string, at: string) => JSON.stringify({ session: 'x', store: env.manager.location, status, at });
    for (const [stem, status, at] of [['done-long-ago', 'completed', old], ['done-today', 'completed', new Date().toISOString()], ['crawler', 'paused', old]] as const) {
      await mkdir(join(crawls, stem), { recursive: true });
      await writeFile(join(crawls, stem, 'heartbeat.json'), heartbeat(status, at));
    }
    const next = await env.open();
    expect(next.startupCleanup).toMatchObject({ oldCrawls: 1 });
    await next.close();
    expect((await readdir(crawls)).sort()).toEqual(['crawler', 'done-today']);
  });
});
