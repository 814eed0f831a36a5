/**
 * The fleet page: pools as tags, who holds a lease until when (taken and released by another
 * process through the library), the accounting a release writes, live; and the dashboard over
 * PostgreSQL.
 */
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { test, expect, stateWithSecret, type Dashboard } from './dashboard.js';
import { cleanEnv } from '../helpers/cli.js';
import { randomTable, sql, storeUrl } from '../helpers/postgres.js';

const HOLDER = join(dirname(fileURLToPath(import.meta.url)), 'lease-holder.ts');

interface Holder {
  send(command: object): Promise<Record<string, unknown>>;
  stop(): Promise<void>;
}

/** Starts the lease holder in its own process on the dashboard's home (and store). */
async function startHolder(dashboard: Dashboard, store?: string): Promise<Holder> {
  const child: ChildProcessWithoutNullStreams = spawn(process.execPath, ['--import', 'tsx', HOLDER], {
    env: cleanEnv({ ...dashboard.env, ...(store ? { RAPTOR_STORE: store } : {}) }),
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  let buffer = '';
  let stderr = '';
  const waiting: Array<(line: string) => void> = [];
  child.stdout.on('data', (chunk: Buffer) => {
    buffer += chunk.toString();
    for (let i = buffer.indexOf('\n'); i >= 0; i = buffer.indexOf('\n')) {
      const line = buffer.slice(0, i);
      buffer = buffer.slice(i + 1);
      waiting.shift()?.(line);
    }
  });
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const exited = new Promise<void>((done) => child.once('exit', () => done()));
  const next = (): Promise<Record<string, unknown>> =>
    new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`lease holder did not answer; stderr:\n${stderr}`)), 30_000);
      waiting.push((line) => (clearTimeout(timer), resolve(JSON.parse(line) as Record<string, unknown>)));
      void exited.then(() => reject(new Error(`lease holder exited; stderr:\n${stderr}`)));
    });
  const ready = next();
  await ready;
  return {
    async send(command) {
      const answer = next();
      child.stdin.write(`${JSON.stringify(command)}\n`);
      const value = await answer;
      if (value['error']) throw new Error(String(value['error']));
      return value;
    },
    async stop() {
      if (child.exitCode === null) {
        child.stdin.write('{"op":"exit"}\n');
        const done = await Promise.race([exited.then(() => true), new Promise<boolean>((r) => setTimeout(() => r(false), 10_000))]);
        if (!done) child.kill('SIGKILL');
      }
    },
  };
}

async function saveSessions(dashboard: Dashboard, names: string[], tag: string, store?: string): Promise<void> {
  const state = join(dashboard.home, 'state.json');
  await writeFile(state, stateWithSecret('fleet-s3cret-cookie'));
  for (const name of names) {
    const saved = await dashboard.raptor([...(store ? ['--store', store] : []), 'save', name, '--from', state, '--tag', tag, '--ttl', '2h']);
    expect(saved.code, saved.stderr).toBe(0);
  }
}

test('leases taken by another process show their holder and expiry on #/fleet and in the table, and go when released; outcomes update the scores live', async ({ page, dashboard }) => {
  await saveSessions(dashboard, ['shop-1', 'shop-2', 'shop-3'], 'shop');
  const holder = await startHolder(dashboard);
  try {
    await dashboard.open(page, '#/fleet');
    const shop = page.locator('#fleet-pools tr[data-pool="shop"]');
    await expect(shop.locator('[data-state="free"]')).toHaveText('3');
    await expect(shop.locator('[data-state="leased"]')).toHaveText('0');

    const first = (await holder.send({ op: 'acquire', tag: 'shop', owner: 'crawler-7' })) as { name: string };
    const second = (await holder.send({ op: 'acquire', tag: 'shop', owner: 'crawler-8' })) as { name: string };
    // Leases on the file store raise no store event: the dashboard's lease poll finds them.
    await expect(shop.locator('[data-state="leased"]')).toHaveText('2', { timeout: 10_000 });
    await expect(shop.locator('[data-state="free"]')).toHaveText('1');
    const lease = page.locator(`#fleet-leases tr[data-name="${first.name}"]`);
    await expect(lease.locator('.holder')).toHaveText('crawler-7');
    await expect(lease.locator('.countdown')).toHaveText(/^in [12] min [0-9]+ s$/);
    await expect(page.locator(`#fleet-leases tr[data-name="${second.name}"] .holder`)).toHaveText('crawler-8');
    await expect(page.locator(`#fleet-sessions tr[data-name="${first.name}"] .holder`)).toContainText('crawler-7');

    // The sessions table shows the same holder.
    await page.goto(`${dashboard.origin}/#/sessions`);
    await expect(page.locator(`#session-rows tr[data-name="${first.name}"]`)).toContainText(/crawler-7 \(in [12] min [0-9]+ s\)/);
    await page.goto(`${dashboard.origin}/#/fleet`);

    // Released with an error: the lease goes and the use and error score count, without a reload.
    await expect(page.locator(`#fleet-sessions tr[data-name="${first.name}"] .errors`)).toContainText('0 / 3');
    await holder.send({ op: 'release', name: first.name, outcome: 'error' });
    await expect(page.locator(`#fleet-leases tr[data-name="${first.name}"]`)).toHaveCount(0);
    await expect(page.locator(`#fleet-sessions tr[data-name="${first.name}"] .errors`)).toContainText('1 / 3');
    await expect(page.locator(`#fleet-sessions tr[data-name="${first.name}"] .uses`)).toHaveText('1 / 50');

    // Blocked: retired at once, and the page says so without a reload.
    await holder.send({ op: 'release', name: second.name, outcome: 'blocked' });
    await expect(shop.locator('[data-state="retired"]')).toHaveText('1');
    await expect(shop.locator('[data-state="leased"]')).toHaveCount(1);
    await expect(shop.locator('[data-state="leased"]')).toHaveText('0');
    await expect(page.locator(`#fleet-sessions tr[data-name="${second.name}"]`)).toContainText('retired (blocked)');
    await expect(page.locator('#fleet-leases')).toContainText('No lease is held.');

    // The open table shows a lease taken and released meanwhile, by itself.
    await page.goto(`${dashboard.origin}/#/sessions`);
    const third = (await holder.send({ op: 'acquire', tag: 'shop', owner: 'crawler-9' })) as { name: string };
    const row = page.locator(`#session-rows tr[data-name="${third.name}"]`);
    await expect(row).toContainText(/crawler-9 \(in [12] min [0-9]+ s\)/, { timeout: 10_000 });
    await holder.send({ op: 'release', name: third.name, outcome: 'success' });
    await expect(row).not.toContainText('crawler-9', { timeout: 10_000 });
  } finally {
    await holder.stop();
  }
  expect(dashboard.stderr()).not.toContain('fleet-s3cret-cookie');
});

