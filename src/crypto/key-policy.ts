/**
 * The key policy: which key opens a session, and which key a write seals it with. Every read and
 * write of a sealed state asks this module (through `store/encrypting.ts`); nothing else chooses
 * a key. The rules (docs/architecture.md "Encryption at rest"):
 *
 * - RAPTOR_KEY, when set, is the only key this process uses. The key file is then not consulted,
 *   so a wrong RAPTOR_KEY is refused instead of being papered over by the file.
 * - Without RAPTOR_KEY, the key file opens sessions, and so does `key.next` (a rekey in progress).
 * - A write re-seals with the key that sealed the stored version (its `kid`); a key that cannot
 *   open what it is about to overwrite is refused. Only `raptor rekey` changes a session's key.
 * - A new (or plain) session is sealed with the primary key: RAPTOR_KEY, else `key.next` during a
 *   rekey, else the key file. RAPTOR_KEY next to a key file holding a different key is ambiguous:
 *   no new session is sealed until the user settles which key is theirs.
 * - A missing, damaged or untrusted key source is reported only when a key is needed, so commands
 *   that need only metadata never need the key.
 */
import { join } from 'node:path';
import { RaptorError } from '../core/errors.js';
import { KEY_FILE, NEXT_KEY_FILE } from '../env/paths.js';
import { parseKey, type Key } from './encryption.js';
import { readKeyFile, type KeyFileRead } from './key-file.js';

export interface KeyPolicy {
  /** The key that opens a state sealed with `kid`, or `ENCRYPTION_KEY` saying which key it needs and where to find it. */
  opener(kid: string, name: string): Key;
  /**
   * The key a write of `name` is sealed with. `storedKid`: the key id of the stored version
   * (`undefined` when there is none, or it is in the clear).
   */
  sealer(storedKid: string | undefined, name: string): Key;
  /** Every key this process may open sessions with (rekey reads with them). */
  readonly openers: readonly Key[];
  /** Some key source is set (RAPTOR_KEY or a key file, usable or not). */
  readonly configured: boolean;
}

interface Sources {
  /** RAPTOR_KEY as given: a key, or why it is not one. */
  env: { key: Key } | { problem: string } | undefined;
  file: KeyFileRead;
  next: KeyFileRead;
}

export async function loadKeyPolicy(home: string, env: NodeJS.ProcessEnv = process.env): Promise<KeyPolicy> {
  const given = env['RAPTOR_KEY'];
  let fromEnv: Sources['env'];
  if (given) {
    try {
      fromEnv = { key: parseKey(given, 'RAPTOR_KEY') };
    } catch (error) {
      fromEnv = { problem: (error as Error).message.replace(/\.$/, '') };
    }
  }
  const [file, next] = await Promise.all([readKeyFile(join(home, KEY_FILE)), readKeyFile(join(home, NEXT_KEY_FILE))]);
  return createKeyPolicy({ env: fromEnv, file, next });
}

/** A policy over given keys, for a store wrapped by hand (tests, embedding): `current` seals new sessions, `all` open. */
export function policyFromKeys(current: Key | undefined, all: Key[]): KeyPolicy {
  const openers = current && !all.some((k) => k.id === current.id) ? [current, ...all] : all;
  return {
    openers,
    configured: openers.length > 0,
    opener: (kid, name) => openers.find((k) => k.id === kid) ?? fail(`Session \`${name}\` is encrypted with key ${kid}, and ${haveKeys(openers)}. Use the key that sealed it.`),
    sealer(storedKid, name) {
      if (storedKid !== undefined) return this.opener(storedKid, name);
      return current ?? fail(`Encryption is on but no key is set, so \`${name}\` cannot be saved. Set RAPTOR_KEY, or run \`raptor config set encryption on\` to create ~/.raptor/key.`);
    },
  };
}

