/** `raptor show <name>`: one session in full, its credentials masked unless `--reveal`. */
import type { Command } from 'commander';
import type { SessionRecord } from '../../core/record.js';
import type { Identity } from '../../core/identity.js';
import type { Run } from '../command.js';
import { withManager, type CliContext } from '../context.js';
import { maskRecord } from '../mask.js';
import { examples, formatExpiry, formatFields, formatTable, relativeTime, type CommandOutput, type View } from '../output.js';

export interface ShowFlags {
  reveal?: boolean;
}

export function registerShow(program: Command, run: Run): void {
  program
    .command('show')
    .summary('show one session (values masked)')
    .description('Show a session: fields, cookies, storage. Values are masked unless --reveal. Does not run the startup cleanup, so expired and invalid sessions can be inspected')
    .argument('<name>', 'session name')
    .option('--reveal', 'print cookie and storage values and the full CDP URL (they are credentials)')
    .addHelpText(
      'after',
      examples([
        ['raptor show acme-admin', 'fields and cookies, values masked'],
        ['raptor show acme-admin --reveal --json', 'the whole record, unmasked'],
      ]),
    )
    .action(run((cli, name: string, flags: ShowFlags) => showSession(cli, name, flags)));
}

export async function showSession(cli: CliContext, name: string, flags: ShowFlags): Promise<CommandOutput> {
  const record = await withManager(cli, { autoCleanup: false }, (manager) => manager.get(name));
  const session = flags.reveal ? record : maskRecord(record);
  return { data: { session }, text: (view) => describeRecord(session, view), ...(flags.reveal ? { reveals: true } : {}) };
}

function describeRecord(record: SessionRecord, view: View): string {
  const now = Date.now();
  const { cookies, origins } = record.storageState;
  const sections = [
    formatFields([
      ['name', record.name],
      ['browser type', record.browserType],
      ['browser', record.cdpUrl ? `${record.cdpUrl}${record.browserId ? ` (id ${record.browserId})` : ''}` : '-'],
      ['created', `${record.createdAt} (${relativeTime(record.createdAt, now)})`],
      ['updated', `${record.updatedAt} (${relativeTime(record.updatedAt, now)}), revision ${record.revision}`],
      ['last used', `${record.lastAccessedAt} (${relativeTime(record.lastAccessedAt, now)})`],
      ['expires', record.expiresAt ? `${record.expiresAt} (${formatExpiry(record.expiresAt, now)})` : 'never'],
      ['tags', record.tags.length > 0 ? record.tags.join(', ') : '-'],
      ['metadata', Object.keys(record.metadata).length > 0 ? JSON.stringify(record.metadata) : '-'],
    ]),
  ];
  sections.push(describeIdentity(record.identity));
  sections.push(
    cookies.length === 0
      ? 'Cookies: none'
      : `Cookies (${cookies.length}):\n${formatTable(
          cookies,
          [
            { header: 'NAME', value: (c) => c.name },
            { header: 'DOMAIN', value: (c) => c.domain },
            { header: 'PATH', value: (c) => c.path },
            { header: 'EXPIRES', value: (c) => (c.expires === -1 ? 'session' : new Date(c.expires * 1000).toISOString()) },
            { header: 'FLAGS', value: (c) => [c.httpOnly ? 'httpOnly' : '', c.secure ? 'secure' : '', c.sameSite].filter(Boolean).join(',') },
            { header: 'VALUE', value: (c) => c.value },
          ],
          view,
        )}`,
  );
  for (const origin of origins) {
    const items = origin.localStorage.map((item) => `  ${item.name} = ${item.value}`);
    const count = (key: string) => (Array.isArray((origin as Record<string, unknown>)[key]) ? ((origin as Record<string, unknown>)[key] as unknown[]).length : 0);
    const extra = [count('indexedDB') > 0 ? `${count('indexedDB')} IndexedDB database(s)` : '', count('opfs') > 0 ? `${count('opfs')} OPFS entr${count('opfs') === 1 ? 'y' : 'ies'}` : ''].filter(Boolean);
    sections.push(`localStorage ${origin.origin} (${[String(origin.localStorage.length), ...extra].join(', ')}):${items.length > 0 ? `\n${items.join('\n')}` : ' empty'}`);
  }
  const passkeys = (record.storageState as { credentials?: unknown }).credentials;
  if (Array.isArray(passkeys) && passkeys.length > 0) {
    const sites = passkeys.map((p) => (typeof p === 'object' && p !== null && 'rpId' in p ? String(p.rpId) : '?'));
    sections.push(`Passkeys (${passkeys.length}): ${sites.join(', ')}`);
  }
  for (const [origin, items] of Object.entries(record.sessionStorage ?? {})) {
    const lines = Object.entries(items).map(([key, value]) => `  ${key} = ${value}`);
    sections.push(`sessionStorage ${origin} (${lines.length}):${lines.length > 0 ? `\n${lines.join('\n')}` : ' empty'}`);
  }
  return sections.join('\n\n');
}

/** The identity as `show` prints it; `identity` is already masked unless `--reveal`. */
function describeIdentity(identity: Identity | undefined): string {
  if (!identity) return 'Identity: none (the browser\'s own)';
  const { proxy, httpCredentials: basic, viewport, geolocation: geo } = identity;
  const rows: [string, string | undefined][] = [
    ['user agent', identity.userAgent],
    ['locale', identity.locale],
    ['timezone', identity.timezoneId],
    ['viewport', viewport && `${viewport.width}x${viewport.height}`],
    ['scale factor', identity.deviceScaleFactor?.toString()],
    ['color scheme', identity.colorScheme],
    ['geolocation', geo && `${geo.latitude}, ${geo.longitude}`],
    ['permissions', identity.permissions?.join(', ')],
    ['proxy', proxy && [proxy.server, proxy.username !== undefined ? `user ${proxy.username}` : '', proxy.password !== undefined ? `password ${proxy.password}` : '', proxy.bypass ? `bypass ${proxy.bypass}` : ''].filter(Boolean).join(', ')],
    ['HTTP credentials', basic && `user ${basic.username}, password ${basic.password}${basic.origin ? `, for ${basic.origin}` : ''}`],
    ...Object.entries(identity.extraHTTPHeaders ?? {}).map(([name, value]): [string, string] => ['header', `${name}: ${value}`]),
  ];
  const shown = rows.filter((row): row is [string, string] => row[1] !== undefined);
  return `Identity:\n${formatFields(shown).replace(/^/gm, '  ')}`;
}
