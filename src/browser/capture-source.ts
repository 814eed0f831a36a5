/**
 * What `save()` captures from each kind of source: a context, a browser, a CDP URL of a running
 * Chromium (probed first, then attached to and left running), or a state given as is (validated).
 */
import type { Browser, BrowserContext } from 'playwright-core';
import { RaptorError } from '../errors.js';
import { isCdpUrl, newRecord, parseRecordValue, type SessionStorageMap, type StorageState } from '../record.js';
import { captureContext, type Captured } from './capture.js';
import { connectCdp, probeCdp } from './connect.js';

export type SaveSource =
  | { context: BrowserContext }
  | { browser: Browser }
  | { cdpUrl: string }
  | { storageState: StorageState; sessionStorage?: SessionStorageMap };

export interface CapturedSource {
  captured: Captured;
  /** Set for a `cdpUrl` source: the browser to record, for a later reattach. */
  cdp?: { cdpUrl: string; browserId: string };
}

export async function captureSource(source: SaveSource, probeTimeoutMs: number): Promise<CapturedSource> {
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
  const probe = await probeCdp(source.cdpUrl, probeTimeoutMs);
  if (!probe.alive) {
    throw new RaptorError('BROWSER_UNREACHABLE', `No browser answers at ${source.cdpUrl}: ${probe.reason}. Start Chrome with \`--remote-debugging-port\` or use \`raptor launch\`.`);
  }
  const browser = await connectCdp(source.cdpUrl);
  try {
    const context = browser.contexts()[0];
    if (!context) throw new RaptorError('BROWSER_UNREACHABLE', `The browser at ${source.cdpUrl} has no default context to save.`);
    return { captured: await captureContext(context), cdp: { cdpUrl: source.cdpUrl, browserId: probe.browserId } };
  } finally {
    await browser.close(); // disconnects only: the browser keeps running
  }
}
