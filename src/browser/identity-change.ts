/**
 * A session whose identity changed while its kept-alive browser runs (`raptor save x --user-agent …`,
 * `restore(x, { identity })`): the browser keeps the user agent, language, timezone, scale and
 * proxy it was launched with, so reattaching would hand out the old identity, and a server that
 * binds the login to it sees a stranger. Decision (docs/architecture.md, "Restore"): save what
 * the browser knows into the session, stop it, and let the restore relaunch with the new identity.
 * When its state cannot be saved, nothing is stopped and the restore fails with a way out: a
 * browser holding state the session does not is never killed.
 */
import { RaptorError } from '../core/errors.js';
import { sameLaunchIdentity } from '../core/identity.js';
import type { SessionRecord } from '../core/record.js';
import { profileDirFor } from '../env/paths.js';
import type { Logger } from '../env/log.js';
import type { Captured } from './capture.js';
import { captureChecked } from './capture-source.js';
import { liveBrowserOf } from './identity.js';
import { runningKeepAlive, stopKeepAlive } from './keep-alive.js';

export interface IdentityChangeContext {
  profilesDir: string;
  logger: Logger;
  /** Stores a state captured from the outgoing browser in the session; returns the record it wrote. */
  keepState: (captured: Captured) => Promise<SessionRecord>;
}

/** How long the outgoing browser may take to answer before the restore gives up on saving it. */
const PROBE_MS = 5000;

/**
 * Stops this session's kept-alive browser when it runs with other launch fields than `record`'s
 * identity, after saving its state. Returns the record to relaunch from (the saved one), or
 * undefined when there was nothing to do.
 */
export async function retireOutdatedBrowser(record: SessionRecord, ctx: IdentityChangeContext): Promise<SessionRecord | undefined> {
  if (record.browserType !== 'chromium') return undefined;
  const profileDir = profileDirFor(ctx.profilesDir, record.name);
  const kept = await runningKeepAlive(profileDir);
  if (!kept || sameLaunchIdentity(kept.launchIdentity, record.identity)) return undefined;
  const check = (await liveBrowserOf(kept, profileDir, PROBE_MS))!;
  const wayOut = `Save it by hand (\`raptor save ${record.name}\`), stop it (\`raptor stop ${record.name}\`), then restore again.`;
  if (check.status !== 'same') {
    throw new RaptorError('BROWSER_UNREACHABLE', `The kept-alive browser of \`${record.name}\` runs with another identity than the session's, and its state could not be saved before relaunching it (${check.reason}); it was left running. ${wayOut}`);
  }
  let saved: SessionRecord;
  try {
    const { captured } = await captureChecked(kept.cdpUrl, check);
    saved = await ctx.keepState(captured);
  } catch (error) {
    const why = (error as Error).message?.split('\n')[0] ?? String(error);
    throw new RaptorError('BROWSER_FAILED', `The kept-alive browser of \`${record.name}\` runs with another identity than the session's, and saving its state before relaunching it failed (${why}); it was left running. ${wayOut}`, { cause: error });
  }
  ctx.logger.info({ session: record.name, pid: kept.pid }, 'the identity of this session changed since its browser was launched; saved its state and relaunching it');
  await stopKeepAlive(profileDir);
  return saved;
}
