/**
 * What `save()` captures from each kind of source: a context, a browser, a CDP URL of a running
 * Chromium (checked first, then attached to and left running), or a state given as is (validated).
 * A CDP URL goes through the one identity check (`identity.ts`): what is captured is the browser
 * whose id is recorded, never a newcomer that took the port between the check and the attach.
 */
import type { Browser, BrowserContext } from 'playwright-core';
import { RaptorError } from '../core/errors.js';
import { redactUrl } from '../env/log.js';
import { isCdpUrl, newRecord, parseRecordValue, type SessionStorageMap, type StorageState } from '../core/record.js';
import { captureContext, type Captured } from './capture.js';
import { attachChecked, checkBrowser, requireNamedBrowser, type AttachableCheck } from './identity.js';

export type SaveSource =
  | { context: BrowserContext }
  | { browser: Browser }
  | { cdpUrl: string }
  | { storageState: StorageState; sessionStorage?: SessionStorageMap }
  /**
   * The browser the session itself records (`raptor save NAME` without `--cdp`). Refused with
   * `BROWSER_REPLACED` unless it is provably that browser (see `identity.ts`); resolved by the manager.
   */
  | { recordedBrowser: true };

export interface CapturedSource {
  captured: Captured;
  /** Set for a `cdpUrl` source: the browser to record, for a later reattach. */
  cdp?: { cdpUrl: string; browserId: string };
}

export async function captureSource(source: Exclude<SaveSource, { recordedBrowser: true }>, probeTimeoutMs: number): Promise<CapturedSource> {
  if ('storageState' in source) {
    const checked = parseRecordValue(newRecord('x', source.storageState, source.sessionStorage ? { sessionStorage: source.sessionStorage } : {}));
    return { captured: { storageState: checked.storageState, sessionStorage: checked.sessionStorage ?? {} } };
  }
  if ('context' in source) return { captured: await captureContext(source.context) };
  if ('browser' in source) {
    const context = source.browser.contexts()[0];
    if (!context) throw new RaptorError('INVALID_INPUT', 'The browser has no context to save. Pass `{ context }` instead.');
    return { captured: await captureContext(context) };
  }
  if (!isCdpUrl(source.cdpUrl)) {
    throw new RaptorError('INVALID_INPUT', `\`${source.cdpUrl}\` is not a CDP URL. Use e.g. \`http://127.0.0.1:9222\`.`);
  }
  const check = requireNamedBrowser(await checkBrowser({ cdpUrl: source.cdpUrl }, probeTimeoutMs), source.cdpUrl);
  return captureChecked(source.cdpUrl, check);
}

/** Captures the browser a check found (and recorded as `cdpUrl`), attached over its pinned endpoint. */
export async function captureChecked(cdpUrl: string, check: AttachableCheck): Promise<CapturedSource> {
  const browser = await attachChecked(check);
  try {
    const context = browser.contexts()[0];
    if (!context) throw new RaptorError('BROWSER_UNREACHABLE', `The browser at ${redactUrl(cdpUrl)} has no default context to save.`);
    return { captured: await captureContext(context), cdp: { cdpUrl, browserId: check.browserId } };
  } finally {
    await browser.close(); // disconnects only: the browser keeps running
  }
}
