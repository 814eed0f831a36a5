/**
 * Attack, class 6 (issue 9): hostile input. Whatever a user (or an attacker writing into the
 * sessions directory) hands raptor, the answer is a clear input error with a stable code and the
 * limit named, never `INTERNAL`, a stack trace or a hang, and a bad session file is invalid and
 * quarantined with a reason, never silently "repaired" (invalid UTF-8 decoded to U+FFFD).
 *
 * Decisions tested here: a UTF-8 byte order mark is a valid signature and is accepted (Windows
 * tools write it); a JSON escape `\ud800` inside stored data round-trips (a page may store one in
 * localStorage), but a name, tag or metadata value the user types must be well-formed text.
 */
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isRaptorError } from '../../src/core/errors.js';
import { SessionManager } from '../../src/manager.js';
import { runCli, type CliResult } from '../helpers/cli.js';
import { runCliInProcess } from '../helpers/cli-in-process.js';
import { createTempDir } from '../helpers/temp-dir.js';

/** Size of the huge import line: 64 MiB + 1 by default, `RAPTOR_ATTACK_BIG_MB=100` in test:stress. */
const BIG_LINE_BYTES = process.env['RAPTOR_ATTACK_BIG_MB'] ? Number(process.env['RAPTOR_ATTACK_BIG_MB']) * 1024 * 1024 : 64 * 1024 * 1024 + 1;

