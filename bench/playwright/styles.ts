/**
 * The four projects `npm run bench:playwright` compares. Each is the same suite (one spec file
 * per role, `TESTS_PER_ROLE` tests each, every test opening `/me` and seeing its role), the same
 * login steps, the same `workers`, `fullyParallel` and browser; only how the tests get their
 * logged-in state differs:
 *
 * - `setup-project`: Playwright's documented pattern (playwright.dev/docs/auth, "Multiple signed
 *   in roles"): a `setup` project whose `auth.setup.ts` logs in each role and writes
 *   `playwright/.auth/<role>.json`, a dependent project, `test.use({ storageState })` per spec.
 *   It logs in again on every run, as documented.
 * - `fixture`: raptor's `defineRole` + `test.use({ session })`, with a `check` (README: advised).
 * - `ensure-session`: the same setup project, each setup test calling raptor's `ensureSession`
 *   (README, "Setup-project style"), specs on `sessionStatePath(role)`.
 * - `global-setup`: raptor's `ensureSessions()` as the config's `globalSetup` (README, "Global-setup
 *   style"): no setup project, every role checked or logged in at once in one browser of the
 *   runner process, specs on `sessionStatePath(role)`.
 * - `ready-made`: the lower bound: the state files already exist before the run, no setup
 *   project, nothing checks them.
 */
export const ROLES = ['admin', 'editor', 'viewer', 'billing'] as const;
export const TESTS_PER_ROLE = 12;
export const WORKERS = 2;

export type Style = 'setup-project' | 'fixture' | 'ensure-session' | 'global-setup' | 'ready-made';

/** The config every style shares; `projects` is the one thing that differs. */
const config = (projects: string, globalSetup = '') => `
import { defineConfig } from '@playwright/test';

export default defineConfig({
  testDir: 'tests',
  fullyParallel: true,
  workers: ${WORKERS},
  reporter: 'line',
  timeout: 60_000,${globalSetup ? `\n  globalSetup: '${globalSetup}',` : ''}
  use: {
    baseURL: process.env.LOGIN_APP_URL,
    // raptorLaunchOptions(), computed once by the bench: every style launches the same Chromium
    // with the same flags, and the baseline configs do not load raptor just for that.
    launchOptions: JSON.parse(process.env.BENCH_LAUNCH_OPTIONS ?? '{}'),
  },
  ${projects}
});
`;

const setupProjects = `projects: [
    { name: 'setup', testMatch: /.*\\.setup\\.ts/ },
    { name: 'chromium', testMatch: /.*\\.spec\\.ts/, dependencies: ['setup'] },
  ],`;

/** The login every style runs (it takes 2 s: the app holds the POST like an SSO round trip). */
const login = `
import type { Page } from '@playwright/test';
export const ROLES = ${JSON.stringify(ROLES)};
export async function logIn(page: Page, role: string): Promise<void> {
  await page.goto('/login');
  await page.fill('#username', role);
  await page.fill('#password', 'secret');
  await page.click('#submit');
  await page.waitForURL('**/me');
}
`;

const tests = (role: string) => `
  for (let i = 1; i <= ${TESTS_PER_ROLE}; i++) {
    test(\`${role} \${i} is logged in\`, async ({ page }) => {
      await page.goto('/me');
      await expect(page.locator('#user')).toHaveText('${role}');
    });
  }
`;

/** A spec whose tests run with a Playwright storage-state file. */
const stateSpec = (role: string, importLine: string, statePath: string) => `
import { test, expect } from '@playwright/test';
${importLine}
test.use({ storageState: ${statePath} });
${tests(role)}
`;

const check = `url: '/me?check',
    check: async (page) => (await page.locator('#user').innerText()) === role,`;

/** The roles as raptor declares them, for the styles that use `defineRole`. */
const roles = `
import { defineRole } from 'raptor-sessions/test';
import { ROLES, logIn } from './login';

for (const role of ROLES) {
  defineRole(role, {
    login: (page) => logIn(page, role),
    ${check}
  });
}
`;

/** The project's files (path -> content), ready for `createBenchProject`. */
export function styleFiles(style: Style): Record<string, string> {
  const files: Record<string, string> = { 'tests/login.ts': login };
  const perRole = (make: (role: string) => string) => {
    for (const role of ROLES) files[`tests/${role}.spec.ts`] = make(role);
  };
  switch (style) {
    case 'setup-project':
      files['playwright.config.ts'] = config(setupProjects);
      files['tests/auth.setup.ts'] = `
import { test as setup, expect } from '@playwright/test';
import { ROLES, logIn } from './login';

for (const role of ROLES) {
  setup(\`authenticate as \${role}\`, async ({ page }) => {
    await logIn(page, role);
    await expect(page.locator('#user')).toHaveText(role);
    await page.context().storageState({ path: \`playwright/.auth/\${role}.json\` });
  });
}
`;
      perRole((role) => stateSpec(role, '', `'playwright/.auth/${role}.json'`));
      break;
    case 'ready-made':
      files['playwright.config.ts'] = config('');
      perRole((role) => stateSpec(role, '', `'playwright/.auth/${role}.json'`));
      break;
    case 'fixture':
      files['playwright.config.ts'] = config('');
      files['tests/roles.ts'] = roles;
      perRole(
        (role) => `
import { test, expect } from 'raptor-sessions/test';
import './roles';
test.use({ session: '${role}' });
${tests(role)}
`,
      );
      break;
    case 'global-setup':
      files['playwright.config.ts'] = config('', './global-setup.ts');
      files['tests/roles.ts'] = roles;
      files['global-setup.ts'] = `
import { ensureSessions } from 'raptor-sessions/test';
import './tests/roles';

export default ensureSessions();
`;
      perRole((role) => stateSpec(role, `import { sessionStatePath } from 'raptor-sessions/test';`, `sessionStatePath('${role}')`));
      break;
    case 'ensure-session':
      files['playwright.config.ts'] = config(setupProjects);
      files['tests/auth.setup.ts'] = `
import { test as setup } from '@playwright/test';
import { ensureSession } from 'raptor-sessions/test';
import { ROLES, logIn } from './login';

for (const role of ROLES) {
  setup(\`\${role} login\`, async ({ browser, baseURL }) => {
    await ensureSession(role, {
      browser,
      contextOptions: { baseURL },
      login: (page) => logIn(page, role),
      ${check}
    });
  });
}
`;
      perRole((role) => stateSpec(role, `import { sessionStatePath } from 'raptor-sessions/test';`, `sessionStatePath('${role}')`));
      break;
  }
  return files;
}
