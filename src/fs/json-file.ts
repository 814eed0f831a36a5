/**
 * "Read this small JSON file, or tell me it is not there": for files raptor writes whole
 * (atomic rename) and reads as hints, such as a crawl's heartbeat or a kept-alive browser's
 * record. A missing file and one that is not JSON are both `undefined`; any other failure
 * (permissions, a full disk, a directory in the way) is thrown, so it is never mistaken for
 * "not there".
 */
import { readFile } from 'node:fs/promises';
import { errnoCode } from '../core/errors.js';

export async function readJsonFile(path: string): Promise<unknown> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    if (errnoCode(error) === 'ENOENT') return undefined;
    throw error;
  }
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return undefined;
  }
}

/** {@link readJsonFile}, narrowed to a plain object (anything else is `undefined`). */
export async function readJsonObject(path: string): Promise<Record<string, unknown> | undefined> {
  const value = await readJsonFile(path);
  return value !== null && typeof value === 'object' && !Array.isArray(value) ? (value as Record<string, unknown>) : undefined;
}
