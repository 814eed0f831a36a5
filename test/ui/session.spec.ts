/**
 * One session's page, as a person checking a login sees it: what it holds (names, domains, expiry,
 * never a value) and what they can do with it, for a name that is hostile text.
 */
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Page } from '@playwright/test';
import { test, expect, type Dashboard } from './dashboard.js';

/** '/', '%', '..', unicode and markup: every way a name can break a path, a URL or the page. */
const HOSTILE = '../a/b%2e%2F..<img src=x onerror=alert(1)> ü 🦖';
const COOKIE_SECRET = 'ck-9f3a1c77e0d24b58';

function state(): string {
  const inOneDay = Math.floor(Date.now() / 1000) + 86_400;
  return JSON.stringify({
    cookies: [
      { name: 'sid', value: COOKIE_SECRET, domain: 'app.test', path: '/', expires: inOneDay, httpOnly: true, secure: false, sameSite: 'Lax' },
      { name: 'remember', value: `${COOKIE_SECRET}-2`, domain: 'app.test', path: '/', expires: inOneDay + 30 * 86_400, httpOnly: false, secure: true, sameSite: 'Strict' },
      { name: 'csrf_tmp', value: `${COOKIE_SECRET}-3`, domain: '.auth.test', path: '/login', expires: -1, httpOnly: false, secure: false, sameSite: 'None' },
    ],
    origins: [{ origin: 'http://app.test', localStorage: [{ name: 'access_token', value: `${COOKIE_SECRET}-ls` }] }],
  });
}

async function save(dashboard: Dashboard, name: string): Promise<void> {
  const file = join(dashboard.home, 'state.json');
  await writeFile(file, state());
  const saved = await dashboard.raptor(['save', name, '--from', file, '--tag', 'admin', '--ttl', '2h', '--metadata', '{"role":"admin"}']);
  expect(saved.code, saved.stderr).toBe(0);
}

async function openSession(page: Page, dashboard: Dashboard, name: string): Promise<void> {
  // Markup in the name must stay text: a dialog here means it ran.
  page.on('dialog', (dialog) => {
    throw new Error(`the page opened a dialog: ${dialog.message()}`);
  });
  await dashboard.open(page, `#/session/${encodeURIComponent(name)}`);
}

async function listed(dashboard: Dashboard): Promise<Array<{ name: string; cdpUrl?: string }>> {
  const list = await dashboard.raptor(['list', '--json']);
  expect(list.code, list.stderr).toBe(0);
  return list.json<{ sessions: Array<{ name: string; cdpUrl?: string }> }>().sessions;
}

test('the page shows cookie names, domains, expiry timelines and the kinds of state, never a value', async ({ page, dashboard }) => {
  await save(dashboard, HOSTILE);
  await dashboard.open(page);
  await page.locator('#session-rows a', { hasText: 'onerror' }).click(); // the table's link
  await expect(page.locator('#session-name')).toHaveText(HOSTILE);
  await expect(page.locator('img[src="x"]')).toHaveCount(0);

  const appTest = page.locator('.cookie-domain[data-domain="app.test"]');
  await expect(appTest.locator('tr.cookie')).toHaveCount(2);
  await expect(appTest.locator('tr.cookie[data-name="sid"]')).toContainText(`${COOKIE_SECRET.length} chars`);
  const auth = page.locator('.cookie-domain[data-domain=".auth.test"] tr.cookie[data-name="csrf_tmp"]');
  await expect(auth).toHaveAttribute('data-state', 'session');
  await expect(auth).toContainText('session cookie');
  // One scale per session: the cookie that lives 31 days fills the bar, the one of a day a sliver.
  const width = (cookie: string) => appTest.locator(`tr.cookie[data-name="${cookie}"] svg.timeline rect.bar`).getAttribute('width');
  expect(Number(await width('remember'))).toBe(100);
  expect(Number(await width('sid'))).toBeGreaterThan(0);
  expect(Number(await width('sid'))).toBeLessThan(10);

  const kinds = page.locator('#state-kinds');
  await expect(kinds.locator('li[data-kind="cookies"]')).toHaveAttribute('data-count', '3');
  await expect(kinds.locator('li[data-kind="localStorage"]')).toHaveClass(/held/);
  await expect(kinds.locator('li[data-kind="sessionStorage"]')).toHaveClass(/absent/);
  await expect(page.locator('.origin[data-origin="http://app.test"] .item[data-name="access_token"]')).toBeVisible();
  await expect(page.locator('#session-fields dd[data-field="metadata keys"]')).toHaveText('role');
  await expect(page.locator('#session-expires')).toContainText('in 1 h 59 min');
  await expect(page.locator('main')).not.toContainText(COOKIE_SECRET);
});

