/**
 * `sessionStatePath()`, on its own: configs and specs call it at load time, in the runner process
 * too, and it must not load the session manager (zod, pino, the stores) just to name a file.
 */
import { playwrightStatePath, resolvePaths } from '../env/paths.js';

/** Where `ensureSession` mirrors a role's state for `use: { storageState }`: `$RAPTOR_HOME/playwright/<name>.json`. Synchronous, for configs. */
export function sessionStatePath(name: string, env: NodeJS.ProcessEnv = process.env): string {
  return playwrightStatePath(resolvePaths({ env }).home, name);
}
