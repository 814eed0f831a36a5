/**
 * "Read this small JSON file, or tell me it is not there": for files raptor writes whole
 * (atomic rename) and reads as hints, such as a crawl's heartbeat, its tab list, a lease, or a
 * kept-alive browser's record. A missing file and one that is not JSON are both `undefined`;
 * any other failure (permissions, a full disk, a directory in the way, with `noFollow` a link)
 * is thrown, so it is never mistaken for "not there".
 *
 * Not for files whose content must be valid (session files, crawl snapshots): those are
 * validated and a damaged one is an error, not a hint.
 */
import { readFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { errnoCode } from '../core/errors.js';
import { readOwnFile } from './territory.js';

export interface ReadJsonOptions {
  /**
   * Read it as a file of raptor's own (`readOwnFile`): a symbolic or hard link in its place is
   * `FOREIGN_DIRECTORY`, never read through. @default false
   */
  noFollow?: boolean;
}

export type JsonObject = Record<string, unknown>;

export async function readJsonFile(path: string): Promise<unknown> {
  return parseHint(await readFile(path, 'utf8').catch(missingAsUndefined));
}

/** {@link readJsonFile}, narrowed to a plain object (anything else is `undefined`). */
export async function readJsonObject(path: string): Promise<JsonObject | undefined> {
  return asObject(await readJsonFile(path));
}

/** {@link readJsonFile}, synchronous: for code that must not yield between the read and what it decides. */
export function readJsonFileSync(path: string, options: ReadJsonOptions = {}): unknown {
  let text: string | undefined;
  try {
    text = options.noFollow ? readOwnFile(path) : readFileSync(path, 'utf8');
  } catch (error) {
    text = missingAsUndefined(error);
  }
  return parseHint(text);
}

/** {@link readJsonFileSync}, narrowed to a plain object (anything else is `undefined`). */
export function readJsonObjectSync(path: string, options: ReadJsonOptions = {}): JsonObject | undefined {
  return asObject(readJsonFileSync(path, options));
}

function missingAsUndefined(error: unknown): undefined {
  if (errnoCode(error) === 'ENOENT') return undefined;
  throw error;
}

function parseHint(text: string | undefined): unknown {
  if (text === undefined) return undefined;
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return undefined; // torn by a crash or written by hand: no hint, the caller goes on without it
  }
}

function asObject(value: unknown): JsonObject | undefined {
  return value !== null && typeof value === 'object' && !Array.isArray(value) ? (value as JsonObject) : undefined;
}
