/**
 * Attack, class 7: PostgreSQL under contention and with its connections cut.
 *
 * The story: a fleet of crawler processes shares one PostgreSQL store. They all update the same
 * session at once; a DBA kills every raptor backend (`pg_terminate_backend`), again and again;
 * the server restarts. raptor promised that no update fails from contention alone, that none is
 * lost or applied twice, that every failure is `STORE_UNAVAILABLE` (never a crash), and that
 * `raptor watch` reconnects and keeps reporting.
 *
 * Only this test's backends are killed: every connection it makes carries a random
 * `application_name` (`raptor-atk-<hex>`, from the store URL), and each test has its own table.
 *
 * RAPTOR_PG_UPDATES (default 50) sets the updates per process; RAPTOR_PG_RESTART=1 adds a real
 * server restart (`pg_ctlcluster`), for `npm run test:stress` only: CI shares the server.
 */
import { spawn, execFileSync, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isRaptorError } from '../../src/core/errors.js';
import { SessionManager } from '../../src/manager.js';
import { newRecord } from '../../src/core/record.js';
import { openPostgresStore, type PostgresSessionStore } from '../../src/store/postgres/store.js';
import { ensureBuilt, runCli, startCli } from '../helpers/cli.js';
import { assertPostgresReachable, randomTable, sql, storeUrl } from '../helpers/postgres.js';
import { createTempDir } from '../helpers/temp-dir.js';
import { seededRandom } from '../helpers/seeded-random.js';
import { testSeed } from '../helpers/test-seed.js';

const PROCESSES = Number(process.env['RAPTOR_PG_PROCESSES'] ?? 8);
const UPDATES = Number(process.env['RAPTOR_PG_UPDATES'] ?? 50);
const RESTART = process.env['RAPTOR_PG_RESTART'] === '1';
const { seed: SEED } = testSeed('RAPTOR_PG_SEED');
const WRITER = fileURLToPath(new URL('./pg-writer.ts', import.meta.url));
const SECRET = 'sid-pg-attack-7f3c9e';


const appName = `raptor-atk-${randomBytes(4).toString('hex')}`;
const tables: string[] = [];
let home: Awaited<ReturnType<typeof createTempDir>>;

/** A store URL of a fresh table whose connections all carry this run's application name. */
function newStoreUrl(): string {
  const table = randomTable('atk');
  tables.push(table);
  const url = new URL(storeUrl(table));
  url.searchParams.set('application_name', appName);
  return url.toString();
}

/** Terminates every backend of this test run (and only those); returns how many. */
async function terminateOurBackends(): Promise<number> {
  const rows = await sql<{ n: number }>(
    `SELECT count(*) FILTER (WHERE pg_terminate_backend(pid))::int AS n FROM pg_stat_activity
     WHERE application_name LIKE $1 AND datname = current_database() AND pid <> pg_backend_pid()`,
    [`${appName}%`],
  );
  return rows[0]?.n ?? 0;
}

const state = { cookies: [{ name: 'sid', value: SECRET, domain: 'app.test', path: '/', expires: -1, httpOnly: true, secure: true, sameSite: 'Lax' as const }], origins: [] };

interface WriterSummary {
  ok: string[];
  failed: { op: string; kind: string; code: string; message: string }[];
}

interface Writer {
  child: ChildProcess;
  ready: Promise<void>;
  done: Promise<{ code: number | null; signal: NodeJS.Signals | null; stdout: string; stderr: string }>;
  summary(): WriterSummary;
}

