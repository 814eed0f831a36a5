/**
 * Reads a whole file a user handed raptor (an import, a storage-state file, the config) as
 * text: bounded in size, strict UTF-8 (src/fs/utf8.ts). Each refusal is a `RaptorError` with the
 * caller's code and the limit named, never a half-decoded string or an out-of-memory crash.
 */
import { open } from 'node:fs/promises';
import { RaptorError, errnoCode, type ErrorCode } from '../core/errors.js';
import { decodeUtf8 } from './utf8.js';

export interface ReadTextOptions {
  /** What the file is, for messages: `import file`, `config file`. */
  what: string;
  /** Refuse files larger than this many bytes. */
  maxBytes: number;
  /** The code of every refusal. @default 'INVALID_INPUT' */
  code?: ErrorCode;
  /** How to fix it, appended to each message. */
  wayOut?: string;
}

/** The text of `path`; `undefined` when it does not exist. */
export async function readTextFile(path: string, options: ReadTextOptions): Promise<string | undefined> {
  const code = options.code ?? 'INVALID_INPUT';
  const tail = options.wayOut ? ` ${options.wayOut}` : '';
  let handle;
  try {
    handle = await open(path, 'r');
  } catch (error) {
    if (errnoCode(error) === 'ENOENT') return undefined;
    const reason = errnoCode(error) === 'EISDIR' ? 'it is a directory' : errnoCode(error) === 'EACCES' ? 'permission denied' : (error as Error).message;
    throw new RaptorError(code, `Cannot read ${options.what} \`${path}\`: ${reason}.${tail}`, { cause: error });
  }
  try {
    const stats = await handle.stat();
    if (stats.isDirectory()) throw new RaptorError(code, `Cannot read ${options.what} \`${path}\`: it is a directory.${tail}`);
    if (stats.size > options.maxBytes) {
      throw new RaptorError(code, `${capitalize(options.what)} \`${path}\` is ${mib(stats.size)}, over the ${mib(options.maxBytes)} limit.${tail}`);
    }
    // Read until the end, or one byte past the limit: a pipe (`/dev/stdin`) or a file growing meanwhile has no honest size.
    const chunks: Buffer[] = [];
    let length = 0;
    while (length <= options.maxBytes) {
      const chunk = Buffer.allocUnsafe(Math.min(Math.max(stats.size - length, 64 * 1024), options.maxBytes + 1 - length));
      const { bytesRead } = await handle.read(chunk, 0, chunk.length, null);
      if (bytesRead === 0) break;
      chunks.push(chunk.subarray(0, bytesRead));
      length += bytesRead;
    }
    if (length > options.maxBytes) throw new RaptorError(code, `${capitalize(options.what)} \`${path}\` is over the ${mib(options.maxBytes)} limit.${tail}`);
    const buffer = Buffer.concat(chunks, length);
    const text = decodeUtf8(buffer);
    if (text === undefined) {
      throw new RaptorError(code, `${capitalize(options.what)} \`${path}\` is not valid UTF-8 text; raptor reads JSON in UTF-8 only and does not guess what damaged bytes meant.${tail}`, {
        issues: [{ code: 'NOT_UTF8', message: 'not valid UTF-8', path: '' }],
      });
    }
    return text;
  } finally {
    await handle.close();
  }
}

function mib(bytes: number): string {
  const value = bytes / 1048576;
  return `${Number.isInteger(value) ? value : value.toFixed(1)} MiB`;
}

function capitalize(text: string): string {
  return text.charAt(0).toUpperCase() + text.slice(1);
}
