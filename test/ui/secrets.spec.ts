/**
 * "No cookie or storage value is ever sent to the page, and the token is never logged": planted,
 * distinctive secrets (cookie and storage values, an identity header, a proxy password) in saved
 * sessions; every page of the dashboard visited and every action but the download used; every
 * response body the browser received, the event feed, and `raptor ui --log-level trace`'s stderr
 * searched for them. The random secrets come from a seed printed on failure.
 */
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { seededRandom } from '../helpers/seeded-random.js';
import { findLeaks, secretMaker, type Output } from '../helpers/secret-scan.js';
import { test, expect } from './dashboard.js';

// Picked in the test, not at load: Playwright loads a spec in more than one process.
const pickSeed = (): number => Number(process.env['RAPTOR_SEED'] ?? Math.floor(Math.random() * 2 ** 31));
const HOSTILE = 'ops/<b>admin</b> %2e%2e';

test.use({ uiArgs: ['--log-level', 'trace'] });

test('no planted secret reaches the page or the logs, and the token is never logged', async ({ page, dashboard }) => {
  const seed = pickSeed();
  test.info().annotations.push({ type: 'seed', description: `${seed}: rerun with RAPTOR_SEED=${seed}` });
  const make = secretMaker(seededRandom(seed));
  const secrets = { cookie: make('ck'), localStorage: make('ls'), header: make('hd'), proxyPassword: make('pp') };
  const state = {
    cookies: [{ name: 'sid', value: secrets.cookie, domain: 'app.test', path: '/', expires: Math.floor(Date.now() / 1000) + 3600, httpOnly: true, secure: false, sameSite: 'Lax' }],
    origins: [{ origin: 'http://app.test', localStorage: [{ name: 'token', value: secrets.localStorage }] }],
  };
  const file = join(dashboard.home, 'state.json');
  await writeFile(file, JSON.stringify(state));
  for (const name of ['acme-admin', HOSTILE]) {
    const saved = await dashboard.raptor(['save', name, '--from', file, '--tag', 'pool', '--header', `X-Api-Key: ${secrets.header}`, '--proxy', 'http://crawler@127.0.0.1:3128'], {
      env: { RAPTOR_PROXY_PASSWORD: secrets.proxyPassword },
    });
    expect(saved.code, saved.stderr).toBe(0);
  }

  const outputs: Output[] = [];
  const reads: Promise<unknown>[] = [];
  page.on('response', (response) => {
    // The event feed never ends, so its body cannot be read here: the page's own copy is below.
    if (new URL(response.url()).pathname === '/api/events') return;
    reads.push(response.text().then((text) => outputs.push({ what: `response ${response.url()}`, text }), () => undefined));
  });
  await dashboard.open(page);
  // Every event the page's feed carries, as the page received it.
  await page.evaluate(() => {
    const seen: string[] = [];
    (window as unknown as { raptorSeen: string[] }).raptorSeen = seen;
    const source = new EventSource('/api/events');
    for (const type of ['session', 'crawls', 'fleet', 'live', 'hello']) source.addEventListener(type, (e) => seen.push((e as MessageEvent).data));
  });
  await expect(page.locator('#session-rows tr')).toHaveCount(2);
  const resaved = await dashboard.raptor(['save', 'acme-admin', '--from', file]); // one more change on the feed
  expect(resaved.code, resaved.stderr).toBe(0);

  for (const name of ['acme-admin', HOSTILE]) {
    await page.goto(`${dashboard.origin}/#/session/${encodeURIComponent(name)}`);
    await expect(page.locator('main')).toContainText('sid');
    const validate = page.getByRole('button', { name: /validate/i });
    if (await validate.count()) await validate.first().click();
    await page.waitForLoadState('networkidle');
  }
  for (const view of ['#/live', '#/crawls', '#/fleet', '#/sessions']) {
    await page.goto(`${dashboard.origin}/${view}`);
    await page.waitForLoadState('networkidle');
  }
  await Promise.all(reads);
  const feed = await page.evaluate(() => (window as unknown as { raptorSeen: string[] }).raptorSeen.join('\n'));
  expect(feed, 'the feed carried no event at all: the scan of it would prove nothing').toContain('acme-admin');
  outputs.push({ what: 'the event feed', text: feed });
  expect(outputs.length).toBeGreaterThan(10);
  expect(outputs.some((o) => o.text.includes('sid')), 'the cookie names the page shows were not in any response: nothing was scanned').toBe(true);

  expect(findLeaks(secrets, outputs), `seed ${seed}: rerun with RAPTOR_SEED=${seed}`).toEqual([]);
  const token = new URL(dashboard.url).searchParams.get('token')!;
  expect(dashboard.stderr(), 'trace logging did not run').not.toBe('');
  expect(findLeaks({ ...secrets, token }, [{ what: 'raptor ui --log-level trace stderr', text: dashboard.stderr() }]), `seed ${seed}: rerun with RAPTOR_SEED=${seed}`).toEqual([]);
});