const STACK = /\n\s+at .+[:(]/;
const state = { cookies: [{ name: 'sid', value: 'secret-cookie', domain: 'app.test', path: '/', expires: -1, httpOnly: true, secure: true, sameSite: 'Lax' }], origins: [] };

const nested = (depth: number, leaf = '1'): string => `${'{"a":'.repeat(depth)}${leaf}${'}'.repeat(depth)}`;

function expectInputError(result: CliResult, codes: string[], limit?: RegExp): { code: string; message: string } {
  const context = `exit ${result.code}\nstdout: ${result.stdout.slice(0, 2000)}\nstderr: ${result.stderr.slice(0, 2000)}`;
  expect(result.signal, context).toBeNull();
  const error = result.json<{ error: { code: string; message: string } }>().error;
  expect(codes, context).toContain(error.code);
  expect(result.code, context).toBe(error.code === 'INVALID_SESSION' || error.code === 'TOO_LARGE' ? 4 : 2);
  expect(result.stderr, context).not.toMatch(STACK);
  if (limit) expect(error.message).toMatch(limit);
  return error;
}

describe('hostile options on the command line', { timeout: 240_000 }, () => {
  let tmp: Awaited<ReturnType<typeof createTempDir>>;
  let home: string;
  let stateFile: string;
  const cli = (args: string[]) => runCliInProcess(['--json', ...args], { RAPTOR_HOME: home });
  const sessions = () => (existsSync(join(home, 'sessions')) ? readdirSync(join(home, 'sessions')).filter((f) => f.endsWith('.json')) : []);

  beforeAll(async () => {
    tmp = await createTempDir('raptor-attack-hostile-');
    home = join(tmp.path, 'home');
    stateFile = join(tmp.path, 'state.json');
    await writeFile(stateFile, JSON.stringify(state));
  });
  afterAll(async () => tmp?.remove());

  it('--metadata nested 2,000 deep is INVALID_INPUT naming the 32-level limit, and nothing is saved', async () => {
    // The issue's reproduction, through the built CLI in its own process; the rest run in-process (same code, no node start).
    expectInputError(await runCli(['--json', 'save', 'deep', '--from', stateFile, '--metadata', nested(2000)], { env: { RAPTOR_HOME: home } }), ['INVALID_INPUT'], /32/);
    expectInputError(await cli(['save', 'deep', '--from', stateFile, '--metadata', nested(40)]), ['INVALID_INPUT'], /32/);
    expect(sessions()).toEqual([]);
    const ok = await cli(['save', 'deep', '--from', stateFile, '--metadata', nested(20)]);
    expect(ok.code, ok.stderr).toBe(0);
  });


  it.each([
    ['an array', '[1,2]'],
    ['a string', '"x"'],
    ['a lone surrogate', '{"k":"\\ud800"}'],
    ['a lone surrogate in a key', '{"\\udc00":1}'],
    ['not JSON', '{owner: qa}'],
  ])('--metadata that is %s is INVALID_INPUT', async (_, text) => {
    expectInputError(await cli(['save', 'meta', '--from', stateFile, '--metadata', text]), ['INVALID_INPUT']);
  });

  it.each([
    ['an escape sequence', '\u001b[31mred'],
    ['a newline', 'a\nb'],
    ['a DEL', 'a\u007fb'],
    ['a C1 control', 'a\u009bb'],
    ['101 characters', 't'.repeat(101)],
  ])('--tag with %s is INVALID_INPUT and nothing is saved', async (_, tag) => {
    const error = expectInputError(await cli(['save', 'tagged', '--from', stateFile, '--tag', tag]), ['INVALID_INPUT'], /tag/i);
    expect(error.message).not.toContain('\u001b');
    expect(sessions()).not.toContain('tagged.json');
  });

  it('more than 100 tags is INVALID_INPUT naming the limit', async () => {
    const args = Array.from({ length: 101 }, (_, i) => ['--tag', `t${i}`]).flat();
    expectInputError(await cli(['save', 'many-tags', '--from', stateFile, ...args]), ['INVALID_INPUT'], /100/);
  });

  it.each(['1e309', '-1', 'NaN', 'Infinity', '', '99999999999999999999d', '1e400d', '7 days', '0x10s'])('--ttl %j is INVALID_INPUT', async (ttl) => {
    expectInputError(await cli(['save', 'ttl', '--from', stateFile, '--ttl', ttl]), ['INVALID_INPUT'], /ttl/i);
  });

  it('names at the limits: 200 characters (also astral) are fine, 201 are INVALID_NAME', async () => {
    for (const name of ['n'.repeat(200), '😀'.repeat(200)]) {
      const saved = await cli(['save', name, '--from', stateFile]);
      expect(saved.code, saved.stderr).toBe(0);
      expect(saved.json().session.name).toBe(name);
    }
    for (const name of ['n'.repeat(201), '😀'.repeat(201)]) expectInputError(await cli(['save', name, '--from', stateFile]), ['INVALID_NAME'], /200/);
  });
});

describe('hostile files given to import', { timeout: 240_000 }, () => {
  let tmp: Awaited<ReturnType<typeof createTempDir>>;
  let home: string;
  let record: Record<string, unknown>;
  const cli = (args: string[]) => runCliInProcess(['--json', ...args], { RAPTOR_HOME: home });
  const sessions = () => (existsSync(join(home, 'sessions')) ? readdirSync(join(home, 'sessions')).filter((f) => f.endsWith('.json')) : []);

  beforeAll(async () => {
    tmp = await createTempDir('raptor-attack-import-');
    home = join(tmp.path, 'home');
    const manager = await SessionManager.open({ env: { ...process.env, RAPTOR_HOME: join(tmp.path, 'source') } });
    record = (await manager.save('source', { storageState: state as never })) as unknown as Record<string, unknown>;
    await manager.close();
  });
  afterAll(async () => tmp?.remove());

  const file = (name: string, content: string | Buffer): string => {
    const path = join(tmp.path, name);
    writeFileSync(path, content);
    return path;
  };

  it('a file with invalid UTF-8 is INVALID_INPUT, not imported with U+FFFD in it', async () => {
    const text = JSON.stringify({ ...state, cookies: [{ ...state.cookies[0], value: 'AB' }] });
    const bytes = Buffer.from(text.replace('AB', '\u0001\u0001')).map((b) => (b === 1 ? 0xff : b));
    expectInputError(await runCli(['--json', 'import', file('bad-utf8.json', Buffer.from(bytes)), '--name', 'bad-utf8'], { env: { RAPTOR_HOME: home } }), ['INVALID_INPUT'], /UTF-8/);
    expect(sessions()).toEqual([]);
  });

  it.each([
    ['an overlong encoding of "/"', [0xc0, 0xaf]],
    ['an encoded surrogate (CESU-8)', [0xed, 0xa0, 0x80]],
    ['a truncated sequence', [0xe2, 0x82]],
  ])('a file with %s is INVALID_INPUT', async (_, seq) => {
    const text = JSON.stringify({ ...record, name: 'enc', tags: ['@@'] });
    const at = Buffer.from(text).indexOf('@@');
    const bytes = Buffer.concat([Buffer.from(text).subarray(0, at), Buffer.from(seq), Buffer.from(text).subarray(at + 2)]);
    expectInputError(await cli(['import', file('enc.json', bytes)]), ['INVALID_INPUT'], /UTF-8/);
    expect(sessions()).toEqual([]);
  });

  it('a bundle nested 100,000 deep is INVALID_INPUT, promptly', async () => {
    expectInputError(await cli(['import', file('deep.json', `${'['.repeat(100_000)}${']'.repeat(100_000)}`)]), ['INVALID_INPUT']);
    const deepRecord = JSON.stringify({ ...record, name: 'deep-meta', metadata: '@@' }).replace('"@@"', nested(5000));
    expectInputError(await cli(['import', file('deep.ndjson', `${JSON.stringify(record)}\n${deepRecord}\n`)]), ['INVALID_INPUT'], /32|deep/);
    expect(sessions()).toEqual([]);
  });

  it(`a bundle with a ${(BIG_LINE_BYTES / 1048576).toFixed(0)} MiB line is INVALID_INPUT naming the 64 MiB limit, and nothing of it is imported`, async () => {
    const first = JSON.stringify({ ...record, name: 'first' });
    const hugeValue = 'v'.repeat(BIG_LINE_BYTES);
    const huge = JSON.stringify({ ...record, name: 'huge', storageState: { cookies: [{ ...state.cookies[0], value: hugeValue }], origins: [] } });
    expectInputError(await cli(['import', file('huge.ndjson', `${first}\n${huge}\n`)]), ['INVALID_INPUT', 'TOO_LARGE'], /64 MiB/);
    expect(sessions()).toEqual([]);
  }, 180_000);

  it('a file with a byte order mark imports (a UTF-8 signature, not an error)', async () => {
    const result = await cli(['import', file('bom.json', `\ufeff${JSON.stringify(state)}`), '--name', 'bom']);
    expect(result.code, result.stderr).toBe(0);
    expect(sessions()).toEqual(['bom.json']);
  });
});

describe('hostile session files in the sessions directory', () => {
  let tmp: Awaited<ReturnType<typeof createTempDir>>;
  let home: string;
  let dir: string;
  let template: Record<string, unknown>;
  const cli = (args: string[]) => runCliInProcess(['--json', ...args], { RAPTOR_HOME: home });

  beforeAll(async () => {
    tmp = await createTempDir('raptor-attack-files-');
    home = join(tmp.path, 'home');
    dir = join(home, 'sessions');
    const manager = await SessionManager.open({ env: { ...process.env, RAPTOR_HOME: home } });
    template = (await manager.save('good', { storageState: state as never })) as unknown as Record<string, unknown>;
    await manager.close();
  });
  afterAll(async () => tmp?.remove());

  /** A raptor-written file for `name` whose `@@` placeholder (in a tag, or deep in the state when `big`) is replaced by raw `bytes`. */
  const plant = (name: string, bytes: number[], big = false): Buffer => {
    const rec = big
      ? { ...template, name, tags: ['t'], storageState: { cookies: [], origins: [{ origin: 'https://app.test', localStorage: [{ name: 'pad', value: 'p'.repeat(100_000) }, { name: 'k', value: '@@' }] }] } }
      : { ...template, name, tags: ['@@'] };
    const text = `${JSON.stringify(rec, null, 2)}\n`;
    const at = Buffer.from(text).indexOf('@@');
    const out = Buffer.concat([Buffer.from(text).subarray(0, at), Buffer.from(bytes), Buffer.from(text).subarray(at + 2)]);
    writeFileSync(join(dir, `${name}.json`), out, { mode: 0o600 });
    return out;
  };

  it('invalid, overlong and surrogate UTF-8 make a file invalid with a reason, and the startup cleanup quarantines it byte for byte', async () => {
    const planted = {
      'bad-byte': plant('bad-byte', [0xff, 0xfe]),
      overlong: plant('overlong', [0xc0, 0xaf]),
      cesu: plant('cesu', [0xed, 0xa0, 0x80]),
      'deep-in-state': plant('deep-in-state', [0x80], true),
    };
    const validated = await cli(['validate', '--all']);
    const results = validated.json<{ results: { name: string; file?: string; valid: boolean; issues: { message: string }[] }[] }>().results;
    for (const name of Object.keys(planted)) {
      const result = results.find((r) => r.file === `${name}.json` || r.name === name);
      expect(result?.valid, `${name}: ${JSON.stringify(result)}`).toBe(false);
      expect(result!.issues.map((i) => i.message).join(' ')).toMatch(/UTF-8/);
    }
    expect(results.find((r) => r.name === 'good')?.valid).toBe(true);

    const listed = await cli(['list']);
    expect(listed.code, listed.stderr).toBe(0);
    expect(listed.json<{ sessions: { name: string }[] }>().sessions.map((s) => s.name)).toEqual(['good']);
    const quarantine = readdirSync(join(dir, '.quarantine'));
    for (const [name, bytes] of Object.entries(planted)) {
      const moved = quarantine.find((f) => f.startsWith(`${name}.json.`) && !f.endsWith('.reason.json'));
      expect(moved, `${name} in ${quarantine.join(', ')}`).toBeDefined();
      expect(readFileSync(join(dir, '.quarantine', moved!)).equals(bytes)).toBe(true);
      const reason = JSON.parse(readFileSync(join(dir, '.quarantine', `${moved}.reason.json`), 'utf8')) as { reason: string };
      expect(reason.reason).toMatch(/UTF-8/);
    }
  });

  it('a file of 64 MiB + 1 byte is invalid (over the limit) without being read, and quarantined', async () => {
    writeFileSync(join(dir, 'huge.json'), Buffer.alloc(64 * 1024 * 1024 + 1, 0x20));
    const validated = await cli(['validate', 'huge']);
    expect(validated.code).toBe(4);
    expect(validated.stdout).toMatch(/64 MiB/);
    expect((await cli(['list'])).code).toBe(0);
    expect(existsSync(join(dir, 'huge.json'))).toBe(false);
  });

  it('a byte order mark is accepted; JSON escapes of a lone surrogate or NUL in stored data round-trip', async () => {
    const bom = Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from(`${JSON.stringify({ ...template, name: 'bom' }, null, 2)}\n`)]);
    writeFileSync(join(dir, 'bom.json'), bom, { mode: 0o600 });
    const escaped = { ...template, name: 'escaped', storageState: { cookies: [], origins: [{ origin: 'https://app.test', localStorage: [{ name: 'k', value: 'a\ud800b\u0000c' }] }] } };
    writeFileSync(join(dir, 'escaped.json'), `${JSON.stringify(escaped, null, 2)}\n`, { mode: 0o600 });
    const listed = await cli(['list']);
    expect(listed.json<{ sessions: { name: string }[] }>().sessions.map((s) => s.name).sort()).toEqual(['bom', 'escaped', 'good']);
    const manager = await SessionManager.open({ env: { ...process.env, RAPTOR_HOME: home }, autoCleanup: false });
    try {
      const got = await manager.get('escaped');
      expect(got.storageState.origins[0]!.localStorage[0]!.value).toBe('a\ud800b\u0000c');
    } finally {
      await manager.close();
    }
  });

  it('a raw NUL byte in a file is invalid and quarantined, never a crash', async () => {
    plant('raw-nul', [0x00]);
    const validated = await cli(['validate', 'raw-nul']);
    expect(validated.code).toBe(4);
    expect(validated.stderr).not.toMatch(STACK);
  });
});

