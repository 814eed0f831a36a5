/**
 * Whether the kept-alive browsers of the rows on screen still live, probed a few at a time and
 * remembered for a moment: a page refreshed by every change event must not probe every browser
 * again each time.
 */
import type { SessionSummary } from '../core/record.js';
import { mapLimit } from '../core/map-limit.js';
import { PROBE_CONCURRENCY } from '../browser/identity.js';
import type { SessionManager } from '../manager.js';

export type BrowserState = 'live' | 'gone' | 'none';

const REMEMBER_MS = 3_000;
const PROBE_TIMEOUT_MS = 1_000;

export class BrowserProbes {
  private readonly recent = new Map<string, { state: BrowserState; at: number }>();

  constructor(private readonly manager: SessionManager) {}

  async states(sessions: readonly SessionSummary[]): Promise<Map<string, BrowserState>> {
    const states = new Map<string, BrowserState>();
    const now = Date.now();
    const toProbe: SessionSummary[] = [];
    for (const s of sessions) {
      if (s.cdpUrl === undefined) states.set(s.name, 'none');
      else {
        const known = this.recent.get(keyOf(s));
        if (known && now - known.at < REMEMBER_MS) states.set(s.name, known.state);
        else toProbe.push(s);
      }
    }
    await mapLimit(toProbe, PROBE_CONCURRENCY, async (s) => {
      // A probe that fails (refused, reset, timed out) is the answer "gone", not an error of the page.
      const check = await this.manager.checkSessionBrowser(s, PROBE_TIMEOUT_MS).catch(() => undefined);
      const state: BrowserState = check?.status === 'same' || check?.status === 'unverified' ? 'live' : 'gone';
      this.recent.set(keyOf(s), { state, at: Date.now() });
      states.set(s.name, state);
    });
    return states;
  }
}

function keyOf(s: SessionSummary): string {
  return `${s.name}\n${s.cdpUrl ?? ''}\n${s.browserId ?? ''}`;
}
