/**
 * `npm run bench:fleet`: the PostgreSQL fleet store (issue 6) on this machine's PostgreSQL
 * (RAPTOR_BENCH_PG_URL, else postgres://postgres@127.0.0.1:5432/test). Prints a markdown table;
 * `--write` replaces the "Fleet store" table in docs/performance.md.
 *
 *   acquire + release (state written back), 8 worker processes, 100 sessions   target ≥ 1,000/s
 *     over TCP (what a fleet on many machines uses) and over the Unix socket
 *   get p50, PostgreSQL vs the file store, same record                        -
 *   list over 10,000 sessions on PostgreSQL (file store in the same run)       -
 *
 * Each worker warms up (modules, connections, prepared statements, V8's optimizing compiler) and
 * says so; the clock starts once all of them have: a fleet runs for hours, and its steady state
 * is what the target is about.
 */
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { newRecord, type SessionRecord } from '../src/core/record.js';
import { poolStats } from '../src/store/pool.js';
import { createFileStore } from '../src/store/file.js';
import { openPostgresStore, type PostgresSessionStore } from '../src/store/postgres/store.js';
import type { SessionStore } from '../src/store/types.js';
import { median, ms, sample, table, type Row } from './stats.js';

const PG = process.env['RAPTOR_BENCH_PG_URL'] || 'postgres://postgres@127.0.0.1:5432/test';
/** The same server through its Unix socket, when it has the usual Debian one. */
const PG_SOCKET = process.env['RAPTOR_BENCH_PG_SOCKET_URL'] || (existsSync('/var/run/postgresql/.s.PGSQL.5432') && !process.env['RAPTOR_BENCH_PG_URL'] ? 'postgres://postgres@%2Fvar%2Frun%2Fpostgresql/test' : undefined);
/**
 * Every worker cycles this long together before the clock starts, after each did its own warm-up:
 * with 16 processes on two cores, V8 finishes optimizing later than a lone process would.
 */
const SETTLE_MS = 8_000;
const READY_TIMEOUT_MS = 120_000;
const WORKERS = 8;
const POOL = 100;
const SECONDS = Number(process.env['BENCH_FLEET_SECONDS'] ?? 15);
/** The measured seconds are cut into this many windows; the row is their median. */
const WINDOWS = 3;
const LIST_COUNT = 10_000;
const log = (text: string): void => console.error(`bench: ${text}`);
const rows: Row[] = [];

/** A logged-in-looking session of ~1.6 KiB, like the one `npm run bench` captures. */
function session(name: string, tags: string[] = [], metadata: SessionRecord['metadata'] = {}): SessionRecord {
  const token = (n: number) => randomBytes(n).toString('base64url');
  return newRecord(
    name,
    {
      cookies: ['sid', 'csrf', 'prefs'].map((cookie) => ({ name: cookie, value: token(48), domain: 'app.acme.test', path: '/', expires: 4102444800, httpOnly: true, secure: true, sameSite: 'Lax' as const })),
      origins: [{ origin: 'https://app.acme.test', localStorage: [{ name: 'token', value: token(400) }, { name: 'user', value: token(64) }] }],
    },
    { tags, metadata, sessionStorage: { 'https://app.acme.test': { draft: token(32) } } },
  );
}

async function fill(store: SessionStore, count: number, make: (i: number) => SessionRecord): Promise<void> {
  for (let i = 0; i < count; i += 200) await Promise.all(Array.from({ length: Math.min(200, count - i) }, (_, j) => store.put(make(i + j))));
}

const table1 = `bench_${randomBytes(4).toString('hex')}`;
const table2 = `bench_${randomBytes(4).toString('hex')}`;
const home = await mkdtemp(join(tmpdir(), 'raptor-bench-fleet-'));
const pool = await openPostgresStore({ url: PG, table: table1, poolSize: 8 });
const big = await openPostgresStore({ url: PG, table: table2, poolSize: 8 });
try {
  // 1. Throughput: 8 processes, each acquire -> release(state) in a loop. No usage limit, so no
  // session retires during the run (Crawlee's default of 50 uses would end the pool in 5 s).
  await fill(pool, POOL, (i) => session(`pool-${i}`, ['fleet'], { pool: { maxUsageCount: 1e9 } }));
  for (const [via, url] of [['TCP', PG], ['Unix socket', PG_SOCKET]] as const) {
    if (!url) continue;
    log(`${WORKERS} workers × ${SECONDS} s acquire + release over ${POOL} sessions, ${via}`);
    const { perSecond } = await throughput(`${url}${url.includes('?') ? '&' : '?'}table=${table1}`, pool);
    rows.push({ measure: `acquire + release (state written back), ${WORKERS} worker processes, ${POOL} sessions, ${via}`, median: `${Math.round(perSecond).toLocaleString('en')}/s`, baseline: '-', ratio: '-', target: '≥ 1,000/s', pass: perSecond >= 1000 });
  }

  // 2. get p50: the same record from PostgreSQL and from a file.
  const files = createFileStore({ dir: join(home, 'files') });
  const record = session('get-me');
  await pool.put(record);
  await files.put(record);
  log('get × 2,000 each');
  const pgGet = median(await sample(2_000, () => pool.get('get-me'), 50));
  const fileGet = median(await sample(2_000, () => files.get('get-me'), 50));
  rows.push({ measure: 'get one session (p50), PostgreSQL', median: ms(pgGet), baseline: `${ms(fileGet)} (file store)`, ratio: `${(pgGet / fileGet).toFixed(2)}×`, target: '-', pass: true });

  // 3. list over 10,000 sessions, PostgreSQL and files.
  log(`writing ${LIST_COUNT} sessions to each store`);
  const bigFiles = createFileStore({ dir: join(home, 'big') });
  await fill(big, LIST_COUNT, (i) => session(`session-${i}`));
  await fill(bigFiles, LIST_COUNT, (i) => session(`session-${i}`));
  const listAll = (store: SessionStore) => async () => {
    let n = 0;
    for await (const _ of store.list()) n++;
    if (n !== LIST_COUNT) throw new Error(`listed ${n} of ${LIST_COUNT}`);
  };
  const pgList = median(await sample(5, listAll(big)));
  const fileList = median(await sample(5, listAll(bigFiles)));
  rows.push({ measure: `list ${LIST_COUNT.toLocaleString('en')} sessions, PostgreSQL`, median: ms(pgList), baseline: `${ms(fileList)} (file store)`, ratio: `${(pgList / fileList).toFixed(2)}×`, target: '-', pass: true });
} finally {
  for (const store of [pool, big] as PostgresSessionStore[]) {
    await store.drop();
    await store.close();
  }
  await rm(home, { recursive: true, force: true });
}