describe('a hostile config.json', () => {
  let tmp: Awaited<ReturnType<typeof createTempDir>>;
  let home: string;
  const cli = (args: string[]) => runCliInProcess(['--json', ...args], { RAPTOR_HOME: home });

  beforeAll(async () => {
    tmp = await createTempDir('raptor-attack-config-');
    home = join(tmp.path, 'home');
    expect((await cli(['config', 'set', 'headless', 'false'])).code).toBe(0);
  });
  afterAll(async () => tmp?.remove());

  const plantConfig = (content: string | Buffer): void => writeFileSync(join(home, 'config.json'), content);

  it.each([
    ['not JSON', '{"headless": fals'],
    ['invalid UTF-8', Buffer.from([0x7b, 0x22, 0xff, 0x22, 0x3a, 0x31, 0x7d])],
    ['nested 100,000 deep in a known key', `{"headless":${'['.repeat(100_000)}${']'.repeat(100_000)}}`],
    ['nested 100,000 deep in an unknown key', `{"junk":${'['.repeat(100_000)}${']'.repeat(100_000)}}`],
    ['2 MiB of data', JSON.stringify({ headless: false, junk: 'j'.repeat(2 * 1024 * 1024) })],
    ['an array', '[]'],
  ])('a config.json that is %s: `config get` and `list` say CONFIG_INVALID (exit 2), never a stack', async (_, content) => {
    plantConfig(content);
    for (const args of [['config', 'get', 'headless'], ['list']]) {
      const result = await cli(args);
      const error = expectInputError(result, ['CONFIG_INVALID'], /config\.json/);
      expect(error.message).toMatch(/Fix|delete/);
    }
  });

  it('a config.json with a byte order mark is read', async () => {
    plantConfig(`\ufeff${JSON.stringify({ headless: false })}`);
    const result = await cli(['config', 'get', 'headless']);
    expect(result.code, result.stdout).toBe(0);
    expect(result.json().value).toBe(false);
    const set = await cli(['config', 'set', 'headless', 'true']);
    expect(set.code, set.stdout).toBe(0);
  });
});

