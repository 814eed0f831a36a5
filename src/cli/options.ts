/**
 * Parsing of option values and input files the CLI reads. Everything here fails with a
 * `RaptorError` whose code maps to exit 2 (usage / invalid input), never with a raw
 * `SyntaxError` or a zod stack.
 */
import { basename, extname } from 'node:path';
import { describeJsonError } from '../core/json-error.js';
import { parseDuration } from '../core/duration.js';
import { checkMetadata } from '../core/input-limits.js';
import { RaptorError, type Issue } from '../core/errors.js';
import { readTextFile } from '../fs/read-text.js';
import { MAX_FILE_BYTES, StorageStateSchema, type StorageState } from '../core/record.js';
import type { Json } from '../core/sanitize.js';

export const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

export function usage(message: string): RaptorError {
  return new RaptorError('USAGE', message);
}

/** Collects a repeatable option (`--tag a --tag b`) into an array. */
export function collect(value: string, previous: string[] = []): string[] {
  return [...previous, value];
}

/** Checks a `--ttl` value now, so a typo fails before any browser is touched. */
export function parseTtl(text: string): string {
  parseDuration(text, '--ttl');
  return text;
}

/** `--metadata '{"owner":"qa"}'`: a JSON object within the metadata limits (depth 32, 1 MiB). */
export function parseMetadata(text: string): Record<string, Json> {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch {
    throw new RaptorError('INVALID_INPUT', `--metadata is not JSON (${describeJsonError(text)}). Pass an object, e.g. \`--metadata '{"owner":"qa"}'\`.`);
  }
  return checkMetadata(raw, '--metadata');
}

/** Reads and parses a JSON file given on the command line: at most 64 MiB (a session's limit), strict UTF-8. */
export async function readJsonFile(path: string, what: string): Promise<unknown> {
  const text = await readTextFile(path, { what, maxBytes: MAX_FILE_BYTES });
  if (text === undefined) throw new RaptorError('INVALID_INPUT', `Cannot read ${what} \`${path}\`: no such file.`);
  try {
    return JSON.parse(text) as unknown;
  } catch {
    // describeJsonError, not V8's message: that one quotes the file (a state file: credentials).
    const where = describeJsonError(text);
    throw new RaptorError('INVALID_INPUT', `${what} \`${path}\` is not valid JSON (${where}). Fix the file, or export it again.`, {
      issues: [{ code: 'INVALID_JSON', message: where, path: '' }],
    });
  }
}

/** Checks that `raw` is a Playwright storage state (`{ cookies: [...], origins: [...] }`). */
export function parseStorageState(raw: unknown, path: string): StorageState {
  const parsed = StorageStateSchema.safeParse(raw);
  if (parsed.success) return parsed.data;
  const issues: Issue[] = parsed.error.issues.map((issue) => ({ code: 'SCHEMA', message: issue.message, path: issue.path.map(String).join('.') }));
  const first = issues[0]!;
  throw new RaptorError(
    'INVALID_INPUT',
    `\`${path}\` is not a Playwright storage state (${first.path || 'file'}: ${first.message}${issues.length > 1 ? `; ${issues.length - 1} more` : ''}). Create one with \`context.storageState({ path })\`.`,
    { issues },
  );
}

/** `.auth/admin.json` -> `admin`: the session name an imported file gets without `--name`. */
export function nameFromFile(path: string): string {
  const file = basename(path);
  return basename(file, extname(file)) || file;
}