test('validate checks the live browser, and stop browser stops the one `raptor launch` kept alive', async ({ page, dashboard }) => {
  const launched = await dashboard.raptor(['launch', HOSTILE, '--json']);
  expect(launched.code, launched.stderr).toBe(0);
  const cdpUrl = launched.json<{ cdpUrl: string }>().cdpUrl;
  const answers = async () => fetch(`${cdpUrl}/json/version`).then((r) => r.ok, () => false);
  expect(await answers()).toBe(true);

  await openSession(page, dashboard, HOSTILE);
  await expect(page.locator('.badges .browser')).toHaveText('browser live');
  await page.locator('#action-validate').click();
  await expect(page.locator('#validate-result')).toContainText('valid');
  await expect(page.locator('#validate-result')).toContainText('browser: live');

  await page.locator('#action-stop-browser').click();
  await expect(page.locator('#session-notice')).toContainText('Stopped its browser.');
  await expect.poll(answers, { timeout: 15_000 }).toBe(false);
  expect((await listed(dashboard)).find((s) => s.name === HOSTILE)?.cdpUrl).toBeUndefined();

  await page.locator('#action-validate').click();
  await expect(page.locator('#validate-result')).toContainText('browser: none');
});

test('delete needs the name typed, and the server needs it too', async ({ page, dashboard }) => {
  await save(dashboard, HOSTILE);
  await openSession(page, dashboard, HOSTILE);
  await expect(page.locator('#session-name')).toHaveText(HOSTILE);

  // A request that skips the page's confirmation is refused, and nothing is deleted.
  const refused = await page.evaluate(async (name) => {
    const csrf = document.querySelector<HTMLMetaElement>('meta[name="raptor-csrf"]')!.content;
    const response = await fetch('/api/session', { method: 'DELETE', headers: { 'content-type': 'application/json', 'x-raptor-csrf': csrf }, body: JSON.stringify({ name }) });
    return { status: response.status, body: (await response.json()) as { error: { code: string } } };
  }, HOSTILE);
  expect(refused).toMatchObject({ status: 400, body: { error: { code: 'INVALID_INPUT' } } });
  expect((await listed(dashboard)).map((s) => s.name)).toContain(HOSTILE);

  await page.locator('#action-delete').click();
  const confirm = page.locator('#delete-confirm');
  await expect(confirm).toBeDisabled();
  await page.locator('#delete-confirm-name').fill(HOSTILE.slice(0, -1));
  await expect(confirm).toBeDisabled();
  await page.locator('#delete-confirm-name').fill(HOSTILE);
  await confirm.click();
  await expect(page.locator('#session-notice')).toContainText('Deleted');
  expect((await listed(dashboard)).map((s) => s.name)).not.toContain(HOSTILE);
});

test('download hands out exactly the stored storage state, after a confirmation', async ({ page, dashboard }) => {
  await save(dashboard, HOSTILE);
  await openSession(page, dashboard, HOSTILE);
  await page.locator('#action-download').click();
  await expect(page.locator('#download-panel')).toContainText('credentials');
  const [download] = await Promise.all([page.waitForEvent('download'), page.locator('#download-confirm').click()]);
  expect(download.suggestedFilename()).toMatch(/^[A-Za-z0-9._-]+\.storage-state\.json$/);
  const file = await readFile((await download.path())!, 'utf8');
  const exported = await dashboard.raptor(['export', HOSTILE, '--format', 'playwright']);
  expect(exported.code, exported.stderr).toBe(0);
  expect(file).toBe(exported.stdout.trimEnd());
  expect(file).toContain(COOKIE_SECRET);
  await expect(page.locator('#session-notice')).toContainText('Downloaded');
});

test('an error is shown with its code and message', async ({ page, dashboard }) => {
  await openSession(page, dashboard, 'no-such-session');
  await expect(page.locator('#session-error')).toContainText('NOT_FOUND');
  await expect(page.locator('#session-error')).toContainText('No session `no-such-session`');
  await expect(page.locator('#action-validate')).toBeDisabled();
});

test('the Login section shows the recorded recipe and what `raptor keep` last did, and a session without one says so', async ({ page, dashboard }) => {
  const file = join(dashboard.home, 'state.json');
  await writeFile(file, state());
  const metadata = {
    recipe: { path: '/srv/recipes/acme.ts', sha256: 'ab'.repeat(32), baseURL: 'https://app.acme.test/' },
    keep: { at: new Date(Date.now() - 60_000).toISOString(), result: 'failed', failures: 2, nextAt: new Date(Date.now() + 2 * 3_600_000).toISOString(), error: 'login() for `kept` failed: wrong password' },
  };
  expect((await dashboard.raptor(['save', 'kept', '--from', file, '--metadata', JSON.stringify(metadata)])).code).toBe(0);
  expect((await dashboard.raptor(['save', 'by-hand', '--from', file])).code).toBe(0);

  await openSession(page, dashboard, 'kept');
  const login = page.locator('#login');
  await expect(login.locator('dd[data-field="recipe"]')).toHaveText('/srv/recipes/acme.ts');
  await expect(login.locator('dd[data-field="base URL"]')).toHaveText('https://app.acme.test/');
  await expect(login.locator('dd[data-field="kept"]')).toHaveText(/^failed .*ago/);
  await expect(login.locator('dd[data-field="failures in a row"]')).toHaveText('2');
  await expect(login.locator('dd[data-field="last error"]')).toContainText('wrong password');
  await expect(login.locator('dd[data-field="next visit"]')).toContainText(/in 1 h 5\d min/);

  await dashboard.open(page, `#/session/by-hand`);
  await expect(page.locator('#login')).toContainText('No recipe');
});
