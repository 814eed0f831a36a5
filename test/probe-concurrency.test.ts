/**
 * `stats()` and `raptor list --live` ask every session's browser whether it lives, a bounded
 * number at a time: 50 sessions never mean 50 sockets at once, and every answer lands on its
 * own session. The "browsers" are one fake CDP endpoint that counts the probes in flight, holds
 * each a moment, and proves its identity to half of the sessions (the ids they recorded).
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { PROBE_CONCURRENCY } from '../src/browser/identity.js';
import { runCliInProcess } from './helpers/cli-in-process.js';
import { createRaptorEnv } from './helpers/env.js';

const SESSIONS = 50;
const ID = 'fa4e0000-0000-4000-8000-000000000001';

let server: Server;
let inFlight = 0;
let most = 0;
let port = 0;
let raptor: Awaited<ReturnType<typeof createRaptorEnv>>;

const name = (i: number): string => `s${String(i).padStart(2, '0')}`;
/** Even sessions recorded this browser's id, odd ones another browser's. */
const isOurs = (i: number): boolean => i % 2 === 0;

beforeEach(async () => {
  inFlight = 0;
  most = 0;
  server = createServer((req, res) => {
    inFlight++;
    most = Math.max(most, inFlight);
    setTimeout(() => {
      inFlight--;
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(req.url === '/json/version' ? JSON.stringify({ Browser: 'Chrome/140', webSocketDebuggerUrl: `ws://127.0.0.1:${port}/devtools/browser/${ID}` }) : '{}');
    }, 40);
  });
  // A DevTools handshake for the one id this "browser" has, as Chromium would (404 for others).
  server.on('upgrade', (req, socket) => {
    socket.end(req.url === `/devtools/browser/${ID}` ? 'HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n' : 'HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n');
  });
  await new Promise<void>((done) => server.listen(0, '127.0.0.1', done));
  port = (server.address() as AddressInfo).port;
  raptor = await createRaptorEnv();
  for (let i = 0; i < SESSIONS; i++) {
    await raptor.manager.save(name(i), { storageState: { cookies: [], origins: [] } });
    await raptor.manager.update(name(i), (r) => ({ ...r, cdpUrl: `http://127.0.0.1:${port}`, browserId: isOurs(i) ? ID : `0ther000-0000-4000-8000-0000000000${String(i).padStart(2, '0')}` }));
  }
}, 60_000);

afterEach(async () => {
  await raptor.dispose();
  await new Promise<void>((done) => server.close(() => done()));
});

describe('probing every session', () => {
  it('stats() probes at most PROBE_CONCURRENCY browsers at once and counts the live ones', async () => {
    const stats = await raptor.manager.stats();
    expect(stats).toMatchObject({ count: SESSIONS, live: SESSIONS / 2 });
    expect(most).toBeGreaterThan(1); // still in parallel
    expect(most).toBeLessThanOrEqual(PROBE_CONCURRENCY);
  }, 60_000);

  it('list --live probes at most PROBE_CONCURRENCY at once and gives each session its own answer', async () => {
    const result = await runCliInProcess(['list', '--live', '--json'], { RAPTOR_HOME: raptor.home });
    expect(result.code, result.stderr).toBe(0);
    const { sessions } = result.json() as { sessions: { name: string; live: boolean; browser?: string }[] };
    expect(sessions.map((s) => [s.name, s.live, s.browser])).toEqual(Array.from({ length: SESSIONS }, (_, i) => [name(i), isOurs(i), isOurs(i) ? undefined : 'other']));
    expect(most).toBeGreaterThan(1);
    expect(most).toBeLessThanOrEqual(PROBE_CONCURRENCY);
  }, 60_000);
});
