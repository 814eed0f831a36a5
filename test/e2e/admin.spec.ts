import { expect, test } from './roles.js';

test.use({ session: 'admin' });

for (const n of [1, 2, 3, 4]) {
  test(`admin is logged in without logging in (${n})`, async ({ page }) => {
    await page.goto('/status');
    await page.waitForSelector('body[data-ready="true"]');
    await expect(page.locator('#user')).toHaveText('admin');
    for (const kind of ['cookie', 'localStorage', 'sessionStorage', 'indexedDB']) await expect(page.locator(`#${kind}`)).toHaveText('yes');
  });
}
