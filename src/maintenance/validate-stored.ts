/**
 * `validate` of one stored session: the schema (a damaged entry is reported, not thrown), the
 * rules beyond it (`core/validate.ts`), and with `--live` whether its recorded browser answers.
 */
import { isRaptorError, type Issue } from '../core/errors.js';
import type { SessionRecord } from '../core/record.js';
import { EXPIRY_CODES, checkRecord, type LiveBrowserStatus, type ValidationResult } from '../core/validate.js';
import type { BrowserCheck } from '../browser/identity.js';
import type { SessionStore } from '../store/types.js';

export interface ValidateContext {
  /** Sessions not updated for this long count as expired. */
  maxAgeMs?: number;
  /** Checks the session's recorded browser (`validate --live`); omitted: not checked. */
  probe?: (record: SessionRecord) => Promise<BrowserCheck | undefined>;
}

export async function validateStored(store: SessionStore, name: string, ctx: ValidateContext): Promise<ValidationResult> {
  let record: SessionRecord | undefined;
  try {
    record = await store.get(name);
  } catch (error) {
    if (!isRaptorError(error, 'INVALID_SESSION')) throw error;
    const issues: Issue[] = error.issues.length > 0 ? error.issues : [{ code: 'INVALID', message: error.message, path: '' }];
    return { name, valid: false, expired: false, issues };
  }
  if (!record) return { name, valid: false, expired: false, issues: [{ code: 'NOT_FOUND', message: `no session \`${name}\` in ${store.location}`, path: '' }] };
  const issues = checkRecord(record, ctx.maxAgeMs === undefined ? {} : { maxAgeMs: ctx.maxAgeMs });
  const browser = ctx.probe ? liveBrowser(await ctx.probe(record)) : undefined;
  if (browser?.issue) issues.push(browser.issue);
  return {
    name,
    valid: issues.length === 0,
    expired: issues.some((i) => EXPIRY_CODES.has(i.code)),
    issues,
    ...(browser ? { browser: { status: browser.status, message: browser.message } } : {}),
  };
}

/**
 * What `validate --live` says about a session's browser. A session that records none (a
 * Playwright Test role, a state import) is valid: restoring it relaunches. A browser that is
 * gone, replaced or cannot be proven the session's own is an issue.
 */
function liveBrowser(check: BrowserCheck | undefined): { status: LiveBrowserStatus; message: string; issue?: Issue } {
  if (!check) return { status: 'none', message: 'no live browser: none is recorded for this session; restore relaunches it from the saved state' };
  const issue = (code: string, message: string): Issue => ({ code, message, path: 'cdpUrl' });
  switch (check.status) {
    case 'same':
      return { status: 'live', message: 'the recorded browser answers' };
    case 'gone':
      return { status: 'gone', message: check.reason, issue: issue('BROWSER_UNREACHABLE', check.reason) };
    case 'other':
      return { status: 'replaced', message: check.reason, issue: issue('BROWSER_REPLACED', check.reason) };
    case 'unverified':
      return { status: 'unverified', message: check.reason, issue: issue('BROWSER_UNVERIFIED', `${check.reason}; \`raptor save <name> --cdp <url>\` records it`) };
  }
}
