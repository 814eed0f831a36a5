/**
 * The PostgreSQL change feed: `LISTEN <table>_changes` on a dedicated connection (a LISTEN on a
 * pooled client would stop hearing as soon as the client went back to the pool).
 *
 * A notification is a small signal, `{ type, name, revision }`; whoever cares reads the data from
 * the table. When the connection drops (server restart, `pg_terminate_backend`, network), the
 * listener reconnects with backoff (100 ms doubling to 5 s) and listens again, and says so
 * (`onConnection`: lost, restored). Changes made while it was disconnected are not replayed:
 * NOTIFY has no history.
 *
 * The backoff timer keeps the process alive, as the connection did: a watcher between two
 * connections has nothing else holding the event loop, and an unref'd timer let `raptor watch`
 * end there with exit code 13 (Node's "unsettled top-level await") after one
 * `pg_terminate_backend`.
 */
import type { Client, ClientConfig, Notification } from 'pg';
import type { Logger } from '../../env/log.js';
import { ident, type Pg } from './client.js';
import type { FeedConnectionChange, StoreEvent } from '../types.js';

export interface ListenerOptions {
  pg: Pg;
  config: ClientConfig;
  channel: string;
  logger: Logger;
  onEvent(event: StoreEvent): void;
  /** Told once when the connection is lost (or the first one cannot be made), and once when it is back. */
  onConnection?(change: FeedConnectionChange): void;
}

export interface Listener {
  /** Resolves once the first LISTEN is in place (or the listener was stopped). */
  ready: Promise<void>;
  stop(): Promise<void>;
}

const MIN_DELAY_MS = 100;
const MAX_DELAY_MS = 5_000;

export function startListener(options: ListenerOptions): Listener {
  const { pg, config, channel, logger, onEvent } = options;
  let client: Client | undefined;
  let stopped = false;
  let down = false;
  const lostConnection = (reason: string): void => {
    if (down || stopped) return;
    down = true;
    logger.warn({ err: reason }, 'store change feed lost its connection; reconnecting');
    options.onConnection?.({ state: 'lost', message: `lost the connection to PostgreSQL, reconnecting… (${reason})` });
  };
  let timer: NodeJS.Timeout | undefined;
  let delay = MIN_DELAY_MS;
  let markReady!: () => void;
  const ready = new Promise<void>((resolve) => (markReady = resolve));

  const onNotification = (message: Notification): void => {
    const event = parseEvent(message.payload);
    if (event) onEvent(event);
  };

  const connect = async (): Promise<void> => {
    if (stopped) return;
    const next = new pg.Client({ ...config, application_name: `${config.application_name ?? 'raptor'}-watch` });
    // A live connection that fails emits 'error' and then 'end'; 'end' schedules the reconnect.
    next.on('error', (error) => {
      if (client === next) lostConnection(error.message);
    });
    next.on('end', () => {
      if (client !== next) return; // never established, or stopped: nothing to reconnect
      client = undefined;
      lostConnection('the connection ended');
      schedule();
    });
    next.on('notification', onNotification);
    try {
      await next.connect();
      await next.query(`LISTEN ${ident(channel)}`);
    } catch (error) {
      logger.warn({ err: (error as Error).message, retryInMs: delay }, 'store change feed cannot connect; retrying');
      lostConnection((error as Error).message);
      await next.end().catch(() => undefined); // half-open: close what there is, the error is logged above
      schedule();
      return;
    }
    if (stopped) {
      await next.end();
      return;
    }
    client = next;
    delay = MIN_DELAY_MS;
    if (down) {
      down = false;
      logger.info('store change feed reconnected');
      options.onConnection?.({ state: 'restored', message: 'reconnected to PostgreSQL (changes made while disconnected were not reported)' });
    }
    markReady();
  };

  const schedule = (): void => {
    if (stopped || timer) return;
    timer = setTimeout(() => {
      timer = undefined;
      void connect();
    }, delay);
    delay = Math.min(delay * 2, MAX_DELAY_MS);
  };

  void connect();
  return {
    ready,
    async stop() {
      stopped = true;
      markReady();
      if (timer) clearTimeout(timer);
      const current = client;
      client = undefined;
      await current?.end().catch(() => undefined); // closing a connection that already died is not a failure
    },
  };
}

function parseEvent(payload: string | undefined): StoreEvent | undefined {
  if (!payload) return undefined;
  let raw: { type?: unknown; name?: unknown; revision?: unknown; reason?: unknown };
  try {
    raw = JSON.parse(payload) as typeof raw;
  } catch {
    return undefined; // not one of ours: someone else NOTIFYed on the channel
  }
  if (typeof raw.name !== 'string') return undefined;
  if (raw.type === 'put' && typeof raw.revision === 'number') return { type: 'put', name: raw.name, revision: raw.revision };
  if (raw.type === 'delete') return { type: 'delete', name: raw.name };
  if (raw.type === 'quarantine') return { type: 'quarantine', name: raw.name, reason: typeof raw.reason === 'string' ? raw.reason : '' };
  return undefined;
}

export interface Notifier {
  /** Queues a notification; it is sent within `delayMs`, together with the others queued by then. */
  push(event: StoreEvent): void;
  /** Sends what is queued and waits for it. */
  flush(): Promise<void>;
}

/**
 * The sending side of the feed. Notifications are batched (one statement per `delayMs` at most,
 * instead of one per write) and sent in the background, so a write costs no extra round trip: in
 * a fleet every release is a write, and the feed is a hint. A batch that cannot be sent is
 * logged and dropped; the writes it announced are in the table regardless.
 */
export function createNotifier(send: (payloads: string[]) => Promise<void>, logger: Logger, delayMs = 100): Notifier {
  let queued: string[] = [];
  let timer: NodeJS.Timeout | undefined;
  let sending: Promise<void> = Promise.resolve();
  const flush = (): Promise<void> => {
    if (timer) clearTimeout(timer);
    timer = undefined;
    const batch = queued;
    queued = [];
    if (batch.length > 0) {
      sending = sending.then(() =>
        send(batch).catch((error: unknown) => logger.warn({ err: (error as Error).message, events: batch.length }, 'could not notify store watchers of some writes')),
      );
    }
    return sending;
  };
  return {
    push(event) {
      queued.push(JSON.stringify(event));
      timer ??= setTimeout(() => void flush(), delayMs);
    },
    flush,
  };
}
