/**
 * The roles a project declares with `defineRole`, in this process. Kept apart from the session
 * machinery so that declaring roles (in the runner process too, which only lists tests) loads
 * nothing but this map.
 */
import type { RoleOptions } from './ensure-session.js';

const roles = new Map<string, RoleOptions>();

/** Declares how role `name` logs in. Call it at module level in a file the specs (or the config) import. */
export function defineRole(name: string, options: RoleOptions): string {
  roles.set(name, options);
  return name;
}

/** The options `defineRole` gave `name`, if any. */
export function roleOptions(name: string): RoleOptions | undefined {
  return roles.get(name);
}

/** Every declared role's name, in declaration order. */
export function definedRoles(): string[] {
  return [...roles.keys()];
}
