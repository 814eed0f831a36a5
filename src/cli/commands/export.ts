/**
 * `raptor export <name>`: the whole raptor record, or exactly the Playwright storage state
 * (`newContext({ storageState })` takes it as is). `raptor export --all`: every session, one
 * record per line (NDJSON), for `raptor import` into another store. Files are written 0600
 * (they hold credentials) and whole or not at all (`fs/whole-file.ts`): a full disk never leaves
 * a truncated export that looks like a backup.
 */
import { Option, type Command } from 'commander';
import { writeWholeFile } from '../../fs/whole-file.js';
import { serializeRecord, type SessionRecord } from '../../core/record.js';
import { recordLine } from '../../maintenance/transfer.js';
import type { Run } from '../command.js';
import { withManager, type CliContext } from '../context.js';
import { usage } from '../options.js';
import { examples, quote, type CommandOutput } from '../output.js';

export const EXPORT_FORMATS = ['raptor', 'playwright'] as const;

export interface ExportFlags {
  format: (typeof EXPORT_FORMATS)[number];
  out?: string;
  force?: boolean;
  all?: boolean;
}

export function registerExport(program: Command, run: Run): void {
  program
    .command('export')
    .summary('write a session as raptor or Playwright JSON')
    .description('Write a session to stdout or a file (mode 0600): the raptor record, or the Playwright storage state')
    .argument('[name]', 'session name (omit with --all)')
    .option('--all', 'every session, one raptor record per line (NDJSON; a JSON array with --json), for `raptor import`')
    .addOption(new Option('--format <format>', 'raptor: the whole record; playwright: only storageState').choices(EXPORT_FORMATS).default('raptor'))
    .option('-o, --out <file>', 'write to this file instead of stdout')
    .option('-f, --force', 'overwrite --out if it exists')
    .addHelpText(
      'after',
      examples([
        ['raptor export acme-admin --format playwright --out .auth/admin.json', 'a storageState file for Playwright Test'],
        ['raptor export acme-admin > acme-admin.raptor.json', 'the whole record, for `raptor import` elsewhere'],
        ['raptor export --all --out sessions.ndjson', 'every session, to move them to another store'],
      ]),
    )
    .action(run((cli, name: string | undefined, flags: ExportFlags) => (flags.all ? exportAll(cli, name, flags) : exportSession(cli, name, flags))));
}

/** Every session, whole. Expired ones too: no startup cleanup runs first, so nothing is lost on the way. */
export async function exportAll(cli: CliContext, name: string | undefined, flags: ExportFlags): Promise<CommandOutput> {
  if (name !== undefined) throw usage('Pass a session name or `--all`, not both.');
  if (flags.format !== 'raptor') throw usage('`--all` exports raptor records; `--format playwright` is for one session.');
  return withManager(cli, { autoCleanup: false }, async (manager) => {
    if (flags.out === undefined) {
      const records: SessionRecord[] = [];
      for await (const record of manager.exportRecords()) records.push(record);
      return { data: records, text: () => records.map(recordLine).join('').trimEnd(), reveals: true };
    }
    let count = 0;
    async function* lines(): AsyncIterable<string> {
      for await (const record of manager.exportRecords()) {
        count++;
        yield recordLine(record);
      }
    }
    const bytes = await writeWholeFile(flags.out, lines(), { overwrite: flags.force === true });
    const exported = { count, format: 'ndjson', file: flags.out, bytes, from: manager.location };
    return { data: { exported }, text: () => `Exported ${count} session(s) from ${manager.location} to ${flags.out}.` };
  });
}

export async function exportSession(cli: CliContext, name: string | undefined, flags: ExportFlags): Promise<CommandOutput> {
  if (name === undefined) throw usage('Name the session to export, or pass `--all` for every session.');
  const record = await withManager(cli, {}, (manager) => manager.get(name));
  // Playwright's own `storageState({ path })` writes JSON.stringify(state, undefined, 2) with no
  // trailing newline; matching it byte for byte lets a raptor export replace a `.auth/*.json` file.
  const text = flags.format === 'playwright' ? JSON.stringify(record.storageState, null, 2) : serializeRecord(record);
  if (flags.out === undefined) {
    // The document itself is the output, with or without --json.
    const document: unknown = JSON.parse(text);
    return { data: document, text: () => text.trimEnd(), reveals: true };
  }
  await writeWholeFile(flags.out, [text], { overwrite: flags.force === true });
  const exported = { name, format: flags.format, file: flags.out, bytes: Buffer.byteLength(text) };
  return { data: { exported }, text: () => `Exported ${quote(name)} (${flags.format} format) to ${flags.out}.` };
}
