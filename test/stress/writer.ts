/**
 * A writer for the crash and concurrency tests. Modes (argv[2]):
 *
 * - `churn <dir> <prefix> <names> <ops> --seed <n>`: saves, updates and deletes sessions
 *   `<prefix>-0..n` in a loop, picking names, operations and sizes from the parent's seed. Before
 *   each operation it prints its intent (`{"intent","name"}`), after it returned the
 *   acknowledgement (`{"op","name","revision"}`). Killed at random by the test.
 * - `counter <dir> <name> <updates>`: read-modify-write increments of `metadata.count` through the
 *   public API (`SessionManager.update`, which retries on REVISION_CONFLICT); prints how many it applied.
 * - `create-delete <dir> <prefix> <count>`: creates and deletes its own sessions; prints what it left.
 */
import { SessionManager } from '../../src/manager.js';
import { childSeed, seededRandom } from '../helpers/seeded-random.js';

const [mode, dir, ...args] = process.argv.slice(2);
const manager = await SessionManager.open({ dir: dir!, autoCleanup: false });
const state = (value: string) => ({ cookies: [{ name: 'sid', value, domain: 'x.test', path: '/', expires: -1, httpOnly: true, secure: false, sameSite: 'Lax' as const }], origins: [] });
const ack = (line: unknown): void => void process.stdout.write(`${JSON.stringify(line)}\n`);

if (mode === 'churn') {
  const [prefix, names, ops] = [args[0]!, Number(args[1]), Number(args[2])];
  const random = seededRandom(childSeed());
  for (let i = 0; i < ops; i++) {
    const name = `${prefix}-${Math.floor(random() * names)}`;
    const roll = random();
    ack({ intent: roll < 0.15 ? 'delete' : 'put', name });
    if (roll < 0.15) {
      await manager.delete(name);
      ack({ op: 'delete', name, revision: 0 });
    } else {
      // A state big enough that a write takes more than one syscall's worth of time.
      const saved = await manager.save(name, { storageState: state(`v${i}-${'x'.repeat(Math.floor(random() * 20_000))}`) }, { metadata: { i } });
      ack({ op: 'put', name, revision: saved.revision });
    }
  }
} else if (mode === 'counter') {
  const [name, updates] = [args[0]!, Number(args[1])];
  let applied = 0;
  for (let i = 0; i < updates; i++) {
    await manager.update(name, (current) => ({ ...current, metadata: { ...current.metadata, count: (current.metadata['count'] as number) + 1 } }));
    applied++;
  }
  ack({ applied });
} else if (mode === 'create-delete') {
  const [prefix, count] = [args[0]!, Number(args[1])];
  const kept: string[] = [];
  for (let i = 0; i < count; i++) {
    const name = `${prefix}-${i}`;
    await manager.save(name, { storageState: state(name) });
    if (i % 3 === 0) kept.push(name);
    else if (!(await manager.delete(name))) throw new Error(`${name} vanished before its own delete`);
  }
  ack({ kept });
}
await manager.close();
