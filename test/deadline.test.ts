/**
 * Time limits run on a monotonic clock: a wall clock that steps back (NTP, a resumed laptop,
 * a user fixing the date) neither stretches nor shortens them, and a finished wait leaves no
 * timer behind.
 */
import { writeFile } from 'node:fs/promises';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { deadline, sleep, withTimeout } from '../src/core/deadline.js';
import { acquireLock } from '../src/fs/file-lock.js';
import { createTempDir } from './helpers/temp-dir.js';

const activeTimers = (): number => process.getActiveResourcesInfo().filter((r) => r === 'Timeout').length;

afterEach(() => vi.restoreAllMocks());

describe('deadline', () => {
  it('counts down on the monotonic clock, whatever the wall clock does', async () => {
    const limit = deadline(200);
    vi.spyOn(Date, 'now').mockReturnValue(Date.now() + 3_600_000); // the wall clock jumps an hour ahead
    expect(limit.expired()).toBe(false);
    expect(limit.remaining()).toBeGreaterThan(100);
    await sleep(250);
    expect(limit.expired()).toBe(true);
    expect(limit.remaining()).toBe(0);
    expect(limit.ms).toBe(200);
  });
});

describe('withTimeout', () => {
  it('returns the work, or what onTimeout returns, or what it throws', async () => {
    await expect(withTimeout(Promise.resolve('done'), 1000, () => 'late')).resolves.toBe('done');
    await expect(withTimeout(new Promise(() => undefined), 20, () => 'late')).resolves.toBe('late');
    await expect(withTimeout(new Promise(() => undefined), deadline(20), () => { throw new Error('too slow'); })).rejects.toThrow('too slow');
    await expect(withTimeout(Promise.reject(new Error('broke')), 1000, () => 'late')).rejects.toThrow('broke');
  });

  it('clears its timer once the work settles', async () => {
    const before = activeTimers();
    await withTimeout(sleep(5), 60_000, () => undefined);
    await withTimeout(Promise.reject(new Error('x')), 60_000, () => undefined).catch(() => undefined);
    expect(activeTimers()).toBe(before);
  });
});

describe('lock waits', () => {
  it('give up after timeoutMs even when the wall clock stands still', async () => {
    const dir = await createTempDir();
    try {
      const path = join(dir.path, 'held.lock');
      // Held by a live process on this host (this one), so it is never stale and never breaks.
      await writeFile(path, JSON.stringify({ pid: process.pid, host: hostname(), token: 'held' }), { mode: 0o600 });
      vi.spyOn(Date, 'now').mockReturnValue(Date.now()); // a frozen (or stepped back) wall clock
      const started = performance.now();
      await expect(acquireLock(path, { timeoutMs: 300 })).rejects.toMatchObject({ code: 'LOCKED' });
      expect(performance.now() - started).toBeLessThan(5_000);
    } finally {
      await dir.remove();
    }
  }, 10_000);
});