function startWriter(args: string[], env: NodeJS.ProcessEnv = {}): Writer {
  const child = spawn(process.execPath, ['--import', 'tsx', WRITER, ...args], { stdio: ['pipe', 'pipe', 'pipe'], env: { ...process.env, ...env } });
  let stdout = '';
  let stderr = '';
  let markReady!: () => void;
  const ready = new Promise<void>((resolve) => (markReady = resolve));
  child.stdout!.on('data', (chunk: Buffer) => {
    stdout += chunk.toString();
    if (stdout.includes('"ready":true') || stdout.includes('"holding":true')) markReady();
  });
  child.stderr!.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const done = new Promise<{ code: number | null; signal: NodeJS.Signals | null; stdout: string; stderr: string }>((resolve) =>
    child.once('exit', (code, signal) => resolve({ code, signal, stdout, stderr })),
  );
  void done.then(markReady); // a writer that died before it was ready must not hang the test
  return {
    child,
    ready,
    done,
    summary: () => JSON.parse(stdout.trim().split('\n').at(-1)!) as WriterSummary,
  };
}

async function runWriters(url: string, count: number, opts: { env?: NodeJS.ProcessEnv; mixed?: boolean; during?: (running: () => boolean) => Promise<void> } = {}) {
  const writers = Array.from({ length: PROCESSES }, (_, p) => startWriter([url, 'updates', 'counter', String(count), `w${p}`, ...(opts.mixed ? ['mixed'] : [])], opts.env));
  await Promise.all(writers.map((w) => w.ready));
  for (const w of writers) w.child.stdin!.end('go\n');
  const went = Date.now();
  let running = true;
  const all = Promise.all(writers.map((w) => w.done)).finally(() => (running = false));
  const during = opts.during?.(() => running);
  const exits = await all;
  await during;
  console.log(`${PROCESSES} writers × ${count} updates: ${((Date.now() - went) / 1000).toFixed(1)} s after they were all started`);
  return exits.map((exit, i) => {
    // A crash is the finding: say how each process ended, with its stderr.
    expect({ writer: i, code: exit.code, signal: exit.signal, stderr: exit.code === 0 ? '' : exit.stderr.slice(-2000) }).toEqual({ writer: i, code: 0, signal: null, stderr: '' });
    return writers[i]!.summary();
  });
}

async function seedCounter(url: string, env: NodeJS.ProcessEnv = {}) {
  const manager = await SessionManager.open({ store: url, autoCleanup: false, env: { ...process.env, ...env } });
  const created = await manager.save('counter', { storageState: state }, { metadata: { count: 0, ops: [] } });
  await manager.close();
  return created;
}

async function readCounter(url: string, env: NodeJS.ProcessEnv = {}) {
  const manager = await SessionManager.open({ store: url, autoCleanup: false, env: { ...process.env, ...env } });
  try {
    return await manager.get('counter');
  } finally {
    await manager.close();
  }
}

