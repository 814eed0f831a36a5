/**
 * `raptor import <file>`: a raptor record (from `raptor export`) or a Playwright storage-state
 * file becomes a session; a bundle from `raptor export --all` (NDJSON or a JSON array) becomes
 * every session in it. Raptor records are imported whole (see `transfer.ts`), except under
 * `--name`: a renamed copy gets the state, tags, metadata and expiry, not the original's browser.
 * Never replaces an existing session without `--force`.
 */
import { Option, type Command } from 'commander';
import { RaptorError, isRaptorError } from '../../core/errors.js';
import type { SaveOptions, SaveSource } from '../../manager.js';
import { parseRecordValue, type SessionRecord } from '../../core/record.js';
import { readTextFile } from '../../fs/read-text.js';
import { parseBundle } from '../../maintenance/transfer.js';
import type { Run } from '../command.js';
import { withManager, type CliContext } from '../context.js';
import { nameFromFile, parseStorageState, readJsonFile, usage } from '../options.js';
import { quote, examples, type CommandOutput } from '../output.js';
import { sessionOutput } from './save.js';
import { addIdentityOptions, identityChange, mergeIdentity, type IdentityChange, type IdentityFlags } from '../identity-options.js';

export const IMPORT_FORMATS = ['auto', 'raptor', 'playwright'] as const;
/** A bundle is read whole into memory: 4 GiB would not be, 1 GiB is 16 sessions at their limit. */
const MAX_BUNDLE_BYTES = 1024 * 1024 * 1024;

export interface ImportFlags extends IdentityFlags {
  name?: string;
  format: (typeof IMPORT_FORMATS)[number];
  force?: boolean;
}

export function registerImport(program: Command, run: Run): void {
  const command = program
    .command('import')
    .summary('import a raptor or Playwright JSON file')
    .description('Save a raptor record, a Playwright storage-state file, or every record of a `raptor export --all` bundle as sessions')
    .argument('<file>', 'JSON file (or NDJSON bundle) to import')
    .option('--name <name>', 'session name (default: the record\'s name, or the file name without .json)')
    .addOption(new Option('--format <format>', 'file format').choices(IMPORT_FORMATS).default('auto'))
    .option('-f, --force', 'replace an existing session of that name');
  addIdentityOptions(command)
    .addHelpText(
      'after',
      examples([
        ['raptor import .auth/admin.json', 'a Playwright storageState file, saved as session `admin`'],
        ["raptor import .auth/admin.json --user-agent 'Acme/1.0' --proxy http://alice@proxy.example:3128", 'with the identity its login is bound to'],
        ['raptor import backup.json --name acme-admin --force', 'replace a session from a `raptor export`'],
        ['raptor import sessions.ndjson --store postgres://db/fleet', 'every session of an `export --all`, into PostgreSQL'],
      ]),
    )
    .action(run((cli, file: string, flags: ImportFlags) => importSession(cli, file, flags)));
}

export async function importSession(cli: CliContext, file: string, flags: ImportFlags): Promise<CommandOutput> {
  const change = identityChange(flags, cli.env);
  const bundle = flags.format === 'playwright' ? undefined : await readBundle(file);
  if (bundle && change) throw usage(`\`${file}\` holds ${bundle.length} sessions, each with its own identity; the identity options apply to a single session only.`);
  if (bundle) return importBundle(cli, file, bundle, flags);
  const raw = await readJsonFile(file, 'import file');
  const format = flags.format === 'auto' ? detectFormat(raw, file) : flags.format;
  let name: string;
  let source: SaveSource;
  const options: SaveOptions = flags.force ? {} : { expectedRevision: 0 };
  if (format === 'raptor' && flags.name === undefined) return importWhole(cli, file, identified(parseRecordValue(raw), change), flags);
  if (format === 'raptor') {
    const record = identified(parseRecordValue(raw), change);
    name = flags.name ?? record.name;
    source = { storageState: record.storageState, ...(record.sessionStorage ? { sessionStorage: record.sessionStorage } : {}) };
    Object.assign(options, { tags: record.tags, metadata: record.metadata, expiresAt: record.expiresAt, browserType: record.browserType, identity: record.identity ?? null });
  } else {
    name = flags.name ?? nameFromFile(file);
    source = { storageState: parseStorageState(raw, file) };
    if (change) options.identity = mergeIdentity(undefined, change);
  }
  const info = await withManager(cli, {}, async (manager) => {
    try {
      await manager.save(name, source, options);
    } catch (error) {
      if (!isRaptorError(error, 'REVISION_CONFLICT') || flags.force) throw error;
      throw new RaptorError('REVISION_CONFLICT', `Session \`${name}\` already exists. Pass \`--force\` to replace it, or \`--name <other>\` to import it under another name.`, { cause: error });
    }
    return manager.info(name);
  });
  return sessionOutput(info, `Imported ${quote(name)} from ${file} (${format} format)`);
}

