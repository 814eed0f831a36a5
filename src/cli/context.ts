/**
 * What every command handler gets: the global options, a stderr logger, and a way to open
 * the SessionManager the way the user asked (`--dir`, else RAPTOR_SESSIONS_DIR / RAPTOR_HOME).
 */
import type { Command } from 'commander';
import { loadSettings } from '../env/config.js';
import { resolvePaths, type Paths } from '../env/paths.js';
import { scrub } from './scrub.js';
import { createLogger, type Logger } from '../env/log.js';
import { SessionManager } from '../manager.js';
import { humanLogStream } from './log-stream.js';
import type { LogLevel } from './options.js';
import type { View } from './output.js';

export interface GlobalOptions {
  dir?: string;
  /** `--store`: a `postgres://` URL, `memory:` or a directory; wins over `--dir`. */
  store?: string;
  json: boolean;
  logLevel?: LogLevel;
}

/** Where `main` writes. Injected so the whole CLI can run inside a test process too. */
export interface CliIo {
  stdout: NodeJS.WritableStream & { isTTY?: boolean };
  stderr: NodeJS.WritableStream;
  env: NodeJS.ProcessEnv;
}

export interface CliContext {
  globals: GlobalOptions;
  env: NodeJS.ProcessEnv;
  logger: Logger;
  view: View;
  paths: Paths;
  /** Streams one item right away (NDJSON line with `--json`, `text` otherwise). Only `watch` needs it. */
  emit(data: unknown, text: string): void;
  /**
   * Like `emit`, without the URL redaction: only for a line whose whole point is a credential the
   * user asked for (`raptor ui`'s URL and its token). Never used for logs.
   */
  emitRevealed(data: unknown, text: string): void;
  /** A line for the person at the terminal, on stderr, whatever the log level (e.g. "close the window to save"). */
  notice(text: string): void;
}

export function globalsOf(command: Command): GlobalOptions {
  const opts = command.optsWithGlobals<{ dir?: string; store?: string; json?: boolean; logLevel?: LogLevel }>();
  return { ...(opts.dir ? { dir: opts.dir } : {}), ...(opts.store ? { store: opts.store } : {}), json: opts.json === true, ...(opts.logLevel ? { logLevel: opts.logLevel } : {}) };
}

export async function createCliContext(command: Command, io: CliIo): Promise<CliContext> {
  const globals = globalsOf(command);
  const paths = resolvePaths({ ...(globals.dir ? { dir: globals.dir } : {}), env: io.env });
  const level = globals.logLevel ?? (await configuredLogLevel(paths, io.env));
  return {
    globals,
    env: io.env,
    logger: createLogger({ level, destination: globals.json ? io.stderr : humanLogStream(io.stderr) }),
    view: { tty: io.stdout.isTTY === true },
    paths,
    // Streamed lines bypass `main`'s door to stdout, so they get the same URL redaction here.
    emit(data, text) {
      io.stdout.write(scrub(`${globals.json ? JSON.stringify(data) : text}\n`));
    },
    emitRevealed(data, text) {
      io.stdout.write(`${globals.json ? JSON.stringify(data) : text}\n`);
    },
    notice(text) {
      io.stderr.write(scrub(`raptor: ${text}\n`));
    },
  };
}

/**
 * The `logLevel` setting (RAPTOR_LOG_LEVEL or the config file), else `warn`. A broken config file
 * is not reported here: the command reports it when it loads the settings itself, and
 * `raptor config set` must still run to repair it.
 */
async function configuredLogLevel(paths: Paths, env: NodeJS.ProcessEnv): Promise<LogLevel> {
  try {
    return (await loadSettings(paths, env)).logLevel;
  } catch {
    return 'warn';
  }
}

export interface ManagerOptions {
  /**
   * Run the startup cleanup (remove expired, quarantine invalid sessions). Commands that inspect
   * or clean pass `false`: they must see what is there, and `clean --dry-run` must change nothing.
   * @default true
   */
  autoCleanup?: boolean;
}

export async function openManager(cli: CliContext, options: ManagerOptions = {}): Promise<SessionManager> {
  return SessionManager.open({
    ...(cli.globals.dir ? { dir: cli.globals.dir } : {}),
    ...(cli.globals.store ? { store: cli.globals.store } : {}),
    env: cli.env,
    logger: cli.logger,
    autoCleanup: options.autoCleanup ?? true,
  });
}

/** Opens the manager, runs `fn`, and always closes the manager (watchers, store handles). */
export async function withManager<T>(cli: CliContext, options: ManagerOptions, fn: (manager: SessionManager) => Promise<T>): Promise<T> {
  const manager = await openManager(cli, options);
  try {
    return await fn(manager);
  } finally {
    await manager.close();
  }
}