/** What a worker prints at the end (see fleet-worker.ts). */
interface WorkerResult {
  done: number[];
  warmup: number;
  late: number;
}

async function throughput(url: string, store: SessionStore): Promise<{ perSecond: number }> {
  const usageBefore = await totalUsage(store);
  const worker = fileURLToPath(new URL('./fleet-worker.ts', import.meta.url));
  const workers = Array.from({ length: WORKERS }, (_, i) => {
    const child = spawn(process.execPath, ['--import', 'tsx', worker, JSON.stringify({ store: url, tag: 'fleet', owner: `w${i}` })], { stdio: ['pipe', 'pipe', 'inherit'] });
    let out = '';
    let markReady!: () => void;
    const ready = new Promise<void>((resolve) => (markReady = resolve));
    child.stdout.on('data', (chunk: Buffer) => {
      out += chunk.toString();
      if (out.includes('"ready":true')) markReady();
    });
    const result = new Promise<WorkerResult>((resolve, reject) =>
      child.once('exit', (code) => (code === 0 ? resolve(JSON.parse(out.trim().split('\n').at(-1)!) as WorkerResult) : reject(new Error(`worker ${i} exited ${code}`)))),
    );
    return { child, ready, result };
  });
  try {
    // The clock starts once every worker is warm, then runs after a short stretch of all of them
    // cycling together, so the window sees the steady state a fleet runs in for hours.
    await Promise.race([
      Promise.all(workers.map((w) => w.ready)),
      Promise.any(workers.map((w) => w.result)).then(() => Promise.reject(new Error('a worker ended before the clock started'))),
      sleep(READY_TIMEOUT_MS).then(() => Promise.reject(new Error(`the workers were not warm after ${READY_TIMEOUT_MS / 1000} s`))),
    ]);
    const start = Date.now() + SETTLE_MS;
    const end = start + SECONDS * 1000;
    for (const { child } of workers) child.stdin.end(`${JSON.stringify({ start, end, windows: WINDOWS })}\n`);
    const results = await Promise.all(workers.map((w) => w.result));
    const counted = (await totalUsage(store)) - usageBefore;
    const expected = results.reduce((sum, r) => sum + r.warmup + r.late + r.done.reduce((a, b) => a + b, 0), 0);
    if (counted !== expected) throw new Error(`workers released ${expected} times, the store counted ${counted}`);
    const perWindow = Array.from({ length: WINDOWS }, (_, w) => results.reduce((sum, r) => sum + r.done[w]!, 0) / (SECONDS / WINDOWS));
    log(`  per ${SECONDS / WINDOWS} s window: ${perWindow.map((n) => `${Math.round(n)}/s`).join(', ')}`);
    return { perSecond: median(perWindow) };
  } finally {
    for (const { child } of workers) if (child.exitCode === null) child.kill();
  }
}

async function totalUsage(store: SessionStore): Promise<number> {
  let usage = 0;
  for await (const s of store.list({ tag: 'fleet' })) usage += poolStats(s.metadata).usageCount;
  return usage;
}

const output = table(rows);
const header = `Measured ${new Date().toISOString().slice(0, 10)} on ${cpus().length} × ${cpus()[0]?.model.trim()}, Node ${process.version}, PostgreSQL on the same machine; \`npm run bench:fleet\`.`;
console.log(`${header}\n\n${output}`);
if (process.argv.includes('--write')) {
  const path = 'docs/performance.md';
  const doc = await readFile(path, 'utf8');
  const section = `<!-- bench:fleet:start -->\n${header}\n\n${output}\n<!-- bench:fleet:end -->`;
  if (!doc.includes('<!-- bench:fleet:start -->')) throw new Error(`${path} has no <!-- bench:fleet:start --> marker`);
  await writeFile(path, doc.replace(/<!-- bench:fleet:start -->[\s\S]*<!-- bench:fleet:end -->/, section));
  log(`wrote ${path}`);
}
if (rows.some((r) => !r.pass)) process.exitCode = 1;