/** The imported record with the identity options over its own identity. */
function identified(record: SessionRecord, change: IdentityChange | undefined): SessionRecord {
  return change ? { ...record, identity: mergeIdentity(record.identity, change) } : record;
}

/** A raptor record as it is, under its own name. */
async function importWhole(cli: CliContext, file: string, record: SessionRecord, flags: ImportFlags): Promise<CommandOutput> {
  const info = await withManager(cli, {}, async (manager) => {
    const { skipped } = await manager.importRecords([record], { force: flags.force === true });
    if (skipped.length > 0) {
      throw new RaptorError('REVISION_CONFLICT', `Session \`${record.name}\` already exists. Pass \`--force\` to replace it, or \`--name <other>\` to import it under another name.`);
    }
    return manager.info(record.name);
  });
  return sessionOutput(info, `Imported ${quote(record.name)} from ${file} (raptor format)`);
}

async function importBundle(cli: CliContext, file: string, records: SessionRecord[], flags: ImportFlags): Promise<CommandOutput> {
  if (flags.name !== undefined) throw usage(`\`${file}\` holds ${records.length} sessions; \`--name\` renames only a single one.`);
  const { imported, skipped, into } = await withManager(cli, {}, async (manager) => ({
    ...(await manager.importRecords(records, { force: flags.force === true })),
    into: manager.location,
  }));
  const note = skipped.length > 0 ? `\n${skipped.length} already existed and were left alone: ${skipped.map(quote).join(', ')}. Pass \`--force\` to replace them.` : '';
  return {
    data: { imported, skipped, into },
    text: () => `Imported ${imported.length} session(s) from ${file} into ${into}.${note}`,
    exitCode: skipped.length > 0 ? 1 : 0,
  };
}

/**
 * The records of `file` when it is a bundle (a JSON array, or more than one line each holding a
 * JSON object); `undefined` for anything else, which the single-file path reads and reports.
 */
async function readBundle(file: string): Promise<SessionRecord[] | undefined> {
  // A bundle holds many sessions, so it may be larger than one; each record is held to 64 MiB by `parseBundle`.
  const text = await readTextFile(file, { what: 'import file', maxBytes: MAX_BUNDLE_BYTES }).catch((error: unknown) => {
    if (isRaptorError(error) && error.issues.some((issue) => issue.code === 'NOT_UTF8')) throw error;
    return undefined; // unreadable: the single-file path reads it again and says why
  });
  if (text === undefined) return undefined;
  const trimmed = text.trim();
  const lines = trimmed.split('\n').filter((line) => line.trim() !== '');
  const ndjson = lines.length > 1 && isJsonObject(lines[0]!);
  return trimmed.startsWith('[') || ndjson ? parseBundle(trimmed, file) : undefined;
}

function isJsonObject(line: string): boolean {
  try {
    const value: unknown = JSON.parse(line);
    return typeof value === 'object' && value !== null && !Array.isArray(value);
  } catch {
    return false; // a pretty-printed single document: its first line alone is not JSON
  }
}

function detectFormat(raw: unknown, file: string): 'raptor' | 'playwright' {
  if (typeof raw === 'object' && raw !== null && !Array.isArray(raw)) {
    if ('schemaVersion' in raw) return 'raptor';
    if ('cookies' in raw && 'origins' in raw) return 'playwright';
  }
  throw usage(`\`${file}\` is neither a raptor session (no \`schemaVersion\`) nor a Playwright storage state (no \`cookies\` and \`origins\`). Pass \`--format\` to say which it is.`);
}
