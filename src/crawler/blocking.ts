/**
 * A site that blocks the crawl's session: answers like 401/403/429 in a row. The crawl sends
 * at most `maxBlocked` requests into a block (every request still out may come back blocked, so
 * one is sent only while that cannot take the streak past the limit), then retires the session
 * (tag `retired`) and stops: crawling on would only send more requests the site refuses.
 */
import { RaptorError } from '../core/errors.js';
import type { SessionManager } from '../manager.js';
import type { Fence } from './fence.js';

export class BlockGuard {
  private inARow = 0;
  /** Requests sent whose answer is not in yet: with `inARow`, what may still come back blocked. */
  private unanswered = 0;

  constructor(
    private readonly maxBlocked: number,
    /** The answers counted as blocked. */
    readonly statuses: readonly number[],
  ) {}

  /** Whether a worker may send another request now. */
  maySend(): boolean {
    return this.inARow + this.unanswered < this.maxBlocked;
  }

  /**
   * Counts a request as out from now on (not only once sent: opening a tab takes a while, and
   * other workers must not send meanwhile on the belief that none is out). The returned
   * function marks it answered; calling it again does nothing.
   */
  sent(): () => void {
    this.unanswered++;
    let out = true;
    return () => {
      if (out) this.unanswered--;
      out = false;
    };
  }

  /** Counts an answer: `blocked`, `retire` when that made the streak reach the limit, else `ok` (the streak is over). */
  answer(status: number): 'ok' | 'blocked' | 'retire' {
    if (!this.statuses.includes(status)) {
      this.inARow = 0;
      return 'ok';
    }
    return this.blocked();
  }

  /** Counts a blocked answer whatever its status (a page logged out right after a re-login: relogin.ts). */
  blocked(): 'blocked' | 'retire' {
    return ++this.inARow >= this.maxBlocked ? 'retire' : 'blocked';
  }

  /**
   * Tags the session `retired` (with why in its metadata) and throws `SESSION_BLOCKED`.
   * `what` is the answer counted, as in "HTTP 429" or "a logged-out page right after a re-login".
   */
  async retire(manager: SessionManager, session: string, what: string, fence: Fence): Promise<never> {
    fence.check();
    await manager.update(session, (record) => ({
      ...record,
      tags: [...new Set([...record.tags, 'retired'])],
      metadata: { ...record.metadata, retired: { at: new Date().toISOString(), reason: `${what} ${this.inARow} times in a row` } },
    }));
    throw new RaptorError(
      'SESSION_BLOCKED',
      `The site answered ${what} ${this.inARow} times in a row: session \`${session}\` looks blocked and was retired (tag \`retired\`). Log in again, or crawl with another session; the crawl resumes where it stopped.`,
    );
  }
}

/** The session was retired (blocked): resuming would only send more requests the site refuses. */
export function retiredError(session: string, retired: unknown): RaptorError {
  const reason = retired && typeof retired === 'object' && 'reason' in retired && typeof retired.reason === 'string' ? ` (${retired.reason})` : '';
  return new RaptorError(
    'SESSION_BLOCKED',
    `Session \`${session}\` was retired${reason}: the site blocks it, and crawling on would only send more requests it refuses. Log in again and save it without the \`retired\` tag (\`raptor save ${session} --tag <its tags>\` replaces the tags), or crawl with another session.`,
  );
}
