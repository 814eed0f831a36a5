/**
 * The user's settings (`~/.raptor/config.json`, via conf); where raptor keeps things is `paths.ts`.
 *
 * Precedence: explicit option (CLI flag / API argument) > environment variable > config file > default.
 * The config file is validated with zod on every read: a hand-edited bad value is a clear
 * `CONFIG_INVALID`, never silently reset (conf's own behaviour is to reset; we validate first).
 */
import { join } from 'node:path';
import { z } from 'zod';
import { parseJsonText } from '../core/json-error.js';
import { RaptorError } from '../core/errors.js';
import { entryAt, readOwnFile } from '../fs/territory.js';
import { fsFault } from '../fs/fs-errors.js';
import { readTextFile } from '../fs/read-text.js';
import { sanitizeJson } from '../core/sanitize.js';
import { parseDuration } from '../core/duration.js';
import type { Paths } from './paths.js';

const Duration = z.string().refine((v) => {
  try {
    parseDuration(v);
    return true;
  } catch {
    return false; // reported by zod as this key's issue
  }
}, 'must be a duration such as `30s`, `12h` or `7d`');

export const SettingsSchema = z.object({
  /** Chromium executable used to launch browsers. */
  browser: z.string().min(1).optional(),
  /** Launch browsers headless. @default true */
  headless: z.boolean().default(true),
  /** Sessions not updated for this long count as expired. Unset: only `expiresAt` expires a session. */
  maxAge: Duration.optional(),
  /** How long quarantined files are kept before `clean` purges them. @default '30d' */
  quarantineRetention: Duration.default('30d'),
  /** How long journals of completed crawls (and of crawls whose session is gone) are kept. @default '7d' */
  crawlRetention: Duration.default('7d'),
  /** How long `restore` waits for `/json/version` before declaring a browser dead. @default 1500 */
  probeTimeoutMs: z.number().int().min(50).max(60_000).default(1500),
  /** Where sessions live: `postgres://…`, `memory:` or a directory. RAPTOR_STORE, `--store` and `--dir` override it. @default the file store in `~/.raptor/sessions` */
  store: z.string().min(1).optional(),
  /** Encrypt the browser state of sessions at rest (AES-256-GCM; key from RAPTOR_KEY or ~/.raptor/key). @default 'off' */
  encryption: z.enum(['on', 'off']).default('off'),
  /** pino level for stderr logs. @default 'warn' */
  logLevel: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('warn'),
});

export type Settings = z.infer<typeof SettingsSchema>;
export type SettingKey = keyof Settings;
export const SETTING_KEYS = Object.keys(SettingsSchema.shape) as SettingKey[];

type ConfStore = { store: Record<string, unknown>; set(key: string, value: unknown): void; delete(key: string): void; path: string };

async function openConf(home: string): Promise<ConfStore> {
  const { default: Conf } = await import('conf');
  const { mkdir } = await import('node:fs/promises');
  await mkdir(home, { recursive: true, mode: 0o700 }).catch((error: unknown) => {
    throw fsFault(error, home) ?? error;
  });
  // Read and checked by raptor first (territory, size, strict UTF-8, depth): conf would decode
  // damaged bytes to U+FFFD and write through a link.
  assertOwnConfig(join(home, 'config.json'), await readConfigFile(join(home, 'config.json')));
  try {
    const conf = new Conf({
      cwd: home,
      configName: 'config',
      projectName: 'raptor',
      configFileMode: 0o600,
      deserialize: (text: string) => JSON.parse(text.replace(/^\uFEFF/, '')) as Record<string, unknown>,
    }) as unknown as ConfStore;
    return writingFaults(conf);
  } catch (error) {
    throw new RaptorError('CONFIG_INVALID', `Cannot read ${join(home, 'config.json')}: ${(error as Error).message}. Fix or delete the file.`, { cause: error });
  }
}

/**
 * Territory for `config.json` before conf rewrites it: a link or a hard link is never written
 * through or replaced, and a JSON file with keys that are not raptor settings is someone else's
 * (RAPTOR_HOME pointed at a project). Reading a linked config (dotfiles) stays allowed.
 */
function assertOwnConfig(file: string, raw: unknown): void {
  const { kind } = entryAt(file);
  if (kind === 'missing') return;
  const refuse = (why: string) =>
    new RaptorError('FOREIGN_DIRECTORY', `\`${file}\` ${why}, so raptor will not rewrite it. Set RAPTOR_HOME to raptor's own directory (default ~/.raptor), or move the file away.`);
  if (kind !== 'file') throw refuse(kind === 'symlink' ? 'is a symbolic link' : 'is not a regular file');
  readOwnFile(file, MAX_CONFIG_BYTES); // refuses a hard link: conf's rewrite would change the other name's file too
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) throw refuse('is not a raptor config');
  const foreign = Object.keys(raw).filter((key) => !(SETTING_KEYS as string[]).includes(key) && key !== '__internal__');
  if (foreign.length > 0) throw refuse(`holds ${foreign.map((k) => `\`${k}\``).join(', ')}, which ${foreign.length > 1 ? 'are' : 'is'} not a raptor setting (if a newer raptor wrote it, upgrade raptor-sessions)`);
}

function parseSettings(raw: unknown, file: string): Settings {
  const parsed = SettingsSchema.safeParse(raw);
  if (!parsed.success) {
    const first = parsed.error.issues[0]!;
    throw new RaptorError(
      'CONFIG_INVALID',
      `${file}: \`${first.path.join('.')}\` ${first.message}. Fix it with \`raptor config set ${String(first.path[0])} <value>\` or delete the key.`,
    );
  }
  return parsed.data;
}

