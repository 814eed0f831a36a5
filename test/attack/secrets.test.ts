/**
 * Attack, class 4 (issue 9): secrets in output. A session is planted with a distinctive secret in
 * every place a credential can live (cookie, localStorage, sessionStorage, IndexedDB value and key,
 * OPFS file contents, a passkey's private key and user handle, keys Playwright may add later at
 * four levels, a CDP URL's `user:pass@` and `?token=`, the identity's proxy password, HTTP
 * credentials and header value, which a kept-alive restore hands to raptor's proxy relay), next to corrupt files holding secrets and
 * PostgreSQL store URLs with a password (server up, port refused, no such database, no such role).
 * Then every CLI command runs at several log levels, with and without `--json`, and stdout, stderr
 * and every file raptor wrote outside the session files are searched. Only `show --reveal` and
 * `export` may print the secrets, and must (else the scan proves nothing).
 *
 * The matrix runs the CLI's `runCli` in this process (the same code as `bin/raptor`, without a
 * node start per run: on a loaded machine that start alone is over a second); the stories a user
 * tells (save from a dead CDP URL, restore, validate a corrupt file, a PostgreSQL URL) also run as
 * the built CLI in a child process.
 *
 * Default: each case at `trace --json` and `debug` (stack traces); some also as a child process at `info`.
 * RAPTOR_SECRETS_FULL=1: every case × trace, debug, info, warn, error × `--json` and not.
 * RAPTOR_SECRETS_SEED=<n> replays a run (the seed is printed with every failure).
 */
import { generateKeyPairSync } from 'node:crypto';
import { mkdir, readdir, readFile, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { newRecord, serializeRecord } from '../../src/core/record.js';
import { runCli as runInProcess } from '../../src/cli/main.js';
import { cleanEnv, runCli, startCli } from '../helpers/cli.js';
import { TEST_PG_URL, randomTable, sql } from '../helpers/postgres.js';
import { filesUnder, findLeaks, randomBytesFrom, secretMaker, type Output } from '../helpers/secret-scan.js';
import { testSeed } from '../helpers/test-seed.js';
import { createTempDir } from '../helpers/temp-dir.js';
import { testBrowser } from '../helpers/env.js';

const { seed: SEED, random } = testSeed('RAPTOR_SECRETS_SEED');
const FULL = process.env['RAPTOR_SECRETS_FULL'] === '1';
const LEVELS = ['trace', 'debug', 'info', 'warn', 'error'] as const;
const make = secretMaker(random);
const seedNote = `seed ${SEED} (replay with RAPTOR_SECRETS_SEED=${SEED})`;

/** A real P-256 passkey, as Playwright's `storageState({ credentials: true })` captures it. */
function passkey() {
  const pair = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  return {
    privateKey: pair.privateKey.export({ format: 'der', type: 'pkcs8' }).toString('base64url'),
    publicKey: pair.publicKey.export({ format: 'der', type: 'spki' }).toString('base64url'),
  };
}

async function deadPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((done) => server.listen(0, '127.0.0.1', done));
  const port = (server.address() as { port: number }).port;
  await new Promise((done) => server.close(done));
  return port;
}

const key = passkey();
/** Secrets of the session's state: `show --reveal` prints each of them. */
const STATE_SECRETS = {
  cookie: make('ck'),
  localStorage: make('ls'),
  sessionStorage: make('ss'),
  indexedDbValue: make('iv'),
  indexedDbKey: make('ik'),
  opfs: randomBytesFrom(random, 30).toString('base64'),
  passkeyPrivateKey: key.privateKey,
  passkeyUserHandle: randomBytesFrom(random, 18).toString('base64url'),
  futureTopLevel: make('ft'),
  futureState: make('fs'),
  futureCookie: make('fc'),
  futureOrigin: make('fo'),
  futureIndexedDb: make('fi'),
  cdpToken: make('tk'),
  cdpPassword: make('pw'),
  // The session's identity (issue 12): a proxy password, HTTP credentials, a header value.
  proxyPassword: make('pp'),
  httpPassword: make('hp'),
  headerValue: make('hv'),
};
/** Secrets outside a valid session: in corrupt files, config, store URLs. */
const OTHER_SECRETS = {
  corruptFile: make('cf'),
  corruptSchema: make('cs'),
  corruptConfig: make('cc'),
  corruptImport: make('ci'),
  corruptStateFile: make('cx'),
  pgPassword: make('pg'),
  configStorePassword: make('cp'),
  badCdpToken: make('bt'),
  badCdpPassword: make('bp'),
  // What a login recipe's login wrote (issue 14): `raptor login` saves it and must print none of it.
  recipeCookie: make('rc'),
  recipeStorage: make('rs'),
};
const SECRETS: Record<string, string> = { ...STATE_SECRETS, ...OTHER_SECRETS };

