/**
 * checkOnce(): one check() at a time per revision of a role, across workers and processes on one
 * RAPTOR_HOME; a waiter reuses the checker's pass and checks for itself when there is none.
 */
import { writeFile, mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { checkOnce } from '../src/login/check-flight.js';
import { recentlyVerified } from '../src/login/login-stamps.js';
import { createTempDir } from './helpers/temp-dir.js';

const record = { name: 'admin', revision: 3, updatedAt: '2026-01-01T00:00:00.000Z' };

describe('checkOnce', () => {
  let home: Awaited<ReturnType<typeof createTempDir>>;
  beforeEach(async () => {
    home = await createTempDir('raptor-check-flight-');
  });
  afterEach(async () => home.remove());

  it('runs one check for workers that ask at once, and every one of them gets its pass', async () => {
    let checks = 0;
    const check = async () => (checks++, await delay(200), true);
    const results = await Promise.all([1, 2, 3, 4].map(() => checkOnce(home.path, record, check)));
    expect(results).toEqual([true, true, true, true]);
    expect(checks).toBe(1);
    expect(recentlyVerified(home.path, record, 60_000)).toBe(true);
  });

  it('a waiter checks for itself when the running check fails: a failure is never shared', async () => {
    const seen: string[] = [];
    const failing = async () => (seen.push('first'), await delay(200), false);
    const passing = async () => (seen.push('second'), true);
    const first = checkOnce(home.path, record, failing);
    await delay(50);
    const [a, b] = await Promise.all([first, checkOnce(home.path, record, passing)]);
    expect([a, b]).toEqual([false, true]);
    expect(seen).toEqual(['first', 'second']);
  });

  it('does not wait on a leftover marker of a dead checker, nor on one for another revision', async () => {
    const dir = join(home.path, 'playwright');
    await mkdir(dir, { recursive: true });
    const marker = (revision: number, startedAt: string) => writeFile(join(dir, 'admin.checking.json'), JSON.stringify({ name: 'admin', revision, token: 'x', startedAt }));
    let checks = 0;
    const check = async () => (checks++, true);
    await marker(3, new Date(Date.now() - 60_000).toISOString());
    const started = Date.now();
    expect(await checkOnce(home.path, record, check, 5_000)).toBe(true);
    await marker(2, new Date().toISOString());
    expect(await checkOnce(home.path, { ...record, revision: 3 }, check, 5_000)).toBe(true);
    expect(checks).toBe(2);
    expect(Date.now() - started).toBeLessThan(2_000);
  });
});
