/**
 * raptor dogfoods its own Playwright Test integration: test/e2e runs against the fixture site
 * with `raptor-sessions/test`, four workers, one login per role.
 */
import { defineConfig } from '@playwright/test';
import { raptorLaunchOptions } from 'raptor-sessions/test';

export default defineConfig({
  testDir: 'test/e2e',
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
