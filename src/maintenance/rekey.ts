/**
 * `raptor rekey`: re-encrypts every session with a fresh key, or (encryption off) decrypts them.
 * It is the only code that moves a session to another key (`sealWith` with a key the policy did
 * not choose); every other write keeps a session's own key (`src/crypto/key-policy.ts`).
 *
 * Crash-safe: first every session is checked to open with the keys at hand, so a wrong key
 * changes nothing. Then the new key is written to `key.next`, every session is re-sealed with
 * `expectedRevision`, and only then does `key.next` replace `key`. A rekey interrupted halfway
 * leaves both keys on disk (the key policy reads `key.next` too), so every session still opens;
 * running it again resumes with the same `key.next`, never a new one, since sessions already
 * sealed with it would otherwise be lost.
 */
import { rename, rm } from 'node:fs/promises';
import { join } from 'node:path';
import type { Settings } from '../env/config.js';
import { readKeyFile, writeKeyFile } from '../crypto/key-file.js';
import { syncDir } from '../fs/file-io.js';
import type { KeyPolicy } from '../crypto/key-policy.js';
import { newKey, type Key } from '../crypto/encryption.js';
import { KEY_FILE, NEXT_KEY_FILE } from '../env/paths.js';
import { RaptorError, isRaptorError } from '../core/errors.js';
import type { Logger } from '../env/log.js';
import { openRecord, plainRecord, sealWith } from '../store/encrypting.js';
import type { SessionStore } from '../store/types.js';

export interface RekeyResult {
  /** Sessions re-sealed (or decrypted). */
  sessions: number;
  /** The new key's id; `null` when encryption is off and the key was removed. */
  keyId: string | null;
}

export interface RekeyOptions {
  /** The store under the encryption layer. */
  store: SessionStore;
  /** Which keys open the sessions now. */
  policy: KeyPolicy;
  /** raptor's home, where `key` and `key.next` live. */
  home: string;
  encryption: Settings['encryption'];
  env: NodeJS.ProcessEnv;
  logger: Logger;
}

/** A session changed by someone else meanwhile is read again; this many times at most. */
const MAX_ATTEMPTS = 20;
/** Passes over the store: a later pass re-seals sessions another process wrote with the old key meanwhile. */
const MAX_PASSES = 5;

export async function rekeySessions(options: RekeyOptions): Promise<RekeyResult> {
  const { store, home, logger, policy } = options;
  if (options.env['RAPTOR_KEY']) {
    throw new RaptorError('USAGE', 'RAPTOR_KEY is set: raptor only rotates its own key file. Unset RAPTOR_KEY to let raptor manage ~/.raptor/key, or re-seal with a new RAPTOR_KEY yourself.');
  }
  await checkEveryKeyAtHand(store, policy);
  const on = options.encryption === 'on';
  const key = on ? await nextKey(home) : undefined;
  const done = (record: { encrypted?: { kid: string } }) => (key ? record.encrypted?.kid === key.id : record.encrypted === undefined);
  let sessions = 0;
  for (let pass = 0, changed = -1; changed !== 0 && pass < MAX_PASSES; pass++) {
    changed = 0;
    for await (const summary of store.list()) {
      for (let attempt = 0; ; attempt++) {
        const current = await store.get(summary.name);
        if (!current || done(current)) break; // deleted meanwhile, or already on the new key (a resumed rekey)
        const opened = openRecord(current, { policy: withKey(policy, key), encryptWrites: false });
        try {
          await store.put(key ? sealWith(opened, key) : plainRecord(opened), { expectedRevision: current.revision });
          changed++;
          break;
        } catch (error) {
          if (!isRaptorError(error, 'REVISION_CONFLICT') || attempt >= MAX_ATTEMPTS) throw error;
        }
      }
    }
    sessions += changed;
  }
  if (key) {
    await rename(join(home, NEXT_KEY_FILE), join(home, KEY_FILE));
    await syncDir(home);
  } else {
    await rm(join(home, KEY_FILE), { force: true });
    await rm(join(home, NEXT_KEY_FILE), { force: true });
  }
  logger.info({ sessions, keyId: key?.id ?? null }, on ? 're-encrypted every session with a new key' : 'decrypted every session');
  return { sessions, keyId: key?.id ?? null };
}

/** Before anything is written: every sealed session opens with a key at hand, or `ENCRYPTION_KEY` naming it. */
async function checkEveryKeyAtHand(store: SessionStore, policy: KeyPolicy): Promise<void> {
  for await (const summary of store.list()) {
    const current = await store.get(summary.name);
    if (current?.encrypted) policy.opener(current.encrypted.kid, current.name);
  }
}

/** The key of an interrupted rekey when there is one (sessions may already be sealed with it), else a new one in `key.next`. */
async function nextKey(home: string): Promise<Key> {
  const path = join(home, NEXT_KEY_FILE);
  const existing = await readKeyFile(path);
  if (existing.state === 'ok') return existing.key;
  const key = newKey();
  // An unusable `key.next` seals nothing (every session opened above without it): replace it.
  await writeKeyFile(path, key, { replace: existing.state === 'unusable' });
  return key;
}

/** The policy's openers plus `key`: a resumed rekey opens sessions it already sealed with the new key. */
function withKey(policy: KeyPolicy, key: Key | undefined): KeyPolicy {
  if (!key || policy.openers.some((k) => k.id === key.id)) return policy;
  return { ...policy, openers: [...policy.openers, key], opener: (kid, name) => (kid === key.id ? key : policy.opener(kid, name)) };
}
