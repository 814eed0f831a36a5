/**
 * Runs the built CLI (`node bin/raptor.js ...`) as a user would, in a child process.
 * The CLI runs from `dist/`, so the first call builds it when `dist/` is older than `src/`.
 */
import { execFile, spawn } from 'node:child_process';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

export const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
export const BIN = join(ROOT, 'bin/raptor.js');
const MAIN = join(ROOT, 'dist/cli/main.js');

export interface CliResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  /** stdout parsed as one JSON document; throws with both streams when it is not JSON. */
  json<T = any>(): T;
}

export interface RunOptions {
  /** Added to a copy of this process's env with every `RAPTOR_*` variable removed. */
  env?: NodeJS.ProcessEnv;
  /** Written to stdin, which is then closed. */
  input?: string;
  /** Node flags before the script, e.g. `['--import', hook]`. */
  nodeArgs?: string[];
  /** @default 30_000 */
  timeoutMs?: number;
}

/** This process's env without `RAPTOR_*`, so the user's own setup never leaks into a test. */
export function cleanEnv(extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [key, value] of Object.entries(process.env)) if (!key.startsWith('RAPTOR_')) env[key] = value;
  return { ...env, NO_COLOR: '1', ...extra };
}

export async function runCli(args: string[], options: RunOptions = {}): Promise<CliResult> {
  await ensureBuilt();
  const child = spawn(process.execPath, [...(options.nodeArgs ?? []), BIN, ...args], {
    cwd: ROOT,
    env: cleanEnv(options.env),
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  return collect(child, options);
}

/** Starts the CLI and hands back the child, for long-running commands (`watch`). */
export async function startCli(args: string[], options: RunOptions = {}) {
  await ensureBuilt();
  const child = spawn(process.execPath, [...(options.nodeArgs ?? []), BIN, ...args], { cwd: ROOT, env: cleanEnv(options.env), stdio: ['pipe', 'pipe', 'pipe'] });
  const out = { stdout: '', stderr: '' };
  child.stdout.on('data', (chunk: Buffer) => (out.stdout += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (out.stderr += chunk.toString()));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((done) => child.once('exit', (code, signal) => done({ code, signal })));
  return { child, out, exited };
}

/** Any command (`bash -c 'ulimit …'`, `setpriv … node bin/raptor.js`) run like the CLI: same env, same result. */
export function runCommand(command: string, args: string[], options: RunOptions = {}): Promise<CliResult> {
  const child = spawn(command, args, { cwd: ROOT, env: cleanEnv(options.env), stdio: ['pipe', 'pipe', 'pipe'] });
  return collect(child, options);
}

function collect(child: ReturnType<typeof spawn>, options: RunOptions): Promise<CliResult> {
  let stdout = '';
  let stderr = '';
  child.stdout!.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
  child.stderr!.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  child.stdin!.end(options.input ?? '');
  const timer = setTimeout(() => child.kill('SIGKILL'), options.timeoutMs ?? 30_000);
  return new Promise((resolvePromise, reject) => {
    child.once('error', reject);
    child.once('close', (code, signal) => {
      clearTimeout(timer);
      resolvePromise({
        code,
        signal,
        stdout,
        stderr,
        json() {
          try {
            return JSON.parse(stdout);
          } catch {
            throw new Error(`stdout is not one JSON document (exit ${code}).\nstdout:\n${stdout}\nstderr:\n${stderr}`);
          }
        },
      });
    });
  });
}

let building: Promise<void> | undefined;

/** Builds `dist/` once per test process when it is missing or older than any `src/**.ts`. */
export function ensureBuilt(): Promise<void> {
  building ??= (async () => {
    if (existsSync(MAIN) && statSync(MAIN).mtimeMs >= newestMtime(join(ROOT, 'src'))) return;
    const tsc = join(ROOT, 'node_modules/typescript/bin/tsc');
    try {
      await promisify(execFile)(process.execPath, [tsc, '-p', join(ROOT, 'tsconfig.json')], { cwd: ROOT });
    } catch (error) {
      // tsc still emits JavaScript on type errors (noEmitOnError is off). Type errors elsewhere in
      // src/ must not hide what the CLI does, so go on when main.js is fresh, but say so.
      if (!existsSync(MAIN) || statSync(MAIN).mtimeMs < newestMtime(join(ROOT, 'src'))) throw error;
      console.warn(`tsc reported errors; testing the JavaScript it emitted anyway:\n${(error as { stdout?: string }).stdout ?? error}`);
    }
  })();
  return building;
}

function newestMtime(dir: string): number {
  let newest = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) newest = Math.max(newest, newestMtime(path));
    else if (entry.name.endsWith('.ts')) newest = Math.max(newest, statSync(path).mtimeMs);
  }
  return newest;
}
