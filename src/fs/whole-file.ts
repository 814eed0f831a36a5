/**
 * Writing a file the user named (`raptor export --out`): complete, or not there at all.
 *
 * The text goes into a temp file beside the target (0600, created exclusively), every byte
 * checked written (a write on a full disk can come back short without an error: a FileHandle
 * does not retry), fsynced, then moved into place: renamed over the target with `overwrite`,
 * else hard-linked, which fails if the name exists, so two exports never clobber each other.
 * A full disk, a quota or a killed process leaves the earlier file of that name whole and no
 * truncated one; the temp file is removed on every failure raptor sees.
 */
import { link, lstat, open, rename, unlink } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { RaptorError, errnoCode } from '../core/errors.js';
import { fsError } from './fs-errors.js';
import { syncDir, tempNameFor } from './file-io.js';

export interface WholeFileOptions {
  /** Replace a file of that name. Without it, an existing file is a `USAGE` error that names `--force`. */
  overwrite: boolean;
}

/** Writes `chunks` to `path` as one whole file; returns the bytes written. */
export async function writeWholeFile(path: string, chunks: Iterable<string> | AsyncIterable<string>, options: WholeFileOptions): Promise<number> {
  const temp = join(dirname(path), tempNameFor(basename(path)));
  let bytes = 0;
  try {
    const handle = await open(temp, 'wx', 0o600);
    try {
      for await (const chunk of chunks) bytes += await writeAll(handle, Buffer.from(chunk, 'utf8'));
      await handle.sync();
    } finally {
      await handle.close();
    }
    await moveIntoPlace(temp, path, options.overwrite);
  } catch (error) {
    await unlink(temp).catch(() => undefined); // the failure below is what the user must see
    if (error instanceof RaptorError) throw error;
    throw notAFilePath(error, path) ?? fsError(error, path);
  }
  await syncDir(dirname(path)).catch(() => undefined); // the file is whole already; only its name may not be durable yet
  return bytes;
}

/** Writes all of `buffer`: a short write is retried, and the retry reports the disk's error. */
async function writeAll(handle: Awaited<ReturnType<typeof open>>, buffer: Buffer): Promise<number> {
  for (let offset = 0; offset < buffer.length; ) {
    const { bytesWritten } = await handle.write(buffer, offset);
    if (bytesWritten === 0) throw Object.assign(new Error('no space left on device'), { code: 'ENOSPC' });
    offset += bytesWritten;
  }
  return buffer.length;
}

async function moveIntoPlace(temp: string, path: string, overwrite: boolean): Promise<void> {
  if (overwrite) return rename(temp, path);
  try {
    await link(temp, path);
  } catch (error) {
    if (errnoCode(error) !== 'EEXIST') throw error;
    if ((await lstat(path)).isDirectory()) throw Object.assign(new Error('is a directory'), { code: 'EISDIR' });
    throw new RaptorError('USAGE', `\`${path}\` exists. Pass \`--force\` to overwrite it.`, { cause: error });
  }
  await unlink(temp);
}

/** A path that cannot name a new file (a directory, a missing parent): the user's to fix, said so. */
function notAFilePath(error: unknown, path: string): RaptorError | undefined {
  const code = errnoCode(error);
  if (code === 'EISDIR') return new RaptorError('USAGE', `\`${path}\` is a directory. Give the name of a file to write.`, { cause: error });
  if (code === 'ENOENT' || code === 'ENOTDIR') return new RaptorError('USAGE', `The directory of \`${path}\` does not exist. Create it first, or write somewhere else.`, { cause: error });
  return undefined;
}
