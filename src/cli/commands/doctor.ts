/**
 * `raptor doctor`: checks the things that make raptor fail or leak credentials: a browser to
 * launch, the sessions directory and its permissions, the config file, a git work tree that
 * could commit sessions, quarantined files. Read-only: no startup cleanup, nothing created.
 */
import { constants, existsSync } from 'node:fs';
import { access, lstat, readdir, stat, statfs } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import type { Command } from 'commander';
import { findBrowser } from '../../browser/find.js';
import { loadSettings, type Settings } from '../../env/config.js';
import { KEY_FILE } from '../../env/paths.js';
import { errnoCode } from '../../core/errors.js';
import { isSessionFileName } from '../../core/names.js';
import { QUARANTINE_DIR } from '../../store/file.js';
import { chooseStore, storeDir } from '../../store/open-store.js';
import { isPostgresUrl } from '../../store/postgres/client.js';
import type { Run } from '../command.js';
import { withManager, type CliContext } from '../context.js';
import { examples, type CommandOutput } from '../output.js';

export type CheckStatus = 'ok' | 'warn' | 'fail';

export interface Check {
  /** Stable id, e.g. `sessions-dir-mode`. */
  id: string;
  status: CheckStatus;
  message: string;
}

export function registerDoctor(program: Command, run: Run): void {
  program
    .command('doctor')
    .summary('check browser, directory, permissions and config')
    .description('Check the browser, the sessions directory, file permissions and the config. Exit 1 if any check fails. Changes nothing')
    .addHelpText('after', examples([['raptor doctor', 'OK / WARN / FAIL, one line per check']]))
    .action(run((cli) => doctor(cli)));
}

export async function doctor(cli: CliContext): Promise<CommandOutput> {
  const checks: Check[] = [];
  const add = (id: string, status: CheckStatus, message: string): void => void checks.push({ id, status, message });

  let settings: Settings | undefined;
  try {
    settings = await loadSettings(cli.paths, cli.env);
    add('config', 'ok', existsSync(cli.paths.configFile) ? `config file ${cli.paths.configFile} is valid` : `no config file; defaults apply (${cli.paths.configFile})`);
  } catch (error) {
    add('config', 'fail', (error as Error).message);
  }

  try {
    const found = await findBrowser({ env: cli.env, ...(settings?.browser ? { configured: settings.browser } : {}) });
    add('browser', 'ok', `browser ${found.executablePath} (from ${found.source})`);
  } catch (error) {
    add('browser', 'fail', (error as Error).message);
  }

  if (settings) await checkEncryption(cli, settings, add);

  const { store, dir: dirFlag } = cli.globals;
  const chosen = chooseStore({ ...(store ? { store } : {}), ...(dirFlag ? { dir: dirFlag } : {}), env: cli.env, ...(settings?.store ? { setting: settings.store } : {}) });
  if (typeof chosen === 'string' && (isPostgresUrl(chosen) || chosen === 'memory:')) {
    await checkDatabaseStore(cli, add);
    return report(checks);
  }
  const dir = typeof chosen === 'string' ? storeDir(chosen) : cli.paths.sessionsDir;
  const dirOk = await checkSessionsDir(dir, add);
  // config, key, profiles and crawls live in the home; `config set` and `launch` write there.
  if (existsSync(cli.paths.home)) await checkWritable(cli.paths.home, 'home-writable', 'raptor home (config, key, profiles)', add);
  if (dirOk) {
    await checkFileModes(dir, add);
    await checkQuarantine(dir, add);
    if (settings) {
      const stats = await withManager(cli, { autoCleanup: false }, (manager) => manager.stats());
      add('sessions', stats.invalid > 0 ? 'warn' : 'ok', `${stats.count} session(s), ${stats.expired} expired, ${stats.invalid} invalid${stats.invalid > 0 ? ' (run `raptor validate --all`, then `raptor clean`)' : ''}`);
    }
  }
  const repo = findGitWorkTree(dir);
  if (repo) add('git', 'warn', `sessions directory is inside the git work tree ${repo}: add it to .gitignore so sessions are never committed`);
  else add('git', 'ok', 'sessions directory is not inside a git work tree');

  return report(checks);
}

/** Encryption on needs a key; a key file must be 0600. */
async function checkEncryption(cli: CliContext, settings: Settings, add: Add): Promise<void> {
  const { loadKeyRing } = await import('../../crypto/key-policy.js');
  const keyPath = join(cli.paths.home, KEY_FILE);
  const mode = await stat(keyPath).then((s) => s.mode & 0o777, () => undefined);
  if (mode !== undefined && mode !== 0o600) add('key', 'fail', `key file ${keyPath} has mode ${mode.toString(8)}; run \`chmod 600 ${keyPath}\``);
  let ring;
  try {
    ring = await loadKeyRing(cli.paths.home, cli.env);
  } catch (error) {
    add('encryption', 'fail', (error as Error).message);
    return;
  }
  if (settings.encryption === 'on') {
    add('encryption', ring.current ? 'ok' : 'fail', ring.current ? `encryption on, key ${ring.current.id} (${cli.env['RAPTOR_KEY'] ? 'RAPTOR_KEY' : keyPath})` : 'encryption is on but no key is set: set RAPTOR_KEY or run `raptor config set encryption on` again');
  } else {
    add('encryption', 'ok', 'encryption at rest is off (`raptor config set encryption on` to seal session state)');
  }
}

