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
 * The workers warm up (connections, prepared statements, V8's optimizing compiler) before the
 * clock starts: a fleet runs for hours, and its steady state is what the target is about.
 */
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { newRecord, type SessionRecord } from '../src/record.js';
import { poolStats } from '../src/store/pool.js';
import { createFileStore } from '../src/store/file.js';
import { openPostgresStore, type PostgresSessionStore } from '../src/store/postgres.js';
import type { SessionStore } from '../src/store/types.js';
import { median, ms, sample, table, type Row } from './stats.js';

const PG = process.env['RAPTOR_BENCH_PG_URL'] || 'postgres://postgres@127.0.0.1:5432/test';
/** The same server through its Unix socket, when it has the usual Debian one. */
const PG_SOCKET = process.env['RAPTOR_BENCH_PG_SOCKET_URL'] || (existsSync('/var/run/postgresql/.s.PGSQL.5432') && !process.env['RAPTOR_BENCH_PG_URL'] ? 'postgres://postgres@%2Fvar%2Frun%2Fpostgresql/test' : undefined);
const WARMUP_MS = 8_000;
const WORKERS = 8;
const POOL = 100;
const SECONDS = Number(process.env['BENCH_FLEET_SECONDS'] ?? 10);
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

async function throughput(url: string, store: SessionStore): Promise<{ perSecond: number }> {
  const usageBefore = await totalUsage(store);
  const start = Date.now() + WARMUP_MS;
  const end = start + SECONDS * 1000;
  const worker = fileURLToPath(new URL('./fleet-worker.ts', import.meta.url));
  const results = await Promise.all(
    Array.from({ length: WORKERS }, (_, i) => {
      const child = spawn(process.execPath, ['--import', 'tsx', worker, JSON.stringify({ store: url, tag: 'fleet', owner: `w${i}`, start, end })], { stdio: ['ignore', 'pipe', 'inherit'] });
      let out = '';
      child.stdout.on('data', (chunk: Buffer) => (out += chunk.toString()));
      return new Promise<{ done: number; warmup: number }>((resolve, reject) =>
        child.once('exit', (code) => (code === 0 ? resolve(JSON.parse(out) as { done: number; warmup: number }) : reject(new Error(`worker ${i} exited ${code}`)))),
      );
    }),
  );
  const done = results.reduce((sum, r) => sum + r.done, 0);
  const counted = (await totalUsage(store)) - usageBefore;
  const expected = done + results.reduce((sum, r) => sum + r.warmup, 0);
  if (counted !== expected) throw new Error(`workers released ${expected} times, the store counted ${counted}`);
  return { perSecond: done / SECONDS };
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
