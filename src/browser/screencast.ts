/**
 * A screencast of one tab: `Page.startScreencast` (JPEG) over a CDP session of that tab, every
 * frame acknowledged at once (Chromium sends the next only after an ack), the latest frame kept
 * for a watcher that joins late. Several watchers share one screencast; the owner stops it when
 * the last one leaves (`LiveBrowser.watch`).
 */
import type { CDPSession } from 'playwright-core';

/** `Page.ScreencastFrameMetadata`: the viewport the frame shows, in CSS pixels. */
export interface FrameMetadata {
  deviceWidth: number;
  deviceHeight: number;
  offsetTop: number;
  pageScaleFactor: number;
  scrollOffsetX: number;
  scrollOffsetY: number;
  timestamp?: number;
}

export interface ScreencastFrame {
  /** Base64 JPEG, as Chromium sent it. */
  data: string;
  metadata: FrameMetadata;
  /** 1, 2, 3… per screencast: lets a slow reader skip to the newest. */
  seq: number;
}

export type FrameListener = (frame: ScreencastFrame) => void;

export interface ScreencastOptions {
  /** @default 1280 */
  maxWidth?: number;
  /** @default 960 */
  maxHeight?: number;
  /** JPEG quality, 0–100. @default 60 */
  quality?: number;
}

export class Screencast {
  private readonly listeners = new Set<FrameListener>();
  private last: ScreencastFrame | undefined;
  private seq = 0;
  private stopped = false;

  private constructor(private readonly cdp: CDPSession) {}

  static async start(cdp: CDPSession, options: ScreencastOptions = {}): Promise<Screencast> {
    const cast = new Screencast(cdp);
    cdp.on('Page.screencastFrame', (event: { data: string; metadata: FrameMetadata; sessionId: number }) => {
      // Ack first: a frame not acknowledged stops the stream, whatever a listener does.
      cdp.send('Page.screencastFrameAck', { sessionId: event.sessionId }).catch(() => undefined); // the tab may be closing
      cast.deliver(event.data, event.metadata);
    });
    await cdp.send('Page.enable');
    await cdp.send('Page.startScreencast', { format: 'jpeg', quality: options.quality ?? 60, maxWidth: options.maxWidth ?? 1280, maxHeight: options.maxHeight ?? 960, everyNthFrame: 1 });
    return cast;
  }

  get watchers(): number {
    return this.listeners.size;
  }

  /** The viewport of the newest frame, to scale input onto. */
  get metadata(): FrameMetadata | undefined {
    return this.last?.metadata;
  }

  /** Frames from now on; the newest one at once, if there is one. Returns the unsubscribe. */
  watch(listener: FrameListener): () => void {
    this.listeners.add(listener);
    if (this.last) listener(this.last);
    return () => this.listeners.delete(listener);
  }

  /** Stops the screencast and detaches its CDP session; the tab itself is left as it is. */
  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    this.listeners.clear();
    await this.cdp.send('Page.stopScreencast').catch(() => undefined); // the tab may be gone
    await this.cdp.detach().catch(() => undefined);
  }

  private deliver(data: string, metadata: FrameMetadata): void {
    if (this.stopped) return;
    this.last = { data, metadata, seq: ++this.seq };
    for (const listener of this.listeners) listener(this.last);
  }
}
