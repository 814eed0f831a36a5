/**
 * Another process of the fleet, for the dashboard tests: it opens the same store through the
 * library (`SessionManager`, RAPTOR_HOME / RAPTOR_STORE from its env) and takes and releases pool
 * leases on command. One JSON command a line on stdin, one JSON answer a line on stdout:
 * `{"op":"acquire","tag":"shop","owner":"w1"}` → `{"name":…,"expiresAt":…}`;
 * `{"op":"release","name":…,"outcome":"error"}` → `{"released":…}`; `{"op":"exit"}`. The lease
 * token never leaves this process.
 */
import { createInterface } from 'node:readline';
import { SessionManager } from '../../src/manager.js';
import type { PoolLease, ReleaseOutcome } from '../../src/store/types.js';

type Command =
  | { op: 'acquire'; tag?: string; owner: string; leaseMs?: number }
  | { op: 'release'; name: string; outcome: ReleaseOutcome }
  | { op: 'exit' };

const manager = await SessionManager.open({ autoCleanup: false, ...(process.env['RAPTOR_STORE'] ? { store: process.env['RAPTOR_STORE'] } : {}) });
const held = new Map<string, PoolLease>();
const answer = (value: unknown): void => void process.stdout.write(`${JSON.stringify(value)}\n`);
answer({ ready: true });

for await (const line of createInterface({ input: process.stdin })) {
  if (!line.trim()) continue;
  const command = JSON.parse(line) as Command;
  try {
    if (command.op === 'exit') break;
    if (command.op === 'acquire') {
      const lease = await manager.acquire({ ...(command.tag ? { tag: command.tag } : {}), owner: command.owner, leaseMs: command.leaseMs ?? 120_000 });
      if (lease) held.set(lease.name, lease);
      answer(lease ? { name: lease.name, expiresAt: lease.expiresAt } : { name: null });
    } else {
      const lease = held.get(command.name);
      if (!lease) throw new Error(`no lease on ${command.name} held here`);
      held.delete(command.name);
      const stored = await lease.release({ outcome: command.outcome });
      answer({ released: stored.name });
    }
  } catch (error) {
    answer({ error: (error as Error).message });
  }
}
for (const lease of held.values()) await lease.abandon().catch(() => undefined);
await manager.close();
