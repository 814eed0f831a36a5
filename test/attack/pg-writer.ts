/**
 * One process of a PostgreSQL fleet, for `postgres.test.ts`. Opens a SessionManager on the store
 * URL (argv[2]) with RAPTOR_HOME from the environment (encryption on or off, as that home says),
 * prints `{"ready":true}`, waits for a line on stdin, then runs its `count` read-modify-write
 * updates of session `name`, each appending its own op id to `metadata.ops`. With `mixed`, every
 * fifth update is followed by a lease + release of its own session `<tag>-lease` and a full list.
 *
 * It never stops at a failure: every operation's outcome is counted, and the last stdout line is
 * `{ ok: [op ids], failed: [{ op, kind, code, message }] }`. A crash (uncaught error, exit code
 * not 0) is what the test looks for.
 *
 * Modes (argv[3]): `updates <name> <count> <tag> [mixed]`, `hold <name>` (takes the row lock in
 * an update whose function never returns, prints `{"holding":true}` and waits to be frozen).
 */
import { createInterface } from 'node:readline';
import { SessionManager } from '../../src/manager.js';
import { isRaptorError } from '../../src/core/errors.js';
import { openPostgresStore } from '../../src/store/postgres/store.js';

const [url, mode, ...args] = process.argv.slice(2);
const say = (line: unknown): void => void process.stdout.write(`${JSON.stringify(line)}\n`);
const go = (): Promise<void> =>
  new Promise((resolve) => {
    const lines = createInterface({ input: process.stdin });
    lines.once('line', () => {
      lines.close(); // an open stdin would keep this process alive after its last update
      resolve();
    });
  });

if (mode === 'hold') {
  const store = await openPostgresStore({ url: url!, updateTimeoutMs: 1_000 });
  void store.update!(args[0]!, async (current) => {
    say({ holding: true });
    await new Promise(() => undefined); // never returns: the test freezes this process now
    return current;
  });
  await new Promise(() => setInterval(() => undefined, 1_000));
}

const [name, count, tag, mixed] = [args[0]!, Number(args[1]), args[2]!, args[3] === 'mixed'];
const manager = await SessionManager.open({ store: url!, autoCleanup: false });
const leaseName = `${tag}-lease`;
if (mixed && !(await manager.find(leaseName))) await manager.save(leaseName, { storageState: { cookies: [], origins: [] } });
say({ ready: true });
await go();

const ok: string[] = [];
const failed: { op: string; kind: string; code: string; message: string }[] = [];
const attempt = async (op: string, kind: string, fn: () => Promise<unknown>): Promise<boolean> => {
  try {
    await fn();
    return true;
  } catch (error) {
    failed.push({ op, kind, code: isRaptorError(error) ? error.code : `NOT_A_RAPTOR_ERROR ${(error as Error)?.constructor?.name}`, message: String((error as Error)?.message ?? error) });
    return false;
  }
};

for (let i = 0; i < count; i++) {
  const op = `${tag}:${i}`;
  const applied = await attempt(op, 'update', () =>
    manager.update(name, (current) => {
      const ops = current.metadata['ops'] as string[];
      return { ...current, metadata: { ...current.metadata, count: (current.metadata['count'] as number) + 1, ops: [...ops, op] } };
    }),
  );
  if (applied) ok.push(op);
  if (mixed && i % 5 === 0) {
    await attempt(`${op}:lease`, 'lease', async () => {
      const lease = await manager.lease(leaseName, { ttlMs: 30_000, owner: tag });
      await lease?.release();
    });
    await attempt(`${op}:list`, 'list', async () => {
      for await (const _ of manager.list()) void _;
    });
  }
}
await manager.close();
say({ ok, failed });