test.describe('over PostgreSQL', () => {
  const table = randomTable('ui');
  const url = storeUrl(table);
  test.use({ uiArgs: ['--store', url] });
  test.afterAll(async () => {
    await sql(`DROP TABLE IF EXISTS "${table}", "${table}_quarantine", "${table}_schema"`);
  });

  test('a session saved to the same database by another process appears in the table and on the fleet page; its lease too', async ({ page, dashboard }) => {
    await dashboard.open(page);
    await expect(page.locator('#session-count')).toHaveText('0 sessions');
    await saveSessions(dashboard, ['pg-shop-1'], 'pg-shop', url);
    const row = page.locator('#session-rows tr[data-name="pg-shop-1"]');
    await expect(row).toBeVisible({ timeout: 10_000 });
    await expect(row).toContainText('pg-shop');

    await page.goto(`${dashboard.origin}/#/fleet`);
    const pool = page.locator('#fleet-pools tr[data-pool="pg-shop"]');
    await expect(pool.locator('[data-state="free"]')).toHaveText('1');
    const holder = await startHolder(dashboard, url);
    try {
      await holder.send({ op: 'acquire', tag: 'pg-shop', owner: 'pg-worker' });
      await expect(page.locator('#fleet-leases tr[data-name="pg-shop-1"] .holder')).toHaveText('pg-worker', { timeout: 10_000 });
      await expect(pool.locator('[data-state="leased"]')).toHaveText('1');
      await holder.send({ op: 'release', name: 'pg-shop-1', outcome: 'success' });
      await expect(page.locator('#fleet-leases tr[data-name="pg-shop-1"]')).toHaveCount(0);
      await expect(page.locator('#fleet-sessions tr[data-name="pg-shop-1"] .uses')).toHaveText('1 / 50');
    } finally {
      await holder.stop();
    }
  });
});

test('a session its lease holder logged in again shows how often, and when last', async ({ page, dashboard }) => {
  const state = join(dashboard.home, 'state.json');
  await writeFile(state, stateWithSecret('fleet-s3cret-cookie'));
  const lastRefreshAt = new Date(Date.now() - 5 * 60_000).toISOString();
  const metadata = JSON.stringify({ pool: { usageCount: 4, errorScore: 0, refreshes: 2, refreshesSinceSuccess: 0, lastRefreshAt } });
  const saved = await dashboard.raptor(['save', 'refreshed-1', '--from', state, '--tag', 'shop', '--metadata', metadata]);
  expect(saved.code, saved.stderr).toBe(0);
  expect((await dashboard.raptor(['save', 'never-1', '--from', state, '--tag', 'shop'])).code).toBe(0);
  await dashboard.open(page, '#/fleet');
  await expect(page.locator('#fleet-sessions tr[data-name="refreshed-1"] .refreshes')).toHaveText(/^2 \(last 5 min [0-9]+ s ago\)$/);
  await expect(page.locator('#fleet-sessions tr[data-name="never-1"] .refreshes')).toHaveText('-');
});
