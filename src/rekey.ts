/**
 * `raptor rekey`: re-encrypts every session with a fresh key, or (encryption off) decrypts them.
 *
 * Crash-safe: the new key is written to `key.next` first, every session is re-sealed with
 * `expectedRevision`, and only then does `key.next` replace `key`. A rekey interrupted halfway
 * leaves both keys on the ring (`loadKeyRing` reads `key.next` too), so every session still
 * opens; running it again finishes the job.
 */
import { rename, rm } from 'node:fs/promises';
import { join } from 'node:path';
import type { Settings } from './config.js';
import { KEY_FILE, NEXT_KEY_FILE, newKey, writeKeyFile, type KeyRing } from './encryption.js';
import { RaptorError, isRaptorError } from './errors.js';
import type { Logger } from './log.js';
import { withEncryption } from './store/encrypting.js';
import type { SessionStore } from './store/types.js';

export interface RekeyResult {
  /** Sessions re-sealed (or decrypted). */
  sessions: number;
  /** The new key's id; `null` when encryption is off and the key was removed. */
  keyId: string | null;
}

export interface RekeyOptions {
  /** The store under the encryption layer. */
  store: SessionStore;
  /** The keys every session may currently be sealed with. */
  ring: KeyRing;
  /** raptor's home, where `key` and `key.next` live. */
  home: string;
  encryption: Settings['encryption'];
  env: NodeJS.ProcessEnv;
  logger: Logger;
}

/** A session changed by someone else meanwhile is read again; this many times at most. */
const MAX_ATTEMPTS = 20;

export async function rekeySessions(options: RekeyOptions): Promise<RekeyResult> {
  const { store, home, logger } = options;
  if (options.env['RAPTOR_KEY']) {
    throw new RaptorError('USAGE', 'RAPTOR_KEY is set: raptor only rotates its own key file. Unset RAPTOR_KEY to let raptor manage ~/.raptor/key, or re-seal with a new RAPTOR_KEY yourself.');
  }
  const on = options.encryption === 'on';
  const key = on ? newKey() : undefined;
  if (key) await writeKeyFile(home, key, NEXT_KEY_FILE);
  const ring: KeyRing = { current: key, all: [...(key ? [key] : []), ...options.ring.all] };
  const reader = withEncryption(store, { ring, encryptWrites: false });
  const writer = withEncryption(store, { ring, encryptWrites: on });
  let sessions = 0;
  for await (const summary of store.list()) {
    for (let attempt = 0; ; attempt++) {
      const current = await reader.get(summary.name);
      if (!current) break; // deleted meanwhile
      try {
        await writer.put(current, { expectedRevision: current.revision });
        sessions++;
        break;
      } catch (error) {
        if (!isRaptorError(error, 'REVISION_CONFLICT') || attempt >= MAX_ATTEMPTS) throw error;
      }
    }
  }
  if (key) await rename(join(home, NEXT_KEY_FILE), join(home, KEY_FILE));
  else await rm(join(home, KEY_FILE), { force: true });
  logger.info({ sessions, keyId: key?.id ?? null }, on ? 're-encrypted every session with a new key' : 'decrypted every session');
  return { sessions, keyId: key?.id ?? null };
}
