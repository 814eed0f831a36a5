/**
 * The identity options of `save`, `launch`, `restore`, `open` and `import` (`--user-agent`,
 * `--locale`, `--timezone`, `--viewport`, `--proxy`, `--header`, …): defined once, parsed once.
 * They change only the fields given and keep the rest of the session's stored identity, so
 * `raptor restore x --timezone Europe/Paris` does not drop its user agent.
 */
import { Option, type Command } from 'commander';
import { isRaptorError } from '../core/errors.js';
import { parseHeader, parseIdentity, parseProxyUrl, parseViewport, type Identity } from '../core/identity.js';
import type { SessionManager } from '../manager.js';
import { collect, usage } from './options.js';

/** The proxy password, when it should not be typed where `ps` shows it. */
export const PROXY_PASSWORD_ENV = 'RAPTOR_PROXY_PASSWORD';

export interface IdentityFlags {
  userAgent?: string;
  locale?: string;
  timezone?: string;
  viewport?: string;
  deviceScaleFactor?: string;
  colorScheme?: string;
  proxy?: string;
  proxyBypass?: string;
  header?: string[];
}

/** Adds the identity options to `command`. */
export function addIdentityOptions(command: Command): Command {
  return command
    .option('--user-agent <ua>', "the browser's user agent, e.g. 'Mozilla/5.0 …'")
    .option('--locale <locale>', 'language and formats (BCP 47), e.g. de-DE: navigator.language, Accept-Language')
    .option('--timezone <zone>', 'IANA timezone, e.g. Europe/Berlin')
    .option('--viewport <WxH>', 'page size, e.g. 1280x720')
    .option('--device-scale-factor <n>', 'device pixel ratio, e.g. 2')
    .addOption(new Option('--color-scheme <scheme>', 'prefers-color-scheme').choices(['light', 'dark', 'no-preference']))
    .option('--proxy <url>', `proxy, e.g. http://user@proxy.example:3128 (the password may be in the URL, but ${PROXY_PASSWORD_ENV} keeps it out of \`ps\`)`)
    .option('--proxy-bypass <hosts>', 'comma-separated hosts that skip the proxy')
    .option('--header <header>', "extra HTTP header 'Name: value' sent with every request (repeatable)", collect)
    .addHelpText('after', '\nThe identity options change only the fields given; the session keeps the rest,\nand every restore applies them.');
}

/** What the flags change: identity fields, and a bypass list for the stored proxy when `--proxy-bypass` comes without `--proxy`. */
export interface IdentityChange {
  fields: Partial<Identity>;
  proxyBypass?: string;
}

/** The identity change the flags give (undefined: none), checked; `USAGE` / `INVALID_INPUT` name the bad value. */
export function identityChange(flags: IdentityFlags, env: NodeJS.ProcessEnv): IdentityChange | undefined {
  const change: Partial<Identity> = {};
  if (flags.userAgent !== undefined) change.userAgent = flags.userAgent;
  if (flags.locale !== undefined) change.locale = flags.locale;
  if (flags.timezone !== undefined) change.timezoneId = flags.timezone;
  if (flags.viewport !== undefined) change.viewport = parseViewport(flags.viewport);
  if (flags.deviceScaleFactor !== undefined) change.deviceScaleFactor = Number(flags.deviceScaleFactor);
  if (flags.colorScheme !== undefined) change.colorScheme = flags.colorScheme as NonNullable<Identity['colorScheme']>;
  if (flags.proxy !== undefined) {
    const proxy = parseProxyUrl(flags.proxy, flags.proxyBypass);
    const password = env[PROXY_PASSWORD_ENV];
    if (proxy.password === undefined && password !== undefined) {
      if (proxy.username === undefined) throw usage(`${PROXY_PASSWORD_ENV} is set, but \`--proxy\` names no user: pass it as http://user@host:port.`);
      proxy.password = password;
    }
    change.proxy = proxy;
  }
  if (flags.header) change.extraHTTPHeaders = Object.fromEntries(flags.header.map(parseHeader));
  const proxyBypass = flags.proxy === undefined ? flags.proxyBypass : undefined;
  if (Object.keys(change).length === 0 && proxyBypass === undefined) return undefined;
  return { fields: parseIdentity(change), ...(proxyBypass !== undefined ? { proxyBypass } : {}) }; // checked before anything runs
}

/** `stored` with `change` over it: headers merge by name, `--proxy-bypass` alone changes the stored proxy's bypass. */
export function mergeIdentity(stored: Identity | undefined, change: IdentityChange): Identity {
  const merged: Identity = { ...stored, ...change.fields };
  if (stored?.extraHTTPHeaders && change.fields.extraHTTPHeaders) merged.extraHTTPHeaders = { ...stored.extraHTTPHeaders, ...change.fields.extraHTTPHeaders };
  if (change.proxyBypass !== undefined) {
    if (!merged.proxy) throw usage('`--proxy-bypass` changes the bypass list of a proxy, and this session has none. Pass `--proxy <url>` too.');
    merged.proxy = { ...merged.proxy, bypass: change.proxyBypass };
  }
  return parseIdentity(merged);
}

/** The identity to give session `name` (its stored one with the flags' changes), or undefined when no flag was given. */
export async function identityFor(manager: SessionManager, name: string, change: IdentityChange | undefined): Promise<Identity | undefined> {
  if (!change) return undefined;
  const stored = await manager.find(name).catch((error: unknown) => {
    if (isRaptorError(error, 'INVALID_SESSION')) return undefined; // a save replaces (and quarantines) it: nothing to merge with
    throw error;
  });
  return mergeIdentity(stored?.identity, change);
}
