/**
 * The key file (`$RAPTOR_HOME/key`, and `key.next` during a rekey): the one place that reads and
 * writes it, so every rule about it lives here.
 *
 * Reading never throws for what is in or at the path: a missing file is `absent`, and a file that
 * cannot be trusted as a key (a symlink, not a regular file, readable by others, not a 256-bit key)
 * is `unusable` with the reason. Only a command that needs the key reports that reason, so
 * `raptor list`, `rm`, `stop` and `clean` work whatever state the key file is in.
 *
 * Writing goes through a temp file that is removed on every failure (a full disk must not leave
 * `key.<pid>.tmp` behind), and never replaces an existing key unless asked to: a key file may be
 * the only thing that opens the sessions.
 */
import { constants } from 'node:fs';
import { link, open, rename, unlink } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { RaptorError, errnoCode } from '../core/errors.js';
import { KEY_FILE } from '../env/paths.js';
import { syncDir } from '../fs/file-io.js';
import { fsFault } from '../fs/fs-errors.js';
import { keyId, newKey, parseKey, type Key } from './encryption.js';

export type KeyFileRead =
  | { state: 'absent'; path: string }
  | { state: 'ok'; path: string; key: Key }
  | { state: 'unusable'; path: string; problem: string };

/** More than any encoding of a 32-byte key: a bigger file is not a key file. */
const MAX_KEY_FILE_BYTES = 1024;

export async function readKeyFile(path: string): Promise<KeyFileRead> {
  let handle;
  try {
    // O_NOFOLLOW: a symlink is reported, never followed (it could point anywhere, and be swapped later).
    handle = await open(path, constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK);
  } catch (error) {
    const code = errnoCode(error);
    if (code === 'ENOENT') return { state: 'absent', path };
    if (code === 'ELOOP') return { state: 'unusable', path, problem: `${path} is a symbolic link, and raptor does not follow links for its key. Replace the link with the key file itself (mode 0600)` };
    return { state: 'unusable', path, problem: `${path} cannot be read (${code ?? String(error)})` };
  }
  try {
    // fstat on the opened file: what is checked is what is read, not what the path pointed to a moment ago.
    const info = await handle.stat();
    if (!info.isFile()) return { state: 'unusable', path, problem: `${path} is not a regular file` };
    // A hard link shares the file with a path outside raptor's control: whoever owns that path can swap the key.
    if (info.nlink > 1) return { state: 'unusable', path, problem: `${path} has ${info.nlink} hard links, so another path can change the key. Replace it with a copy of its own (\`cp ${path} ${path}.copy && mv ${path}.copy ${path}\`)` };
    if ((info.mode & 0o077) !== 0) {
      const mode = (info.mode & 0o777).toString(8);
      return { state: 'unusable', path, problem: `${path} has mode ${mode}, so other users may have read the key. Run \`chmod 600 ${path}\` (and \`raptor rekey\` if someone else may have copied it)` };
    }
    if (info.size > MAX_KEY_FILE_BYTES) return { state: 'unusable', path, problem: `${path} is ${info.size} bytes, not a key file` };
    const text = await handle.readFile('utf8');
    try {
      return { state: 'ok', path, key: parseKey(text, path) };
    } catch {
      const size = Buffer.byteLength(text.trim());
      return { state: 'unusable', path, problem: `${path} is not a 256-bit key (${size === 0 ? 'it is empty' : `${size} characters that are not 64 hex digits or 32 bytes of base64`}): it was truncated or damaged. Put the key back from your backup, or set RAPTOR_KEY to it` };
    }
  } finally {
    await handle.close();
  }
}

export interface WriteKeyFileOptions {
  /** Replace an existing file at `path` (rekey's last step). Otherwise an existing key is never overwritten. @default false */
  replace?: boolean;
}

/**
 * Writes `key` to `path` (0600), atomically; the temp file is gone whatever fails. Without
 * `replace`, returns `false` (and writes nothing) when a file is already there.
 */
export async function writeKeyFile(path: string, key: Key, options: WriteKeyFileOptions = {}): Promise<boolean> {
  const temp = `${path}.${process.pid}.${keyId(key.bytes).slice(0, 6)}.tmp`;
  let created = false;
  try {
    // O_EXCL | O_NOFOLLOW: never write through a file or link someone planted at the temp name.
    const handle = await open(temp, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW, 0o600);
    created = true;
    try {
      await handle.writeFile(`${key.bytes.toString('base64')}\n`);
      await handle.chmod(0o600); // the umask may have narrowed it further; never wider
      await handle.sync();
    } finally {
      await handle.close();
    }
    let written = true;
    if (options.replace) await rename(temp, path);
    else {
      // link() fails with EEXIST instead of replacing: two `config set encryption on` at once keep one key.
      written = await link(temp, path).then(
        () => true,
        (error: unknown) => {
          if (errnoCode(error) === 'EEXIST') return false;
          throw error;
        },
      );
      await unlink(temp);
    }
    created = false;
    await syncDir(dirname(path));
    return written;
  } catch (error) {
    if (created) await unlink(temp).catch(() => undefined); // best effort: the failure below is what the user must see
    throw fsFault(error, path) ?? error; // the one mapping: DISK_FULL / READ_ONLY with a way out
  }
}



/**
 * Turning encryption on creates the key file (0600) unless one is there. A key file that is there
 * but unusable (damaged, a link, readable by others) is never replaced: it may be the only key that
 * opens the sessions, so the user is told what is wrong with it instead.
 */
export async function ensureKeyFile(home: string): Promise<void> {
  const path = join(home, KEY_FILE);
  const existing = await readKeyFile(path);
  if (existing.state === 'unusable') {
    throw new RaptorError('ENCRYPTION_KEY', `The setting was not changed: ${existing.problem}. raptor does not create a new key over it, since it may be the only key that opens your sessions; if none is sealed with it, remove it and run this again.`);
  }
  if (existing.state === 'absent') await writeKeyFile(path, newKey()); // `false` when another process just created one: that one is used
}
