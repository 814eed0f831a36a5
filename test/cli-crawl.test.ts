/**
 * `raptor crawl status`: a crashed crawl is reported as crashed with its progress and the advice
 * to resume; a completed one says skip; an unknown one exits 3.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createRaptorEnv } from './helpers/env.js';
import { runCli } from './helpers/cli.js';

describe('raptor crawl status', () => {
  let env: Awaited<ReturnType<typeof createRaptorEnv>>;

  beforeAll(async () => {
    env = await createRaptorEnv();
    await env.manager.save('shop', { storageState: { cookies: [], origins: [] } });
    const crashed = join(env.home, 'crawls', 'shop');
    await mkdir(crashed, { recursive: true });
    const lines = [
      { t: 'add', url: 'https://shop.test/1' },
      { t: 'add', url: 'https://shop.test/2' },
      { t: 'start', url: 'https://shop.test/1' },
      { t: 'done', url: 'https://shop.test/1' },
      { t: 'start', url: 'https://shop.test/2' },
    ];
    await writeFile(join(crashed, 'journal-0.ndjson'), lines.map((l) => JSON.stringify(l)).join('\n') + '\n');
    const beat = { session: 'shop', store: env.manager.location, status: 'running', at: new Date(Date.now() - 60_000).toISOString(), intervalMs: 1000, health: 0.9 };
    await writeFile(join(crashed, 'heartbeat.json'), JSON.stringify(beat));
    // The dead owner's lock: a pid that cannot exist.
    await writeFile(join(crashed, 'owner.lock'), JSON.stringify({ pid: 2 ** 22 + 1, host: (await import('node:os')).hostname(), token: 'x' }));
  });
  afterAll(async () => env?.dispose());

  it('reports a crashed crawl with its progress and recommends resuming', async () => {
    const result = await runCli(['crawl', 'status', 'shop', '--json'], { env: { RAPTOR_HOME: env.home } });
    expect(result.code, result.stderr).toBe(0);
    const [report] = result.json().crawls;
    expect(report).toMatchObject({
      session: 'shop',
      status: 'crashed',
      progress: { total: 2, completed: 1, inFlight: 1, pending: 0 },
      owner: { alive: false },
      recommendation: { strategy: 'resume' },
    });
    expect(report.recommendation.reason).toMatch(/relaunches with the saved state/);
  });

  it('lists every crawl in a table', async () => {
    const result = await runCli(['crawl', 'status'], { env: { RAPTOR_HOME: env.home } });
    expect(result.code, result.stderr).toBe(0);
    expect(result.stdout).toMatch(/SESSION\s+STATUS/);
    expect(result.stdout).toMatch(/shop\s+crashed\s+1\/2/);
  });

  it('exits 3 for a crawl that does not exist', async () => {
    const result = await runCli(['crawl', 'status', 'nope'], { env: { RAPTOR_HOME: env.home } });
    expect(result.code).toBe(3);
    expect(result.stderr).toMatch(/No crawl of `nope`/);
  });
});