async function waitFor(check: () => boolean | Promise<boolean>, what: string, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what} (seed ${SEED})`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** `raptor watch --json` on `url`, and a way to prove it still reports: put until it prints the put. */
async function startWatch(url: string) {
  const watch = await startCli(['--store', url, 'watch', '--json'], { env: { RAPTOR_HOME: home.path } });
  const store = await openPostgresStore({ url, connectTimeoutMs: 2_000 });
  let probes = 0;
  const reports = async (what: string, timeoutMs = 30_000): Promise<void> => {
    const name = `probe-${++probes}`;
    await waitFor(async () => {
      if (watch.child.exitCode !== null || watch.child.signalCode !== null) throw new Error(`raptor watch exited (${watch.child.exitCode ?? watch.child.signalCode}) ${what}; stderr:\n${watch.out.stderr}`);
      await store.put(newRecord(name, state)).catch((error: unknown) => {
        if (!isRaptorError(error, 'STORE_UNAVAILABLE')) throw error; // the killer may have cut this connection too
      });
      return watch.out.stdout.split('\n').some((line) => line.includes(`"name":"${name}"`));
    }, `raptor watch to report a put ${what}`, timeoutMs);
  };
  const stop = async () => {
    await store.close();
    if (watch.child.exitCode === null && watch.child.signalCode === null) watch.child.kill('SIGINT');
    return watch.exited;
  };
  return { watch, reports, stop };
}

beforeAll(async () => {
  await assertPostgresReachable();
  await ensureBuilt();
  home = await createTempDir('raptor-atk-pg-');
}, 300_000);

afterAll(async () => {
  for (const t of tables) await sql(`DROP TABLE IF EXISTS "${t}", "${t}_quarantine", "${t}_schema"`);
  await home?.remove();
});

describe('attack: many processes update one session on PostgreSQL', () => {
  it(`${PROCESSES} processes × ${UPDATES} manager.update() of one session: none fails, none is lost or applied twice`, async () => {
    const url = newStoreUrl();
    const created = await seedCounter(url);
    const started = Date.now();
    const summaries = await runWriters(url, UPDATES);
    const seconds = (Date.now() - started) / 1000;
    const failed = summaries.flatMap((s) => s.failed);
    const final = await readCounter(url);
    const ops = final.metadata['ops'] as string[];
    console.log(`${PROCESSES}×${UPDATES} updates in ${seconds.toFixed(1)} s, ${failed.length} failed`);
    expect(failed.slice(0, 5), `${failed.length} of ${PROCESSES * UPDATES} updates failed`).toEqual([]);
    expect(new Set(ops).size).toBe(ops.length); // none applied twice
    expect(ops.length).toBe(PROCESSES * UPDATES); // none lost
    expect(final.metadata['count']).toBe(PROCESSES * UPDATES);
    expect(final.revision).toBe(created.revision + PROCESSES * UPDATES);
  }, 300_000);

  it('does the same through encryption at rest: every update is sealed, and opens with the key', async () => {
    const encHome = await createTempDir('raptor-atk-pg-enc-');
    try {
      const on = await runCli(['config', 'set', 'encryption', 'on'], { env: { RAPTOR_HOME: encHome.path } });
      expect(on.code, on.stderr).toBe(0);
      const env = { RAPTOR_HOME: encHome.path };
      const url = newStoreUrl();
      const created = await seedCounter(url, env);
      const count = Math.max(5, Math.ceil(UPDATES / 4));
      const summaries = await runWriters(url, count, { env });
      expect(summaries.flatMap((s) => s.failed).slice(0, 5)).toEqual([]);
      const final = await readCounter(url, env);
      expect(final.metadata['count']).toBe(PROCESSES * count);
      expect(final.revision).toBe(created.revision + PROCESSES * count);
      expect(final.storageState).toEqual(state); // opened, intact
      const table = new URL(url).searchParams.get('table')!;
      const [row] = await sql<{ state: string }>(`SELECT state FROM "${table}" WHERE name = 'counter'`);
      expect(row!.state).toContain('"encrypted"');
      expect(row!.state).not.toContain(SECRET);
    } finally {
      await encHome.remove();
    }
  }, 300_000);
});

describe('attack: a user function that holds the row lock', () => {
  let store: PostgresSessionStore;
  let url: string;
  beforeAll(async () => {
    url = newStoreUrl();
    store = await openPostgresStore({ url, updateTimeoutMs: 500 });
    await store.put(newRecord('slow', state, { metadata: { n: 0 } }));
  });
  afterAll(async () => store?.close());

  it('times out a function that never returns, writes nothing, and frees the row at once', async () => {
    const before = (await store.get('slow'))!;
    let late = false;
    const error = await store
      .update!('slow', async (current) => {
        await new Promise((r) => setTimeout(r, 2_000));
        late = true;
        return { ...current, metadata: { n: 99 } };
      })
      .catch((e: unknown) => e);
    expect(isRaptorError(error, 'TIMEOUT'), String(error)).toBe(true);
    expect((error as Error).message).toContain('`slow`');
    // The row is free: the next update goes through, and the late function's result is never written.
    const next = await store.update!('slow', (current) => ({ ...current, metadata: { n: 1 } }));
    expect(next.revision).toBe(before.revision + 1);
    await waitFor(() => late, 'the slow function to finish');
    await new Promise((r) => setTimeout(r, 200));
    expect((await store.get('slow'))!.metadata).toEqual({ n: 1 });
  });

  it('rolls back when the function throws: the thrown error reaches the caller, nothing is written', async () => {
    const before = (await store.get('slow'))!;
    const thrown = new Error('the user function changed its mind');
    const error = await store
      .update!('slow', () => {
        throw thrown;
      })
      .catch((e: unknown) => e);
    expect(error).toBe(thrown);
    expect((await store.get('slow'))!.revision).toBe(before.revision);
    const next = await store.update!('slow', (current) => ({ ...current, metadata: { n: 2 } }));
    expect(next.revision).toBe(before.revision + 1);
  });

  it('says NOT_FOUND for a session that does not exist, and goes through SessionManager.update', async () => {
    const missing = await store.update!('no-such-session', (c) => c).catch((e: unknown) => e);
    expect(isRaptorError(missing, 'NOT_FOUND'), String(missing)).toBe(true);
    const manager = await SessionManager.open({ store: url, autoCleanup: false });
    try {
      const before = await manager.get('slow');
      // An async function is fine too: the store awaits it inside the transaction.
      const after = await manager.update('slow', async (current) => ({ ...current, metadata: { n: 3 } }));
      expect(after.revision).toBe(before.revision + 1);
      expect((await manager.update('slow', () => ({ ...after, metadata: { n: 4 } }))).metadata).toEqual({ n: 4 });
    } finally {
      await manager.close();
    }
  });

  it('frees the row when the process holding it is frozen (SIGSTOP): the server ends its transaction', async () => {
    const holder = startWriter([url, 'hold', 'slow']);
    await holder.ready;
    expect(holder.child.exitCode, 'the holder died before it held the lock').toBe(null);
    holder.child.kill('SIGSTOP');
    try {
      const before = (await store.get('slow'))!;
      // Generous bound: it only proves "does not wait forever" (the holder's server-side limit is seconds).
      const next = await Promise.race([
        store.update!('slow', (current) => ({ ...current, metadata: { n: 5 } })),
        new Promise((_, reject) => setTimeout(() => reject(new Error('the update still waits for the frozen holder after 45 s')), 45_000)),
      ]);
      expect((next as { revision: number }).revision).toBe(before.revision + 1);
    } finally {
      holder.child.kill('SIGKILL');
      holder.child.kill('SIGCONT');
      await holder.done;
    }
  }, 90_000);
});

describe('attack: PostgreSQL backends terminated', () => {
  it('`raptor watch` survives pg_terminate_backend, says so on stderr, and keeps reporting', async () => {
    const url = newStoreUrl();
    const { watch, reports, stop } = await startWatch(url);
    try {
      await reports('before any backend is killed');
      for (let round = 1; round <= 3; round++) {
        expect(await terminateOurBackends()).toBeGreaterThan(0);
        await reports(`after kill ${round}`);
      }
      expect(watch.out.stderr).toContain('lost the connection to PostgreSQL, reconnecting');
      expect(watch.out.stderr).toContain('reconnected');
    } finally {
      const exit = await stop();
      expect(exit, watch.out.stderr).toEqual({ code: 0, signal: null });
    }
  }, 120_000);

  it(`every raptor backend killed again and again during ${PROCESSES} × ${UPDATES} updates, leases, lists and a watch: STORE_UNAVAILABLE at worst, nothing lost or applied twice`, async () => {
    const random = seededRandom(SEED);
    const url = newStoreUrl();
    const created = await seedCounter(url);
    const { reports, stop, watch } = await startWatch(url);
    let kills = 0;
    let killed = 0;
    try {
      await reports('before the attack');
      const summaries = await runWriters(url, UPDATES, {
        mixed: true,
        during: async (running) => {
          while (running()) {
            await new Promise((r) => setTimeout(r, 100 + random() * 400));
            if (!running()) break;
            kills++;
            killed += await terminateOurBackends();
          }
        },
      });
      const failed = summaries.flatMap((s) => s.failed);
      const ok = summaries.flatMap((s) => s.ok);
      const final = await readCounter(url);
      const ops = final.metadata['ops'] as string[];
      const byKind = (kind: string) => failed.filter((f) => f.kind === kind).length;
      console.log(
        `seed ${SEED}: ${kills} kill rounds, ${killed} backends terminated; updates ok ${ok.length}, failed ${byKind('update')}; ` +
          `leases failed ${byKind('lease')}, lists failed ${byKind('list')}; ops stored ${ops.length}`,
      );
      expect(kills, `seed ${SEED}`).toBeGreaterThan(0);
      // Every failure is the store being unavailable, with a way out; never a crash or a conflict.
      expect(failed.filter((f) => f.code !== 'STORE_UNAVAILABLE').slice(0, 5), `seed ${SEED}`).toEqual([]);
      // Nothing applied twice, everything acknowledged is stored, the count matches the ops.
      expect(new Set(ops).size, `seed ${SEED}`).toBe(ops.length);
      expect(ok.filter((op) => !ops.includes(op)), `seed ${SEED}`).toEqual([]);
      expect(final.metadata['count']).toBe(ops.length);
      expect(final.revision).toBe(created.revision + ops.length);
      // An update reported as failed was applied only if the connection died while it committed.
      const failedUpdates = new Set(failed.filter((f) => f.kind === 'update').map((f) => f.op));
      expect(ops.filter((op) => !ok.includes(op) && !failedUpdates.has(op)), `seed ${SEED}`).toEqual([]);
      await reports('after the attack');
    } finally {
      const exit = await stop();
      expect(exit, watch.out.stderr).toEqual({ code: 0, signal: null });
    }
  }, 300_000);

  it.runIf(RESTART)('a real server restart during updates and a watch: the fleet and the watch carry on', async () => {
    const cluster = readdirSync('/etc/postgresql')[0]!;
    const url = newStoreUrl();
    const created = await seedCounter(url);
    const { reports, stop, watch } = await startWatch(url);
    try {
      await reports('before the restart');
      const summaries = await runWriters(url, UPDATES, {
        mixed: true,
        during: async () => {
          await new Promise((r) => setTimeout(r, 1_000));
          execFileSync('pg_ctlcluster', ['--skip-systemctl-redirect', cluster, 'main', 'restart'], { stdio: 'inherit' });
        },
      });
      const failed = summaries.flatMap((s) => s.failed);
      const ok = summaries.flatMap((s) => s.ok);
      const final = await readCounter(url);
      const ops = final.metadata['ops'] as string[];
      console.log(`restart: updates ok ${ok.length}, failed ${failed.filter((f) => f.kind === 'update').length}, all failures ${failed.length}`);
      expect(failed.filter((f) => f.code !== 'STORE_UNAVAILABLE').slice(0, 5)).toEqual([]);
      expect(new Set(ops).size).toBe(ops.length);
      expect(ok.filter((op) => !ops.includes(op))).toEqual([]);
      expect(final.revision).toBe(created.revision + ops.length);
      await reports('after the restart', 60_000);
      expect(watch.out.stderr).toContain('reconnected');
    } finally {
      const exit = await stop();
      expect(exit, watch.out.stderr).toEqual({ code: 0, signal: null });
    }
  }, 300_000);
});

// The store's pool on its own: a terminated idle backend must not take the process down.
describe('attack: idle pooled connections terminated', () => {
  it('a store whose idle connections are all killed keeps working in this process', async () => {
    const store = await openPostgresStore({ url: newStoreUrl(), poolSize: 4 });
    try {
      await Promise.all(Array.from({ length: 4 }, (_, i) => store.put(newRecord(`idle-${i}`, state))));
      expect(await terminateOurBackends()).toBeGreaterThan(0);
      await new Promise((r) => setTimeout(r, 300));
      expect((await store.get('idle-0'))?.name).toBe('idle-0');
    } finally {
      await store.close();
    }
  });
});
