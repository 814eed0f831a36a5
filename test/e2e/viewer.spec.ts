import { expect, test } from './roles.js';

test.describe('as a viewer', () => {
  test.use({ session: 'viewer' });

  for (const n of [1, 2, 3, 4]) {
    test(`viewer sees the pages behind the login (${n})`, async ({ page }) => {
      const response = await page.goto('/api/state');
      expect(await response!.json()).toEqual({ loggedIn: true, user: 'viewer' });
    });
  }
});

test('two roles at once, one context each', async ({ sessions }) => {
  const admin = await sessions.page('admin');
  const viewer = await sessions.page('viewer');
  await admin.goto('/api/state');
  await viewer.goto('/api/state');
  expect(JSON.parse(await admin.innerText('body'))).toMatchObject({ user: 'admin' });
  expect(JSON.parse(await viewer.innerText('body'))).toMatchObject({ user: 'viewer' });
});

test('no session: a test without a role is logged out', async ({ page }) => {
  const response = await page.goto('/api/state');
  expect(await response!.json()).toEqual({ loggedIn: false, user: null });
});
