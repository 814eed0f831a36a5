/**
 * The login app's recipe (`fixtures/login-app/recipe.ts`, the module every test logs in with)
 * for one user of a fleet: session `refresh-u3` logs in as `u3`.
 *
 * Why a wrapper and not a per-session environment: the recipe reads its user from
 * `LOGIN_APP_USER`, but a fleet worker logs in whichever session its lease gives it, so the user
 * must follow the session, not the process. The test's first logins and the workers' refreshes
 * all build their recipe here, so every login of the fleet runs the same module. The variable is
 * set for the login's duration only, which is safe because a process runs one login at a time
 * (the workers refresh one lease at a time; the test logs the sessions in one by one).
 */
import base from '../../fixtures/login-app/recipe.js';
import type { Recipe } from '../../src/login/ensure.js';

export const SESSION_PREFIX = 'refresh-';

/** The login app's user of fleet session `name`. */
export function userOf(name: string): string {
  return name.startsWith(SESSION_PREFIX) ? name.slice(SESSION_PREFIX.length) : name;
}

export function recipeFor(name: string): Recipe {
  return {
    ...base,
    async login(page, about) {
      const before = process.env['LOGIN_APP_USER'];
      process.env['LOGIN_APP_USER'] = userOf(name);
      try {
        await base.login(page, about);
      } finally {
        if (before === undefined) delete process.env['LOGIN_APP_USER'];
        else process.env['LOGIN_APP_USER'] = before;
      }
    },
  };
}
