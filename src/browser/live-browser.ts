/**
 * One attachment to a running Chromium for the dashboard's live view: its tabs, a shared
 * screencast per watched tab, and a CDP session per tab that is being controlled.
 *
 * It attaches only through a check `identity.ts` made (`attachChecked`: the pinned WebSocket,
 * so a stranger on the port is refused), and `detach()` only disconnects, as every other
 * reattaching path of raptor does: over CDP, Playwright's `browser.close()` leaves the browser,
 * its contexts and its tabs running. Screencasts and input sessions are CDP sessions of this
 * connection and end with it.
 */
import type { Browser, CDPSession, Page } from 'playwright-core';
import { RaptorError } from '../core/errors.js';
import { attachChecked, type AttachableCheck } from './identity.js';
import { dispatchKey, dispatchMouse, insertText, measureViewport, navigate, viewportOf, type KeyInput, type MouseInput, type Navigation } from './remote-input.js';
import { Screencast, type FrameListener, type ScreencastOptions } from './screencast.js';

/** A tab (CDP target of type `page`) as the live view lists it. */
export interface LiveTab {
  targetId: string;
  title: string;
  url: string;
}

export type RemoteInput = { kind: 'mouse'; event: MouseInput } | { kind: 'key'; event: KeyInput } | { kind: 'text'; text: string } | { kind: 'navigate'; navigation: Navigation };

export class LiveBrowser {
  private readonly casts = new Map<string, Promise<Screencast>>();
  private readonly controls = new Map<string, Promise<CDPSession>>();
  private readonly targetIds = new WeakMap<Page, Promise<string>>();
  private browserSession: Promise<CDPSession> | undefined;
  private detached = false;

  private constructor(private readonly browser: Browser) {}

  static async attach(check: AttachableCheck, timeoutMs?: number): Promise<LiveBrowser> {
    return new LiveBrowser(await attachChecked(check, timeoutMs));
  }

  get connected(): boolean {
    return !this.detached && this.browser.isConnected();
  }

  /** How many tabs are being screencast right now. */
  get screencasts(): number {
    return this.casts.size;
  }

  async tabs(): Promise<LiveTab[]> {
    this.browserSession ??= this.browser.newBrowserCDPSession();
    const { targetInfos } = (await (await this.browserSession).send('Target.getTargets')) as { targetInfos: Array<{ targetId: string; type: string; title: string; url: string }> };
    return targetInfos.filter((t) => t.type === 'page').map((t) => ({ targetId: t.targetId, title: t.title, url: t.url }));
  }

  /**
   * Frames of tab `targetId` until the returned function is called; the screencast starts with
   * the first watcher and stops (its CDP session detached) when the last one leaves.
   */
  async watch(targetId: string, listener: FrameListener, options?: ScreencastOptions): Promise<() => Promise<void>> {
    let pending = this.casts.get(targetId);
    if (!pending) {
      pending = this.sessionFor(targetId).then((cdp) => Screencast.start(cdp, options));
      this.casts.set(targetId, pending);
      pending.catch(() => this.casts.get(targetId) === pending && this.casts.delete(targetId));
    }
    const cast = await pending;
    const unwatch = cast.watch(listener);
    let left = false;
    return async () => {
      if (left) return;
      left = true;
      unwatch();
      if (cast.watchers === 0 && this.casts.get(targetId) === pending) {
        this.casts.delete(targetId);
        await cast.stop();
      }
    };
  }

  /** Replays one input of a take-over into tab `targetId`. */
  async input(targetId: string, input: RemoteInput): Promise<void> {
    let pending = this.controls.get(targetId);
    if (!pending) {
      pending = this.sessionFor(targetId);
      this.controls.set(targetId, pending);
      pending.catch(() => this.controls.get(targetId) === pending && this.controls.delete(targetId));
    }
    const cdp = await pending;
    switch (input.kind) {
      case 'mouse': {
        const metadata = (await this.casts.get(targetId)?.catch(() => undefined))?.metadata;
        return dispatchMouse(cdp, input.event, metadata ? viewportOf(metadata) : await measureViewport(cdp));
      }
      case 'key':
        return dispatchKey(cdp, input.event);
      case 'text':
        return insertText(cdp, input.text);
      case 'navigate':
        return navigate(cdp, input.navigation);
    }
  }

  /** Ends every screencast and disconnects; the browser and all its tabs keep running. */
  async detach(): Promise<void> {
    if (this.detached) return;
    this.detached = true;
    const casts = [...this.casts.values()];
    this.casts.clear();
    for (const cast of casts) await cast.then((c) => c.stop()).catch(() => undefined); // failed to start: nothing to stop
    this.controls.clear();
    await this.browser.close().catch(() => undefined); // over CDP this disconnects only; gone already is fine
  }

  onDisconnected(listener: () => void): void {
    this.browser.on('disconnected', listener);
  }

  /** A new CDP session attached to tab `targetId` (found among the pages of every context). */
  private async sessionFor(targetId: string): Promise<CDPSession> {
    for (const context of this.browser.contexts()) {
      for (const page of context.pages()) {
        let id = this.targetIds.get(page);
        if (!id) {
          id = context
            .newCDPSession(page)
            .then(async (cdp) => {
              try {
                return ((await cdp.send('Target.getTargetInfo')) as { targetInfo: { targetId: string } }).targetInfo.targetId;
              } finally {
                await cdp.detach().catch(() => undefined); // the id is what we came for
              }
            })
            .catch(() => '');
          this.targetIds.set(page, id);
        }
        if ((await id) === targetId) return context.newCDPSession(page);
      }
    }
    throw new RaptorError('NOT_FOUND', 'That tab is not open any more; pick another one in the live view.');
  }
}
