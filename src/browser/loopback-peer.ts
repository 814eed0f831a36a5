/**
 * Who is at the other end of a loopback TCP connection: the uid that owns the client's socket, read
 * from /proc/net/tcp{,6} (Linux). The proxy relay serves only its own user: anyone else on the
 * machine reaching 127.0.0.1:<port> would otherwise ride the session's paid proxy on its credentials.
 */
import { readFileSync } from 'node:fs';

/**
 * The uid owning the socket whose local port is `clientPort` and whose peer is port `serverPort`
 * (the client's side of a connection accepted on `serverPort`); undefined when no table has it,
 * or there is no /proc.
 */
export function loopbackPeerUid(clientPort: number, serverPort: number): number | undefined {
  for (const table of ['/proc/net/tcp', '/proc/net/tcp6']) {
    let text: string;
    try {
      text = readFileSync(table, 'utf8');
    } catch {
      continue;
    }
    for (const line of text.split('\n').slice(1)) {
      // sl local_address rem_address st tx:rx tr:when retrnsmt uid …; ports are hex after the last ':'.
      const fields = line.trim().split(/\s+/);
      if (fields.length < 8) continue;
      if (portOf(fields[1]!) === clientPort && portOf(fields[2]!) === serverPort) return Number(fields[7]);
    }
  }
  return undefined;
}

function portOf(address: string): number {
  return parseInt(address.slice(address.lastIndexOf(':') + 1), 16);
}
