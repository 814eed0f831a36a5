/**
 * Server-sent events: one feed per open page. The dashboard's sources (the store's change feed,
 * crawl and fleet pollers, the live view) publish named events; every connected page gets them.
 * A page that falls behind is not buffered for: SSE reconnects and the page reloads what it shows.
 */
import { streamSSE } from 'hono/streaming';
import type { Context } from 'hono';

export interface DashboardEvent {
  /** `session`, `store`, `crawls`, `fleet`, … : what the page listens for. */
  type: string;
  data: unknown;
}

type Listener = (event: DashboardEvent) => void;

export class EventHub {
  private readonly listeners = new Set<Listener>();
  private readonly closers = new Set<() => void>();
  private nextId = 1;

  get watchers(): number {
    return this.listeners.size;
  }

  publish(event: DashboardEvent): void {
    for (const listener of this.listeners) listener(event);
  }

  subscribe(listener: Listener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** The `GET /api/events` response: a stream until the page goes away or the dashboard stops. */
  stream(c: Context): Response {
    return streamSSE(c, async (sse) => {
      let wake: () => void = () => {};
      const closed = new Promise<void>((resolve) => (wake = resolve));
      const unsubscribe = this.subscribe((event) => {
        void sse.writeSSE({ event: event.type, data: JSON.stringify(event.data), id: String(this.nextId++) }).catch(wake);
      });
      this.closers.add(wake);
      sse.onAbort(wake);
      await sse.writeSSE({ event: 'hello', data: '{}' });
      // A comment line now and then: proxies and the browser keep an idle stream open.
      const keepalive = setInterval(() => void sse.write(': keepalive\n\n').catch(wake), 15_000);
      try {
        await closed;
      } finally {
        clearInterval(keepalive);
        unsubscribe();
        this.closers.delete(wake);
      }
    });
  }

  /** Ends every open stream (the dashboard is stopping). */
  closeAll(): void {
    for (const close of this.closers) close();
  }
}