describe('the library refuses hostile save options before touching anything', () => {
  it('tags, metadata and ttl are INVALID_INPUT from SessionManager.save too', async () => {
    const tmp = await createTempDir('raptor-attack-lib-');
    const manager = await SessionManager.open({ env: { ...process.env, RAPTOR_HOME: tmp.path } });
    try {
      const deep: Record<string, unknown> = {};
      let at = deep;
      for (let i = 0; i < 5000; i++) at = (at['a'] = {}) as Record<string, unknown>;
      const attempts: unknown[] = [
        await manager.save('x', { storageState: state as never }, { metadata: deep as never }).catch((e) => e),
        await manager.save('x', { storageState: state as never }, { tags: ['\u001b]0;pwned\u0007'] }).catch((e) => e),
        // Over 1 MiB (the CLI cannot even pass this much: one argument is at most 128 KiB on Linux).
        await manager.save('x', { storageState: state as never }, { metadata: { blob: 'm'.repeat(1024 * 1024) } }).catch((e) => e),
        await manager.save('x', { storageState: state as never }, { metadata: { k: 'a\ud800' } }).catch((e) => e),
        await manager.save('x', { storageState: state as never }, { ttl: 1e309 }).catch((e) => e),
        await manager.save('x', { storageState: state as never }, { ttl: '99999999999999999999d' }).catch((e) => e),
      ];
      for (const error of attempts) expect(isRaptorError(error, 'INVALID_INPUT'), String(error)).toBe(true);
      expect((attempts[0] as Error).message).toMatch(/32/);
      expect((attempts[2] as Error).message).toMatch(/1 MiB/);
      expect(await manager.get('x').catch((e) => e.code)).toBe('NOT_FOUND');
    } finally {
      await manager.close();
      await tmp.remove();
    }
  });
});
