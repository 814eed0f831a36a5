/**
 * The forwarding half of the proxy relay (see `proxy-relay.ts` for why it exists): an HTTP proxy
 * on loopback that hands every request and CONNECT tunnel to the upstream proxy with the
 * session's `Proxy-Authorization: Basic …` added. Chromium points `--proxy-server` at it and
 * never sees a 407 challenge, which a detached, headless browser could not answer.
 *
 * The upstream's 407 (a wrong password) is answered as 502 with a message and *without* its
 * `Proxy-Authenticate`, so Chromium fails the load at once instead of asking for credentials
 * nobody can give. Node built-ins only: it runs in its own small process.
 */
import { Agent, createServer, request, type IncomingHttpHeaders, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { Socket } from 'node:net';

export interface RelayUpstream {
  /** The upstream proxy, `http://host:port` (only http: the relay speaks plain HTTP to it). */
  server: string;
  username: string;
  password: string;
}

/** What the page shows (and the log says) when the upstream refuses the credentials. Never names them. */
export const AUTH_FAILED_MESSAGE = 'proxy authentication failed: the upstream proxy refused the session\'s proxy username or password (407). Save the session with the right `--proxy` credentials.';

/** Headers that belong to one hop (RFC 9110 §7.6.1) or to the relay's own credentials: never forwarded as they came. */
const HOP_HEADERS = ['proxy-authorization', 'proxy-connection', 'connection', 'keep-alive', 'te', 'trailer', 'upgrade'];

export interface RelayHooks {
  /** The upstream refused the credentials (407). */
  onAuthFailed(): void;
  /** Whether to serve a new connection (the relay's process serves its own user only); false ends it unanswered. @default every connection */
  peerAllowed?(socket: Socket): boolean;
}

export function createRelayServer(upstream: RelayUpstream, hooks: RelayHooks): Server {
  const { onAuthFailed } = hooks;
  const target = new URL(upstream.server);
  const host = target.hostname.replace(/^\[|\]$/g, '');
  const port = Number(target.port) || 80;
  const authorization = `Basic ${Buffer.from(`${upstream.username}:${upstream.password}`).toString('base64')}`;
  const agent = new Agent({ keepAlive: true, maxSockets: 64 });
  const sockets = new Set<Socket>();

  const forward = (req: IncomingMessage, res: ServerResponse): void => {
    const headers: IncomingHttpHeaders = { ...req.headers };
    for (const name of HOP_HEADERS) delete headers[name];
    headers['proxy-authorization'] = authorization;
    // A forward proxy's request line carries the absolute URL, exactly as Chromium sent it.
    const out = request({ host, port, method: req.method, path: req.url, headers, agent }, (answer) => {
      if (answer.statusCode === 407) {
        answer.resume();
        onAuthFailed();
        res.writeHead(502, { 'content-type': 'text/plain; charset=utf-8', connection: 'close' }).end(`${AUTH_FAILED_MESSAGE}\n`);
        return;
      }
      const back: IncomingHttpHeaders = { ...answer.headers };
      for (const name of HOP_HEADERS) delete back[name];
      res.writeHead(answer.statusCode ?? 502, back);
      answer.pipe(res);
    });
    out.once('error', () => {
      if (!res.headersSent) res.writeHead(502, { 'content-type': 'text/plain; charset=utf-8' }).end('the upstream proxy cannot be reached\n');
      else res.destroy();
    });
    res.once('close', () => out.destroy());
    req.pipe(out);
  };

  const tunnel = (req: IncomingMessage, client: Socket, head: Buffer): void => {
    const fail = (status: string, body = '') => {
      if (!client.destroyed) client.end(`HTTP/1.1 ${status}\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`);
    };
    client.once('error', () => client.destroy());
    const out = request({ host, port, method: 'CONNECT', path: req.url, headers: { host: req.url, 'proxy-authorization': authorization } });
    out.once('connect', (answer, upstreamSocket, upstreamHead) => {
      if (answer.statusCode !== 200) {
        upstreamSocket.destroy();
        if (answer.statusCode === 407) {
          onAuthFailed();
          fail('502 Bad Gateway', `${AUTH_FAILED_MESSAGE}\n`);
        } else fail(`${answer.statusCode ?? 502} ${answer.statusMessage ?? 'Bad Gateway'}`);
        return;
      }
      client.write('HTTP/1.1 200 Connection Established\r\n\r\n');
      if (upstreamHead.length > 0) client.write(upstreamHead);
      if (head.length > 0) upstreamSocket.write(head);
      upstreamSocket.pipe(client).pipe(upstreamSocket);
      const end = () => {
        upstreamSocket.destroy();
        client.destroy();
      };
      upstreamSocket.once('error', end).once('close', end);
      client.once('close', end);
    });
    // An upstream that answers a CONNECT with a plain response (no tunnel).
    out.once('response', (answer) => {
      answer.resume();
      if (answer.statusCode === 407) {
        onAuthFailed();
        fail('502 Bad Gateway', `${AUTH_FAILED_MESSAGE}\n`);
      } else fail(`${answer.statusCode ?? 502} ${answer.statusMessage ?? 'Bad Gateway'}`);
    });
    out.once('error', () => fail('502 Bad Gateway', 'the upstream proxy cannot be reached\n'));
    client.once('close', () => out.destroy());
    out.end();
  };

  const server = createServer(forward);
  server.on('connect', tunnel);
  server.on('connection', (socket: Socket) => {
    if (hooks.peerAllowed && !hooks.peerAllowed(socket)) {
      socket.destroy();
      return;
    }
    sockets.add(socket);
    socket.once('close', () => sockets.delete(socket));
  });
  server.once('close', () => {
    agent.destroy();
    for (const socket of sockets) socket.destroy();
  });
  return server;
}