/** A config file is a few hundred bytes; this bounds what a hostile one costs to read. */
const MAX_CONFIG_BYTES = 1024 * 1024;
/** Settings are flat; a config nested deeper than this is not raptor's (and could not be written back). */
const MAX_CONFIG_DEPTH = 8;

/** The parsed config file (`{}` when there is none), or `CONFIG_INVALID` naming the problem and the limit. */
async function readConfigFile(file: string): Promise<unknown> {
  const wayOut = 'Fix or delete the file.';
  const text = await readTextFile(file, { what: 'config file', maxBytes: MAX_CONFIG_BYTES, code: 'CONFIG_INVALID', wayOut });
  if (text === undefined) return {};
  let raw: unknown;
  try {
    raw = parseJsonText(text); // names a position only: the config may hold a store URL with its password
  } catch (error) {
    throw new RaptorError('CONFIG_INVALID', `Cannot read ${file}: ${(error as Error).message}. ${wayOut}`, { cause: error });
  }
  if (sanitizeJson(raw, '', MAX_CONFIG_DEPTH).issues.some((issue) => issue.code === 'TOO_DEEP')) {
    throw new RaptorError('CONFIG_INVALID', `${file} is nested deeper than ${MAX_CONFIG_DEPTH} levels; raptor's settings are flat. ${wayOut}`);
  }
  return raw;
}

/** conf writes config.json itself (atomically); a full or read-only disk there is `DISK_FULL` / `READ_ONLY`. */
function writingFaults(conf: ConfStore): ConfStore {
  const guard = (fn: () => void): void => {
    try {
      fn();
    } catch (error) {
      throw fsFault(error, conf.path) ?? error;
    }
  };
  return {
    get store() {
      return conf.store;
    },
    path: conf.path,
    set: (key, value) => guard(() => conf.set(key, value)),
    delete: (key) => guard(() => conf.delete(key)),
  };
}

/** Settings from the config file with environment overrides applied. */
export async function loadSettings(paths: Paths, env: NodeJS.ProcessEnv = process.env): Promise<Settings> {
  const raw = await readConfigFile(paths.configFile);
  const settings = parseSettings(raw, paths.configFile);
  if (env['RAPTOR_BROWSER']) settings.browser = env['RAPTOR_BROWSER'];
  if (env['RAPTOR_LOG_LEVEL']) settings.logLevel = parseSettings({ logLevel: env['RAPTOR_LOG_LEVEL'] }, 'RAPTOR_LOG_LEVEL').logLevel;
  return settings;
}

/** `USAGE` unless `key` is a raptor setting; the message lists the known ones. */
export function assertSettingKey(key: string): asserts key is SettingKey {
  if (!(SETTING_KEYS as string[]).includes(key)) {
    throw new RaptorError('USAGE', `Unknown setting \`${key}\`. Known settings: ${SETTING_KEYS.join(', ')}.`);
  }
}

/** Parses a CLI string for `key` (`true`, `1500`, `7d`) into its typed value and validates it. */
export function parseSettingValue(key: string, text: string): unknown {
  assertSettingKey(key);
  const shape = SettingsSchema.shape[key as SettingKey];
  const candidates: unknown[] = [text];
  if (text === 'true' || text === 'false') candidates.unshift(text === 'true');
  if (/^-?\d+(\.\d+)?$/.test(text)) candidates.unshift(Number(text));
  for (const candidate of candidates) {
    if (shape.safeParse(candidate).success) return candidate;
  }
  const issue = shape.safeParse(candidates.at(-1)).error?.issues[0];
  throw new RaptorError('USAGE', `\`${text}\` is not a valid \`${key}\`: ${issue?.message ?? 'wrong type'}.`);
}

/**
 * Validates and writes one setting. `beforeWrite` runs once the new settings are known to be
 * valid and before anything is written: a failure there leaves the file as it was (turning
 * encryption on creates the key first, `crypto/key-file.ts`, from the layer that knows keys).
 */
export async function setSetting(paths: Paths, key: string, text: string, beforeWrite?: (next: Settings) => Promise<void>): Promise<Settings> {
  const value = parseSettingValue(key, text);
  const conf = await openConf(paths.home);
  const next = parseSettings({ ...conf.store, [key]: value }, paths.configFile);
  await beforeWrite?.(next);
  conf.set(key, value);
  return next;
}

export async function unsetSetting(paths: Paths, key: string): Promise<void> {
  assertSettingKey(key);
  const conf = await openConf(paths.home);
  conf.delete(key);
}
