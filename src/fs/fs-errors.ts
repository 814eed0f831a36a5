/**
 * The one mapping from a failed file-system call to a `RaptorError`, for every path raptor
 * writes: session files, locks, leases, quarantine, the crawl journal, config and key files.
 *
 * A full disk, an exhausted quota, a file-size limit (`ulimit -f`), a read-only mount or a
 * directory this user may not write are faults of the user's machine, not bugs of raptor: they
 * get a stable code (`DISK_FULL`, `READ_ONLY`) and a way out, never `INTERNAL` and a stack.
 * Anything else is left to the caller (ENOENT, EEXIST and ELOOP mean something there).
 */
import { statSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { RaptorError, errnoCode, isRaptorError } from '../core/errors.js';

/** `DISK_FULL` or `READ_ONLY` for a fault of the disk under `path`; `undefined` for any other error. */
export function fsFault(error: unknown, path: string): RaptorError | undefined {
  if (isRaptorError(error)) return undefined;
  const where = `\`${path}\``;
  switch (errnoCode(error)) {
    case 'ENOSPC':
      return new RaptorError('DISK_FULL', `No space left on ${fileSystemOf(path)} to write ${where}. Free some space there, or point RAPTOR_HOME (or \`--dir\`) at another disk.`, { cause: error });
    case 'EDQUOT':
      return new RaptorError('DISK_FULL', `Your disk quota on ${fileSystemOf(path)} is used up, so raptor cannot write ${where}. Free some space, ask for a larger quota, or point RAPTOR_HOME (or \`--dir\`) elsewhere.`, { cause: error });
    case 'EFBIG':
      return new RaptorError('DISK_FULL', `Writing ${where} would exceed this process's file-size limit (\`ulimit -f\`). Raise it (\`ulimit -f unlimited\`), or point RAPTOR_HOME (or \`--dir\`) elsewhere.`, { cause: error });
    case 'EROFS':
      return new RaptorError('READ_ONLY', `${capitalize(fileSystemOf(path))} is mounted read-only, so raptor cannot write ${where}. Remount it read-write, or point RAPTOR_HOME (or \`--dir\`) at a writable directory.`, { cause: error });
    case 'EACCES':
    case 'EPERM':
      return new RaptorError('READ_ONLY', `This user may not write ${where} (permission denied). Make the directory yours and writable (\`chmod u+w ${dirname(path)}\`), or point RAPTOR_HOME (or \`--dir\`) at a writable directory.`, { cause: error });
    default:
      return undefined;
  }
}

/**
 * Any file-system failure while writing `path` as a `RaptorError`: a fault of the disk (above),
 * else `STORE_UNAVAILABLE` naming the path. A `RaptorError` passes through unchanged.
 */
export function fsError(error: unknown, path: string): RaptorError {
  if (isRaptorError(error)) return error;
  return fsFault(error, path) ?? new RaptorError('STORE_UNAVAILABLE', `Cannot write \`${path}\`: ${(error as Error)?.message ?? String(error)}. Check the disk and run \`raptor doctor\`.`, { cause: error });
}

/** Runs a synchronous file-system write; a disk fault becomes `DISK_FULL`/`READ_ONLY`, other errors pass. */
export function mappingFaults<T>(path: string, fn: () => T): T {
  try {
    return fn();
  } catch (error) {
    throw fsFault(error, path) ?? error;
  }
}

/** "the file system mounted at `/mnt`": found by walking up while the device stays the same. Only on the error path. */
function fileSystemOf(path: string): string {
  let current = resolve(path);
  let dev: number | undefined;
  for (;;) {
    try {
      dev = statSync(current).dev;
      break;
    } catch {
      const parent = dirname(current); // the file itself may not exist (it could not be written)
      if (parent === current) return 'the file system';
      current = parent;
    }
  }
  for (;;) {
    const parent = dirname(current);
    if (parent === current) break;
    let parentDev: number;
    try {
      parentDev = statSync(parent).dev;
    } catch {
      break;
    }
    if (parentDev !== dev) break;
    current = parent;
  }
  return `the file system mounted at \`${current}\``;
}

function capitalize(text: string): string {
  return text.charAt(0).toUpperCase() + text.slice(1);
}