const ORIGIN = 'http://127.0.0.1:9';

function plantedState() {
  return {
    cookies: [{ name: 'sid', value: STATE_SECRETS.cookie, domain: '127.0.0.1', path: '/', expires: -1, httpOnly: true, secure: false, sameSite: 'Lax', futureSecret: STATE_SECRETS.futureCookie }],
    origins: [
      {
        origin: ORIGIN,
        localStorage: [{ name: 'token', value: STATE_SECRETS.localStorage }],
        indexedDB: [
          {
            name: 'authdb',
            version: 1,
            futureSecret: STATE_SECRETS.futureIndexedDb,
            stores: [{ name: 'tokens', autoIncrement: false, records: [{ key: STATE_SECRETS.indexedDbKey, value: { refresh: STATE_SECRETS.indexedDbValue } }], indexes: [] }],
          },
        ],
        opfs: [
          { path: 'vault', type: 'directory' },
          { path: 'vault/secret.bin', type: 'file', base64: STATE_SECRETS.opfs },
        ],
        futureSecret: STATE_SECRETS.futureOrigin,
      },
    ],
    credentials: [{ id: 'cred-1', rpId: '127.0.0.1', userHandle: STATE_SECRETS.passkeyUserHandle, privateKey: STATE_SECRETS.passkeyPrivateKey, publicKey: key.publicKey, signCount: 7 }],
    futureSecret: STATE_SECRETS.futureState,
  };
}

interface Case {
  args: string[];
  /** Runs once, at `trace --json` (a browser starts, or it changes what later cases see). */
  once?: boolean;
  /** Also run as the built CLI in a child process, at `info` (the level the issue saw leak) unless `level`. */
  spawn?: boolean;
  level?: string;
  /** Only as the built CLI (a browser starts: once is enough). */
  spawnOnly?: boolean;
  env?: NodeJS.ProcessEnv;
}

