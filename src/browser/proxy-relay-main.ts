/**
 * The proxy relay's process (started by `startProxyRelay`, never by hand). Its argv names only the
 * profile it serves (`--raptor-proxy-relay=<profile>`, what `stopProxyRelay` checks before
 * signalling); the credentials come on stdin, so they are in neither /proc/<pid>/cmdline nor
 * /proc/<pid>/environ.
 *
 * stdin, one JSON document a line:
 *   1. `{ "server", "username", "password" }`   -> listens on 127.0.0.1:0, prints `{ "port" }` on stdout
 *   2. `{ "watch": { "pid", "startTicks" } }`   -> the browser it serves; then stdin is closed
 * stdin closed without a `watch` (the launch failed, or its process died) -> exits: no one to serve.
 * Once watching, it exits when that browser is gone (checked every second), so a kill -9 of the
 * browser leaves no relay behind. It serves connections of its own user only (`loopback-peer.ts`).
 * stderr is the profile's relay log: never a credential in it.
 */
import { createInterface } from 'node:readline';
import type { AddressInfo, Socket } from 'node:net';
import { AUTH_FAILED_MESSAGE, createRelayServer, type RelayUpstream } from './proxy-relay-server.js';
import { processStartTicks } from './process-start.js';
import { loopbackPeerUid } from './loopback-peer.js';
import { isAlive } from '../fs/file-lock.js';

const WATCH_INTERVAL_MS = 1000;
/** Auth failures are logged at most this often: a page full of requests must not fill the disk. */
const AUTH_LOG_INTERVAL_MS = 60_000;

let watching = false;
let lastAuthLog = -Infinity;

function log(message: string): void {
  process.stderr.write(`${new Date().toISOString()} raptor proxy relay: ${message}\n`);
}

function onAuthFailed(): void {
  const now = performance.now();
  if (now - lastAuthLog < AUTH_LOG_INTERVAL_MS) return;
  lastAuthLog = now;
  log(AUTH_FAILED_MESSAGE);
}

/** Connections from this user's processes only; without /proc (macOS) the uid cannot be read, and loopback must do. */
function ownUser(socket: Socket): boolean {
  if (process.platform !== 'linux' || !socket.remotePort || !socket.localPort) return process.platform !== 'linux';
  return loopbackPeerUid(socket.remotePort, socket.localPort) === process.getuid?.();
}

function watch(pid: number, startTicks: number | undefined): void {
  watching = true;
  const gone = () => !isAlive(pid) || (startTicks !== undefined && processStartTicks(pid) !== startTicks);
  if (gone()) process.exit(0);
  setInterval(() => {
    if (gone()) process.exit(0);
  }, WATCH_INTERVAL_MS);
}

const lines = createInterface({ input: process.stdin });
let configured = false;
lines.on('line', (line) => {
  const message = JSON.parse(line) as Partial<RelayUpstream> & { watch?: { pid: number; startTicks?: number } };
  if (!configured) {
    configured = true;
    const server = createRelayServer(message as RelayUpstream, { onAuthFailed, peerAllowed: ownUser });
    server.once('error', (error) => {
      log(`cannot listen: ${(error as NodeJS.ErrnoException).code ?? 'error'}`);
      process.exit(1);
    });
    server.listen(0, '127.0.0.1', () => {
      process.stdout.write(`${JSON.stringify({ port: (server.address() as AddressInfo).port })}\n`);
    });
  } else if (message.watch) {
    watch(message.watch.pid, message.watch.startTicks);
  }
});
lines.once('close', () => {
  if (!watching) process.exit(0);
});
// Once the launcher has gone, nobody reads stdout: a write there must not kill the relay.
process.stdout.on('error', () => undefined);