function createKeyPolicy(sources: Sources): KeyPolicy {
  const { env, file, next } = sources;
  const ok = (read: KeyFileRead) => (read.state === 'ok' ? read.key : undefined);
  const envKey = env && 'key' in env ? env.key : undefined;
  const openers: Key[] = env ? (envKey ? [envKey] : []) : [ok(next), ok(file)].filter((k): k is Key => k !== undefined);

  /** Where a key id is known from, for a message that says where the right key is. */
  const whereIs = (kid: string): string | undefined => {
    if (ok(file)?.id === kid) return `the key in ${file.path}`;
    if (ok(next)?.id === kid) return `the key in ${next.path} (a \`raptor rekey\` that did not finish)`;
    return undefined;
  };
  /** Why the keys at hand are what they are: the way out for a refused read or write. */
  const wayOut = (kid: string | undefined): string => {
    if (env && !envKey) return `${(env as { problem: string }).problem}. Fix or unset it.`;
    if (env) {
      const known = kid && whereIs(kid);
      return known ? `It is ${known}: unset RAPTOR_KEY to use the key file, or set RAPTOR_KEY to that key.` : `Set RAPTOR_KEY to the key that sealed it, or unset it to use ${file.path}.`;
    }
    if (file.state === 'unusable') return `${file.problem}.`;
    if (file.state === 'absent') return `Put the key file back at ${file.path} (mode 0600) or set RAPTOR_KEY to the key that sealed it.`;
    return `${file.path} holds key ${file.key.id}, a different key: put back the key that sealed it, or set RAPTOR_KEY to it.`;
  };
  const have = (): string => {
    if (env) return envKey ? `the key at hand is ${envKey.id} (RAPTOR_KEY)` : 'RAPTOR_KEY is not a usable key';
    if (openers.length > 0) return haveKeys(openers);
    return file.state === 'unusable' ? `the key file cannot be used` : 'no key is set';
  };

  const notAtHand = (kid: string, name: string) => `Session \`${name}\` is encrypted with key ${kid}, and ${have()}. ${wayOut(kid)}`;
  const opener = (kid: string, name: string): Key =>
    openers.find((k) => k.id === kid) ?? fail(`${notAtHand(kid, name)} \`raptor list\`, \`rm\`, \`stop\` and \`clean\` work without it.`);

  const primary = (name: string): Key => {
    if (env) {
      if (!envKey) return fail(`Cannot seal \`${name}\`: ${wayOut(undefined)}`);
      const fileKey = ok(file);
      if (fileKey && fileKey.id !== envKey.id) {
        return fail(
          `Cannot seal the new session \`${name}\`: RAPTOR_KEY (key ${envKey.id}) and ${file.path} (key ${fileKey.id}) are different keys, and raptor does not pick one for you. Unset RAPTOR_KEY to use the key file, or move the key file away to use RAPTOR_KEY.`,
        );
      }
      return envKey;
    }
    const key = ok(next) ?? ok(file);
    if (key) return key;
    if (file.state === 'unusable') return fail(`Cannot seal \`${name}\`: ${file.problem}.`);
    return fail(`Encryption is on but no key is set, so \`${name}\` cannot be saved. Set RAPTOR_KEY, or run \`raptor config set encryption on\` to create ${file.path}.`);
  };

  return {
    openers,
    configured: env !== undefined || file.state !== 'absent' || next.state !== 'absent',
    opener,
    sealer(storedKid, name) {
      if (storedKid === undefined) return primary(name);
      // Sealed with a key not at hand: overwriting it would re-seal it with another key, and the one that opens it would no longer.
      return openers.find((k) => k.id === storedKid) ?? fail(`${notAtHand(storedKid, name)} Nothing was written: only \`raptor rekey\` moves a session to another key.`);
    },
  };
}

function haveKeys(keys: readonly Key[]): string {
  if (keys.length === 0) return 'no key is set';
  return `the key${keys.length > 1 ? 's' : ''} at hand ${keys.length > 1 ? 'are' : 'is'} ${keys.map((k) => k.id).join(', ')}`;
}

function fail(message: string): never {
  throw new RaptorError('ENCRYPTION_KEY', message);
}

/** The keys raptor would use: `current` seals new sessions, `all` open stored ones. */
export interface KeyRing {
  current: Key | undefined;
  all: Key[];
}

/** For `doctor`: the key policy's view. Throws what stands in the way of sealing a new session. */
export async function loadKeyRing(home: string, env: NodeJS.ProcessEnv = process.env): Promise<KeyRing> {
  const policy = await loadKeyPolicy(home, env);
  if (!policy.configured) return { current: undefined, all: [] };
  return { current: policy.sealer(undefined, '(new session)'), all: [...policy.openers] };
}