interface Ran {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** `runCli` of `src/cli/main.ts` with captured streams: what `bin/raptor` runs, minus the node start. */
async function inProcess(args: string[], env: NodeJS.ProcessEnv): Promise<Ran> {
  const out = { stdout: '', stderr: '' };
  const sink = (key: 'stdout' | 'stderr') =>
    new Writable({
      write(chunk, _encoding, done) {
        out[key] += String(chunk);
        done();
      },
    });
  const code = await runInProcess(['node', 'raptor', ...args], { stdout: sink('stdout'), stderr: sink('stderr'), env: cleanEnv(env) });
  return { code, ...out };
}

describe('attack: no secret in any output', () => {
  let tmp: Awaited<ReturnType<typeof createTempDir>>;
  let home = '';
  let configHome = '';
  let brokenConfigHome = '';
  let inputs = '';
  const table = randomTable('secrets');
  const outputs: Output[] = [];
  const results = new Map<string, Ran>();
  let pgOk = '';

  const baseEnv = (h: string): NodeJS.ProcessEnv => ({ RAPTOR_HOME: h, RAPTOR_BROWSER: testBrowser() });

  /** The corrupt files come back before every command: cleanup quarantines them. */
  async function plantCorrupt(): Promise<void> {
    const sessions = join(home, 'sessions');
    const present = new Set(await readdir(sessions));
    if (!present.has('broken.json')) await writeFile(join(sessions, 'broken.json'), `{"schemaVersion": 1, "name": "broken", "token": ${OTHER_SECRETS.corruptFile}}`, { mode: 0o600 });
    if (!present.has('wrongtype.json')) {
      const record = JSON.parse(serializeRecord(newRecord('wrongtype', { cookies: [], origins: [] }))) as Record<string, unknown>;
      record['browserType'] = OTHER_SECRETS.corruptSchema;
      record['storageState'] = { cookies: [{ name: 'a', value: 'v', domain: 'd', path: '/', expires: -1, httpOnly: false, secure: false, sameSite: OTHER_SECRETS.corruptSchema }], origins: [] };
      await writeFile(join(sessions, 'wrongtype.json'), JSON.stringify(record, null, 2), { mode: 0o600 });
    }
  }

  async function cli(args: string[], env: NodeJS.ProcessEnv = baseEnv(home), spawn = false): Promise<Ran> {
    if (env['RAPTOR_HOME'] === home) await plantCorrupt();
    const result = spawn ? await runCli(args, { env, timeoutMs: 120_000 }) : await inProcess(args, env);
    const what = `raptor ${args.join(' ')} (${spawn ? 'child process, ' : ''}exit ${result.code})`;
    outputs.push({ what: `${what} stdout`, text: result.stdout }, { what: `${what} stderr`, text: result.stderr });
    results.set(args.join(' '), result);
    return result;
  }

  /**
   * The levels × output modes a case runs with: by default `trace --json` (every log line, as
   * machines read it) and `debug` for people (stack traces); the full matrix behind the env var.
   */
  function variants(c: Case): string[][] {
    if (c.once) return [['--log-level', 'trace', '--json']];
    if (FULL) return LEVELS.flatMap((level) => [['--log-level', level], ['--log-level', level, '--json']]);
    return [['--log-level', 'trace', '--json'], ['--log-level', 'debug']];
  }

  async function runCase(c: Case, exportIndex: { next: number }): Promise<void> {
    const expand = (args: string[]) => args.map((arg) => arg.replace('%i', String(exportIndex.next++)));
    if (!c.spawnOnly) for (const variant of variants(c)) await cli([...variant, ...expand(c.args)], c.env);
    if (c.spawn || c.spawnOnly) await cli(['--log-level', c.level ?? 'info', ...expand(c.args)], c.env, true);
  }

  beforeAll(async () => {
    tmp = await createTempDir('raptor-secrets-');
    home = join(tmp.path, 'home');
    configHome = join(tmp.path, 'config-home');
    brokenConfigHome = join(tmp.path, 'broken-config-home');
    inputs = join(tmp.path, 'inputs');
    await mkdir(inputs);
    // raptor creates its own directories (a helper-made sessions dir would not be raptor's).
    await inProcess(['list'], baseEnv(home));
    const port = await deadPort();
    const cdpUrl = `ws://cdpuser:${STATE_SECRETS.cdpPassword}@127.0.0.1:${port}/devtools/browser/0f0f?token=${STATE_SECRETS.cdpToken}`;
    const badCdp = `http://robot:${OTHER_SECRETS.badCdpPassword}@127.0.0.1:${port}/?token=${OTHER_SECRETS.badCdpToken}`;
    // A kept-alive restore of it starts raptor's proxy relay with that password: the relay's
    // output and files are scanned too (its upstream is a dead port: nothing is ever loaded).
    const identity = {
      userAgent: 'RaptorSecrets/1.0',
      proxy: { server: `http://127.0.0.1:${port}`, username: 'proxy-user', password: STATE_SECRETS.proxyPassword },
      httpCredentials: { username: 'basic-user', password: STATE_SECRETS.httpPassword },
      extraHTTPHeaders: { Authorization: `Bearer ${STATE_SECRETS.headerValue}` },
    };
    const record = {
      ...newRecord('rich', plantedState() as never, { cdpUrl, sessionStorage: { [ORIGIN]: { tab: STATE_SECRETS.sessionStorage } }, tags: ['planted'], metadata: { team: 'qa' }, identity }),
      futureSecret: STATE_SECRETS.futureTopLevel,
    };
    // `pristine` is touched by no command: `show --reveal` of it proves the scan can see.
    for (const name of ['rich', 'victim', 'runaway', 'again', 'pristine']) {
      await writeFile(join(home, 'sessions', `${name}.json`), serializeRecord({ ...record, name, revision: 1 }), { mode: 0o600 });
    }
    await writeFile(join(inputs, 'state.json'), JSON.stringify(plantedState(), null, 2));
    await writeFile(join(inputs, 'corrupt-import.json'), `[{"schemaVersion": 1, "name": ${OTHER_SECRETS.corruptImport}}]`);
    await writeFile(
      join(inputs, 'plant.mjs'),
      `export default {
  async login(page) {
    await page.context().addCookies([{ name: 'sid', value: ${JSON.stringify(OTHER_SECRETS.recipeCookie)}, url: 'http://127.0.0.1:9/' }]);
    await page.route('http://127.0.0.1:9/**', (route) => route.fulfill({ body: '<html></html>', contentType: 'text/html' }));
    await page.goto('http://127.0.0.1:9/');
    await page.evaluate((v) => localStorage.setItem('token', v), ${JSON.stringify(OTHER_SECRETS.recipeStorage)});
  },
};\n`,
    );
    await writeFile(join(inputs, 'corrupt-state.json'), `{"cookies": [${OTHER_SECRETS.corruptStateFile}], "origins": []}`);

    // A home whose config holds a store URL with a password, and one whose config is corrupt.
    pgOk = `postgres://postgres:${OTHER_SECRETS.pgPassword}@127.0.0.1:5432/${new URL(TEST_PG_URL).pathname.slice(1)}?table=${table}`;
    const configPg = pgOk.replace(OTHER_SECRETS.pgPassword, OTHER_SECRETS.configStorePassword);
    await inProcess(['config', 'set', 'store', configPg], baseEnv(configHome));
    await mkdir(brokenConfigHome, { recursive: true });
    await writeFile(join(brokenConfigHome, 'config.json'), `{"logLevel": "warn", "browser": ${OTHER_SECRETS.corruptConfig}}`);

    const pgRefused = `postgres://postgres:${OTHER_SECRETS.pgPassword}@127.0.0.1:1/test`;
    const pgNoDb = `postgres://postgres:${OTHER_SECRETS.pgPassword}@127.0.0.1:5432/nosuch_${table}`;
    const pgNoRole = `postgres://nobody_${table}:${OTHER_SECRETS.pgPassword}@127.0.0.1:5432/test`;

    const cases: Case[] = [
      { args: ['list'] },
      { args: ['list', '--live'] },
      { args: ['list', '--expired'] },
      { args: ['show', 'rich'] },
      { args: ['show', 'broken'] },
      { args: ['validate'] },
      { args: ['validate', 'rich', '--live'] },
      { args: ['validate', 'broken', 'wrongtype'], spawn: true },
      { args: ['stats'] },
      { args: ['clean', '--dry-run'] },
      { args: ['clean'] },
      { args: ['doctor'] },
      { args: ['crawl', 'status'] },
      { args: ['config', 'list'] },
      { args: ['export', 'rich', '--out', join(inputs, 'exported-%i.json')] },
      { args: ['save', 'rich'] }, // the recorded CDP URL (token, password) is dead
      { args: ['save', 'other', '--cdp', badCdp], spawn: true },
      { args: ['save', 'fromfile', '--from', join(inputs, 'corrupt-state.json')] },
      { args: ['import', join(inputs, 'corrupt-import.json')] },
      { args: ['list'], env: baseEnv(configHome) },
      { args: ['config', 'list'], env: baseEnv(configHome) },
      { args: ['config', 'get', 'store'], env: baseEnv(configHome) },
      { args: ['doctor'], env: baseEnv(configHome) },
      { args: ['list'], env: baseEnv(brokenConfigHome) },
      { args: ['config', 'list'], env: baseEnv(brokenConfigHome) },
      { args: ['--store', pgOk, 'save', 'pgs', '--from', join(inputs, 'state.json')], once: true },
      { args: ['--store', pgOk, 'list'] },
      { args: ['--store', pgOk, 'show', 'pgs'] },
      { args: ['--store', pgOk, 'validate'] },
      { args: ['--store', pgOk, 'stats'] },
      { args: ['--store', pgOk, 'doctor'] },
      { args: ['--store', pgRefused, 'list'], spawn: true },
      { args: ['--store', pgNoDb, 'list'] },
      { args: ['--store', pgNoRole, 'stats'] },
      // Browsers start (or the store changes) in these: once each.
      { args: ['restore', 'rich'], spawnOnly: true, level: 'trace' },
      { args: ['stop', 'rich'], once: true },
      ...(FULL ? [{ args: ['restore', 'again'], once: true }, { args: ['stop', 'again'], once: true }] : []),
      { args: ['launch', 'victim'], once: true },
      { args: ['stop', 'victim'], once: true },
      { args: ['rekey'], once: true },
      { args: ['rm', 'victim'], once: true },
      // A recipe logs in (a browser starts), then the recorded recipe reuses the login.
      { args: ['login', 'recipe-made', '--recipe', join(inputs, 'plant.mjs')], once: true, spawn: true, level: 'trace' },
      { args: ['login', 'recipe-made'], once: true },
      { args: ['login', 'recipe-made', '--force'], once: true },
    ];
    const exportIndex = { next: 0 };
    for (const c of cases) await runCase(c, exportIndex);

    // `open` and `watch` run until stopped: start, let them work, stop them like a user (Ctrl-C).
    // `open` starts a browser window; with the default matrix `launch` and `restore` cover that path.
    for (const args of [...(FULL ? [['open', 'runaway', '--headless']] : []), ['watch']]) {
      await plantCorrupt();
      const started = await startCli(['--log-level', 'trace', ...args], { env: baseEnv(home) });
      const deadline = Date.now() + 30_000;
      while (Date.now() < deadline && !/saved|watching|close|Ctrl-C/i.test(started.out.stderr) && started.child.exitCode === null) await new Promise((r) => setTimeout(r, 200));
      await writeFile(join(home, 'sessions', 'broken.json'), `{"name": ${OTHER_SECRETS.corruptFile}`).catch(() => undefined);
      await new Promise((r) => setTimeout(r, 1500));
      started.child.kill('SIGINT');
      const timer = setTimeout(() => started.child.kill('SIGKILL'), 30_000);
      const exit = await started.exited;
      clearTimeout(timer);
      outputs.push({ what: `raptor ${args.join(' ')} (exit ${exit.code}) stdout`, text: started.out.stdout }, { what: `raptor ${args.join(' ')} stderr`, text: started.out.stderr });
    }
    await cli(['--log-level', 'trace', 'stop', 'runaway']);
  }, 600_000);

  afterAll(async () => {
    for (const name of ['rich', 'victim', 'runaway', 'again']) await inProcess(['stop', name], baseEnv(home)).catch(() => undefined);
    await sql(`DROP TABLE IF EXISTS "${table}"`).catch(() => undefined);
    await sql(`DROP TABLE IF EXISTS "${table}_leases"`).catch(() => undefined);
    await tmp?.remove();
  });

  it('can see every planted secret where the user asked for it (show --reveal, export)', async () => {
    const reveal = await runCli(['show', 'pristine', '--reveal', '--json'], { env: baseEnv(home) });
    const exported = await inProcess(['export', 'pristine'], baseEnv(home));
    for (const [kind, secret] of Object.entries(STATE_SECRETS)) {
      expect(reveal.stdout, `${kind} in show --reveal; ${seedNote}`).toContain(secret);
      if (!kind.startsWith('cdp')) expect(exported.stdout, `${kind} in export; ${seedNote}`).toContain(secret);
    }
    // The PostgreSQL store was really used with the password URL, and holds the planted state.
    expect(results.get(`--log-level trace --json --store ${pgOk} save pgs --from ${join(inputs, 'state.json')}`)?.code, seedNote).toBe(0);
    const pgReveal = await inProcess(['--store', pgOk, 'show', 'pgs', '--reveal', '--json'], baseEnv(home));
    expect(pgReveal.stdout).toContain(STATE_SECRETS.passkeyPrivateKey);
    // The recipe's login was saved: its secrets are in the session, for `show --reveal` only.
    const recipeMade = await inProcess(['show', 'recipe-made', '--reveal', '--json'], baseEnv(home));
    expect(recipeMade.stdout).toContain(OTHER_SECRETS.recipeCookie);
    expect(recipeMade.stdout).toContain(OTHER_SECRETS.recipeStorage);
    // The corrupt files were seen (a scan of commands that never read them would prove nothing).
    expect(outputs.some((o) => o.text.includes('broken.json'))).toBe(true);
    expect(outputs.some((o) => o.text.includes('wrongtype'))).toBe(true);
    // Logs were written at trace and debug printed stack traces.
    expect(outputs.some((o) => /"level":10|raptor: trace:/.test(o.text) || /"level":30/.test(o.text))).toBe(true);
    expect(outputs.some((o) => /\n\s+at /.test(o.text))).toBe(true);
  });

  it('show (masked) keeps the structure and masks every value, also keys Playwright adds later', async () => {
    for (const json of [true, false]) {
      const shown = await inProcess(['show', 'rich', ...(json ? ['--json'] : [])], baseEnv(home));
      expect(shown.code).toBe(0);
      expect(findLeaks(STATE_SECRETS, [{ what: `show rich${json ? ' --json' : ''}`, text: shown.stdout + shown.stderr }]), seedNote).toEqual([]);
      for (const structure of ['sid', '127.0.0.1', ORIGIN, 'token', 'planted']) expect(shown.stdout).toContain(structure);
    }
    const session = JSON.parse((await inProcess(['show', 'rich', '--json'], baseEnv(home))).stdout).session;
    expect(session.storageState.origins[0].opfs[1].path).toBe('vault/secret.bin');
    expect(session.storageState.credentials[0].rpId).toBe('127.0.0.1');
    expect(session.storageState.cookies[0].sameSite).toBe('Lax');
  });

  it('prints no planted secret in any command, at any log level, with or without --json', () => {
    expect(outputs.length).toBeGreaterThan(120);
    expect(findLeaks(SECRETS, outputs), seedNote).toEqual([]);
  });

  it('writes no planted secret into any file outside the session files (reason files, locks, crawls)', async () => {
    const skip = (rel: string) =>
      rel.startsWith('profiles') || // the browser's own profile holds its cookies by design
      rel === 'config.json' || // the user's settings, as they set them
      /^sessions\/[^/]+\.json$/.test(rel) || // the session files themselves
      (rel.startsWith('sessions/.quarantine/') && !rel.endsWith('.reason.json')); // quarantined files are the user's data, kept
    const files = [...(await filesUnder(home, skip)), ...(await filesUnder(configHome, skip))];
    expect(files.some((f) => f.what.endsWith('.reason.json')), 'a reason file was written').toBe(true);
    expect(findLeaks(SECRETS, files), seedNote).toEqual([]);
  });

  it('says where a file stops being JSON, never what it holds', async () => {
    await plantCorrupt();
    const result = await inProcess(['validate', 'broken', '--json'], baseEnv(home));
    expect(result.stdout).toMatch(/line \d+ column \d+/);
    const reasons = await filesUnder(join(home, 'sessions', '.quarantine'), (rel) => !rel.endsWith('.reason.json') && rel.includes('.'));
    const brokenReason = reasons.find((r) => r.what.includes('broken'));
    expect(brokenReason?.text).toMatch(/line \d+ column \d+/);
    expect(await readFile(join(home, 'sessions', 'broken.json'), 'utf8')).toContain(OTHER_SECRETS.corruptFile);
  });
});
