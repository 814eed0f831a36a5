/**
 * The roles of the fixture site, declared once. Specs import `test` from here.
 * `check` is what makes reuse trustworthy: the server is asked, not the cookie jar.
 */
import { defineRole, test as base, expect } from 'raptor-sessions/test';

export const siteUrl = (): string => {
  const url = process.env['RAPTOR_SITE_URL'];
  if (!url) throw new Error('RAPTOR_SITE_URL is not set: run through playwright.config.ts (global setup starts the site)');
  return url;
};

// `rotator` re-saves its state after every passing test, like an app that rotates refresh tokens.
for (const user of ['admin', 'viewer', 'rotator']) {
  defineRole(user, {
    rotate: user === 'rotator',
    async login(page) {
      await page.goto('/login');
      await page.fill('#username', user);
      await page.fill('#password', 'secret');
      await page.click('#submit');
      await page.waitForSelector('body[data-ready="true"]');
    },
    url: '/status',
    check: async (page) => (await page.locator('#cookie').innerText()) === 'yes',
    maxAge: '1h',
  });
}

export const test = base.extend({ baseURL: async ({}, use) => use(siteUrl()) });
export { expect };
