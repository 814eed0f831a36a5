/**
 * `raptor save <name>`: captures a session from a running browser (`--cdp`), a Playwright
 * storage-state file (`--from`), or the browser the session already records (neither).
 */
import type { Command } from 'commander';
import type { SaveOptions, SaveSource, SessionInfo } from '../../manager.js';
import { isRaptorError } from '../../core/errors.js';
import type { Run } from '../command.js';
import { maskUrl } from '../mask.js';
import { withManager, type CliContext } from '../context.js';
import { collect, parseMetadata, parseStorageState, parseTtl, readJsonFile, usage } from '../options.js';
import { examples, quote, type CommandOutput } from '../output.js';
import { addIdentityOptions, identityChange, identityFor, type IdentityFlags } from '../identity-options.js';

export interface SaveFlags extends IdentityFlags {
  cdp?: string;
  from?: string;
  tag?: string[];
  ttl?: string;
  metadata?: string;
}

export function registerSave(program: Command, run: Run): void {
  const command = program
    .command('save')
    .summary('save a session from a browser or a storage-state file')
    .description("Save a session from a running Chromium (--cdp), a Playwright storage-state file (--from), or the session's own recorded browser")
    .argument('<name>', 'session name, e.g. acme-admin')
    .option('--cdp <url>', 'CDP URL of a running Chromium, e.g. http://127.0.0.1:9222')
    .option('--from <file>', 'a Playwright storage-state JSON file (context.storageState({ path }))')
    .option('--tag <tag>', 'tag the session (repeatable; replaces the current tags)', collect)
    .option('--ttl <duration>', 'expire this long after saving, e.g. 12h or 7d')
    .option('--metadata <json>', 'a JSON object stored with the session (replaces the current metadata)');
  addIdentityOptions(command)
    .addHelpText(
      'after',
      examples([
        ['raptor save acme-admin --cdp http://127.0.0.1:9222 --tag admin --ttl 12h', 'capture a browser you logged into'],
        ['raptor save acme-admin --from .auth/admin.json', 'adopt a Playwright storage-state file'],
        ['raptor save acme-admin', 'capture again from the browser `raptor launch` started'],
        ["raptor save acme-admin --from state.json --user-agent 'Acme/1.0' --timezone Europe/Berlin", 'with the identity the login is bound to'],
      ]),
    )
    .action(run((cli, name: string, flags: SaveFlags) => saveSession(cli, name, flags)));
}

export async function saveSession(cli: CliContext, name: string, flags: SaveFlags): Promise<CommandOutput> {
  if (flags.cdp !== undefined && flags.from !== undefined) throw usage('Pass either `--cdp <url>` or `--from <file>`, not both.');
  // Parse every option before touching a browser: a typo fails fast and changes nothing.
  const options: SaveOptions = {
    ...(flags.tag && flags.tag.length > 0 ? { tags: flags.tag } : {}),
    ...(flags.ttl !== undefined ? { ttl: parseTtl(flags.ttl) } : {}),
    ...(flags.metadata !== undefined ? { metadata: parseMetadata(flags.metadata) } : {}),
  };
  const change = identityChange(flags, cli.env);
  const fromFile = flags.from === undefined ? undefined : parseStorageState(await readJsonFile(flags.from, 'storage-state file'), flags.from);
  const info = await withManager(cli, {}, async (manager) => {
    let source: SaveSource;
    if (fromFile) source = { storageState: fromFile };
    else if (flags.cdp !== undefined) source = { cdpUrl: flags.cdp };
    else {
      const recorded = await manager.get(name).catch((error: unknown) => {
        if (!isRaptorError(error, 'NOT_FOUND')) throw error;
        throw usage(`There is no session \`${name}\` yet, so nothing records a browser to save it from. Pass \`--cdp <url>\` or \`--from <file>\`.`);
      });
      if (!recorded.cdpUrl) throw usage(`Session \`${name}\` records no browser. Pass \`--cdp <url>\` or \`--from <file>\`, or start one with \`raptor launch ${name}\`.`);
      // Only the very browser the session recorded: a stranger on its port is refused (BROWSER_REPLACED).
      source = { recordedBrowser: true };
    }
    const identity = await identityFor(manager, name, change);
    await manager.save(name, source, { ...options, ...(identity ? { identity } : {}) });
    return manager.info(name);
  });
  return sessionOutput(info, `Saved ${quote(name)}`);
}

/** Output shared by `save` and `import`: `{ session: SessionInfo }`, the CDP URL redacted. */
export function sessionOutput(info: SessionInfo, headline: string): CommandOutput {
  const session = info.cdpUrl ? { ...info, cdpUrl: maskUrl(info.cdpUrl) } : info;
  const parts = [`${session.cookies} cookie(s)`, `${session.origins} origin(s)`];
  if (session.sessionStorageOrigins > 0) parts.push(`sessionStorage of ${session.sessionStorageOrigins} origin(s)`);
  const lines = [`${headline}: ${parts.join(', ')}; revision ${session.revision}.`];
  if (session.cdpUrl) lines.push(`Browser: ${session.cdpUrl}`);
  if (session.expiresAt) lines.push(`Expires: ${session.expiresAt}`);
  if (session.tags.length > 0) lines.push(`Tags: ${session.tags.join(', ')}`);
  return { data: { session }, text: () => lines.join('\n') };
}
