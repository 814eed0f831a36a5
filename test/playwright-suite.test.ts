/**
 * The Playwright Test suite in test/e2e, run as a user runs it (`npx playwright test`, 4 workers),
 * three times against one fixture site that counts logins:
 * run 1 logs in once per role, run 2 not at all, and after the site forgets its server-side
 * sessions, run 3 notices through `check` and logs in once per role again.
 */
import { spawn } from 'node:child_process';
import { readdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startFixtureSite, type FixtureSite } from '../fixtures/site/server.js';
import { SessionManager } from '../src/manager.js';
import { ROOT, cleanEnv, ensureBuilt } from './helpers/cli.js';
import { createTempDir } from './helpers/temp-dir.js';

const ROLES = 3; // admin, viewer, rotator (test/e2e/roles.ts)

function runSuite(env: NodeJS.ProcessEnv): Promise<{ code: number | null; output: string }> {
  return new Promise((resolve) => {
    // The e2e project only: the config's `ui` project (the dashboard's specs) is not about logins,
    // and ran three times more here for nothing (about 100 s per run).
    const child = spawn(process.execPath, ['node_modules/@playwright/test/cli.js', 'test', '--project=e2e', '--reporter=line'], { cwd: ROOT, env: cleanEnv(env), stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (chunk) => (output += chunk));
    child.stderr.on('data', (chunk) => (output += chunk));
    child.on('exit', (code) => resolve({ code, output }));
  });
}

describe('Playwright Test suite with raptor-sessions/test', () => {
  let site: FixtureSite;
  let home: Awaited<ReturnType<typeof createTempDir>>;
  let env: NodeJS.ProcessEnv;

  beforeAll(async () => {
    await ensureBuilt(); // playwright.config.ts imports raptor-sessions/test from dist/
    site = await startFixtureSite();
    home = await createTempDir('raptor-suite-');
    env = { RAPTOR_SITE_URL: site.url, RAPTOR_HOME: home.path, CI: '' };
  });
  afterAll(async () => {
    await site?.close();
    await home?.remove();
  });

  it('run 1 logs in exactly once per role, whatever the number of workers', async () => {
    const run = await runSuite(env);
    expect(run.code, run.output).toBe(0);
    expect(run.output).toMatch(/\d+ passed/);
    expect(site.loginCount()).toBe(ROLES);
  }, 180_000);

  it('the rotating role kept its rotated state and is still logged in', async () => {
    const manager = await SessionManager.open({ env: { ...process.env, RAPTOR_HOME: home.path }, autoCleanup: false });
    const rotator = await manager.get('rotator');
    await manager.close();
    const local = rotator.storageState.origins.find((o) => o.origin === site.url)?.localStorage ?? [];
    expect(local.find((i) => i.name === 'generation')?.value).toBe('2');
    expect(rotator.storageState.cookies.some((c) => c.name === 'sid')).toBe(true);
  });

  it('run 2 reuses every session: zero logins', async () => {
    const run = await runSuite(env);
    expect(run.code, run.output).toBe(0);
    expect(site.loginCount()).toBe(ROLES);
  }, 180_000);

  it('after the server forgets its sessions, run 3 detects it through check() and logs in once per role', async () => {
    site.invalidateSessions();
    // A passed check is trusted for a minute (reuseCheckFor); on a fast machine run 3 starts
    // sooner. Model the minute passing: forget the verification stamps.
    for (const file of await readdir(join(home.path, 'playwright'))) if (file.endsWith('.verified.json')) await rm(join(home.path, 'playwright', file));
    const run = await runSuite(env);
    expect(run.code, run.output).toBe(0);
    expect(site.loginCount()).toBe(2 * ROLES);
  }, 180_000);
});
