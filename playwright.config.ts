/**
 * raptor dogfoods its own Playwright Test integration: test/e2e runs against the fixture site
 * with `raptor-sessions/test`, four workers, one login per role. test/ui drives the dashboard.
 */
import { defineConfig } from '@playwright/test';
import { raptorLaunchOptions } from 'raptor-sessions/test';

export default defineConfig({
  // e2e: the fixtures on the fixture site; ui: `raptor ui` driven in a real Chromium.
  projects: [
    { name: 'e2e', testDir: 'test/e2e' },
    { name: 'ui', testDir: 'test/ui' },
  ],
  workers: 4,
  // Four workers share two cores with the browsers they drive: allow for a busy machine.
  timeout: 90_000,
  expect: { timeout: 15_000 },
  fullyParallel: true,
  forbidOnly: !!process.env['CI'],
  reporter: process.env['CI'] ? 'line' : 'list',
  globalSetup: './test/e2e/global-setup.ts',
  use: { launchOptions: raptorLaunchOptions() },
});
