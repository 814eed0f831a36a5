import { expect, test } from './roles.js';

// One worker, in order: each test starts from what the previous passing test left behind.
test.describe.configure({ mode: 'serial' });
test.use({ session: 'rotator' });

const generation = (page: import('@playwright/test').Page) => page.evaluate(() => localStorage.getItem('generation'));

test('a passing test that rotates a token has it saved', async ({ page }) => {
  await page.goto('/status');
  await page.evaluate(() => localStorage.setItem('generation', '2'));
});

test('the next test starts from the rotated state', async ({ page }) => {
  await page.goto('/status');
  expect(await generation(page)).toBe('2');
});

test('a test that ends logged out does not overwrite the session', async ({ page, context }) => {
  await page.goto('/status');
  await page.evaluate(() => localStorage.setItem('generation', '3'));
  await context.clearCookies();
});

test('the session is still the logged-in one afterwards', async ({ page }) => {
  await page.goto('/status');
  await expect(page.locator('#cookie')).toHaveText('yes');
  expect(await generation(page)).toBe('2');
});
