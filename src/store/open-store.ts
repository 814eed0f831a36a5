/**
 * One string selects the store, wherever a store can be chosen (`SessionManager.open({ store })`,
 * RAPTOR_STORE, the `store` setting, `--store`):
 *
 *   postgres://… or postgresql://…   PostgresSessionStore (`pg` loaded only then)
 *   memory:                          MemorySessionStore (gone when the process ends)
 *   file:///path or a path           FileSessionStore in that directory
 */
import { homedir } from 'node:os';
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Logger } from '../env/log.js';
import { createFileStore } from './file.js';
import { createMemoryStore } from './memory.js';
import { isPostgresUrl } from './postgres/client.js';
import type { SessionStore } from './types.js';

export interface OpenStoreOptions {
  /** Passed to stores that log (the PostgreSQL change feed). */
  logger?: Logger;
}

export async function openStore(spec: string, options: OpenStoreOptions = {}): Promise<SessionStore> {
  if (isPostgresUrl(spec)) {
    const { openPostgresStore } = await import('./postgres/store.js');
    return openPostgresStore({ url: spec, ...(options.logger ? { logger: options.logger } : {}) });
  }
  if (spec === 'memory:') return createMemoryStore();
  return createFileStore({ dir: storeDir(spec) });
}

/** The directory a file-store spec names: `file:///x`, `~/x`, or a path relative to the working directory. */
export function storeDir(spec: string): string {
  if (spec.startsWith('file:')) return fileURLToPath(spec);
  if (spec === '~' || spec.startsWith('~/')) return resolve(homedir(), spec.slice(2));
  return resolve(spec);
}

export interface StoreChoice {
  /** A store instance or spec given by the caller. */
  store?: SessionStore | string;
  /** A sessions directory given by the caller (`--dir`). */
  dir?: string;
  env: NodeJS.ProcessEnv;
  /** The `store` setting from the config file. */
  setting?: string;
}

/**
 * Which store the user asked for, most specific first: the `store` option, the `dir` option,
 * RAPTOR_STORE, RAPTOR_SESSIONS_DIR, the `store` setting. `undefined`: the default file store.
 */
export function chooseStore(choice: StoreChoice): SessionStore | string | undefined {
  if (choice.store !== undefined && choice.store !== '') return choice.store;
  if (choice.dir) return undefined;
  if (choice.env['RAPTOR_STORE']) return choice.env['RAPTOR_STORE'];
  if (choice.env['RAPTOR_SESSIONS_DIR']) return undefined;
  return choice.setting || undefined;
}

/** The store the user asked for (`chooseStore`), opened; none asked for: the file store in `defaultDir`. */
export async function openChosenStore(choice: StoreChoice, defaultDir: string, options: OpenStoreOptions = {}): Promise<SessionStore> {
  const chosen = chooseStore(choice);
  if (typeof chosen === 'object') return chosen;
  return chosen ? openStore(chosen, options) : createFileStore({ dir: defaultDir });
}
