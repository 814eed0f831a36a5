/**
 * What stands between the dashboard and every other page and program on the machine, tried the way
 * an attacker would: no token, a wrong one, a DNS-rebinding Host, a page on another origin posting
 * to it, a change without the CSRF token, an injected inline script.
 */
import { request as httpRequest, createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { BrowserContext } from '@playwright/test';
import { test, expect, stateWithSecret, type Dashboard } from './dashboard.js';

const NAME = 'acme-admin';

async function save(dashboard: Dashboard): Promise<void> {
  const file = join(dashboard.home, 'state.json');
  await writeFile(file, stateWithSecret('sec-value-7d1e0c'));
  const saved = await dashboard.raptor(['save', NAME, '--from', file]);
  expect(saved.code, saved.stderr).toBe(0);
}

async function sessions(dashboard: Dashboard): Promise<Array<{ name: string; revision: number; updatedAt: string }>> {
  const list = await dashboard.raptor(['list', '--json']);
  expect(list.code, list.stderr).toBe(0);
  return list.json<{ sessions: Array<{ name: string; revision: number; updatedAt: string }> }>().sessions.map(({ name, revision, updatedAt }) => ({ name, revision, updatedAt }));
}

async function names(dashboard: Dashboard): Promise<string[]> {
  return (await sessions(dashboard)).map((s) => s.name);
}

async function uiCookie(context: BrowserContext): Promise<string> {
  const cookie = (await context.cookies()).find((c) => c.name === 'raptor_ui');
  if (!cookie) throw new Error('no raptor_ui cookie after opening the dashboard');
  return `raptor_ui=${cookie.value}`;
}

/** A raw HTTP request (fetch cannot set Host), answering status, headers and body. */
function raw(origin: string, path: string, headers: Record<string, string>, method = 'GET'): Promise<{ status: number; headers: Record<string, unknown>; body: string }> {
  const url = new URL(origin);
  return new Promise((resolve, reject) => {
    const req = httpRequest({ host: url.hostname, port: url.port, path, method, headers }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => (body += chunk));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
    });
    req.on('error', reject);
    req.end();
  });
}

test('without the cookie every page and API answers 401 and no data; a wrong token is 401 too', async ({ dashboard }) => {
  await save(dashboard);
  for (const path of ['/', '/api/sessions', `/api/session?name=${NAME}`, '/api/events', '/app.js']) {
    const response = await fetch(`${dashboard.origin}${path}`);
    expect(response.status, path).toBe(401);
    const body = await response.text();
    expect(body, path).not.toContain(NAME);
    expect(body, path).not.toContain('sec-value');
  }
  const posted = await fetch(`${dashboard.origin}/api/session`, { method: 'DELETE', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ name: NAME, confirm: NAME }) });
  expect(posted.status).toBe(401);

  const wrong = await fetch(`${dashboard.origin}/?token=${'A'.repeat(43)}`, { redirect: 'manual' });
  expect(wrong.status).toBe(401);
  expect(wrong.headers.get('set-cookie')).toBeNull();
  const forged = await fetch(`${dashboard.origin}/api/sessions`, { headers: { cookie: `raptor_ui=${new URL(dashboard.url).searchParams.get('token')}` } });
  expect(forged.status, 'the token itself is not the cookie').toBe(401);
  expect(await names(dashboard)).toContain(NAME);
});

test('the token leaves the URL for an HttpOnly SameSite=Strict cookie; a foreign Host is refused even with it', async ({ page, context, dashboard }) => {
  const first = await fetch(dashboard.url, { redirect: 'manual' });
  expect(first.status).toBe(303);
  expect(first.headers.get('location')).toBe('/');
  expect(first.headers.get('set-cookie')).toMatch(/HttpOnly/);
  expect(first.headers.get('set-cookie')).toMatch(/SameSite=Strict/);

  await dashboard.open(page);
  expect(page.url()).toBe(`${dashboard.origin}/`);
  const cookie = (await context.cookies()).find((c) => c.name === 'raptor_ui');
  expect(cookie).toMatchObject({ httpOnly: true, sameSite: 'Strict' });
  expect(await page.evaluate(() => document.cookie)).not.toContain('raptor_ui');

  const port = new URL(dashboard.origin).port;
  const headers = { cookie: await uiCookie(context) };
  expect((await raw(dashboard.origin, '/api/sessions', { ...headers, host: `127.0.0.1:${port}` })).status, 'the cookie works').toBe(200);
  for (const host of [`evil.test:${port}`, 'evil.test', `127.0.0.1.evil.test:${port}`]) {
    const refused = await raw(dashboard.origin, '/api/sessions', { ...headers, host });
    expect(refused.status, host).toBe(421);
    expect(refused.body).not.toContain('rows');
  }
  const withToken = await raw(dashboard.origin, `/?token=${new URL(dashboard.url).searchParams.get('token')}`, { host: `evil.test:${port}` });
  expect(withToken.status).toBe(421);
  expect(withToken.headers['set-cookie']).toBeUndefined();
});

