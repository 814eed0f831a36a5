/**
 * The browsers the live view is attached to: one `LiveBrowser` per session, shared by every
 * stream and take-over of it, attached on first use and detached when the last user lets go
 * (nobody watching → no screencast, no connection). Only the session's own browser is attached:
 * the same check as `raptor save <name>` without `--cdp` (`requireSessionBrowser`).
 */
import { RaptorError } from '../core/errors.js';
import type { SessionSummary } from '../core/record.js';
import { requireSessionBrowser } from '../browser/identity.js';
import { LiveBrowser } from '../browser/live-browser.js';
import type { Logger } from '../env/log.js';
import type { SessionManager } from '../manager.js';
import type { SessionIndex } from './session-index.js';

const ATTACH_TIMEOUT_MS = 5_000;

interface Entry {
  users: number;
  browser: Promise<LiveBrowser>;
}

export interface Held {
  browser: LiveBrowser;
  /** Lets go; the last one to let go detaches. Safe to call twice. */
  release(): Promise<void>;
}

export class LiveBrowsers {
  private readonly entries = new Map<string, Entry>();
  private closed = false;

  constructor(
    private readonly manager: SessionManager,
    private readonly index: SessionIndex,
    private readonly logger: Logger,
  ) {}

  /** The number of attached browsers and of tabs being screencast, for the status endpoint and the tests. */
  async counts(): Promise<{ attached: number; screencasts: number }> {
    let screencasts = 0;
    let attached = 0;
    for (const entry of this.entries.values()) {
      const browser = await entry.browser.catch(() => undefined); // an attach that failed counts as not attached; its holder saw the error
      if (browser?.connected) {
        attached++;
        screencasts += browser.screencasts;
      }
    }
    return { attached, screencasts };
  }

  async hold(name: string): Promise<Held> {
    if (this.closed) throw new RaptorError('BROWSER_UNREACHABLE', 'The dashboard is stopping.');
    let entry = this.entries.get(name);
    if (!entry) {
      const summary = this.index.get(name);
      if (!summary) throw new RaptorError('NOT_FOUND', 'There is no such session (any more).');
      const created: Entry = { users: 0, browser: this.attach(summary) };
      entry = created;
      this.entries.set(name, created);
      created.browser.then(
        (browser) => browser.onDisconnected(() => this.entries.get(name) === created && this.entries.delete(name)),
        () => this.entries.get(name) === created && this.entries.delete(name),
      );
    }
    entry.users++;
    const held = entry;
    let browser: LiveBrowser;
    try {
      browser = await held.browser;
    } catch (error) {
      held.users--;
      throw error;
    }
    let released = false;
    return {
      browser,
      release: async () => {
        if (released) return;
        released = true;
        if (--held.users > 0) return;
        if (this.entries.get(name) === held) this.entries.delete(name);
        await browser.detach();
      },
    };
  }

  /** Holds the browser for one piece of work. */
  async use<T>(name: string, work: (browser: LiveBrowser) => Promise<T>): Promise<T> {
    const held = await this.hold(name);
    try {
      return await work(held.browser);
    } finally {
      await held.release();
    }
  }

  /** The dashboard stops: detach from everything (the browsers keep running). */
  async close(): Promise<void> {
    this.closed = true;
    const entries = [...this.entries.values()];
    this.entries.clear();
    for (const entry of entries) await entry.browser.then((b) => b.detach()).catch(() => undefined); // never attached: nothing to detach
  }

  private async attach(summary: SessionSummary): Promise<LiveBrowser> {
    if (!summary.cdpUrl) throw new RaptorError('INVALID_INPUT', `Session \`${summary.name}\` records no running browser; \`raptor launch\` or \`raptor restore --keep-alive\` starts one.`);
    const check = requireSessionBrowser((await this.manager.checkSessionBrowser(summary))!, summary.name, summary.cdpUrl);
    const browser = await LiveBrowser.attach(check, ATTACH_TIMEOUT_MS);
    this.logger.debug({ session: summary.name }, 'live view attached');
    return browser;
  }
}