/** A store that is not a directory: it answers, and how many sessions it holds. */
async function checkDatabaseStore(cli: CliContext, add: Add): Promise<void> {
  try {
    const { location, stats } = await withManager(cli, { autoCleanup: false }, async (manager) => ({ location: manager.location, stats: await manager.stats() }));
    add('store', 'ok', `store ${location} answers`);
    add('sessions', stats.invalid > 0 ? 'warn' : 'ok', `${stats.count} session(s), ${stats.expired} expired, ${stats.invalid} invalid${stats.invalid > 0 ? ' (run `raptor validate --all`, then `raptor clean`)' : ''}`);
  } catch (error) {
    add('store', 'fail', (error as Error).message);
  }
}

function report(checks: Check[]): CommandOutput {
  const failed = checks.some((c) => c.status === 'fail');
  return {
    data: { ok: !failed, checks },
    exitCode: failed ? 1 : 0,
    text: () => checks.map((c) => `${c.status.toUpperCase().padEnd(4)}  ${c.message}`).join('\n'),
  };
}

type Add = (id: string, status: CheckStatus, message: string) => void;

const isPosix = process.platform !== 'win32'; // Windows has no meaningful mode bits

/** Exists, is a directory, 0700. Returns whether the directory can be inspected further. */
async function checkSessionsDir(dir: string, add: Add): Promise<boolean> {
  let info;
  try {
    info = await stat(dir);
  } catch (error) {
    if (errnoCode(error) !== 'ENOENT') {
      add('sessions-dir', 'fail', `cannot inspect ${dir}: ${(error as Error).message}`);
      return false;
    }
    add('sessions-dir', 'ok', `sessions directory ${dir} does not exist yet; it is created (0700) on first save`);
    return false;
  }
  if (!info.isDirectory()) {
    add('sessions-dir', 'fail', `${dir} is not a directory. Point --dir (or RAPTOR_SESSIONS_DIR) at a directory`);
    return false;
  }
  add('sessions-dir', 'ok', `sessions directory ${dir} exists`);
  await checkWritable(dir, 'sessions-dir-writable', 'sessions directory', add);
  if (isPosix) {
    const mode = info.mode & 0o777;
    if (mode & 0o077) add('sessions-dir-mode', 'fail', `${dir} has mode ${octal(mode)}; others can list your sessions. Run \`chmod 700 ${dir}\``);
    else add('sessions-dir-mode', 'ok', `sessions directory mode is ${octal(mode)}`);
  }
  return true;
}

/**
 * raptor must be able to write where it keeps sessions: a read-only mount, a directory this user
 * may not write (0500) or a full disk make every save fail. Checked without writing anything
 * (doctor changes nothing): access(W_OK) answers for mounts and modes, statfs for free space.
 */
async function checkWritable(dir: string, id: string, what: string, add: Add): Promise<void> {
  try {
    await access(dir, constants.W_OK);
  } catch (error) {
    const why = errnoCode(error) === 'EROFS' ? 'its file system is mounted read-only' : errnoCode(error) === 'EACCES' || errnoCode(error) === 'EPERM' ? 'this user may not write there' : (error as Error).message;
    add(id, 'fail', `raptor cannot write to the ${what} ${dir}: ${why}. Every save will fail; make it writable, or point RAPTOR_HOME (or --dir) elsewhere`);
    return;
  }
  const space = await statfs(dir).catch(() => undefined); // not every platform or file system answers
  if (space && space.bavail * space.bsize < MIN_FREE_BYTES) {
    const free = space.bavail * space.bsize;
    add(id, free === 0 ? 'fail' : 'warn', `the ${what} ${dir} has ${free === 0 ? 'no' : `only ${Math.floor(free / 1024)} KiB of`} free space: saves fail with DISK_FULL. Free some space, or point RAPTOR_HOME (or --dir) elsewhere`);
    return;
  }
  add(id, 'ok', `the ${what} is writable`);
}

/** Below this, a save of a session with a large IndexedDB may not fit. */
const MIN_FREE_BYTES = 1024 * 1024;

/** Every session file 0600: they hold cookies. */
async function checkFileModes(dir: string, add: Add): Promise<void> {
  if (!isPosix) return;
  const offenders: string[] = [];
  for (const name of await readdir(dir)) {
    if (!isSessionFileName(name)) continue;
    const info = await lstat(join(dir, name)).catch(() => undefined); // gone meanwhile: nothing to check
    if (!info || !info.isFile()) continue;
    const mode = info.mode & 0o777;
    if (mode & 0o077) offenders.push(`${name} (${octal(mode)})`);
  }
  if (offenders.length > 0) add('session-file-modes', 'fail', `session files readable by others: ${offenders.join(', ')}. Run \`chmod 600\` on them`);
  else add('session-file-modes', 'ok', 'every session file has mode 0600');
}

async function checkQuarantine(dir: string, add: Add): Promise<void> {
  const qdir = join(dir, QUARANTINE_DIR);
  const entries = await readdir(qdir).catch((error: unknown) => {
    if (errnoCode(error) === 'ENOENT') return [] as string[];
    throw error;
  });
  const count = entries.filter((name) => !name.endsWith('.reason.json')).length;
  if (count > 0) add('quarantine', 'warn', `${count} file(s) in quarantine (${qdir}); each has a .reason.json saying why`);
  else add('quarantine', 'ok', 'nothing in quarantine');
}

/** The nearest ancestor (or `dir` itself) holding `.git`, if any. */
function findGitWorkTree(dir: string): string | undefined {
  for (let current = dir; ; current = dirname(current)) {
    if (existsSync(join(current, '.git'))) return current;
    if (dirname(current) === current) return undefined;
  }
}

function octal(mode: number): string {
  return `0${mode.toString(8).padStart(3, '0')}`;
}