test('a page on another origin cannot change anything, by fetch or by form', async ({ page, dashboard }) => {
  await save(dashboard);
  const before = await sessions(dashboard);
  await dashboard.open(page);
  // Same site (127.0.0.1, another port): the SameSite cookie IS sent, so Origin and CSRF are what refuse.
  const target = `${dashboard.origin}/api/session`;
  const attacker: Server = createServer((req, res) => {
    res.setHeader('content-type', 'text/html');
    if (req.url === '/form') {
      res.end(`<form id=f method=post action="${target}/download" enctype="text/plain"><input name='{"name":"${NAME}","confirm":"${NAME}","x":"' value='"}'></form><script>document.getElementById('f').submit()</script>`);
      return;
    }
    res.end(`<script>
      window.results = [];
      const body = JSON.stringify({ name: ${JSON.stringify(NAME)}, confirm: ${JSON.stringify(NAME)} });
      Promise.allSettled([
        fetch(${JSON.stringify(target)}, { method: 'DELETE', credentials: 'include', headers: { 'content-type': 'application/json', 'x-raptor-csrf': 'guess' }, body }),
        fetch(${JSON.stringify(`${target}/download`)}, { method: 'POST', credentials: 'include', mode: 'no-cors', headers: { 'content-type': 'text/plain' }, body }),
        fetch(${JSON.stringify(`${target}/stop-browser`)}, { method: 'POST', credentials: 'include', mode: 'no-cors', body }),
      ]).then((r) => (window.results = r.map((x) => x.status)), () => {});
    </script>`);
  });
  await new Promise<void>((resolve) => attacker.listen(0, '127.0.0.1', resolve));
  try {
    const evil = `http://127.0.0.1:${(attacker.address() as AddressInfo).port}`;
    const answers: Array<{ url: string; method: string; status: number; type: string }> = [];
    page.on('response', (r) => {
      if (r.url().startsWith(dashboard.origin)) answers.push({ url: r.url(), method: r.request().method(), status: r.status(), type: r.request().resourceType() });
    });
    const sent: string[] = [];
    page.on('request', (r) => void (r.url().startsWith(dashboard.origin) && sent.push(`${r.method()} ${new URL(r.url()).pathname}`)));
    await page.goto(`${evil}/`);
    await expect.poll(() => page.evaluate(() => (window as unknown as { results: unknown[] }).results.length)).toBe(3);
    // The no-cors POSTs reach the server with the cookie (same site); only what it did about them counts.
    expect(sent).toEqual(expect.arrayContaining(['POST /api/session/download', 'POST /api/session/stop-browser']));
    await page.goto(`${evil}/form`);
    // The form's POST is a navigation to the dashboard: the browser shows whatever it answers.
    await expect.poll(() => answers.some((a) => a.url.endsWith('/download') && a.method === 'POST' && a.type === 'document')).toBe(true);
    for (const a of answers) expect([401, 403], JSON.stringify(a)).toContain(a.status);
    await expect(page.locator('body')).not.toContainText('sec-value');
  } finally {
    await new Promise((resolve) => attacker.close(resolve));
  }
  // Still there, and not even touched (stop-browser would have written it).
  expect(await sessions(dashboard)).toEqual(before);
});

test('a change without the CSRF header is refused, from the dashboard page itself', async ({ page, dashboard }) => {
  await save(dashboard);
  await dashboard.open(page);
  const result = await page.evaluate(async (name) => {
    const body = JSON.stringify({ name, confirm: name });
    const bare = await fetch('/api/session', { method: 'DELETE', headers: { 'content-type': 'application/json' }, body });
    const wrong = await fetch('/api/session', { method: 'DELETE', headers: { 'content-type': 'application/json', 'x-raptor-csrf': 'not-the-token' }, body });
    return [bare.status, ((await bare.json()) as { error: { code: string } }).error.code, wrong.status];
  }, NAME);
  expect(result).toEqual([403, 'CSRF_REFUSED', 403]);
  expect(await names(dashboard)).toContain(NAME);
});

test('the CSP is strict and an injected inline script does not run', async ({ page, dashboard }) => {
  const response = await fetch(dashboard.origin + '/', { headers: { cookie: 'raptor_ui=x' } });
  const csp = response.headers.get('content-security-policy') ?? '';
  expect(csp).toContain("script-src 'self'");
  expect(csp).toContain("default-src 'none'");
  expect(csp).not.toContain('unsafe-inline');
  expect(csp).not.toContain('unsafe-eval');

  await dashboard.open(page);
  const outcome = await page.evaluate(async () => {
    const violations: string[] = [];
    document.addEventListener('securitypolicyviolation', (e) => violations.push(e.violatedDirective));
    const script = document.createElement('script');
    script.textContent = 'window.__inlineRan = true';
    document.head.append(script);
    const img = document.createElement('img');
    img.setAttribute('src', 'x');
    img.setAttribute('onerror', 'window.__handlerRan = true');
    document.body.append(img);
    await new Promise((resolve) => setTimeout(resolve, 300));
    const w = window as unknown as { __inlineRan?: boolean; __handlerRan?: boolean };
    return { inline: w.__inlineRan === true, handler: w.__handlerRan === true, violations };
  });
  expect(outcome.inline).toBe(false);
  expect(outcome.handler).toBe(false);
  expect(outcome.violations.some((v) => v.startsWith('script-src'))).toBe(true);
});
