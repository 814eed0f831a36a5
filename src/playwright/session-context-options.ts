/**
 * `sessionContextOptions(role)`: what a project's `use` needs so that its tests are the role's
 * session in the setup-project and globalSetup styles, where Playwright reads only a state file:
 * the state file, and the identity the login is bound to. Synchronous (configs are) and light.
 */
import type { BrowserContextOptions } from '@playwright/test';
import { identityContextOptions } from '../browser/context-options.js';
import { RaptorError } from '../core/errors.js';
import { roleOptions } from './roles.js';
import { sessionStatePath } from './state-path.js';

/**
 * `use: { ...sessionContextOptions('admin') }`: `storageState` (the file `ensureSession`
 * refreshes) and the role's `identity` as context options. The role must be declared in this
 * process: import the file that calls `defineRole` in the config.
 */
export function sessionContextOptions(role: string, env: NodeJS.ProcessEnv = process.env): BrowserContextOptions & { storageState: string } {
  const options = roleOptions(role);
  if (!options) {
    throw new RaptorError('NOT_FOUND', `sessionContextOptions('${role}'): no \`defineRole('${role}', …)\` in this process. Import the file that declares your roles at the top of the Playwright config.`);
  }
  return { ...identityContextOptions(options.identity), storageState: sessionStatePath(role, env) };
}
